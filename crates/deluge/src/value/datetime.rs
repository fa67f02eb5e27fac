//! Dates and times: Deluge's default text forms, Java `SimpleDateFormat` patterns for
//! `toString(pattern)` and `toDate(pattern)`, the literal formats Deluge accepts without a
//! pattern, and time zones (IANA names, `GMT+05:30`, Java's short ids such as `EST`, `IST`).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};

use super::decisions;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Two-digit years up to this value are in the 2000s, above it in the 1900s (Java's
/// 80-years-back window as of 2026, fixed so runs are reproducible).
pub const TWO_DIGIT_YEAR_PIVOT: i32 = 46;

/// The formats Deluge accepts for a date literal or `toDate()` without a pattern, in the
/// order tried (reference §2.4). Each may be followed by ` HH:mm:ss` or ` HH:mm`.
pub const DEFAULT_DATE_PATTERNS: &[&str] = &[
    "dd-MMM-yy",
    "dd-MMM-yyyy",
    "dd-MMMM-yy",
    "dd-MMMM-yyyy",
    "MM-dd-yy",
    "yy-MM-dd",
    "dd-MM-yy",
    "dd-MM-yyyy",
    "MM-dd-yyyy",
    "yyyy-MM-dd",
    "yy/MM/dd",
    "dd/MM/yy",
    "MM/dd/yy",
    "yyyy/MM/dd",
    "MM/dd/yyyy",
    "dd/MM/yyyy",
    "dd MMM,yy",
    "MMM dd,yy",
    "dd MMM,yyyy",
    "MMM dd,yyyy",
    "dd MMMM,yy",
    "MMMM dd,yy",
    "dd MMMM,yyyy",
    "MMMM dd,yyyy",
    "E,MMMM dd,yyyy",
    "E,MMM dd,yyyy",
    "MMM dd yy",
    "dd MMM yy",
    "MMM dd yyyy",
    "dd MMM yyyy",
    "MMMM dd yy",
    "dd MMMM yy",
    "dd MMMM yyyy",
    "MMMM dd yyyy",
    "dd.MM.yy",
    "MM.dd.yy",
    "yy.MM.dd",
    "dd MM yyyy",
    "dd.MM.yyyy",
    "MM.dd.yyyy",
    "yyyy.MM.dd",
];

/// A time zone: a tz-database zone or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// Parses `Asia/Kolkata`, `UTC`, `GMT-04:00`, `+05:30`, or a Java short id (`EST`, `IST`).
    pub fn parse(name: &str) -> Option<Zone> {
        let trimmed = name.trim();
        if let Some(offset) = parse_offset_name(trimmed) {
            return Some(Zone::Fixed(offset));
        }
        let java_short = match trimmed.to_ascii_uppercase().as_str() {
            // EST, MST and HST are fixed offsets in the tz database too, as in Java.
            "EST" => "EST",
            "MST" => "MST",
            "HST" => "HST",
            "ACT" => "Australia/Darwin",
            "AET" => "Australia/Sydney",
            "AGT" => "America/Argentina/Buenos_Aires",
            "ART" => "Africa/Cairo",
            "AST" => "America/Anchorage",
            "BET" => "America/Sao_Paulo",
            "BST" => "Asia/Dhaka",
            "CAT" => "Africa/Harare",
            "CNT" => "America/St_Johns",
            "CST" => "America/Chicago",
            "CTT" => "Asia/Shanghai",
            "EAT" => "Africa/Addis_Ababa",
            "ECT" => "Europe/Paris",
            "IET" => "America/Indiana/Indianapolis",
            "IST" => "Asia/Kolkata",
            "JST" => "Asia/Tokyo",
            "MIT" => "Pacific/Apia",
            "NET" => "Asia/Yerevan",
            "NST" => "Pacific/Auckland",
            "PLT" => "Asia/Karachi",
            "PNT" => "America/Phoenix",
            "PRT" => "America/Puerto_Rico",
            "PST" => "America/Los_Angeles",
            "SST" => "Pacific/Guadalcanal",
            "VST" => "Asia/Ho_Chi_Minh",
            "UTC" | "GMT" | "Z" => "UTC",
            _ => trimmed,
        };
        java_short.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// The offset from UTC in effect at a UTC instant.
    pub fn offset_at_utc(&self, instant: NaiveDateTime) -> FixedOffset {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(zone) => zone.offset_from_utc_datetime(&instant).fix(),
        }
    }

    /// The offset for a local wall-clock time in this zone (the earlier one in a fold; in a
    /// gap, the offset just before it).
    pub fn offset_at_local(&self, local: NaiveDateTime) -> FixedOffset {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(zone) => match zone.offset_from_local_datetime(&local).earliest() {
                Some(offset) => offset.fix(),
                None => zone
                    .offset_from_utc_datetime(
                        &local
                            .checked_sub_signed(Duration::hours(1))
                            .unwrap_or(local),
                    )
                    .fix(),
            },
        }
    }

    /// The zone's name as Java prints it for the `z` pattern letter.
    fn short_name(&self, instant_utc: NaiveDateTime) -> String {
        match self {
            Zone::Fixed(offset) => gmt_name(offset.local_minus_utc()),
            Zone::Named(zone) => {
                let offset = zone.offset_from_utc_datetime(&instant_utc);
                let abbreviation = format!("{offset}");
                if abbreviation.starts_with(['+', '-']) {
                    gmt_name(offset.fix().local_minus_utc())
                } else {
                    abbreviation
                }
            }
        }
    }
}

/// Converts a local time in `from` to the same instant's local time in `to`.
pub fn convert_zone(local: NaiveDateTime, from: Zone, to: Zone) -> Option<NaiveDateTime> {
    let utc = local.checked_sub_signed(Duration::seconds(i64::from(
        from.offset_at_local(local).local_minus_utc(),
    )))?;
    utc.checked_add_signed(Duration::seconds(i64::from(
        to.offset_at_utc(utc).local_minus_utc(),
    )))
}

fn gmt_name(seconds: i32) -> String {
    if seconds == 0 {
        return "GMT".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("GMT{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_offset_name(text: &str) -> Option<FixedOffset> {
    let upper = text.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .unwrap_or(&upper);
    if rest.is_empty() {
        return None;
    }
    let (sign, digits) = match rest.as_bytes().first() {
        Some(b'+') => (1, &rest[1..]),
        Some(b'-') => (-1, &rest[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((hours, minutes)) => (hours.parse::<i32>().ok()?, minutes.parse::<i32>().ok()?),
        None if digits.len() <= 2 => (digits.parse::<i32>().ok()?, 0),
        None if digits.len() == 4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        None => return None,
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// `dd-MMM-yyyy`.
pub fn format_date(date: &NaiveDate) -> String {
    format_pattern(
        &date.and_time(NaiveTime::MIN),
        decisions::DATE_FORMAT,
        Zone::Fixed(Utc.fix()),
    )
}

/// `dd-MMM-yyyy HH:mm:ss`.
pub fn format_date_time(date_time: &NaiveDateTime) -> String {
    format_pattern(
        date_time,
        decisions::DATE_TIME_FORMAT,
        Zone::Fixed(Utc.fix()),
    )
}

/// `HH:mm:ss`.
pub fn format_time(time: &NaiveTime) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// One element of a parsed `SimpleDateFormat` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternPart {
    Field(char, usize),
    Literal(String),
}

fn split_pattern(pattern: &str) -> Vec<PatternPart> {
    let characters: Vec<char> = pattern.chars().collect();
    let mut parts = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if character == '\'' {
            // '' is a literal quote; 'text' is literal text.
            if characters.get(index + 1) == Some(&'\'') {
                parts.push(PatternPart::Literal("'".to_owned()));
                index += 2;
                continue;
            }
            let mut literal = String::new();
            index += 1;
            while index < characters.len() {
                if characters[index] == '\'' {
                    if characters.get(index + 1) == Some(&'\'') {
                        literal.push('\'');
                        index += 2;
                        continue;
                    }
                    break;
                }
                literal.push(characters[index]);
                index += 1;
            }
            index += 1;
            parts.push(PatternPart::Literal(literal));
        } else if character.is_ascii_alphabetic() {
            let mut count = 1;
            while characters.get(index + count) == Some(&character) {
                count += 1;
            }
            parts.push(PatternPart::Field(character, count));
            index += count;
        } else {
            match parts.last_mut() {
                Some(PatternPart::Literal(literal)) => literal.push(character),
                _ => parts.push(PatternPart::Literal(character.to_string())),
            }
            index += 1;
        }
    }
    parts
}

/// Formats a local date-time in `zone` with a Java `SimpleDateFormat` pattern. Unknown
/// letters are copied as they are.
pub fn format_pattern(local: &NaiveDateTime, pattern: &str, zone: Zone) -> String {
    let mut output = String::new();
    let offset = zone.offset_at_local(*local);
    for part in split_pattern(pattern) {
        match part {
            PatternPart::Literal(text) => output.push_str(&text),
            PatternPart::Field(letter, count) => {
                format_field(&mut output, local, letter, count, offset, zone)
            }
        }
    }
    output
}

fn padded(value: i64, width: usize) -> String {
    if value < 0 {
        format!("-{:0width$}", -value, width = width)
    } else {
        format!("{value:0width$}")
    }
}

fn format_field(
    output: &mut String,
    local: &NaiveDateTime,
    letter: char,
    count: usize,
    offset: FixedOffset,
    zone: Zone,
) {
    let hour = local.hour();
    let text = match letter {
        'G' => if local.year() > 0 { "AD" } else { "BC" }.to_owned(),
        'y' | 'Y' | 'u' if letter != 'u' || count > 1 => {
            let year = i64::from(local.year());
            if count == 2 {
                padded(year.rem_euclid(100), 2)
            } else {
                padded(year, count)
            }
        }
        'u' => local.weekday().number_from_monday().to_string(),
        'M' | 'L' => {
            let month = local.month0() as usize;
            match count {
                1 | 2 => padded(i64::from(local.month()), count),
                3 => MONTH_NAMES[month][..3].to_owned(),
                _ => MONTH_NAMES[month].to_owned(),
            }
        }
        'd' => padded(i64::from(local.day()), count),
        'D' => padded(i64::from(local.ordinal()), count),
        'E' => {
            let name = DAY_NAMES[local.weekday().num_days_from_monday() as usize];
            if count >= 4 {
                name.to_owned()
            } else {
                name[..3].to_owned()
            }
        }
        'F' => padded(i64::from((local.day() - 1) / 7 + 1), count),
        'w' => padded(i64::from(week_of_year(&local.date())), count),
        'W' => padded(i64::from(week_of_month(&local.date())), count),
        'a' => if hour < 12 { "AM" } else { "PM" }.to_owned(),
        'H' => padded(i64::from(hour), count),
        'k' => padded(i64::from(if hour == 0 { 24 } else { hour }), count),
        'K' => padded(i64::from(hour % 12), count),
        'h' => padded(
            i64::from(if hour.is_multiple_of(12) {
                12
            } else {
                hour % 12
            }),
            count,
        ),
        'm' => padded(i64::from(local.minute()), count),
        's' => padded(i64::from(local.second()), count),
        'S' => padded(i64::from(local.nanosecond() / 1_000_000), count.max(3))
            .chars()
            .take(count.max(1))
            .collect(),
        'z' => {
            let utc = local
                .checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
                .unwrap_or(*local);
            zone.short_name(utc)
        }
        'Z' => offset_text(offset.local_minus_utc(), false, false),
        'X' => {
            let seconds = offset.local_minus_utc();
            if seconds == 0 {
                "Z".to_owned()
            } else if count == 1 {
                offset_text(seconds, false, true)
            } else {
                offset_text(seconds, count >= 3, false)
            }
        }
        other => std::iter::repeat_n(other, count).collect(),
    };
    output.push_str(&text);
}

fn offset_text(seconds: i32, with_colon: bool, hours_only: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    if hours_only {
        format!("{sign}{:02}", minutes / 60)
    } else if with_colon {
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    }
}

/// Week of the year as Java's default US calendar counts it: weeks start on Sunday and
/// week 1 is the week containing January 1st.
pub fn week_of_year(date: &NaiveDate) -> u32 {
    let Some(first) = NaiveDate::from_ymd_opt(date.year(), 1, 1) else {
        return 1;
    };
    let first_weekday = first.weekday().num_days_from_sunday();
    let week = (date.ordinal0() + first_weekday) / 7 + 1;
    // The last days of December belong to week 1 of the next year when it starts that week.
    let next_first = NaiveDate::from_ymd_opt(date.year() + 1, 1, 1);
    if let Some(next_first) = next_first {
        let start_of_next_week1 = next_first.checked_sub_signed(Duration::days(i64::from(
            next_first.weekday().num_days_from_sunday(),
        )));
        if start_of_next_week1.is_some_and(|start| *date >= start) {
            return 1;
        }
    }
    week
}

fn week_of_month(date: &NaiveDate) -> u32 {
    let first_weekday = date
        .with_day(1)
        .map_or(0, |first| first.weekday().num_days_from_sunday());
    (date.day0() + first_weekday) / 7 + 1
}

/// What a pattern parse produced: the local date-time, whether the text had a time of day,
/// and the offset when the text carried one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDateTime {
    pub local: NaiveDateTime,
    pub has_time: bool,
    pub offset: Option<FixedOffset>,
}

/// Parses `text` with a Java `SimpleDateFormat` pattern. Letter case of month and day
/// names is ignored. The whole text must be used, apart from surrounding spaces.
pub fn parse_with_pattern(text: &str, pattern: &str) -> Option<ParsedDateTime> {
    parse_parts(text.trim(), &split_pattern(pattern), false)
}

fn parse_parts(text: &str, parts: &[PatternPart], strict: bool) -> Option<ParsedDateTime> {
    let mut fields = Fields::default();
    let mut rest = text;
    for (position, part) in parts.iter().enumerate() {
        match part {
            PatternPart::Literal(literal) => {
                if literal.trim().is_empty() && !strict {
                    rest = rest.trim_start();
                    continue;
                }
                rest = strip_prefix_ignore_case(rest, literal)?;
            }
            PatternPart::Field(letter, count) => {
                let next_is_number = matches!(
                    parts.get(position + 1),
                    Some(PatternPart::Field(next, _)) if is_numeric_letter(*next)
                );
                rest = parse_field(rest, *letter, *count, next_is_number, strict, &mut fields)?;
            }
        }
    }
    if !rest.trim().is_empty() {
        return None;
    }
    fields.build()
}

fn strip_prefix_ignore_case<'text>(text: &'text str, prefix: &str) -> Option<&'text str> {
    let length = prefix.len();
    let head = text.get(..length)?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(length..)
    } else {
        None
    }
}

fn is_numeric_letter(letter: char) -> bool {
    matches!(
        letter,
        'y' | 'Y' | 'u' | 'M' | 'd' | 'D' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' | 'w' | 'W'
    )
}

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    twelve_hour: Option<u32>,
    afternoon: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    millisecond: Option<u32>,
    offset: Option<FixedOffset>,
}

impl Fields {
    fn build(self) -> Option<ParsedDateTime> {
        let year = self.year.unwrap_or(1970);
        let date = match (self.month, self.day, self.day_of_year) {
            (None, None, Some(ordinal)) => NaiveDate::from_yo_opt(year, ordinal)?,
            (month, day, _) => NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1))?,
        };
        let hour = match (self.hour, self.twelve_hour, self.afternoon) {
            (Some(hour), _, Some(true)) if hour < 12 => hour + 12,
            (Some(hour), _, _) => hour,
            (None, Some(hour), afternoon) => {
                hour % 12 + if afternoon == Some(true) { 12 } else { 0 }
            }
            (None, None, _) => 0,
        };
        let has_time = self.hour.is_some() || self.twelve_hour.is_some() || self.minute.is_some();
        let time = NaiveTime::from_hms_milli_opt(
            hour,
            self.minute.unwrap_or(0),
            self.second.unwrap_or(0),
            self.millisecond.unwrap_or(0),
        )?;
        Some(ParsedDateTime {
            local: date.and_time(time),
            has_time,
            offset: self.offset,
        })
    }
}

fn take_digits(text: &str, minimum: usize, maximum: usize) -> Option<(u32, &str)> {
    let length = text
        .char_indices()
        .take(maximum)
        .take_while(|(_, c)| c.is_ascii_digit())
        .count();
    if length < minimum || length == 0 {
        return None;
    }
    let value = text[..length].parse::<u32>().ok()?;
    Some((value, &text[length..]))
}

fn parse_field<'text>(
    text: &'text str,
    letter: char,
    count: usize,
    next_is_number: bool,
    strict: bool,
    fields: &mut Fields,
) -> Option<&'text str> {
    // Adjacent numeric fields (yyyyMMdd) take exactly their width; otherwise a field takes
    // as many digits as are there (Java's lenient parsing), within reason.
    let (minimum, maximum) = if next_is_number {
        (count, count)
    } else if strict {
        match (letter, count) {
            ('y', 2) => (2, 2),
            ('y', _) => (4, 4),
            _ => (1, 2),
        }
    } else {
        (
            1,
            if matches!(letter, 'y' | 'Y' | 'u') {
                4
            } else {
                3
            },
        )
    };
    match letter {
        'y' | 'Y' | 'u' => {
            let (value, rest) = take_digits(text, minimum, maximum)?;
            let digits = text.len() - rest.len();
            let year = i32::try_from(value).ok()?;
            fields.year = Some(if count <= 2 && digits <= 2 {
                if year <= TWO_DIGIT_YEAR_PIVOT {
                    2000 + year
                } else {
                    1900 + year
                }
            } else {
                year
            });
            Some(rest)
        }
        'M' | 'L' if count >= 3 => {
            let lower = text.to_ascii_lowercase();
            for (index, name) in MONTH_NAMES.iter().enumerate() {
                let full = name.to_ascii_lowercase();
                let candidates: &[&str] = if count == 3 && strict {
                    &[&full[..3]]
                } else {
                    &[full.as_str(), &full[..3]]
                };
                for candidate in candidates {
                    if lower.starts_with(candidate) {
                        fields.month = Some(u32::try_from(index).ok()? + 1);
                        return text.get(candidate.len()..);
                    }
                }
            }
            None
        }
        'E' => {
            let lower = text.to_ascii_lowercase();
            for name in DAY_NAMES {
                let full = name.to_ascii_lowercase();
                for candidate in [full.as_str(), &full[..3]] {
                    if lower.starts_with(candidate) {
                        return text.get(candidate.len()..);
                    }
                }
            }
            None
        }
        'a' => {
            let lower = text.to_ascii_lowercase();
            if lower.starts_with("am") {
                fields.afternoon = Some(false);
            } else if lower.starts_with("pm") {
                fields.afternoon = Some(true);
            } else {
                return None;
            }
            text.get(2..)
        }
        'z' | 'Z' | 'X' | 'x' => {
            if let Some(rest) = text.strip_prefix(['Z', 'z']) {
                fields.offset = FixedOffset::east_opt(0);
                return Some(rest);
            }
            let body = text
                .strip_prefix("GMT")
                .or_else(|| text.strip_prefix("UTC"))
                .unwrap_or(text);
            let length = body
                .char_indices()
                .take_while(|(i, c)| {
                    (*i == 0 && matches!(c, '+' | '-')) || c.is_ascii_digit() || *c == ':'
                })
                .count();
            let offset = parse_offset_name(&body[..length])?;
            fields.offset = Some(offset);
            body.get(length..)
        }
        _ => {
            let (value, rest) = take_digits(text, minimum, maximum)?;
            match letter {
                'M' | 'L' => fields.month = Some(value),
                'd' => fields.day = Some(value),
                'D' => fields.day_of_year = Some(value),
                'H' | 'k' => {
                    fields.hour = Some(if letter == 'k' && value == 24 {
                        0
                    } else {
                        value
                    })
                }
                'h' | 'K' => fields.twelve_hour = Some(value),
                'm' => fields.minute = Some(value),
                's' => fields.second = Some(value),
                'S' => fields.millisecond = Some(value.min(999)),
                'w' | 'W' | 'F' => {}
                _ => return None,
            }
            Some(rest)
        }
    }
}

/// Parses text in one of Deluge's default formats ([`DEFAULT_DATE_PATTERNS`], optionally
/// followed by a time `HH:mm:ss` or `HH:mm`, optionally with `AM`/`PM`), or ISO 8601
/// (`2024-01-15T10:30:00+05:30`, converted to `zone`). The first format that matches with
/// strict digit counts wins.
pub fn parse_default(text: &str, zone: Zone) -> Option<ParsedDateTime> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(trimmed) {
        let utc = instant.naive_utc();
        let local = utc.checked_add_signed(Duration::seconds(i64::from(
            zone.offset_at_utc(utc).local_minus_utc(),
        )))?;
        return Some(ParsedDateTime {
            local,
            has_time: true,
            offset: Some(*instant.offset()),
        });
    }
    for iso in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(trimmed, iso) {
            return Some(ParsedDateTime {
                local,
                has_time: true,
                offset: None,
            });
        }
    }
    // Every default format starts with a digit or a letter; skip the search for text that
    // cannot be a date at all.
    if !trimmed.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    default_patterns()
        .iter()
        .find_map(|parts| parse_parts(trimmed, parts, true))
}

/// The default formats with each time suffix, split once.
fn default_patterns() -> &'static [Vec<PatternPart>] {
    static PATTERNS: std::sync::OnceLock<Vec<Vec<PatternPart>>> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        const TIME_SUFFIXES: [&str; 5] = ["", " HH:mm:ss", " HH:mm", " hh:mm:ss a", " hh:mm a"];
        DEFAULT_DATE_PATTERNS
            .iter()
            .flat_map(|date_pattern| {
                TIME_SUFFIXES
                    .iter()
                    .map(move |suffix| split_pattern(&format!("{date_pattern}{suffix}")))
            })
            .collect()
    })
}

/// Parses a time of day: `HH:mm:ss`, `HH:mm`, `hh:mm:ss a`, `hh:mm a`.
pub fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    for pattern in ["HH:mm:ss", "HH:mm", "hh:mm:ss a", "hh:mm a"] {
        if let Some(parsed) = parse_parts(text.trim(), &split_pattern(pattern), true) {
            return Some(parsed.local.time());
        }
    }
    None
}

/// Adds months the way Java's calendar does: the day is clamped to the target month's
/// length (`31-Jan` + 1 month is `28-Feb` or `29-Feb`).
pub fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    let total = (i64::from(date.year()) * 12 + i64::from(date.month0())).checked_add(months)?;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    let mut day = date.day();
    loop {
        if let Some(result) = NaiveDate::from_ymd_opt(year, month, day) {
            return Some(result);
        }
        if day <= 28 {
            return None;
        }
        day -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_time(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn utc() -> Zone {
        Zone::parse("UTC").unwrap()
    }

    #[test]
    fn formats_java_patterns() {
        let value = date_time("2024-03-05 14:07:09");
        let cases = [
            ("dd-MMM-yyyy HH:mm:ss", "05-Mar-2024 14:07:09"),
            ("yyyy-MM-dd", "2024-03-05"),
            ("dd/MM/yyyy", "05/03/2024"),
            ("yyyy-MM-dd'T'HH:mm:ss", "2024-03-05T14:07:09"),
            ("yyyy-MM-dd'T'HH:mm:ss-05:00", "2024-03-05T14:07:09-05:00"),
            ("MM/dd/yyyy hh:mm:ss a", "03/05/2024 02:07:09 PM"),
            ("EEEE, MMMM d, yy", "Tuesday, March 5, 24"),
            ("E MMM", "Tue Mar"),
            ("yyyy-MM-dd'T'HH:mm:ssXXX", "2024-03-05T14:07:09Z"),
            ("HH:mm Z", "14:07 +0000"),
            ("D 'o''clock' ''", "65 o'clock '"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(
                format_pattern(&value, pattern, utc()),
                expected,
                "{pattern}"
            );
        }
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(
            format_pattern(&value, "yyyy-MM-dd'T'HH:mm:ssXXX z", kolkata),
            "2024-03-05T14:07:09+05:30 IST"
        );
    }

    #[test]
    fn parses_zones() {
        assert_eq!(
            Zone::parse("GMT-04:00"),
            Some(Zone::Fixed(FixedOffset::west_opt(4 * 3600).unwrap()))
        );
        let eastern = Zone::parse("EST").unwrap();
        let july = date_time("2024-07-01 12:00:00");
        assert_eq!(
            eastern.offset_at_utc(july),
            FixedOffset::west_opt(5 * 3600).unwrap()
        );
        assert_eq!(format_pattern(&july, "HH:mm z", eastern), "12:00 EST");
        assert!(matches!(Zone::parse("US/Central"), Some(Zone::Named(_))));
        assert!(matches!(Zone::parse("IST"), Some(Zone::Named(_))));
        assert_eq!(Zone::parse("Not/AZone"), None);
    }

    #[test]
    fn converts_between_zones() {
        let local = date_time("2024-01-15 12:00:00");
        let converted =
            convert_zone(local, utc(), Zone::parse("America/New_York").unwrap()).unwrap();
        assert_eq!(converted, date_time("2024-01-15 07:00:00"));
    }

    #[test]
    fn parses_default_formats() {
        let cases = [
            ("15-Aug-1947", "1947-08-15 00:00:00", false),
            ("15-Aug-1947 19:00:00", "1947-08-15 19:00:00", true),
            ("15-August-1947", "1947-08-15 00:00:00", false),
            ("2024-01-31", "2024-01-31 00:00:00", false),
            ("01/02/2024", "2024-01-02 00:00:00", false),
            ("31/12/2024", "2024-12-31 00:00:00", false),
            ("Aug 15 2023", "2023-08-15 00:00:00", false),
            ("Aug 15,2023", "2023-08-15 00:00:00", false),
            ("15.08.2023", "2023-08-15 00:00:00", false),
            ("2024-01-31 10:30", "2024-01-31 10:30:00", true),
            ("2024-01-15T10:30:00", "2024-01-15 10:30:00", true),
            ("2024-01-15T10:30:00+05:30", "2024-01-15 05:00:00", true),
            ("15-Aug-23", "2023-08-15 00:00:00", false),
        ];
        for (text, expected, has_time) in cases {
            let parsed = parse_default(text, utc()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parsed.local, date_time(expected), "{text}");
            assert_eq!(parsed.has_time, has_time, "{text}");
        }
        assert_eq!(parse_default("hello", utc()), None);
        assert_eq!(parse_default("32-Jan-2024", utc()), None);
        assert_eq!(parse_default("", utc()), None);
    }

    #[test]
    fn parses_with_patterns() {
        let parsed = parse_with_pattern("05/03/2024 14:07", "dd/MM/yyyy HH:mm").unwrap();
        assert_eq!(parsed.local, date_time("2024-03-05 14:07:00"));
        let parsed = parse_with_pattern("20240305", "yyyyMMdd").unwrap();
        assert_eq!(parsed.local, date_time("2024-03-05 00:00:00"));
        let parsed =
            parse_with_pattern("2024-03-05T14:07:09-05:00", "yyyy-MM-dd'T'HH:mm:ssXXX").unwrap();
        assert_eq!(parsed.offset, FixedOffset::west_opt(5 * 3600));
        let parsed = parse_with_pattern("03/05/2024 02:07:09 PM", "MM/dd/yyyy hh:mm:ss a").unwrap();
        assert_eq!(parsed.local, date_time("2024-03-05 14:07:09"));
        assert_eq!(parse_with_pattern("2024-13-01", "yyyy-MM-dd"), None);
        assert_eq!(parse_with_pattern("2024-01-01 junk", "yyyy-MM-dd"), None);
    }

    #[test]
    fn adds_months_clamping_the_day() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
        assert_eq!(add_months(date, 1), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(add_months(date, -2), NaiveDate::from_ymd_opt(2023, 11, 30));
        assert_eq!(add_months(date, 12), NaiveDate::from_ymd_opt(2025, 1, 31));
    }

    #[test]
    fn counts_weeks_like_java() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 6).unwrap(); // Saturday
        assert_eq!(week_of_year(&date), 1);
        let date = NaiveDate::from_ymd_opt(2024, 1, 7).unwrap(); // Sunday
        assert_eq!(week_of_year(&date), 2);
        let date = NaiveDate::from_ymd_opt(2024, 12, 30).unwrap();
        assert_eq!(week_of_year(&date), 1);
    }
}

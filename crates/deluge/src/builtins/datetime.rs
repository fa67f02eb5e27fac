//! Date-time methods (reference §11.3): adding and subtracting, extracting parts,
//! differences, formatting with Java patterns and parsing text into dates.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind};
use crate::value::Value;
use crate::value::datetime::{
    self as dates, ParsedDateTime, Zone, add_months, convert_zone, format_pattern, parse_default,
    parse_time_of_day, parse_with_pattern,
};

/// Global date functions (the method forms are reached through `call_function`'s
/// receiver-first fallback).
pub(crate) fn function(_call: &mut Call<'_>, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

fn run_zone(call: &Call<'_>) -> Zone {
    Zone::Named(call.heap.time_zone())
}

fn invalid_date(message: String) -> BuiltinError {
    BuiltinError::new(BuiltinErrorKind::InvalidDate, message)
}

fn zone_argument(call: &Call<'_>, index: usize) -> Result<Option<Zone>, BuiltinError> {
    if !call.has(index) || call.argument(index).is_null() {
        return Ok(None);
    }
    let name = call.text(index)?;
    Zone::parse(&name).map(Some).ok_or_else(|| {
        invalid_date(format!(
            "{}: \"{name}\" is not a time zone; use a name such as \"America/New_York\" or an offset such as \"GMT+05:30\"",
            call.display_name()
        ))
    })
}

/// `text.toDate([pattern], [zone])`, `toTime`, `toDateTime`: parses text into a DATE
/// (`toDate`) or a DATE-TIME. A time zone argument, or an offset in the text, is converted
/// to the run's time zone.
pub(crate) fn text_to_date(
    call: &mut Call<'_>,
    text: &str,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(parse_text(call, text, name))
}

fn parse_text(call: &Call<'_>, text: &str, name: &str) -> Result<Value, BuiltinError> {
    call.count(0, 2)?;
    let pattern = if call.has(0) && !call.argument(0).is_null() {
        Some(call.text(0)?)
    } else {
        None
    };
    let source_zone = zone_argument(call, 1)?;
    let parsed: Option<ParsedDateTime> = match &pattern {
        Some(pattern) => parse_with_pattern(text, pattern),
        None => parse_default(text, run_zone(call)),
    };
    let Some(parsed) = parsed else {
        if name == "totime"
            && pattern.is_none()
            && let Some(time) = parse_time_of_day(text)
        {
            return Ok(Value::Time(time));
        }
        let with_pattern = pattern
            .map(|p| format!(" with the pattern \"{p}\""))
            .unwrap_or_default();
        return Err(invalid_date(format!(
            "Unable to convert {} to a date{with_pattern}",
            call.heap.describe(&Value::text(text))
        )));
    };
    let mut local = parsed.local;
    // ISO text without a pattern was already converted by parse_default.
    let offset_in_text = parsed.offset.filter(|_| pattern.is_some());
    if let Some(offset) = offset_in_text {
        local = convert_zone(local, Zone::Fixed(offset), run_zone(call)).unwrap_or(local);
    } else if let Some(zone) = source_zone {
        local = convert_zone(local, zone, run_zone(call)).unwrap_or(local);
    }
    Ok(if name == "todate" {
        Value::Date(local.date())
    } else {
        Value::DateTime(local)
    })
}

/// A date-time argument: a DATE, a DATE-TIME, or text in a default format.
fn date_argument(call: &Call<'_>, index: usize) -> Result<NaiveDateTime, BuiltinError> {
    match call.argument(index) {
        Value::Date(d) => Ok(d.and_time(NaiveTime::MIN)),
        Value::DateTime(d) => Ok(*d),
        Value::Text(text) => parse_default(text, run_zone(call))
            .map(|parsed| parsed.local)
            .ok_or_else(|| call.wrong_type(index, "a date")),
        _ => Err(call.wrong_type(index, "a date")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Date,
    DateTime,
    Time,
}

/// Methods of DATE, DATE-TIME and TIME.
pub(crate) fn method(
    call: &mut Call<'_>,
    receiver: &Value,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    let (local, kind) = match receiver {
        Value::Date(d) => (d.and_time(NaiveTime::MIN), Kind::Date),
        Value::DateTime(d) => (*d, Kind::DateTime),
        Value::Time(t) => (NaiveDate::default().and_time(*t), Kind::Time),
        _ => return None,
    };
    let part = |value: u32| Ok(Value::Long(i64::from(value)));
    Some(match name {
        "addday" | "adddays" => shift(call, local, kind, Unit::Days, 1),
        "subday" | "subdays" => shift(call, local, kind, Unit::Days, -1),
        "addweek" | "addweeks" => shift(call, local, kind, Unit::Weeks, 1),
        "subweek" | "subweeks" => shift(call, local, kind, Unit::Weeks, -1),
        "addmonth" | "addmonths" | "edate" => shift(call, local, kind, Unit::Months, 1),
        "submonth" | "submonths" => shift(call, local, kind, Unit::Months, -1),
        "addyear" | "addyears" => shift(call, local, kind, Unit::Years, 1),
        "subyear" | "subyears" => shift(call, local, kind, Unit::Years, -1),
        "addhour" | "addhours" => shift(call, local, kind, Unit::Hours, 1),
        "subhour" | "subhours" => shift(call, local, kind, Unit::Hours, -1),
        "addminutes" | "addminute" => shift(call, local, kind, Unit::Minutes, 1),
        "subminutes" | "subminute" => shift(call, local, kind, Unit::Minutes, -1),
        "addseconds" | "addsecond" => shift(call, local, kind, Unit::Seconds, 1),
        "subseconds" | "subsecond" => shift(call, local, kind, Unit::Seconds, -1),
        "addbusinessday" | "addbusinessdays" | "workday" => {
            shift(call, local, kind, Unit::BusinessDays, 1)
        }
        "subbusinessday" | "subbusinessdays" => shift(call, local, kind, Unit::BusinessDays, -1),
        "getday" | "day" => call.count(0, 0).and_then(|()| part(local.day())),
        "getdayofweek" | "weekday" => call
            .count(0, 0)
            .and_then(|()| part(local.weekday().num_days_from_sunday() + 1)),
        "getdayofyear" => call.count(0, 0).and_then(|()| part(local.ordinal())),
        "getweekofyear" => call
            .count(0, 0)
            .and_then(|()| part(dates::week_of_year(&local.date()))),
        "getmonth" | "month" => call.count(0, 0).and_then(|()| part(local.month())),
        "getyear" | "year" => call
            .count(0, 0)
            .map(|()| Value::Long(i64::from(local.year()))),
        "gethour" | "hour" => call.count(0, 0).and_then(|()| part(local.hour())),
        "getminutes" | "getminute" | "minute" => {
            call.count(0, 0).and_then(|()| part(local.minute()))
        }
        "getseconds" | "getsecond" | "second" => {
            call.count(0, 0).and_then(|()| part(local.second()))
        }
        "daysbetween" => between(call, local, |from, to| {
            Some((to.date() - from.date()).num_days())
        }),
        "hoursbetween" => between(call, local, |from, to| Some((to - from).num_hours())),
        "minutesbetween" => between(call, local, |from, to| Some((to - from).num_minutes())),
        "monthsbetween" => between(call, local, |from, to| Some(months_between(from, to))),
        "yearsbetween" => between(call, local, |from, to| Some(months_between(from, to) / 12)),
        "days360" => between(call, local, |from, to| {
            Some(days_360(from.date(), to.date()))
        }),
        "eomonth" => call.count(0, 1).and_then(|()| {
            let months = call.optional_long(0)?.unwrap_or(0);
            let end = months
                .checked_add(1)
                .and_then(|months| {
                    add_months(local.date().with_day(1).unwrap_or(local.date()), months)
                })
                .and_then(|first_of_next| first_of_next.pred_opt())
                .ok_or_else(|| out_of_range(call))?;
            Ok(Value::Date(end))
        }),
        "tostartofmonth" => call.count(0, 0).and_then(|()| {
            let first = local.date().with_day(1).ok_or_else(|| out_of_range(call))?;
            Ok(same_kind(first.and_time(NaiveTime::MIN), kind))
        }),
        "tostartofweek" => call.count(0, 0).and_then(|()| {
            let back = i64::from(local.weekday().num_days_from_sunday());
            let start = local
                .date()
                .checked_sub_signed(Duration::days(back))
                .ok_or_else(|| out_of_range(call))?;
            Ok(same_kind(start.and_time(NaiveTime::MIN), kind))
        }),
        "unixepoch" | "tolong" | "gettime" => call.count(0, 0).and_then(|()| {
            let utc = convert_zone(
                local,
                run_zone(call),
                Zone::parse("UTC").unwrap_or(run_zone(call)),
            )
            .ok_or_else(|| out_of_range(call))?;
            Ok(Value::Long(utc.and_utc().timestamp_millis()))
        }),
        "tostring" | "totext" | "todatetimestring" | "format" => format(call, local, kind),
        "todate" => call.count(0, 2).map(|()| Value::Date(local.date())),
        "totime" | "todatetime" | "totimestamp" => call.count(0, 2).map(|()| match kind {
            Kind::Time => Value::Time(local.time()),
            _ => Value::DateTime(local),
        }),
        "isweekend" => call
            .count(0, 0)
            .map(|()| Value::Boolean(matches!(local.weekday(), Weekday::Sat | Weekday::Sun))),
        _ => return None,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
    BusinessDays,
}

fn out_of_range(call: &Call<'_>) -> BuiltinError {
    invalid_date(format!(
        "{}: the resulting date is out of range",
        call.display_name()
    ))
}

fn same_kind(local: NaiveDateTime, kind: Kind) -> Value {
    match kind {
        Kind::Date => Value::Date(local.date()),
        Kind::DateTime => Value::DateTime(local),
        Kind::Time => Value::Time(local.time()),
    }
}

fn shift(
    call: &Call<'_>,
    local: NaiveDateTime,
    kind: Kind,
    unit: Unit,
    sign: i64,
) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let amount = call
        .long(0)?
        .checked_mul(sign)
        .ok_or_else(BuiltinError::overflow)?;
    let shifted = match unit {
        Unit::Seconds | Unit::Minutes | Unit::Hours | Unit::Days | Unit::Weeks => {
            let duration = match unit {
                Unit::Seconds => Duration::try_seconds(amount),
                Unit::Minutes => Duration::try_minutes(amount),
                Unit::Hours => Duration::try_hours(amount),
                Unit::Days => Duration::try_days(amount),
                _ => Duration::try_weeks(amount),
            };
            duration.and_then(|duration| local.checked_add_signed(duration))
        }
        Unit::Months => add_months(local.date(), amount).map(|date| date.and_time(local.time())),
        Unit::Years => amount
            .checked_mul(12)
            .and_then(|months| add_months(local.date(), months))
            .map(|date| date.and_time(local.time())),
        Unit::BusinessDays => {
            add_business_days(local.date(), amount).map(|date| date.and_time(local.time()))
        }
    };
    let shifted = shifted.ok_or_else(|| out_of_range(call))?;
    let time_unit = matches!(unit, Unit::Seconds | Unit::Minutes | Unit::Hours);
    Ok(match kind {
        Kind::Date if time_unit => Value::DateTime(shifted),
        other => same_kind(shifted, other),
    })
}

/// Adds working days (Monday to Friday). Starting on a weekend, the first step lands on
/// the next (or previous) working day.
fn add_business_days(date: NaiveDate, amount: i64) -> Option<NaiveDate> {
    if amount.unsigned_abs() > 1_000_000 {
        return None;
    }
    let step = if amount < 0 { -1 } else { 1 };
    let mut remaining = amount.abs();
    let mut current = date;
    while remaining > 0 {
        current = current.checked_add_signed(Duration::days(step))?;
        if !matches!(current.weekday(), Weekday::Sat | Weekday::Sun) {
            remaining -= 1;
        }
    }
    Some(current)
}

fn between(
    call: &Call<'_>,
    from: NaiveDateTime,
    difference: impl Fn(NaiveDateTime, NaiveDateTime) -> Option<i64>,
) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let to = date_argument(call, 0)?;
    difference(from, to)
        .map(Value::Long)
        .ok_or_else(BuiltinError::overflow)
}

/// Whole months from `from` to `to` (negative when `to` is earlier).
fn months_between(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    let months = (i64::from(to.year()) - i64::from(from.year())) * 12
        + (i64::from(to.month()) - i64::from(from.month()));
    let from_rest = (from.day(), from.time());
    let to_rest = (to.day(), to.time());
    if months > 0 && to_rest < from_rest {
        months - 1
    } else if months < 0 && to_rest > from_rest {
        months + 1
    } else {
        months
    }
}

/// Days between two dates on a 360-day year (US/NASD method, as spreadsheets do).
fn days_360(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut from_day = i64::from(from.day());
    let mut to_day = i64::from(to.day());
    if from_day == 31 {
        from_day = 30;
    }
    if to_day == 31 && from_day == 30 {
        to_day = 30;
    }
    (i64::from(to.year()) - i64::from(from.year())) * 360
        + (i64::from(to.month()) - i64::from(from.month())) * 30
        + (to_day - from_day)
}

/// `toString()` in the default form; `toString(pattern, [zone])` with a Java pattern,
/// converting from the run's time zone to `zone` first.
fn format(call: &Call<'_>, local: NaiveDateTime, kind: Kind) -> Result<Value, BuiltinError> {
    call.count(0, 2)?;
    if !call.has(0) || call.argument(0).is_null() {
        return Ok(Value::text(call.heap.display(&same_kind(local, kind))));
    }
    let pattern = call.text(0)?;
    let target = zone_argument(call, 1)?;
    let (shown, zone) = match target {
        Some(zone) if kind != Kind::Time => (
            convert_zone(local, run_zone(call), zone).ok_or_else(|| out_of_range(call))?,
            zone,
        ),
        _ => (local, run_zone(call)),
    };
    call.text_result(format_pattern(&shown, &pattern, zone))
}

//! Number printing, parsing and formatting.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Appends the decimal digits of `number` to `output`: what `write!(output, "{number}")`
/// prints, without the formatting machinery (numbers are printed in every `"text" + n`).
pub fn push_long(output: &mut String, number: i64) {
    output.push_str(itoa::Buffer::new().format(number));
}

/// The decimal text of a whole number (see [`push_long`]).
pub fn long_to_text(number: i64) -> String {
    itoa::Buffer::new().format(number).to_owned()
}

/// A decimal as Deluge prints it: no exponent, trailing zeros removed, at least one digit
/// after the point (see [`super::decisions::DECIMAL_DISPLAY`]).
pub fn decimal_to_text(value: &Decimal) -> String {
    let normalized = value.normalize();
    let text = normalized.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Parses a whole number the way `toLong()` does: surrounding spaces ignored, an optional
/// sign, digits. A decimal text with only zeros after the point (`"12.0"`) is accepted.
pub fn parse_long(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    if let Ok(number) = trimmed.strip_prefix('+').unwrap_or(trimmed).parse::<i64>() {
        return Some(number);
    }
    let decimal = parse_decimal(trimmed)?;
    if decimal.fract().is_zero() {
        i64::try_from(decimal.trunc()).ok()
    } else {
        None
    }
}

/// Parses a decimal the way `toDecimal()` does: surrounding spaces ignored, optional sign,
/// digits with an optional fraction, and an optional exponent (`1.5E3`).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let trimmed = text.trim();
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if unsigned.is_empty()
        || !unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
    {
        return None;
    }
    if unsigned.contains(['e', 'E']) {
        let without_plus = unsigned.replace("e+", "e").replace("E+", "E");
        return Decimal::from_scientific(&without_plus).ok();
    }
    Decimal::from_str(unsigned).ok()
}

/// Formats a number with a Java `DecimalFormat` pattern such as `#,##0.00`, `0.###`,
/// `$#,##0.00` or `0%`. Supports a prefix and suffix of literal characters, grouping by the
/// last `,` before the point, minimum (`0`) and optional (`#`) digits, `%` (multiplies by
/// 100) and a `;` negative sub-pattern (its prefix and suffix). Rounds half-even, as Java.
pub fn format_decimal_pattern(value: Decimal, pattern: &str) -> Option<String> {
    let (positive_pattern, negative_pattern) = match pattern.split_once(';') {
        Some((positive, negative)) => (positive, Some(negative)),
        None => (pattern, None),
    };
    let parsed = PatternParts::parse(positive_pattern)?;
    let mut number = value;
    if parsed.percent {
        number = number.checked_mul(Decimal::ONE_HUNDRED)?;
    }
    let negative = number.is_sign_negative() && !number.is_zero();
    let magnitude = number.abs().round_dp_with_strategy(
        parsed.maximum_fraction_digits,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    );
    let digits = magnitude.trunc().to_string();
    let mut integer_part = if digits == "0" && parsed.minimum_integer_digits == 0 {
        String::new()
    } else {
        digits
    };
    while integer_part.len() < parsed.minimum_integer_digits {
        integer_part.insert(0, '0');
    }
    if let Some(size) = parsed.grouping_size.filter(|size| *size > 0) {
        let mut grouped = String::new();
        let length = integer_part.len();
        for (position, character) in integer_part.chars().enumerate() {
            if position > 0 && (length - position).is_multiple_of(size) {
                grouped.push(',');
            }
            grouped.push(character);
        }
        integer_part = grouped;
    }
    let fraction = magnitude.fract().to_string();
    let mut fraction_digits: String = fraction
        .split_once('.')
        .map(|(_, digits)| digits.to_owned())
        .unwrap_or_default();
    while fraction_digits.len() > parsed.minimum_fraction_digits && fraction_digits.ends_with('0') {
        fraction_digits.pop();
    }
    while fraction_digits.len() < parsed.minimum_fraction_digits {
        fraction_digits.push('0');
    }
    let mut body = integer_part;
    if !fraction_digits.is_empty() {
        body.push('.');
        body.push_str(&fraction_digits);
    }
    if body.is_empty() {
        body.push('0');
    }
    if negative {
        match negative_pattern.and_then(PatternParts::parse) {
            Some(negative_parts) => Some(format!(
                "{}{}{}",
                negative_parts.prefix, body, negative_parts.suffix
            )),
            None => Some(format!("-{}{}{}", parsed.prefix, body, parsed.suffix)),
        }
    } else {
        Some(format!("{}{}{}", parsed.prefix, body, parsed.suffix))
    }
}

struct PatternParts {
    prefix: String,
    suffix: String,
    minimum_integer_digits: usize,
    minimum_fraction_digits: usize,
    maximum_fraction_digits: u32,
    grouping_size: Option<usize>,
    percent: bool,
}

impl PatternParts {
    fn parse(pattern: &str) -> Option<PatternParts> {
        let is_number_character = |c: char| matches!(c, '#' | '0' | ',' | '.');
        let start = pattern.find(is_number_character)?;
        let end = pattern
            .rfind(is_number_character)
            .map_or(pattern.len(), |i| i + 1);
        let prefix = unquote(&pattern[..start]);
        let suffix = unquote(&pattern[end..]);
        let body = &pattern[start..end];
        let (integer_pattern, fraction_pattern) = match body.split_once('.') {
            Some((integer, fraction)) => (integer, fraction),
            None => (body, ""),
        };
        let grouping_size = integer_pattern
            .rfind(',')
            .map(|comma| integer_pattern.len() - comma - 1);
        Some(PatternParts {
            percent: prefix.contains('%') || suffix.contains('%'),
            prefix,
            suffix,
            minimum_integer_digits: integer_pattern.chars().filter(|c| *c == '0').count(),
            minimum_fraction_digits: fraction_pattern.chars().filter(|c| *c == '0').count(),
            maximum_fraction_digits: u32::try_from(
                fraction_pattern
                    .chars()
                    .filter(|c| matches!(c, '0' | '#'))
                    .count(),
            )
            .unwrap_or(0),
            grouping_size,
        })
    }
}

fn unquote(text: &str) -> String {
    text.replace('\'', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_print_like_display() {
        for number in [
            0,
            7,
            -7,
            10,
            99,
            100,
            -100,
            123_456_789,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(long_to_text(number), number.to_string());
            let mut text = "n=".to_owned();
            push_long(&mut text, number);
            assert_eq!(text, format!("n={number}"));
        }
    }

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn decimals_print_without_trailing_zeros_but_keep_one_fraction_digit() {
        assert_eq!(decimal_to_text(&decimal("1.50")), "1.5");
        assert_eq!(decimal_to_text(&decimal("3.00")), "3.0");
        assert_eq!(decimal_to_text(&decimal("-0.125")), "-0.125");
        assert_eq!(decimal_to_text(&decimal("100")), "100.0");
    }

    #[test]
    fn parses_numbers_like_to_long_and_to_decimal() {
        assert_eq!(parse_long(" 42 "), Some(42));
        assert_eq!(parse_long("-7"), Some(-7));
        assert_eq!(parse_long("+7"), Some(7));
        assert_eq!(parse_long("12.0"), Some(12));
        assert_eq!(parse_long("12.5"), None);
        assert_eq!(parse_long("abc"), None);
        assert_eq!(parse_long(""), None);
        assert_eq!(parse_decimal("1.25"), Some(decimal("1.25")));
        assert_eq!(parse_decimal("1.5E3"), Some(decimal("1500")));
        assert_eq!(parse_decimal("1,5"), None);
    }

    #[test]
    fn formats_decimal_format_patterns() {
        let cases = [
            ("1234567.891", "#,##0.00", "1,234,567.89"),
            ("1234.5", "$#,##0.00", "$1,234.50"),
            ("0.256", "0%", "26%"),
            ("0.5", "#.##", ".5"),
            ("2.5", "0", "2"),
            ("3.5", "0", "4"),
            ("-1234.5", "#,##0.00", "-1,234.50"),
            ("-5", "0.0;(0.0)", "(5.0)"),
            ("7", "000", "007"),
            ("1.23456", "0.###", "1.235"),
        ];
        for (value, pattern, expected) in cases {
            assert_eq!(
                format_decimal_pattern(decimal(value), pattern).as_deref(),
                Some(expected),
                "{value} with {pattern}"
            );
        }
        assert_eq!(format_decimal_pattern(decimal("1"), "abc"), None);
    }
}

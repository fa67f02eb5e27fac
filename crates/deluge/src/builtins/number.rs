//! Number and math methods (reference §11.2). Exact where the operation allows (abs, round,
//! ceil, floor, integer powers); transcendental functions (sqrt, exp, log, trig) go through
//! `f64` and come back as DECIMAL.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind};
use crate::value::{Value, number};

/// Global math functions that are not methods (`max(a, b)`, `min(a, b)`).
pub(crate) fn function(call: &mut Call<'_>, name: &str) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "max" | "min" if call.arguments.len() == 2 => max_min(call, name == "max"),
        "atan2" => call.count(2, 2).and_then(|()| {
            let y = to_f64(call.decimal(0)?);
            let x = to_f64(call.decimal(1)?);
            from_f64(call, y.atan2(x))
        }),
        _ => return None,
    })
}

fn max_min(call: &Call<'_>, max: bool) -> Result<Value, BuiltinError> {
    for index in 0..2 {
        if !matches!(call.argument(index), Value::Long(_) | Value::Decimal(_)) {
            return Err(call.wrong_type(index, "a number"));
        }
    }
    let order = call.heap.compare(call.argument(0), call.argument(1))?;
    let first_wins = if max { order.is_ge() } else { order.is_le() };
    Ok(call.argument(if first_wins { 0 } else { 1 }).clone())
}

/// Methods of NUMBER and DECIMAL.
pub(crate) fn method(
    call: &mut Call<'_>,
    receiver: &Value,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    let value = match receiver {
        Value::Long(n) => Decimal::from(*n),
        Value::Decimal(d) => *d,
        _ => return None,
    };
    let is_long = matches!(receiver, Value::Long(_));
    Some(match name {
        "abs" => call.count(0, 0).and_then(|()| match receiver {
            Value::Long(n) => n
                .checked_abs()
                .map(Value::Long)
                .ok_or_else(BuiltinError::overflow),
            _ => Ok(Value::Decimal(value.abs())),
        }),
        "ceil" => call.count(0, 0).and_then(|()| whole(value.ceil())),
        "floor" => call.count(0, 0).and_then(|()| whole(value.floor())),
        "round" => round(call, value, is_long),
        "truncate" => call.count(0, 1).and_then(|()| {
            let places = call.optional_long(0)?.unwrap_or(0).clamp(0, 28);
            let places = u32::try_from(places).unwrap_or(0);
            let truncated = value.round_dp_with_strategy(places, RoundingStrategy::ToZero);
            if places == 0 {
                whole(truncated)
            } else {
                Ok(Value::Decimal(truncated))
            }
        }),
        "frac" => call.count(0, 0).map(|()| Value::Decimal(value.fract())),
        "sqrt" => unary(call, value, f64::sqrt),
        "exp" => unary(call, value, f64::exp),
        "log" => unary(call, value, f64::ln),
        "log10" => unary(call, value, f64::log10),
        "sin" => unary(call, value, f64::sin),
        "cos" => unary(call, value, f64::cos),
        "tan" => unary(call, value, f64::tan),
        "asin" => unary(call, value, f64::asin),
        "acos" => unary(call, value, f64::acos),
        "atan" => unary(call, value, f64::atan),
        "sinh" => unary(call, value, f64::sinh),
        "cosh" => unary(call, value, f64::cosh),
        "tanh" => unary(call, value, f64::tanh),
        "power" | "pow" => power(call, receiver, value),
        "iseven" | "isodd" => call.count(0, 0).map(|()| {
            let whole_number = value.fract().is_zero();
            let even = (value % Decimal::TWO).is_zero();
            Value::Boolean(whole_number && if name == "iseven" { even } else { !even })
        }),
        "tohex" => call.count(0, 0).and_then(|()| match receiver {
            Value::Long(n) => Ok(Value::text(format!("{n:x}"))),
            _ => i64::try_from(value.trunc())
                .map(|n| Value::text(format!("{n:x}")))
                .map_err(|_| BuiltinError::overflow()),
        }),
        "towords" => call.count(0, 0).map(|()| Value::text(to_words(value))),
        "tostring" | "totext" | "text" | "format" if call.has(0) => format(call, value),
        "max" | "min" => call.count(1, 1).and_then(|()| {
            let order = call.heap.compare(receiver, call.argument(0))?;
            let keep_receiver = if name == "max" {
                order.is_ge()
            } else {
                order.is_le()
            };
            Ok(if keep_receiver {
                receiver.clone()
            } else {
                call.argument(0).clone()
            })
        }),
        "compareto" => call.count(1, 1).and_then(|()| {
            let order = call.heap.compare(receiver, call.argument(0))?;
            Ok(Value::Long(order as i64))
        }),
        _ => return None,
    })
}

fn whole(value: Decimal) -> Result<Value, BuiltinError> {
    i64::try_from(value)
        .map(Value::Long)
        .map_err(|_| BuiltinError::overflow())
}

/// `round()` to a whole number; `round(n)` to n places, half away from zero, as Java's
/// `BigDecimal.ROUND_HALF_UP`.
fn round(call: &Call<'_>, value: Decimal, is_long: bool) -> Result<Value, BuiltinError> {
    call.count(0, 1)?;
    let places = call.optional_long(0)?.unwrap_or(0);
    if is_long && places >= 0 {
        return whole(value);
    }
    if places < 0 {
        // round(-2) rounds to hundreds.
        let factor = u32::try_from(places.unsigned_abs())
            .ok()
            .and_then(|exponent| 10_i64.checked_pow(exponent))
            .map(Decimal::from)
            .ok_or_else(BuiltinError::overflow)?;
        let rounded = value
            .checked_div(factor)
            .map(|scaled| scaled.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero))
            .and_then(|scaled| scaled.checked_mul(factor))
            .ok_or_else(BuiltinError::overflow)?;
        return if is_long {
            whole(rounded)
        } else {
            Ok(Value::Decimal(rounded))
        };
    }
    let places = u32::try_from(places.min(28)).unwrap_or(28);
    let rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    if places == 0 {
        return whole(rounded);
    }
    Ok(Value::Decimal(rounded))
}

fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

fn from_f64(call: &Call<'_>, result: f64) -> Result<Value, BuiltinError> {
    if !result.is_finite() {
        return Err(BuiltinError::new(
            BuiltinErrorKind::InvalidArgument,
            format!("{}: the result is not a finite number", call.display_name()),
        ));
    }
    Decimal::from_f64(result)
        .map(|d| Value::Decimal(d.normalize()))
        .ok_or_else(BuiltinError::overflow)
}

fn unary(
    call: &Call<'_>,
    value: Decimal,
    operation: fn(f64) -> f64,
) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    from_f64(call, operation(to_f64(value)))
}

fn power(call: &Call<'_>, receiver: &Value, base: Decimal) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let exponent = call.decimal(0)?;
    if exponent.fract().is_zero()
        && let Ok(whole_exponent) = i64::try_from(exponent)
    {
        if let Value::Long(n) = receiver
            && let Ok(small) = u32::try_from(whole_exponent)
        {
            return n
                .checked_pow(small)
                .map(Value::Long)
                .ok_or_else(BuiltinError::overflow);
        }
        if (-1000..=1000).contains(&whole_exponent) {
            return base
                .checked_powi(whole_exponent)
                .map(|d| Value::Decimal(d.normalize()))
                .ok_or_else(BuiltinError::overflow);
        }
    }
    from_f64(call, to_f64(base).powf(to_f64(exponent)))
}

fn format(call: &Call<'_>, value: Decimal) -> Result<Value, BuiltinError> {
    call.count(1, 2)?;
    let pattern = call.text(0)?;
    number::format_decimal_pattern(value, &pattern)
        .map(Value::text)
        .ok_or_else(|| {
            BuiltinError::new(
                BuiltinErrorKind::InvalidPattern,
                format!(
                    "{}: \"{pattern}\" is not a number pattern such as \"#,##0.00\"",
                    call.display_name()
                ),
            )
        })
}

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const TENS: [&str; 10] = [
    "", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
];
const SCALES: [&str; 7] = [
    "",
    "Thousand",
    "Million",
    "Billion",
    "Trillion",
    "Quadrillion",
    "Quintillion",
];

/// English words for a number in title case: `1234` is "One Thousand Two Hundred Thirty
/// Four"; a fraction is read digit by digit after "Point".
pub(crate) fn to_words(value: Decimal) -> String {
    let negative = value.is_sign_negative() && !value.is_zero();
    let whole_part = value.abs().trunc().to_u128().unwrap_or(0);
    let mut words = integer_words(whole_part);
    let fraction = value.abs().fract().normalize();
    if !fraction.is_zero() {
        let digits = fraction.to_string();
        let digits = digits.split_once('.').map_or("", |(_, d)| d).to_owned();
        words.push_str(" Point");
        for digit in digits.chars().filter_map(|c| c.to_digit(10)) {
            words.push(' ');
            words.push_str(ONES[digit as usize]);
        }
    }
    if negative {
        format!("Minus {words}")
    } else {
        words
    }
}

fn integer_words(mut value: u128) -> String {
    if value == 0 {
        return ONES[0].to_owned();
    }
    let mut groups = Vec::new();
    while value > 0 {
        groups.push((value % 1000) as usize);
        value /= 1000;
    }
    let mut parts = Vec::new();
    for (scale, group) in groups.iter().enumerate().rev() {
        if *group == 0 {
            continue;
        }
        let mut words = Vec::new();
        if group / 100 > 0 {
            words.push(ONES[group / 100].to_owned());
            words.push("Hundred".to_owned());
        }
        let rest = group % 100;
        if rest >= 20 {
            words.push(TENS[rest / 10].to_owned());
            if rest % 10 > 0 {
                words.push(ONES[rest % 10].to_owned());
            }
        } else if rest > 0 {
            words.push(ONES[rest].to_owned());
        }
        if let Some(scale_name) = SCALES.get(scale).filter(|name| !name.is_empty()) {
            words.push((*scale_name).to_owned());
        }
        parts.push(words.join(" "));
    }
    parts.join(" ")
}

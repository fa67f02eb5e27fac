//! Operators: arithmetic with Deluge's coercions and exact decimals, `+` as concatenation,
//! equality, ordering and `in`. See [`super::decisions`] for the rules chosen.

use rust_decimal::Decimal;
use std::cmp::Ordering;

use super::{BuiltinError, Heap, Text, Value, decisions};

/// The binary arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOperator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
}

impl BinaryOperator {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOperator::Add => "+",
            BinaryOperator::Subtract => "-",
            BinaryOperator::Multiply => "*",
            BinaryOperator::Divide => "/",
            BinaryOperator::Remainder => "%",
        }
    }
}

enum Numbers {
    Longs(i64, i64),
    Decimals(Decimal, Decimal),
}

fn numbers(left: &Value, right: &Value) -> Option<Numbers> {
    match (left, right) {
        (Value::Long(a), Value::Long(b)) => Some(Numbers::Longs(*a, *b)),
        (Value::Long(a), Value::Decimal(b)) => Some(Numbers::Decimals(Decimal::from(*a), *b)),
        (Value::Decimal(a), Value::Long(b)) => Some(Numbers::Decimals(*a, Decimal::from(*b))),
        (Value::Decimal(a), Value::Decimal(b)) => Some(Numbers::Decimals(*a, *b)),
        _ => None,
    }
}

impl Heap {
    /// Applies an arithmetic operator. `left` is taken by value so `s = s + x` can append
    /// to `s` in place when the text is not shared.
    pub fn binary(
        &self,
        operator: BinaryOperator,
        left: Value,
        right: &Value,
    ) -> Result<Value, BuiltinError> {
        if operator == BinaryOperator::Add
            && decisions::TEXT_PLUS_CONCATENATES
            && (matches!(left, Value::Text(_)) || matches!(right, Value::Text(_)))
        {
            return self.concatenate(left, right);
        }
        let Some(operands) = numbers(&left, right) else {
            return Err(self.operator_type_error(operator, &left, right));
        };
        match operands {
            Numbers::Longs(a, b) => long_arithmetic(operator, a, b),
            Numbers::Decimals(a, b) => decimal_arithmetic(operator, a, b),
        }
    }

    /// `left + right` where one side is text: the printed forms joined. Appends in place
    /// when `left` is text nothing else holds (`s = s + x`, `s += x`); short results stay
    /// inline without any allocation.
    pub fn concatenate(&self, left: Value, right: &Value) -> Result<Value, BuiltinError> {
        let mut text = match left {
            Value::Text(text) => text,
            other => self.to_text_value(&other)?,
        };
        self.append_printed(&mut text, right)?;
        Ok(Value::Text(text))
    }

    /// Appends the printed form of `value` to `output` without an intermediate text for
    /// the common scalars; errors (leaving `output` alone) past the text limit.
    pub(crate) fn append_printed(
        &self,
        output: &mut Text,
        value: &Value,
    ) -> Result<(), BuiltinError> {
        match value {
            Value::Text(text) => {
                self.check_text_length(output.len().saturating_add(text.len()))?;
                output.push_str(text);
            }
            Value::Long(number) => {
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(*number);
                self.check_text_length(output.len().saturating_add(digits.len()))?;
                output.push_str(digits);
            }
            Value::Null => output.push_str(decisions::NULL_PRINTS_AS),
            Value::Boolean(truth) => output.push_str(if *truth { "true" } else { "false" }),
            other => {
                let printed = self.to_text(other)?;
                self.check_text_length(output.len().saturating_add(printed.len()))?;
                output.push_str(&printed);
            }
        }
        Ok(())
    }

    fn operator_type_error(
        &self,
        operator: BinaryOperator,
        left: &Value,
        right: &Value,
    ) -> BuiltinError {
        let hint = if matches!(left, Value::Date(_) | Value::DateTime(_) | Value::Time(_)) {
            " Use addDay, addHour, subDay and similar functions for date-time arithmetic."
        } else if left.is_null() || right.is_null() {
            " One side is null; check it with isNull or ifnull first."
        } else {
            ""
        };
        BuiltinError::type_mismatch(format!(
            "The operator '{}' cannot be applied to {} and {}.{hint}",
            operator.symbol(),
            left.type_name(),
            right.type_name()
        ))
    }

    /// Unary minus.
    pub fn negate(&self, value: &Value) -> Result<Value, BuiltinError> {
        match value {
            Value::Long(n) => n
                .checked_neg()
                .map(Value::Long)
                .ok_or_else(BuiltinError::overflow),
            Value::Decimal(d) => Ok(Value::Decimal(-*d)),
            other => Err(BuiltinError::type_mismatch(format!(
                "The operator '-' cannot be applied to {}",
                other.type_name()
            ))),
        }
    }

    /// `==`: never an error (see [`decisions`]).
    pub fn values_equal(&self, left: &Value, right: &Value) -> bool {
        let budget = std::cell::Cell::new(self.limits.max_heap_elements);
        self.equal_at(left, right, 0, &budget)
    }

    /// `budget` bounds the lists and maps compared, so values sharing sub-lists cannot make
    /// a comparison exponential; past it, values count as unequal.
    fn equal_at(
        &self,
        left: &Value,
        right: &Value,
        depth: usize,
        budget: &std::cell::Cell<usize>,
    ) -> bool {
        if depth > self.limits.max_nesting_depth {
            return false;
        }
        if matches!(left, Value::List(_) | Value::Map(_)) {
            if budget.get() == 0 {
                return false;
            }
            budget.set(budget.get() - 1);
        }
        match (left, right) {
            (Value::Null, Value::Null) => true,
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                if a == b {
                    return true;
                }
                let (a, b) = (self.list(*a), self.list(*b));
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| self.equal_at(x, y, depth + 1, budget))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a == b {
                    return true;
                }
                let (a, b) = (self.map(*a), self.map(*b));
                a.len() == b.len()
                    && a.iter().all(|(key, x)| {
                        b.get(key)
                            .is_some_and(|y| self.equal_at(x, y, depth + 1, budget))
                    })
            }
            (Value::File(a), Value::File(b)) => a == b,
            _ => scalar_order(left, right) == Some(Ordering::Equal),
        }
    }

    /// `<`, `<=`, `>`, `>=`: the ordering of two values, or an error naming the types.
    pub fn compare(&self, left: &Value, right: &Value) -> Result<Ordering, BuiltinError> {
        if let (Value::Text(a), Value::Text(b)) = (left, right)
            && decisions::TEXT_ORDERING_ALLOWED
        {
            return Ok(a.as_str().cmp(b.as_str()));
        }
        scalar_order(left, right).ok_or_else(|| {
            let hint = if left.is_null() || right.is_null() {
                " One side is null; check it with isNull or ifnull first."
            } else {
                ""
            };
            BuiltinError::type_mismatch(format!(
                "A {} cannot be compared with a {}.{hint}",
                left.type_name(),
                right.type_name()
            ))
        })
    }

    /// `needle in haystack`: list membership, map key presence, or text containment.
    pub fn contains(&self, haystack: &Value, needle: &Value) -> Result<bool, BuiltinError> {
        match haystack {
            Value::List(id) => Ok(self
                .list(*id)
                .iter()
                .any(|element| self.values_equal(element, needle))),
            Value::Map(id) => Ok(self.map(*id).contains_key(self.key_str(needle).as_ref())),
            Value::Text(text) => Ok(text.contains(&self.to_text(needle)?)),
            Value::Null => Ok(false),
            other => Err(BuiltinError::type_mismatch(format!(
                "'in' needs a list, a map or a text on its right, found {}",
                other.type_name()
            ))),
        }
    }

    /// The truth of a condition (`if`, `&&`, `||`, `!`): a boolean, or the text "true" /
    /// "false" in any letter case. Anything else is an error naming the value.
    pub fn condition(&self, value: &Value) -> Result<bool, BuiltinError> {
        match value {
            Value::Boolean(b) => Ok(*b),
            Value::Text(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Value::Text(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(BuiltinError::type_mismatch(format!(
                "A condition must be true or false, found {}",
                self.describe(other)
            ))),
        }
    }
}

/// Ordering of numbers, date-times and times; `None` when the kinds cannot be ordered.
fn scalar_order(left: &Value, right: &Value) -> Option<Ordering> {
    if let Some(operands) = numbers(left, right) {
        return Some(match operands {
            Numbers::Longs(a, b) => a.cmp(&b),
            Numbers::Decimals(a, b) => a.cmp(&b),
        });
    }
    let as_instant = |value: &Value| match value {
        Value::Date(d) => Some(d.and_time(chrono::NaiveTime::MIN)),
        Value::DateTime(d) => Some(*d),
        _ => None,
    };
    if let (Some(a), Some(b)) = (as_instant(left), as_instant(right)) {
        return Some(a.cmp(&b));
    }
    match (left, right) {
        (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
        (Value::Boolean(a), Value::Boolean(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn long_arithmetic(operator: BinaryOperator, a: i64, b: i64) -> Result<Value, BuiltinError> {
    let result = match operator {
        BinaryOperator::Add => a.checked_add(b),
        BinaryOperator::Subtract => a.checked_sub(b),
        BinaryOperator::Multiply => a.checked_mul(b),
        BinaryOperator::Divide => {
            if b == 0 {
                return Err(BuiltinError::divide_by_zero());
            }
            a.checked_div(b)
        }
        BinaryOperator::Remainder => {
            if b == 0 {
                return Err(BuiltinError::divide_by_zero());
            }
            a.checked_rem(b)
        }
    };
    result.map(Value::Long).ok_or_else(BuiltinError::overflow)
}

fn decimal_arithmetic(
    operator: BinaryOperator,
    a: Decimal,
    b: Decimal,
) -> Result<Value, BuiltinError> {
    let result = match operator {
        BinaryOperator::Add => a.checked_add(b),
        BinaryOperator::Subtract => a.checked_sub(b),
        BinaryOperator::Multiply => a.checked_mul(b),
        BinaryOperator::Divide => {
            if b.is_zero() {
                return Err(BuiltinError::divide_by_zero());
            }
            a.checked_div(b).map(|quotient| {
                quotient.round_dp_with_strategy(
                    decisions::DIVISION_SCALE,
                    rust_decimal::RoundingStrategy::MidpointNearestEven,
                )
            })
        }
        BinaryOperator::Remainder => {
            if b.is_zero() {
                return Err(BuiltinError::divide_by_zero());
            }
            a.checked_rem(b)
        }
    };
    result
        .map(Value::Decimal)
        .ok_or_else(BuiltinError::overflow)
}

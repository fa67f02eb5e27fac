//! Search criteria: `((Email:equals:a@b.c)and(Last_Name:starts_with:Do))`.
//!
//! Inside a value, `(`, `)` and `,` are escaped with a backslash; a value may contain `:`
//! (date-times do), so a condition splits at its first two colons only. `and` binds tighter
//! than `or`; parentheses group. At most [`MAXIMUM_CONDITIONS`] conditions, as in Bigin.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::error::CrmError;

/// Bigin refuses criteria with more conditions than this.
pub const MAXIMUM_CONDITIONS: usize = 10;

/// A parsed criteria expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Criteria {
    Condition {
        field: String,
        operator: CriteriaOperator,
        values: Vec<String>,
    },
    And(Vec<Criteria>),
    Or(Vec<Criteria>),
}

/// The comparison a condition makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriteriaOperator {
    Equals,
    NotEqual,
    StartsWith,
    In,
    NotIn,
    GreaterThan,
    GreaterEqual,
    LessThan,
    LessEqual,
    Between,
}

impl CriteriaOperator {
    fn from_name(name: &str) -> Option<CriteriaOperator> {
        Some(match name {
            "equals" => CriteriaOperator::Equals,
            "not_equal" => CriteriaOperator::NotEqual,
            "starts_with" => CriteriaOperator::StartsWith,
            "in" => CriteriaOperator::In,
            "not_in" => CriteriaOperator::NotIn,
            "greater_than" => CriteriaOperator::GreaterThan,
            "greater_equal" => CriteriaOperator::GreaterEqual,
            "less_than" => CriteriaOperator::LessThan,
            "less_equal" => CriteriaOperator::LessEqual,
            "between" => CriteriaOperator::Between,
            _ => return None,
        })
    }
}

/// Parses criteria text, reporting the character position of the first problem.
pub fn parse_criteria(text: &str) -> Result<Criteria, CrmError> {
    let characters: Vec<char> = text.chars().collect();
    let mut parser = CriteriaParser {
        characters: &characters,
        position: 0,
        conditions: 0,
        depth: 0,
    };
    parser.skip_spaces();
    let criteria = if parser.peek() == Some('(') {
        parser.parse_or()?
    } else {
        // A single bare condition (`Email:equals:x`) is accepted for convenience.
        parser.parse_condition_until_end()?
    };
    parser.skip_spaces();
    if parser.position < characters.len() {
        return Err(parser.error("unexpected text after the end of the criteria"));
    }
    Ok(criteria)
}

impl Criteria {
    /// Whether a stored record (field API name -> JSON value) satisfies the criteria.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        match self {
            Criteria::And(parts) => parts.iter().all(|part| part.matches(record)),
            Criteria::Or(parts) => parts.iter().any(|part| part.matches(record)),
            Criteria::Condition {
                field,
                operator,
                values,
            } => condition_matches(record.get(field).unwrap_or(&Value::Null), *operator, values),
        }
    }

    /// The field names the criteria mention, for validation against the module.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Criteria::Condition { field, .. } => vec![field.as_str()],
            Criteria::And(parts) | Criteria::Or(parts) => {
                parts.iter().flat_map(Criteria::fields).collect()
            }
        }
    }
}

struct CriteriaParser<'text> {
    characters: &'text [char],
    position: usize,
    conditions: usize,
    depth: usize,
}

impl CriteriaParser<'_> {
    fn peek(&self) -> Option<char> {
        self.characters.get(self.position).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn error(&self, reason: &str) -> CrmError {
        CrmError::PatternNotMatched {
            reason: format!("{reason} (at character {})", self.position + 1),
            position: self.position,
        }
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let length = keyword.len();
        let candidate: String = self
            .characters
            .iter()
            .skip(self.position)
            .take(length)
            .collect();
        if candidate.eq_ignore_ascii_case(keyword) {
            self.position += length;
            true
        } else {
            false
        }
    }

    fn parse_or(&mut self) -> Result<Criteria, CrmError> {
        let mut parts = vec![self.parse_and()?];
        loop {
            self.skip_spaces();
            if self.eat_keyword("or") {
                parts.push(self.parse_and()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Criteria::Or(parts)
        })
    }

    fn parse_and(&mut self) -> Result<Criteria, CrmError> {
        let mut parts = vec![self.parse_group()?];
        loop {
            self.skip_spaces();
            if self.eat_keyword("and") {
                parts.push(self.parse_group()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Criteria::And(parts)
        })
    }

    fn parse_group(&mut self) -> Result<Criteria, CrmError> {
        self.skip_spaces();
        if self.peek() != Some('(') {
            return Err(self.error("expected `(` to open a condition such as (Email:equals:a@b.c)"));
        }
        self.position += 1;
        self.depth += 1;
        if self.depth > 20 {
            return Err(self.error("criteria are nested too deeply"));
        }
        self.skip_spaces();
        let inner = if self.peek() == Some('(') {
            self.parse_or()?
        } else {
            self.parse_condition(')')?
        };
        self.skip_spaces();
        if self.peek() != Some(')') {
            return Err(self.error("expected `)` to close the condition"));
        }
        self.position += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn parse_condition_until_end(&mut self) -> Result<Criteria, CrmError> {
        self.parse_condition('\0')
    }

    /// `Field:operator:value`, the value running to the next unescaped `terminator`.
    fn parse_condition(&mut self, terminator: char) -> Result<Criteria, CrmError> {
        let start = self.position;
        let mut field = String::new();
        while let Some(character) = self.peek() {
            if character == ':' {
                break;
            }
            if character == terminator || character == '(' || character == ')' {
                return Err(self.error("expected `:` after the field name"));
            }
            field.push(character);
            self.position += 1;
        }
        if self.peek() != Some(':') {
            return Err(self.error("expected `:` after the field name"));
        }
        let field = field.trim().to_string();
        if field.is_empty() {
            self.position = start;
            return Err(self.error("a condition needs a field name before the first `:`"));
        }
        self.position += 1;
        let operator_start = self.position;
        let mut operator_name = String::new();
        while let Some(character) = self.peek() {
            if character == ':' {
                break;
            }
            operator_name.push(character);
            self.position += 1;
        }
        if self.peek() != Some(':') {
            return Err(self.error("expected `:` after the operator"));
        }
        let operator = CriteriaOperator::from_name(operator_name.trim()).ok_or_else(|| {
            let mut error_at = self.error("");
            if let CrmError::PatternNotMatched { reason, position } = &mut error_at {
                *position = operator_start;
                *reason = format!(
                    "unknown operator \"{}\"; use equals, not_equal, starts_with, in, not_in, \
                     greater_than, greater_equal, less_than, less_equal or between (at character {})",
                    operator_name.trim(),
                    operator_start + 1
                );
            }
            error_at
        })?;
        self.position += 1;
        let mut values = vec![String::new()];
        while let Some(character) = self.peek() {
            if character == terminator || (terminator == '\0' && character == ')') {
                break;
            }
            if character == '\\' {
                self.position += 1;
                match self.peek() {
                    Some(escaped) => {
                        if let Some(last) = values.last_mut() {
                            last.push(escaped);
                        }
                        self.position += 1;
                    }
                    None => return Err(self.error("a backslash at the end escapes nothing")),
                }
                continue;
            }
            if character == '(' {
                return Err(self.error("an unescaped `(` inside a value; write it as `\\(`"));
            }
            if character == ',' {
                values.push(String::new());
            } else if let Some(last) = values.last_mut() {
                last.push(character);
            }
            self.position += 1;
        }
        let values = match operator {
            CriteriaOperator::In | CriteriaOperator::NotIn | CriteriaOperator::Between => values,
            // For single-valued operators an unescaped comma is part of the value.
            _ => vec![values.join(",")],
        };
        if operator == CriteriaOperator::Between && values.len() != 2 {
            return Err(self.error("between takes two values separated by a comma"));
        }
        self.conditions += 1;
        if self.conditions > MAXIMUM_CONDITIONS {
            return Err(self.error("criteria may have at most 10 conditions"));
        }
        Ok(Criteria::Condition {
            field,
            operator,
            values,
        })
    }
}

fn condition_matches(stored: &Value, operator: CriteriaOperator, values: &[String]) -> bool {
    let stored_texts = comparable_texts(stored);
    let first = values.first().map(String::as_str).unwrap_or("");
    match operator {
        CriteriaOperator::Equals => stored_texts.iter().any(|text| text_equal(text, first)),
        CriteriaOperator::NotEqual => !stored_texts.iter().any(|text| text_equal(text, first)),
        CriteriaOperator::StartsWith => stored_texts
            .iter()
            .any(|text| text.to_lowercase().starts_with(&first.to_lowercase())),
        CriteriaOperator::In => values
            .iter()
            .any(|value| stored_texts.iter().any(|text| text_equal(text, value))),
        CriteriaOperator::NotIn => !values
            .iter()
            .any(|value| stored_texts.iter().any(|text| text_equal(text, value))),
        CriteriaOperator::GreaterThan => compare(stored, first).is_some_and(|order| order.is_gt()),
        CriteriaOperator::GreaterEqual => compare(stored, first).is_some_and(|order| order.is_ge()),
        CriteriaOperator::LessThan => compare(stored, first).is_some_and(|order| order.is_lt()),
        CriteriaOperator::LessEqual => compare(stored, first).is_some_and(|order| order.is_le()),
        CriteriaOperator::Between => {
            let last = values.get(1).map(String::as_str).unwrap_or("");
            compare(stored, first).is_some_and(|order| order.is_ge())
                && compare(stored, last).is_some_and(|order| order.is_le())
        }
    }
}

/// The texts a stored value can be matched by: a lookup matches by id or by name; a
/// multi-select or tag list matches by any of its items.
fn comparable_texts(stored: &Value) -> Vec<String> {
    match stored {
        Value::Null => Vec::new(),
        Value::String(text) => vec![text.clone()],
        Value::Number(number) => vec![number.to_string()],
        Value::Bool(flag) => vec![flag.to_string()],
        Value::Object(object) => ["id", "name"]
            .iter()
            .filter_map(|key| object.get(*key).and_then(Value::as_str).map(str::to_string))
            .collect(),
        Value::Array(items) => items.iter().flat_map(comparable_texts).collect(),
    }
}

fn text_equal(stored: &str, wanted: &str) -> bool {
    // Bigin compares text case-insensitively in search.
    stored.to_lowercase() == wanted.to_lowercase()
}

fn compare(stored: &Value, wanted: &str) -> Option<std::cmp::Ordering> {
    match stored {
        Value::Number(number) => {
            let stored_number: rust_decimal::Decimal = number.to_string().parse().ok()?;
            let wanted_number: rust_decimal::Decimal = wanted.trim().parse().ok()?;
            Some(stored_number.cmp(&wanted_number))
        }
        Value::String(text) => {
            if let (Ok(stored_moment), Ok(wanted_moment)) = (
                DateTime::parse_from_rfc3339(text),
                DateTime::parse_from_rfc3339(wanted.trim()),
            ) {
                return Some(stored_moment.cmp(&wanted_moment));
            }
            if let (Ok(stored_number), Ok(wanted_number)) = (
                text.parse::<rust_decimal::Decimal>(),
                wanted.trim().parse::<rust_decimal::Decimal>(),
            ) {
                return Some(stored_number.cmp(&wanted_number));
            }
            // Dates (yyyy-MM-dd) order correctly as text.
            Some(text.as_str().cmp(wanted.trim()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn parses_and_of_two_conditions() {
        let criteria =
            parse_criteria("((Email:equals:a@b.c)and(Last_Name:starts_with:Do))").unwrap();
        assert_eq!(
            criteria,
            Criteria::And(vec![
                Criteria::Condition {
                    field: "Email".into(),
                    operator: CriteriaOperator::Equals,
                    values: vec!["a@b.c".into()]
                },
                Criteria::Condition {
                    field: "Last_Name".into(),
                    operator: CriteriaOperator::StartsWith,
                    values: vec!["Do".into()]
                },
            ])
        );
    }

    #[test]
    fn values_keep_colons_and_escaped_parentheses() {
        let criteria =
            parse_criteria("(Modified_Time:greater_than:2026-10-07T03:21:34+03:00)").unwrap();
        assert!(
            matches!(&criteria, Criteria::Condition { values, .. } if values[0] == "2026-10-07T03:21:34+03:00")
        );
        let criteria = parse_criteria(r"(Account_Name:equals:Acme \(EU\)\, Ltd)").unwrap();
        assert!(
            matches!(&criteria, Criteria::Condition { values, .. } if values[0] == "Acme (EU), Ltd")
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let criteria = parse_criteria("(A:equals:1)or(B:equals:2)and(C:equals:3)").unwrap();
        assert!(matches!(criteria, Criteria::Or(ref parts) if parts.len() == 2));
    }

    #[test]
    fn errors_say_where_and_what() {
        for (text, expected) in [
            ("(Email:equals:a", "expected `)`"),
            ("(Email:contains:a)", "unknown operator \"contains\""),
            ("(Email)", "expected `:` after the field name"),
            ("(Email:equals:a)xyz", "unexpected text"),
            ("(:equals:a)", "needs a field name"),
            ("(Amount:between:1)", "between takes two values"),
        ] {
            let error = parse_criteria(text).unwrap_err();
            assert_eq!(error.code(), "PATTERN_NOT_MATCHED");
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }
        let too_many = (0..11)
            .map(|i| format!("(F:equals:{i})"))
            .collect::<Vec<_>>()
            .join("or");
        assert!(
            parse_criteria(&too_many)
                .unwrap_err()
                .to_string()
                .contains("at most 10")
        );
    }

    #[test]
    fn matching_follows_bigin_semantics() {
        let contact = record(json!({
            "Email": "Priya@Example.org", "Last_Name": "Natarajan", "Amount": 150,
            "Account_Name": {"name": "Acme", "id": "42"}, "Tag": [{"name": "VIP"}],
            "Modified_Time": "2026-10-07T03:21:34+03:00"
        }));
        let cases = [
            ("(Email:equals:priya@example.org)", true),
            ("((Email:equals:x@y.z)or(Last_Name:starts_with:nat))", true),
            (
                "((Email:equals:x@y.z)and(Last_Name:starts_with:nat))",
                false,
            ),
            ("(Amount:greater_than:100)", true),
            ("(Amount:between:151,200)", false),
            ("(Account_Name:equals:42)", true),
            ("(Account_Name:equals:acme)", true),
            ("(Tag:in:Gold,VIP)", true),
            ("(Tag:not_in:Gold,VIP)", false),
            ("(Phone:equals:1)", false),
            ("(Phone:not_equal:1)", true),
            ("(Modified_Time:greater_than:2026-10-07T00:00:00Z)", true),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_criteria(text).unwrap().matches(&contact),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        let samples = [
            "",
            "(",
            ")",
            "((",
            "\\",
            "(a:equals:\\",
            "(a:in:)",
            "()and()",
            "(a:b:c",
        ];
        for sample in samples {
            let _ = parse_criteria(sample);
        }
    }
}

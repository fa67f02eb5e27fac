//! `{variable}` templates. `{{` and `}}` are literal braces.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    Variable(String),
}

/// Splits a template into literal text and variables; the error says what is malformed.
pub(crate) fn parse(template: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut characters = template.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        match character {
            '{' if characters.peek().map(|(_, next)| *next) == Some('{') => {
                characters.next();
                literal.push('{');
            }
            '}' if characters.peek().map(|(_, next)| *next) == Some('}') => {
                characters.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, inner) in characters.by_ref() {
                    if inner == '}' {
                        closed = true;
                        break;
                    }
                    name.push(inner);
                }
                if !closed {
                    return Err(format!(
                        "`{{` at byte {position} is never closed (write `{{{{` for a literal brace)"
                    ));
                }
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "`{{{name}}}` at byte {position} is not a variable (names use letters, digits and `_`)"
                    ));
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Variable(name));
            }
            '}' => {
                return Err(format!(
                    "`}}` at byte {position} has no matching `{{` (write `}}}}` for a literal brace)"
                ));
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

/// Variable names used by a template.
pub(crate) fn variables(template: &str) -> Result<Vec<String>, String> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|segment| match segment {
            Segment::Variable(name) => Some(name),
            Segment::Literal(_) => None,
        })
        .collect())
}

/// Replaces every variable with its value. Variables for which `keep` is true stay as
/// placeholders; the output is then itself a template (literal braces and substituted values
/// are escaped, so a value can never introduce a placeholder). When nothing is kept the output
/// is plain text. Error: the names of variables with no value.
pub(crate) fn render(
    template: &str,
    values: &BTreeMap<String, String>,
    keep: &dyn Fn(&str) -> bool,
) -> Result<String, String> {
    let segments = parse(template)?;
    let keeps_any = segments
        .iter()
        .any(|segment| matches!(segment, Segment::Variable(name) if keep(name)));
    let escape = |text: &str| {
        if keeps_any {
            text.replace('{', "{{").replace('}', "}}")
        } else {
            text.to_owned()
        }
    };
    let mut output = String::new();
    let mut missing = Vec::new();
    for segment in &segments {
        match segment {
            Segment::Literal(text) => output.push_str(&escape(text)),
            Segment::Variable(name) if keep(name) => {
                output.push('{');
                output.push_str(name);
                output.push('}');
            }
            Segment::Variable(name) => match values.get(name) {
                Some(value) => output.push_str(&escape(value)),
                None => missing.push(name.clone()),
            },
        }
    }
    if missing.is_empty() {
        Ok(output)
    } else {
        Err(format!(
            "no value for {}",
            missing
                .iter()
                .map(|name| format!("`{{{name}}}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn renders_variables_and_literal_braces() {
        let rendered = render("{a}/x{{y}}", &values(&[("a", "https://h")]), &|_| false).unwrap();
        assert_eq!(rendered, "https://h/x{y}");
    }

    #[test]
    fn kept_placeholders_stay_and_values_are_escaped() {
        let rendered = render(
            "Zoho-oauthtoken {access_token} {s}",
            &values(&[("s", "{access_token}")]),
            &|name| name == "access_token",
        )
        .unwrap();
        assert_eq!(rendered, "Zoho-oauthtoken {access_token} {{access_token}}");
        let final_text = render(&rendered, &values(&[("access_token", "T")]), &|_| false).unwrap();
        assert_eq!(final_text, "Zoho-oauthtoken T {access_token}");
    }

    #[test]
    fn missing_and_malformed_are_reported() {
        assert!(
            render("{a}{b}", &values(&[("a", "1")]), &|_| false)
                .unwrap_err()
                .contains("`{b}`")
        );
        assert!(parse("{a").unwrap_err().contains("never closed"));
        assert!(parse("a}").unwrap_err().contains("no matching"));
        assert!(parse("{a b}").unwrap_err().contains("not a variable"));
    }
}

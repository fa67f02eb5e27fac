//! Link names: `<topping namespace>__<name>`, lower-case letters, digits and underscores.
//! Scripts refer to a connection by this name, so it is validated strictly and generated
//! predictably from the connection's display name.

use crate::ConnectionError;

/// Longest name part (after the namespace), as in Zoho's connection form.
pub const MAX_NAME_PART_LENGTH: usize = 50;
/// Longest topping namespace.
pub const MAX_NAMESPACE_LENGTH: usize = 50;

/// Generates the name part of a link name from a display name: lower-cased, letters and digits
/// kept, everything else dropped (Zoho turns "Bigin Connection" into `biginconnection`).
pub fn generate_name_part(display_name: &str) -> String {
    let mut generated: String = display_name
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || *character == '_')
        .map(|character| character.to_ascii_lowercase())
        .collect();
    while generated.contains("__") {
        generated = generated.replace("__", "_");
    }
    let trimmed = generated.trim_matches('_');
    let mut generated = trimmed.to_string();
    if !generated.starts_with(|character: char| character.is_ascii_lowercase()) {
        generated.insert_str(0, "connection");
    }
    generated.truncate(MAX_NAME_PART_LENGTH);
    generated
}

/// Joins a namespace and a name part into a full link name, validating both.
pub fn compose(namespace: &str, name_part: &str) -> Result<String, ConnectionError> {
    validate_namespace(namespace)?;
    validate_name_part(name_part)?;
    Ok(format!("{namespace}__{name_part}"))
}

/// Splits a full link name into (namespace, name part), validating it.
pub fn split(link_name: &str) -> Result<(&str, &str), ConnectionError> {
    let Some((namespace, name_part)) = link_name.split_once("__") else {
        return Err(invalid(
            link_name,
            "a link name has the form `<namespace>__<name>` (two underscores between them)",
        ));
    };
    validate_namespace(namespace).map_err(|_| {
        invalid(link_name, "the namespace before `__` must start with a lower-case letter and contain only a-z and 0-9")
    })?;
    validate_name_part(name_part).map_err(|error| match error {
        ConnectionError::InvalidLinkName { reason, .. } => invalid(link_name, &reason),
        other => other,
    })?;
    Ok((namespace, name_part))
}

/// A topping namespace: starts with a lower-case letter, then lower-case letters and digits.
pub fn validate_namespace(namespace: &str) -> Result<(), ConnectionError> {
    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_LENGTH {
        return Err(invalid(
            namespace,
            &format!("a namespace has 1 to {MAX_NAMESPACE_LENGTH} characters"),
        ));
    }
    if !namespace.starts_with(|character: char| character.is_ascii_lowercase())
        || !namespace
            .chars()
            .all(|character| character.is_ascii_lowercase() || character.is_ascii_digit())
    {
        return Err(invalid(
            namespace,
            "a namespace starts with a lower-case letter and contains only lower-case letters and digits",
        ));
    }
    Ok(())
}

/// The name part: starts with a lower-case letter; lower-case letters, digits, single underscores.
pub fn validate_name_part(name_part: &str) -> Result<(), ConnectionError> {
    if name_part.is_empty() || name_part.len() > MAX_NAME_PART_LENGTH {
        return Err(invalid(
            name_part,
            &format!("the name after `__` has 1 to {MAX_NAME_PART_LENGTH} characters"),
        ));
    }
    if !name_part.starts_with(|character: char| character.is_ascii_lowercase()) {
        return Err(invalid(
            name_part,
            "the name after `__` must start with a lower-case letter",
        ));
    }
    if let Some(bad) = name_part.chars().find(|character| {
        !(character.is_ascii_lowercase() || character.is_ascii_digit() || *character == '_')
    }) {
        return Err(invalid(
            name_part,
            &format!("`{bad}` is not allowed; use only lower-case letters a-z, digits 0-9 and `_`"),
        ));
    }
    if name_part.contains("__") {
        return Err(invalid(
            name_part,
            "`__` separates the namespace; the name itself may not contain two underscores in a row",
        ));
    }
    Ok(())
}

fn invalid(link_name: &str, reason: &str) -> ConnectionError {
    ConnectionError::InvalidLinkName {
        link_name: link_name.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_from_display_names_like_zoho() {
        assert_eq!(generate_name_part("Bigin Connection"), "biginconnection");
        assert_eq!(
            generate_name_part("Books connection #2"),
            "booksconnection2"
        );
        assert_eq!(generate_name_part("my__odd__name_"), "my_odd_name");
        assert_eq!(generate_name_part("2nd try"), "connection2ndtry");
        assert_eq!(generate_name_part("¡¿!"), "connection");
        assert_eq!(
            generate_name_part(&"a".repeat(80)).len(),
            MAX_NAME_PART_LENGTH
        );
    }

    #[test]
    fn composes_and_splits() {
        let link_name = compose("biginandbooksconnectionnew", "booksconnection").unwrap();
        assert_eq!(link_name, "biginandbooksconnectionnew__booksconnection");
        assert_eq!(
            split(&link_name).unwrap(),
            ("biginandbooksconnectionnew", "booksconnection")
        );
    }

    #[test]
    fn rejects_bad_link_names_with_reasons() {
        for bad in [
            "nounderscores",
            "Ns__name",
            "ns__Name",
            "ns__9name",
            "ns__na-me",
            "ns__a__b",
            "__name",
            "ns__",
        ] {
            let error = split(bad).unwrap_err();
            assert_eq!(error.code(), "INVALID_LINK_NAME", "{bad}");
        }
        let error = split("ns__na-me").unwrap_err();
        assert!(error.to_string().contains("`-` is not allowed"), "{error}");
    }
}

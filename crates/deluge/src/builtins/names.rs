//! The names of all built-ins, for early checks in the compiler and "did you mean" hints.

/// Every built-in method, spelled as Zoho documents it.
pub const METHOD_NAMES: &[&str] = &[];

/// Every global built-in function (methods can also be called as functions).
pub const FUNCTION_NAMES: &[&str] = &[];

/// Whether `name` (any case) is a built-in method.
pub fn is_known_method(name: &str) -> bool {
    METHOD_NAMES.iter().any(|known| known.eq_ignore_ascii_case(name))
}

/// Whether `name` (any case) can be called as a function.
pub fn is_known_function(name: &str) -> bool {
    FUNCTION_NAMES.iter().any(|known| known.eq_ignore_ascii_case(name)) || is_known_method(name)
}

/// The closest method name, for "did you mean".
pub fn suggest_method(name: &str) -> Option<&'static str> {
    closest(name, METHOD_NAMES.iter())
}

/// The closest function or method name, for "did you mean".
pub fn suggest_function(name: &str) -> Option<&'static str> {
    closest(name, FUNCTION_NAMES.iter().chain(METHOD_NAMES.iter()))
}

pub(crate) fn is_text_method(_name: &str) -> bool {
    false
}

/// The documented spelling of a lower-case name, or the name itself.
pub(crate) fn display_name(name: &str) -> &str {
    METHOD_NAMES
        .iter()
        .chain(FUNCTION_NAMES.iter())
        .find(|known| known.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a &'static str>) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    let allowed = (lower.len() / 3).max(1);
    best.filter(|(distance, _)| *distance <= allowed).map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

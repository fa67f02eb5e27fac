//! Redaction by value: scrubs every known secret, in the forms it travels in, from any text.

use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not scrubbed from free text: a two-letter "secret" would
/// shred every message. Such values still never get into errors the engine builds itself.
pub const MIN_REDACTED_SECRET_LENGTH: usize = 4;

/// Scrubs secret values from strings and bytes: the raw value, its URL-encoded forms
/// (percent-encoding with `%20` and form-encoding with `+`, upper and lower case hex), and
/// its base64 forms (standard and URL-safe, padded and unpadded). One pass over the text
/// whatever the number of secrets (Aho-Corasick, leftmost-longest: a secret containing
/// another is replaced whole).
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
    automaton: Option<Arc<AhoCorasick>>,
}

impl Redactor {
    /// A redactor that scrubs nothing.
    pub fn none() -> Self {
        Redactor::default()
    }

    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add_secret(secret.as_ref());
        }
        redactor
    }

    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() < MIN_REDACTED_SECRET_LENGTH {
            return;
        }
        for form in encoded_forms(secret) {
            if form.len() >= MIN_REDACTED_SECRET_LENGTH && !self.needles.contains(&form) {
                self.needles.push(form);
            }
        }
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.automaton = if self.needles.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&self.needles)
                .ok()
                .map(Arc::new)
        };
    }

    /// Adds every secret of another redactor.
    pub fn merge(&mut self, other: &Redactor) {
        for needle in &other.needles {
            if !self.needles.contains(needle) {
                self.needles.push(needle.clone());
            }
        }
        self.rebuild();
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// True when `text` contains any secret in any of its forms.
    pub fn contains_secret(&self, text: &str) -> bool {
        match &self.automaton {
            Some(automaton) => automaton.is_match(text),
            None => self
                .needles
                .iter()
                .any(|needle| text.contains(needle.as_str())),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        match &self.automaton {
            Some(automaton) => {
                let replacements = vec![REDACTED; self.needles.len()];
                automaton.replace_all(text, &replacements)
            }
            None if self.needles.is_empty() => text.to_owned(),
            None => {
                // Only if the automaton could not be built: slow but equally thorough.
                let mut needles = self.needles.iter().collect::<Vec<_>>();
                needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
                let mut output = text.to_owned();
                for needle in needles {
                    output = output.replace(needle.as_str(), REDACTED);
                }
                output
            }
        }
    }

    /// Scrubs secrets from raw bytes (response bodies), leaving everything else byte for
    /// byte. `None` when there was nothing to scrub.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if self.needles.is_empty() {
            return None;
        }
        match &self.automaton {
            Some(automaton) => {
                if !automaton.is_match(bytes) {
                    return None;
                }
                let replacements = vec![REDACTED.as_bytes(); self.needles.len()];
                Some(automaton.replace_all_bytes(bytes, &replacements))
            }
            None => {
                let text = String::from_utf8_lossy(bytes);
                self.contains_secret(&text)
                    .then(|| self.redact(&text).into_bytes())
            }
        }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Redactor({} forms of secrets)",
            self.needles.len()
        )
    }
}

/// Characters left alone by `encodeURIComponent`-style encoding.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encoded_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let percent = utf8_percent_encode(secret, COMPONENT).to_string();
    let lower_hex = lowercase_percent_hex(&percent);
    let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    forms.push(percent.clone());
    forms.push(lower_hex);
    forms.push(form_encoded.clone());
    forms.push(lowercase_percent_hex(&form_encoded));
    forms.push(percent.replace("%20", "+"));
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        forms.push(engine.encode(secret.as_bytes()));
    }
    forms.sort();
    forms.dedup();
    forms
}

fn lowercase_percent_hex(encoded: &str) -> String {
    let mut output = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(character) = chars.next() {
        output.push(character);
        if character == '%' {
            for _ in 0..2 {
                if let Some(hex) = chars.next() {
                    output.push(hex.to_ascii_lowercase());
                }
            }
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_raw_url_encoded_and_base64_forms() {
        let secret = "s3cr3t/+ value=";
        let redactor = Redactor::new([secret]);
        let percent = utf8_percent_encode(secret, COMPONENT).to_string();
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let standard = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let text = format!(
            "raw {secret} | pct {percent} | lower {} | form {form} | b64 {standard} | b64url {url_safe}",
            percent.to_lowercase()
        );
        let redacted = redactor.redact(&text);
        assert_eq!(
            redacted,
            "raw [REDACTED] | pct [REDACTED] | lower [REDACTED] | form [REDACTED] | b64 [REDACTED] | b64url [REDACTED]"
        );
        assert!(redactor.contains_secret(&text));
        assert!(!redactor.contains_secret(&redacted));
    }

    #[test]
    fn longer_secrets_win_and_short_ones_are_ignored() {
        let redactor = Redactor::new(["abcd", "Bearer abcdef", "xy"]);
        assert_eq!(
            redactor.redact("Bearer abcdef then abcd then xy"),
            "[REDACTED] then [REDACTED] then xy"
        );
    }

    #[test]
    fn bytes_are_scrubbed_and_untouched_when_clean() {
        let redactor = Redactor::new(["token-123"]);
        assert_eq!(
            redactor.redact_bytes(b"{\"t\":\"token-123\"}").as_deref(),
            Some(&b"{\"t\":\"[REDACTED]\"}"[..])
        );
        assert_eq!(redactor.redact_bytes(b"nothing here"), None);
        assert_eq!(Redactor::none().redact("token-123"), "token-123");
    }
}

//! Redaction by value: scrubs every known secret, in the forms it travels in, from any text.

use std::fmt;

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Texts shorter than this are searched one form at a time: for them, building and running
/// the automaton would cost more than it saves.
const AUTOMATON_MIN_TEXT_LENGTH: usize = 64;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not scrubbed from free text: a two-letter "secret" would
/// shred every message. Such values still never get into errors the engine builds itself.
pub const MIN_REDACTED_SECRET_LENGTH: usize = 4;

/// Scrubs secret values from strings and bytes: the raw value, its URL-encoded forms
/// (percent-encoding with `%20` and form-encoding with `+`, upper and lower case hex), and
/// its base64 forms (standard and URL-safe, padded and unpadded). Building only computes the
/// forms. The first search builds one automaton over every form (Aho-Corasick, kept with the
/// redactor, which the engine caches per credential): text without a secret, nearly all of
/// it, is scanned once, not once per form. Text with a secret is then rewritten one form at
/// a time, longest first, so a secret containing another is replaced whole.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first.
    needles: Vec<String>,
    /// Built on first use; `None` inside when the automaton could not be built (then every
    /// form is searched on its own).
    any_needle: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>>,
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
            redactor.push_forms(secret.as_ref());
        }
        redactor.rebuild();
        redactor
    }

    pub fn add_secret(&mut self, secret: &str) {
        self.push_forms(secret);
        self.rebuild();
    }

    fn push_forms(&mut self, secret: &str) {
        if secret.len() < MIN_REDACTED_SECRET_LENGTH {
            return;
        }
        for form in encoded_forms(secret) {
            if form.len() >= MIN_REDACTED_SECRET_LENGTH && !self.needles.contains(&form) {
                self.needles.push(form);
            }
        }
    }

    fn rebuild(&mut self) {
        self.needles
            .sort_by(|left, right| right.len().cmp(&left.len()).then(left.cmp(right)));
        self.any_needle = std::sync::OnceLock::new();
    }

    /// Whether `bytes` may contain a form: for longer texts, a one-pass scan for all of them.
    fn may_contain_secret(&self, bytes: &[u8]) -> bool {
        let Some(shortest) = self.needles.last() else {
            return false;
        };
        if bytes.len() < shortest.len() {
            return false;
        }
        if bytes.len() < AUTOMATON_MIN_TEXT_LENGTH {
            return true;
        }
        let automaton = self.any_needle.get_or_init(|| {
            // Leftmost matching lets the automaton use its SIMD prefilter (Teddy); the kind of
            // match does not matter for a yes/no answer. The NFA is the quickest to build.
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&self.needles)
                .ok()
        });
        match automaton {
            Some(automaton) => automaton.is_match(bytes),
            None => true,
        }
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
        self.contains_secret_bytes(text.as_bytes())
    }

    pub fn contains_secret_bytes(&self, bytes: &[u8]) -> bool {
        self.may_contain_secret(bytes)
            && self
                .needles
                .iter()
                .any(|needle| find(bytes, needle.as_bytes(), 0).is_some())
    }

    pub fn redact(&self, text: &str) -> String {
        match self.redact_bytes(text.as_bytes()) {
            // Needles and the replacement are whole UTF-8 strings, so the result is UTF-8.
            Some(bytes) => String::from_utf8(bytes)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
            None => text.to_owned(),
        }
    }

    /// Scrubs secrets from raw bytes (response bodies), leaving everything else byte for
    /// byte. `None` when there was nothing to scrub.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.may_contain_secret(bytes) {
            return None;
        }
        let mut output: Option<Vec<u8>> = None;
        for needle in &self.needles {
            let current = output.as_deref().unwrap_or(bytes);
            if let Some(replaced) = replace_bytes(current, needle.as_bytes(), REDACTED.as_bytes()) {
                output = Some(replaced);
            }
        }
        output
    }
}

/// Redacts a body that arrives in chunks, with the same result as redacting it whole: it
/// holds back the bytes that could be the start of a secret cut by a chunk boundary and
/// never emits a cut through an occurrence.
#[derive(Debug)]
pub struct StreamRedactor {
    redactor: std::sync::Arc<Redactor>,
    carry: Vec<u8>,
    longest: usize,
}

impl StreamRedactor {
    pub fn new(redactor: std::sync::Arc<Redactor>) -> Self {
        let longest = redactor.needles.iter().map(String::len).max().unwrap_or(0);
        StreamRedactor {
            redactor,
            carry: Vec::new(),
            longest,
        }
    }

    /// The redacted bytes that are safe to emit after `chunk`; may be empty.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.longest == 0 {
            return chunk.to_vec();
        }
        self.carry.extend_from_slice(chunk);
        // An occurrence starting before `cut` ends inside the buffer, so it is seen whole.
        let mut cut = self.carry.len().saturating_sub(self.longest - 1);
        while let Some(start) = self.straddling_start(cut) {
            cut = start;
        }
        let rest = self.carry.split_off(cut);
        let ready = std::mem::replace(&mut self.carry, rest);
        match self.redactor.redact_bytes(&ready) {
            Some(redacted) => redacted,
            None => ready,
        }
    }

    /// The redacted remainder at the end of the body.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.carry);
        match self.redactor.redact_bytes(&rest) {
            Some(redacted) => redacted,
            None => rest,
        }
    }

    /// The start of the leftmost occurrence that begins before `cut` and ends after it.
    fn straddling_start(&self, cut: usize) -> Option<usize> {
        let mut leftmost: Option<usize> = None;
        for needle in &self.redactor.needles {
            let length = needle.len();
            let from = cut.saturating_sub(length.saturating_sub(1));
            let mut position = from;
            while let Some(found) = find(&self.carry, needle.as_bytes(), position) {
                if found >= cut {
                    break;
                }
                if found + length > cut {
                    leftmost = Some(leftmost.map_or(found, |current| current.min(found)));
                    break;
                }
                position = found + 1;
            }
        }
        leftmost
    }
}

/// First occurrence of `needle` in `haystack` at or after `start`.
fn find(haystack: &[u8], needle: &[u8], start: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut position = start;
    while position + needle.len() <= haystack.len() {
        let offset = memchr::memchr(first, &haystack[position..haystack.len() - rest.len()])?;
        let candidate = position + offset;
        if haystack[candidate + 1..].starts_with(rest) {
            return Some(candidate);
        }
        position = candidate + 1;
    }
    None
}

fn replace_bytes(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Option<Vec<u8>> {
    let mut position = find(haystack, needle, 0)?;
    let mut output = Vec::with_capacity(haystack.len());
    let mut start = 0;
    loop {
        output.extend_from_slice(&haystack[start..position]);
        output.extend_from_slice(replacement);
        start = position + needle.len();
        match find(haystack, needle, start) {
            Some(next) => position = next,
            None => break,
        }
    }
    output.extend_from_slice(&haystack[start..]);
    Some(output)
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
    fn a_secret_added_after_a_search_is_found_in_long_and_short_texts() {
        let mut redactor = Redactor::new(["first-secret-value"]);
        let filler = "x".repeat(AUTOMATON_MIN_TEXT_LENGTH);
        let long = format!("{filler} first-secret-value second-secret-value {filler}");
        // The first search builds the automaton over the first secret's forms only.
        assert_eq!(
            redactor.redact(&long),
            format!("{filler} [REDACTED] second-secret-value {filler}")
        );
        assert!(redactor.redact_bytes(filler.as_bytes()).is_none());
        redactor.add_secret("second-secret-value");
        assert_eq!(
            redactor.redact(&long),
            format!("{filler} [REDACTED] [REDACTED] {filler}")
        );
        assert!(redactor.contains_secret(&long));
        assert_eq!(redactor.redact("second-secret-value"), "[REDACTED]");
        let mut merged = Redactor::new(["third-secret-value"]);
        assert!(!merged.contains_secret(&long));
        merged.merge(&redactor);
        assert!(merged.contains_secret(&long));
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
    fn search_handles_edges() {
        assert_eq!(find(b"abcd", b"abcd", 0), Some(0));
        assert_eq!(find(b"xxabcd", b"abcd", 0), Some(2));
        assert_eq!(find(b"abcabcd", b"abcd", 0), Some(3));
        assert_eq!(find(b"abc", b"abcd", 0), None);
        assert_eq!(find(b"abcdabcd", b"abcd", 1), Some(4));
        assert_eq!(
            replace_bytes(b"abcdabcdXabcd", b"abcd", b"-").as_deref(),
            Some(&b"--X-"[..])
        );
        assert_eq!(replace_bytes(b"", b"abcd", b"-"), None);
    }

    #[test]
    fn a_stream_is_redacted_as_if_whole_wherever_the_chunks_are_cut() {
        let redactor = std::sync::Arc::new(Redactor::new(["token-123", "Bearer token-123x"]));
        let body = b"a token-123 b Bearer token-123x c token-12 d token-123".as_slice();
        let whole = redactor.redact_bytes(body).unwrap();
        for first in 0..body.len() {
            for second in first..body.len() {
                let mut stream = StreamRedactor::new(redactor.clone());
                let mut output = stream.push(&body[..first]);
                output.extend(stream.push(&body[first..second]));
                output.extend(stream.push(&body[second..]));
                output.extend(stream.finish());
                assert_eq!(
                    String::from_utf8_lossy(&output),
                    String::from_utf8_lossy(&whole),
                    "cut at {first} and {second}"
                );
            }
        }
        let mut byte_by_byte = StreamRedactor::new(redactor.clone());
        let mut output = Vec::new();
        for byte in body {
            output.extend(byte_by_byte.push(&[*byte]));
        }
        output.extend(byte_by_byte.finish());
        assert_eq!(output, whole);
        let mut clean = StreamRedactor::new(std::sync::Arc::new(Redactor::none()));
        assert_eq!(clean.push(b"token-123"), b"token-123".to_vec());
        assert!(clean.finish().is_empty());
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

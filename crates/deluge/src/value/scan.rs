//! Finding the first byte of interest in short texts eight bytes at a time (SWAR: one
//! 64-bit word holds eight bytes), without setting up a vectorized search. JSON keys and
//! values are mostly a few to a few dozen bytes long, where that set-up dominates.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// Longer texts go to memchr, which is faster once its set-up is paid for.
const SHORT_TEXT: usize = 64;

/// Flags (high bit) each byte of `word` that is below `limit` (at most 0x80). The lowest
/// flag is always exact: a borrow only reaches a byte above a flagged one.
#[inline(always)]
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// Flags each zero byte of `word`; the lowest flag is exact.
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    bytes_below(word, 1)
}

#[inline(always)]
fn word_at(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk);
    u64::from_le_bytes(bytes)
}

#[inline(always)]
fn first_flag(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The position of the first `quote` or backslash (the end of a JSON string's plain run).
/// `bytes` is the rest of a whole document, but the string usually ends within a few
/// bytes: the first [`SHORT_TEXT`] bytes are searched a word at a time, only the rest by
/// memchr.
pub(crate) fn first_quote_or_backslash(bytes: &[u8], quote: u8) -> Option<usize> {
    let (head, tail) = bytes.split_at(bytes.len().min(SHORT_TEXT));
    match first_quote_or_backslash_in_short(head, quote) {
        Some(position) => Some(position),
        None => memchr::memchr2(quote, b'\\', tail).map(|position| head.len() + position),
    }
}

fn first_quote_or_backslash_in_short(bytes: &[u8], quote: u8) -> Option<usize> {
    let quotes = ONES * u64::from(quote);
    let backslashes = ONES * u64::from(b'\\');
    first_flagged(
        bytes,
        |word| zero_bytes(word ^ quotes) | zero_bytes(word ^ backslashes),
        |byte| byte == quote || byte == b'\\',
    )
}

/// The position of the first byte a JSON string literal must escape: a control character,
/// `"` or a backslash.
pub(crate) fn first_json_escape(bytes: &[u8]) -> Option<usize> {
    let quotes = ONES * u64::from(b'"');
    let backslashes = ONES * u64::from(b'\\');
    first_flagged(
        bytes,
        |word| bytes_below(word, 0x20) | zero_bytes(word ^ quotes) | zero_bytes(word ^ backslashes),
        |byte| byte < 0x20 || byte == b'"' || byte == b'\\',
    )
}

/// The first byte `flags_of_word` flags, 8 bytes at a time, then byte by byte through
/// `is_flagged` in the tail. Both must flag the same bytes.
#[inline(always)]
fn first_flagged(
    bytes: &[u8],
    flags_of_word: impl Fn(u64) -> u64,
    is_flagged: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let flags = flags_of_word(word_at(chunk));
        if flags != 0 {
            return Some(offset + first_flag(flags));
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&byte| is_flagged(byte))
        .map(|position| offset + position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        let mut samples: Vec<Vec<u8>> = vec![Vec::new()];
        let interesting = [
            b'"', b'\'', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff, b'a',
        ];
        for length in [1usize, 7, 8, 9, 15, 16, 17, 40, 64, 65, 100] {
            for position in [0, length / 2, length.saturating_sub(1)] {
                for &byte in &interesting {
                    let mut sample = vec![b'x'; length];
                    if let Some(slot) = sample.get_mut(position) {
                        *slot = byte;
                    }
                    // A byte above 0x80 next to the one of interest must not hide it.
                    if position > 0 {
                        sample[position - 1] = 0xe9;
                    }
                    samples.push(sample);
                }
            }
        }
        samples.push("é\"ü\\".as_bytes().to_vec());
        samples
    }

    #[test]
    fn word_scans_agree_with_byte_scans() {
        for sample in samples() {
            for quote in [b'"', b'\''] {
                assert_eq!(
                    first_quote_or_backslash(&sample, quote),
                    sample
                        .iter()
                        .position(|&byte| byte == quote || byte == b'\\'),
                    "{sample:?} {quote}"
                );
            }
            assert_eq!(
                first_json_escape(&sample),
                sample
                    .iter()
                    .position(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\'),
                "{sample:?}"
            );
        }
    }
}

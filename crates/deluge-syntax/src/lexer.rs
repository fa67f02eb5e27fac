//! Hand-written lexer: one linear pass over the source, no regular expressions.
//!
//! Keywords are not separate token kinds: Deluge keywords are case-insensitive and most of
//! them (`update`, `index`, `alert`, ...) are also used as variable or field names, so the
//! parser decides from context. Comments are skipped; every token records whether a line
//! break came before it (used for error recovery and for bare task values).
//!
//! Escapes in `"..."`: `\"`, `\\`, `\'`, `\n`, `\t`, `\r`, `\b`, `\f` are decoded; any other
//! backslash pair is kept as written (backslash included) so regular expressions such as
//! `"\d+"` or `"\."` reach `replaceAll` intact.

use crate::error::{ParseError, ParseErrorKind};
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Names and keywords (the parser compares keywords case-insensitively).
    Identifier,
    /// Whole number, digits only.
    Long,
    /// Number with a fractional part, `12.50`.
    Decimal,
    /// `"..."` including the quotes; decode with [`decode_text`].
    Text,
    /// `'...'` including the quotes; decode with [`decode_single_quoted`].
    SingleQuoted,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Semicolon,
    Colon,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Assign,
    PlusAssign,
    MinusAssign,
    StarAssign,
    SlashAssign,
    PercentAssign,
    EqualEqual,
    NotEqual,
    Bang,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    AndAnd,
    OrOr,
    /// A character that starts no token; an error was reported for it.
    Unknown,
    EndOfFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    /// A line break (or the start of the file) lies between the previous token and this one.
    pub newline_before: bool,
}

/// The tokens of `source` (always ending with [`TokenKind::EndOfFile`]) and lexical errors.
pub fn tokenize(source: &str) -> (Vec<Token>, Vec<ParseError>) {
    let mut lexer = Lexer {
        source,
        bytes: source.as_bytes(),
        position: 0,
        tokens: Vec::with_capacity(source.len() / 3 + 1),
        errors: Vec::new(),
        newline_before: true,
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

/// Decodes a `"..."` token's text (quotes included or not) into its value.
pub fn decode_text(raw: &str) -> String {
    let inner = strip_quotes(raw, '"');
    let mut value = String::with_capacity(inner.len());
    let mut characters = inner.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            value.push(character);
            continue;
        }
        match characters.next() {
            Some('"') => value.push('"'),
            Some('\\') => value.push('\\'),
            Some('\'') => value.push('\''),
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('r') => value.push('\r'),
            Some('b') => value.push('\u{8}'),
            Some('f') => value.push('\u{c}'),
            Some(other) => {
                value.push('\\');
                value.push(other);
            }
            None => value.push('\\'),
        }
    }
    value
}

/// Decodes a `'...'` token: only `\'` and `\\` are escapes, everything else is kept as written.
pub fn decode_single_quoted(raw: &str) -> String {
    let inner = strip_quotes(raw, '\'');
    let mut value = String::with_capacity(inner.len());
    let mut characters = inner.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '\\'
            && let Some(&next) = characters.peek()
            && (next == '\'' || next == '\\')
        {
            value.push(next);
            characters.next();
            continue;
        }
        value.push(character);
    }
    value
}

fn strip_quotes(raw: &str, quote: char) -> &str {
    let without_open = raw.strip_prefix(quote).unwrap_or(raw);
    // An unterminated literal has no closing quote; a lone `"` is both open and close.
    if raw.len() >= 2 {
        without_open.strip_suffix(quote).unwrap_or(without_open)
    } else {
        without_open
    }
}

struct Lexer<'a> {
    source: &'a str,
    bytes: &'a [u8],
    position: usize,
    tokens: Vec<Token>,
    errors: Vec<ParseError>,
    newline_before: bool,
}

impl Lexer<'_> {
    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let start = self.position;
            let Some(&byte) = self.bytes.get(start) else {
                self.push(TokenKind::EndOfFile, start);
                return;
            };
            let kind = self.scan_token(byte);
            self.push(kind, start);
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(offset(start), offset(self.position)),
            newline_before: self.newline_before,
        });
        self.newline_before = false;
    }

    fn peek_byte(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.position + ahead).copied()
    }

    fn skip_trivia(&mut self) {
        while let Some(byte) = self.peek_byte(0) {
            match byte {
                b'\n' => {
                    self.newline_before = true;
                    self.position += 1;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => self.position += 1,
                b'/' if self.peek_byte(1) == Some(b'/') => {
                    while let Some(byte) = self.peek_byte(0) {
                        if byte == b'\n' {
                            break;
                        }
                        self.position += 1;
                    }
                }
                b'/' if self.peek_byte(1) == Some(b'*') => {
                    let start = self.position;
                    self.position += 2;
                    loop {
                        match self.peek_byte(0) {
                            None => {
                                self.errors.push(ParseError::new(
                                    ParseErrorKind::UnterminatedComment,
                                    Span::new(offset(start), offset(start + 2)),
                                ));
                                break;
                            }
                            Some(b'*') if self.peek_byte(1) == Some(b'/') => {
                                self.position += 2;
                                break;
                            }
                            Some(byte) => {
                                if byte == b'\n' {
                                    self.newline_before = true;
                                }
                                self.position += 1;
                            }
                        }
                    }
                }
                _ => {
                    // Unicode whitespace (no-break space, BOM pasted from web pages) is trivia too.
                    let character = self.current_char();
                    if character.is_whitespace() || is_invisible_format_character(character) {
                        self.position += character.len_utf8();
                    } else {
                        return;
                    }
                }
            }
        }
    }

    fn current_char(&self) -> char {
        self.source
            .get(self.position..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('\0')
    }

    fn scan_token(&mut self, byte: u8) -> TokenKind {
        match byte {
            b'"' => self.scan_quoted(b'"'),
            b'\'' => self.scan_quoted(b'\''),
            b'0'..=b'9' => self.scan_number(),
            b'(' => self.single(TokenKind::LeftParen),
            b')' => self.single(TokenKind::RightParen),
            b'{' => self.single(TokenKind::LeftBrace),
            b'}' => self.single(TokenKind::RightBrace),
            b'[' => self.single(TokenKind::LeftBracket),
            b']' => self.single(TokenKind::RightBracket),
            b',' => self.single(TokenKind::Comma),
            b';' => self.single(TokenKind::Semicolon),
            b':' => self.single(TokenKind::Colon),
            b'.' => self.single(TokenKind::Dot),
            b'+' => self.with_equals(TokenKind::Plus, TokenKind::PlusAssign),
            b'-' => self.with_equals(TokenKind::Minus, TokenKind::MinusAssign),
            b'*' => self.with_equals(TokenKind::Star, TokenKind::StarAssign),
            b'/' => self.with_equals(TokenKind::Slash, TokenKind::SlashAssign),
            b'%' => self.with_equals(TokenKind::Percent, TokenKind::PercentAssign),
            b'=' => self.with_equals(TokenKind::Assign, TokenKind::EqualEqual),
            b'!' => self.with_equals(TokenKind::Bang, TokenKind::NotEqual),
            b'<' => self.with_equals(TokenKind::Less, TokenKind::LessEqual),
            b'>' => self.with_equals(TokenKind::Greater, TokenKind::GreaterEqual),
            b'&' if self.peek_byte(1) == Some(b'&') => {
                self.position += 2;
                TokenKind::AndAnd
            }
            b'|' if self.peek_byte(1) == Some(b'|') => {
                self.position += 2;
                TokenKind::OrOr
            }
            _ => {
                let character = self.current_char();
                if character == '_' || character.is_alphabetic() {
                    self.scan_identifier();
                    TokenKind::Identifier
                } else if character == '?' {
                    self.position += 1;
                    self.errors.push(ParseError::new(
                        ParseErrorKind::NotDeluge {
                            construct: "`condition ? a : b`".to_string(),
                            suggestion: "write `if(condition, a, b)` instead".to_string(),
                        },
                        Span::new(offset(self.position - 1), offset(self.position)),
                    ));
                    TokenKind::Unknown
                } else {
                    self.position += character.len_utf8().max(1);
                    self.errors.push(ParseError::new(
                        ParseErrorKind::UnexpectedCharacter { character },
                        Span::new(
                            offset(self.position - character.len_utf8().max(1)),
                            offset(self.position),
                        ),
                    ));
                    TokenKind::Unknown
                }
            }
        }
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.position += 1;
        kind
    }

    fn with_equals(&mut self, plain: TokenKind, with_equals: TokenKind) -> TokenKind {
        if self.peek_byte(1) == Some(b'=') {
            self.position += 2;
            with_equals
        } else {
            self.position += 1;
            plain
        }
    }

    fn scan_identifier(&mut self) {
        while let Some(character) = self
            .source
            .get(self.position..)
            .and_then(|rest| rest.chars().next())
        {
            if character == '_' || character.is_alphanumeric() {
                self.position += character.len_utf8();
            } else {
                break;
            }
        }
    }

    fn scan_number(&mut self) -> TokenKind {
        while matches!(self.peek_byte(0), Some(b'0'..=b'9')) {
            self.position += 1;
        }
        if self.peek_byte(0) == Some(b'.') && matches!(self.peek_byte(1), Some(b'0'..=b'9')) {
            self.position += 1;
            while matches!(self.peek_byte(0), Some(b'0'..=b'9')) {
                self.position += 1;
            }
            return TokenKind::Decimal;
        }
        TokenKind::Long
    }

    fn scan_quoted(&mut self, quote: u8) -> TokenKind {
        let start = self.position;
        self.position += 1;
        loop {
            match self.peek_byte(0) {
                None => {
                    let kind = if quote == b'"' {
                        ParseErrorKind::UnterminatedText
                    } else {
                        ParseErrorKind::UnterminatedSingleQuoted
                    };
                    self.errors.push(ParseError::new(
                        kind,
                        Span::new(offset(start), offset(start + 1)),
                    ));
                    break;
                }
                Some(b'\\') => {
                    self.position += 1;
                    if self.peek_byte(0).is_some() {
                        // Skip the escaped character whole, even when it is multi-byte.
                        self.position += self.current_char().len_utf8().max(1);
                    }
                }
                Some(byte) if byte == quote => {
                    self.position += 1;
                    break;
                }
                Some(_) => self.position += 1,
            }
        }
        if quote == b'"' {
            TokenKind::Text
        } else {
            TokenKind::SingleQuoted
        }
    }
}

/// Zero-width characters pasted from web pages and chat tools (zero-width space and joiners,
/// word joiner, byte-order mark) are invisible in Zoho's editor; they count as whitespace.
fn is_invisible_format_character(character: char) -> bool {
    matches!(
        character,
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
    )
}

/// Byte offsets are stored as `u32`; sources beyond 4 GiB saturate rather than wrap.
fn offset(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        tokenize(source)
            .0
            .into_iter()
            .map(|token| token.kind)
            .collect()
    }

    #[test]
    fn lexes_operators_and_compound_assignments() {
        use TokenKind::*;
        assert_eq!(
            kinds("a += 1 <= 2 != 3 && !b || c == d % e"),
            vec![
                Identifier, PlusAssign, Long, LessEqual, Long, NotEqual, Long, AndAnd, Bang,
                Identifier, OrOr, Identifier, EqualEqual, Identifier, Percent, Identifier,
                EndOfFile
            ]
        );
    }

    #[test]
    fn skips_both_comment_forms_and_tracks_newlines() {
        let (tokens, errors) = tokenize("a // line\n/* block\n */ b");
        assert!(errors.is_empty());
        assert_eq!(tokens.len(), 3);
        assert!(tokens[0].newline_before);
        assert!(tokens[1].newline_before);
        assert_eq!(tokens[1].span, Span::new(23, 24));
    }

    #[test]
    fn numbers_are_long_or_decimal() {
        use TokenKind::*;
        assert_eq!(
            kinds("12 0.99 100.0 1.x"),
            vec![Long, Decimal, Decimal, Long, Dot, Identifier, EndOfFile]
        );
    }

    #[test]
    fn decodes_text_escapes_and_keeps_unknown_ones() {
        assert_eq!(decode_text(r#""a\"b\\c\nd\'e""#), "a\"b\\c\nd'e");
        assert_eq!(decode_text(r#""\d+\.""#), "\\d+\\.");
        assert_eq!(decode_single_quoted(r"'it\'s'"), "it's");
        assert_eq!(decode_single_quoted("'\"'"), "\"");
    }

    #[test]
    fn unterminated_literals_and_comments_are_errors() {
        let (_, errors) = tokenize("x = \"abc");
        assert_eq!(errors[0].kind, ParseErrorKind::UnterminatedText);
        let (_, errors) = tokenize("x = 'abc");
        assert_eq!(errors[0].kind, ParseErrorKind::UnterminatedSingleQuoted);
        let (_, errors) = tokenize("/* never closed");
        assert_eq!(errors[0].kind, ParseErrorKind::UnterminatedComment);
    }

    #[test]
    fn unknown_characters_become_error_tokens() {
        let (tokens, errors) = tokenize("a # b");
        assert_eq!(tokens[1].kind, TokenKind::Unknown);
        assert_eq!(
            errors[0].kind,
            ParseErrorKind::UnexpectedCharacter { character: '#' }
        );
    }

    #[test]
    fn identifiers_may_contain_unicode_letters() {
        let (tokens, errors) = tokenize("año = 1");
        assert!(errors.is_empty());
        assert_eq!(tokens[0].span, Span::new(0, 4));
    }
}

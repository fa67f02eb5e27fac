//! The one error type of this crate: a syntax error with its span.

use crate::span::Span;
use serde::Serialize;

/// A syntax error at `span`. Parsing never stops at the first one; see [`crate::Parsed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub span: Span,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, span: Span) -> ParseError {
        ParseError { kind, span }
    }

    /// Stable machine code, e.g. `EXPECTED_TOKEN`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The human message: what is wrong and how to fix it.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

/// What went wrong. Each variant has a stable code ([`ParseErrorKind::code`]) and a message
/// that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParseErrorKind {
    #[error("text literal is not closed: add the closing `\"`")]
    UnterminatedText,
    #[error("single-quoted literal is not closed: add the closing `'`")]
    UnterminatedSingleQuoted,
    #[error("comment is not closed: add `*/` to end the `/*` comment")]
    UnterminatedComment,
    #[error("unexpected character `{character}`: remove it, or put it inside a \"text\" literal")]
    UnexpectedCharacter { character: char },
    #[error(
        "number `{text}` is too large: whole numbers must fit in 64 bits (at most 9223372036854775807)"
    )]
    NumberOutOfRange { text: String },
    /// "expected `;` after statement, found `x`".
    #[error("expected {expected}{context}, found {found}")]
    Expected {
        expected: String,
        context: String,
        found: String,
    },
    /// "unclosed `[` of invokeurl opened at line 3: add `]`".
    #[error("unclosed `{delimiter}` of {construct} opened at line {opened_line}: add `{closer}`")]
    Unclosed {
        delimiter: String,
        closer: String,
        construct: String,
        opened_line: u32,
    },
    #[error(
        "cannot assign to this expression: only a variable or a field such as `input.Field` can be assigned"
    )]
    InvalidAssignmentTarget,
    #[error(
        "nesting is too deep (more than {limit} levels): split the expression or block into smaller parts"
    )]
    NestingTooDeep { limit: u32 },
    /// Syntax Deluge does not have, with a suggested replacement.
    #[error("{construct} is not Deluge syntax: {suggestion}")]
    NotDeluge {
        construct: String,
        suggestion: String,
    },
    #[error("`try` block has no `catch`: add `catch (e) {{ ... }}` after it")]
    MissingCatch,
    /// "unexpected `}`: no block is open here".
    #[error("unexpected {found}: {hint}")]
    Unexpected { found: String, hint: String },
    #[error("`{function}` takes {expected} arguments, as in `{usage}`, but {found} were given")]
    WrongArgumentCount {
        function: String,
        expected: u32,
        usage: String,
        found: u32,
    },
}

impl ParseErrorKind {
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::UnterminatedText => "UNTERMINATED_TEXT",
            ParseErrorKind::UnterminatedSingleQuoted => "UNTERMINATED_SINGLE_QUOTED",
            ParseErrorKind::UnterminatedComment => "UNTERMINATED_COMMENT",
            ParseErrorKind::UnexpectedCharacter { .. } => "UNEXPECTED_CHARACTER",
            ParseErrorKind::NumberOutOfRange { .. } => "NUMBER_OUT_OF_RANGE",
            ParseErrorKind::Expected { .. } => "EXPECTED_TOKEN",
            ParseErrorKind::Unclosed { .. } => "UNCLOSED_DELIMITER",
            ParseErrorKind::InvalidAssignmentTarget => "INVALID_ASSIGNMENT_TARGET",
            ParseErrorKind::NestingTooDeep { .. } => "NESTING_TOO_DEEP",
            ParseErrorKind::NotDeluge { .. } => "NOT_DELUGE_SYNTAX",
            ParseErrorKind::MissingCatch => "MISSING_CATCH",
            ParseErrorKind::Unexpected { .. } => "UNEXPECTED_TOKEN",
            ParseErrorKind::WrongArgumentCount { .. } => "WRONG_ARGUMENT_COUNT",
        }
    }
}

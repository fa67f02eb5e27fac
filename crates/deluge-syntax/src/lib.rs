//! trestle-deluge-syntax: the Deluge front end.
//!
//! Source text goes through the hand-written [`lexer`] (tokens with byte spans, comments
//! skipped), then the recursive-descent [`parser`] (Pratt loop for operators) that builds the
//! [`ast`]. Parsing never gives up: [`parse`] always returns a [`Script`] together with every
//! [`ParseError`], recovering at statement boundaries. [`diagnostic`] renders errors as
//! `path:line:col: error: message` with a caret, or as JSON.
//!
//! [`sexpr`] prints a tree compactly (snapshot tests, debugging).
//!
//! This crate performs no IO and never panics on any input. Nesting deeper than
//! [`parser::MAX_NESTING`] is reported as an error instead of overflowing the stack.
//!
//! Where real Deluge is more permissive than its documentation, the parser follows the real
//! scripts (the corpus test holds it to that):
//! * `;` is optional after a statement that is (or assigns) a bracket task or an
//!   `insert into`: Zoho's editor writes `sendmail [ ... ]` without one.
//! * Task values may be bare constants (`type :GET`, `content-type: application/json`) and
//!   comma-separated lists (`to : a, b`); `,` or `;` between task entries is ignored.
//! * Inside `if (...)` conditions and `Form[...]` criteria, `=` compares (Creator accepts it)
//!   and the Creator words `is null`, `contains`, `starts with`, `ends with` are understood.
//! * Zero-width spaces, joiners and byte-order marks count as whitespace; unknown escapes in
//!   text keep their backslash (`"\d"` stays a regular expression).
//! * Keywords are contextual: `update`, `index`, `alert`, `info`, ... are ordinary variable
//!   names when followed by `=` or `.`.

pub mod ast;
pub mod diagnostic;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod sexpr;
pub mod span;

pub use ast::Script;
pub use error::{ParseError, ParseErrorKind};
pub use span::Span;

/// Qualifiers that make `qualifier.fn(...)` a call to a stored function rather than a method
/// call on a variable (compared lower-case): CRM categories and Creator's `thisapp`.
pub const FUNCTION_QUALIFIERS: &[&str] = &[
    "standalone",
    "automation",
    "button",
    "related_list",
    "validation_rule",
    "schedule",
    "thisapp",
];

/// The result of parsing: always a tree, plus every error found (empty when the script is
/// valid).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Parsed {
    pub script: ast::Script,
    pub errors: Vec<ParseError>,
}

impl Parsed {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Parses a whole Deluge script: an optional function header and its body, or just a body.
pub fn parse(source: &str) -> Parsed {
    parser::parse_script(source)
}

/// Parses a single expression (used by tools and tests); trailing input is an error.
pub fn parse_expression(source: &str) -> (ast::Expr, Vec<ParseError>) {
    parser::parse_expression_only(source)
}

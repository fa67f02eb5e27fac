//! Recursive-descent parser over the token list; operators use a precedence-climbing loop.
//!
//! Layout: this file holds the cursor, error reporting, recovery and the script level;
//! `statement` parses statements and blocks; `expression` parses expressions, bracket
//! tasks and Creator record expressions.
//!
//! Recovery: a statement that hits an error skips to the next statement boundary (a `;` at
//! its own brace depth, the `}` closing its block, or a line that starts a new statement) and
//! becomes [`Stmt::Error`] only when nothing useful was read. The parser always makes
//! progress, so it terminates on any input; a nesting limit guards the stack.

mod expression;
mod statement;

use crate::Parsed;
use crate::ast::{Block, Expr, ExprKind, Name, Script, Stmt};
use crate::diagnostic::LineIndex;
use crate::error::{ParseError, ParseErrorKind};
use crate::lexer::{Token, TokenKind, tokenize};
use crate::span::Span;

/// Deepest nesting of blocks and expressions accepted before reporting
/// [`ParseErrorKind::NestingTooDeep`]; real scripts stay far below it.
pub const MAX_NESTING: u32 = 100;

pub(crate) fn parse_script(source: &str) -> Parsed {
    let mut parser = Parser::new(source);
    let script = parser.script();
    Parsed {
        script,
        errors: parser.finish(),
    }
}

pub(crate) fn parse_expression_only(source: &str) -> (Expr, Vec<ParseError>) {
    let mut parser = Parser::new(source);
    let expression = parser.expression();
    if !parser.at(TokenKind::EndOfFile) {
        parser.error_expected("end of input", " after the expression");
    }
    (expression, parser.finish())
}

pub(crate) struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    position: usize,
    errors: Vec<ParseError>,
    lexical_errors: Vec<ParseError>,
    line_index: LineIndex,
    depth: u32,
    reported_too_deep: bool,
    /// Inside an `if (...)` condition or `Form[...]` criteria (see `condition_expression`).
    in_condition: bool,
    /// Token index of the last reported error, so one bad token yields one error.
    last_error_token: Option<usize>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Parser<'a> {
        let (tokens, lexical_errors) = tokenize(source);
        Parser {
            source,
            tokens,
            position: 0,
            errors: Vec::new(),
            lexical_errors,
            line_index: LineIndex::new(source),
            depth: 0,
            reported_too_deep: false,
            in_condition: false,
            last_error_token: None,
        }
    }

    fn finish(self) -> Vec<ParseError> {
        let mut errors = self.lexical_errors;
        errors.extend(self.errors);
        errors.sort_by_key(|error| (error.span.start, error.span.end));
        errors
    }

    // ----- cursor -------------------------------------------------------------------------

    fn token(&self, ahead: usize) -> Token {
        let index = (self.position + ahead).min(self.tokens.len().saturating_sub(1));
        self.tokens.get(index).copied().unwrap_or(Token {
            kind: TokenKind::EndOfFile,
            span: Span::empty_at(u32::try_from(self.source.len()).unwrap_or(u32::MAX)),
            newline_before: true,
        })
    }

    fn current(&self) -> Token {
        self.token(0)
    }

    fn kind(&self) -> TokenKind {
        self.current().kind
    }

    fn kind_at(&self, ahead: usize) -> TokenKind {
        self.token(ahead).kind
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.kind() == kind
    }

    fn at_end(&self) -> bool {
        self.at(TokenKind::EndOfFile)
    }

    fn text(&self, token: Token) -> &'a str {
        token.span.text(self.source)
    }

    /// Whether the token `ahead` is the identifier `word` (any letter case).
    fn word_at(&self, ahead: usize, word: &str) -> bool {
        let token = self.token(ahead);
        token.kind == TokenKind::Identifier && self.text(token).eq_ignore_ascii_case(word)
    }

    fn at_word(&self, word: &str) -> bool {
        self.word_at(0, word)
    }

    /// The previous token's end, where a missing `;` belongs.
    fn previous_end(&self) -> u32 {
        if self.position == 0 {
            return 0;
        }
        self.tokens
            .get(self.position - 1)
            .map(|token| token.span.end)
            .unwrap_or(0)
    }

    fn bump(&mut self) -> Token {
        let token = self.current();
        if token.kind != TokenKind::EndOfFile {
            self.position += 1;
        }
        token
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        if self.at(kind) {
            Some(self.bump())
        } else {
            None
        }
    }

    fn eat_word(&mut self, word: &str) -> Option<Token> {
        if self.at_word(word) {
            Some(self.bump())
        } else {
            None
        }
    }

    fn name(&self, token: Token) -> Name {
        let text = self.text(token);
        Name {
            name: text.to_string(),
            key: text.to_lowercase(),
            span: token.span,
        }
    }

    fn line_of(&self, offset: u32) -> u32 {
        self.line_index.line_number(offset)
    }

    // ----- errors -------------------------------------------------------------------------

    fn report(&mut self, kind: ParseErrorKind, span: Span) {
        if self.last_error_token == Some(self.position) {
            return;
        }
        // The lexer already reported unknown characters, and an unterminated literal or comment
        // runs to the end of the file: one error for each of those is enough.
        let lexer_explains = self.at(TokenKind::Unknown)
            || (self.at_end()
                && self.lexical_errors.iter().any(|error| {
                    matches!(
                        error.kind,
                        ParseErrorKind::UnterminatedText
                            | ParseErrorKind::UnterminatedSingleQuoted
                            | ParseErrorKind::UnterminatedComment
                    )
                }));
        if lexer_explains {
            self.last_error_token = Some(self.position);
            return;
        }
        self.last_error_token = Some(self.position);
        self.errors.push(ParseError::new(kind, span));
    }

    fn describe(&self, token: Token) -> String {
        match token.kind {
            TokenKind::EndOfFile => "end of file".to_string(),
            TokenKind::Text | TokenKind::SingleQuoted => {
                let text = self.text(token);
                let shortened: String = text.chars().take(24).collect();
                if shortened.len() < text.len() {
                    format!("text {shortened}...")
                } else {
                    format!("text {shortened}")
                }
            }
            _ => {
                let text = self.text(token);
                let shortened: String = text.chars().take(24).collect();
                format!("`{shortened}`")
            }
        }
    }

    /// "expected {expected}{context}, found ..." at the current token.
    /// Where an error about the current token points: the token itself, or just after the
    /// last real token when the input has ended (so the caret lands on a visible line).
    fn error_span(&self) -> Span {
        let token = self.current();
        if token.kind == TokenKind::EndOfFile {
            Span::empty_at(self.previous_end())
        } else {
            token.span
        }
    }

    fn error_expected(&mut self, expected: &str, context: &str) {
        let token = self.current();
        let found = self.describe(token);
        let span = self.error_span();
        self.report(
            ParseErrorKind::Expected {
                expected: expected.to_string(),
                context: context.to_string(),
                found,
            },
            span,
        );
    }

    fn expect(&mut self, kind: TokenKind, expected: &str, context: &str) -> Option<Token> {
        if let Some(token) = self.eat(kind) {
            return Some(token);
        }
        self.error_expected(expected, context);
        None
    }

    /// Expects the closer of a bracket opened by `opener`; reports which construct is unclosed.
    fn expect_closer(&mut self, kind: TokenKind, opener: Token, construct: &str) -> Option<Token> {
        if let Some(token) = self.eat(kind) {
            return Some(token);
        }
        let (delimiter, closer) = match kind {
            TokenKind::RightParen => ("(", ")"),
            TokenKind::RightBracket => ("[", "]"),
            _ => ("{", "}"),
        };
        let opened_line = self.line_of(opener.span.start);
        let span = self.error_span();
        self.report(
            ParseErrorKind::Unclosed {
                delimiter: delimiter.to_string(),
                closer: closer.to_string(),
                construct: construct.to_string(),
                opened_line,
            },
            span,
        );
        None
    }

    // ----- nesting guard ------------------------------------------------------------------

    /// Enters one nesting level; returns false (after reporting once) when too deep.
    fn enter(&mut self) -> bool {
        if self.depth >= MAX_NESTING {
            if !self.reported_too_deep {
                self.reported_too_deep = true;
                let span = self.current().span;
                self.errors.push(ParseError::new(
                    ParseErrorKind::NestingTooDeep { limit: MAX_NESTING },
                    span,
                ));
            }
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// After hitting the nesting limit: skip a balanced run of tokens so the enclosing
    /// construct can continue at its own closer.
    fn skip_balanced(&mut self) -> Span {
        let start = self.current().span;
        let mut balance: i64 = 0;
        loop {
            match self.kind() {
                TokenKind::EndOfFile => break,
                TokenKind::LeftParen | TokenKind::LeftBracket | TokenKind::LeftBrace => {
                    balance += 1
                }
                TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace => {
                    if balance == 0 {
                        break;
                    }
                    balance -= 1;
                }
                TokenKind::Semicolon if balance == 0 => break,
                _ => {}
            }
            self.bump();
        }
        start.to(Span::empty_at(self.previous_end().max(start.start)))
    }

    fn error_expr(&self, span: Span) -> Expr {
        Expr {
            kind: ExprKind::Error,
            span,
        }
    }

    // ----- recovery -----------------------------------------------------------------------

    /// Skips to the end of the broken statement that began at token `start`.
    fn synchronize(&mut self, start: usize) {
        let mut braces: i64 = 0;
        let mut groups: i64 = 0;
        for token in self.tokens.get(start..self.position).unwrap_or(&[]) {
            match token.kind {
                TokenKind::LeftBrace => braces += 1,
                TokenKind::RightBrace => braces -= 1,
                TokenKind::LeftParen | TokenKind::LeftBracket => groups += 1,
                TokenKind::RightParen | TokenKind::RightBracket => groups -= 1,
                _ => {}
            }
        }
        let from = self.position;
        loop {
            let token = self.current();
            match token.kind {
                TokenKind::EndOfFile => return,
                TokenKind::Semicolon if braces <= 0 => {
                    self.bump();
                    return;
                }
                TokenKind::RightBrace => {
                    if braces <= 0 {
                        return;
                    }
                    braces -= 1;
                }
                TokenKind::LeftBrace => braces += 1,
                TokenKind::LeftParen | TokenKind::LeftBracket => groups += 1,
                TokenKind::RightParen | TokenKind::RightBracket => groups -= 1,
                _ => {}
            }
            if self.position > from
                && token.newline_before
                && braces <= 0
                && groups <= 0
                && self.starts_statement_line()
            {
                return;
            }
            self.bump();
        }
    }

    /// Whether the current token (at the start of a line) clearly begins a new statement.
    fn starts_statement_line(&self) -> bool {
        if self.kind() != TokenKind::Identifier {
            return false;
        }
        const STATEMENT_WORDS: &[&str] = &[
            "if", "for", "return", "info", "try", "break", "continue", "throw", "alert",
        ];
        if STATEMENT_WORDS.iter().any(|word| self.at_word(word)) {
            return true;
        }
        matches!(
            self.kind_at(1),
            TokenKind::Assign
                | TokenKind::PlusAssign
                | TokenKind::MinusAssign
                | TokenKind::StarAssign
                | TokenKind::SlashAssign
                | TokenKind::PercentAssign
        )
    }

    // ----- script level -------------------------------------------------------------------

    fn script(&mut self) -> Script {
        let end = u32::try_from(self.source.len()).unwrap_or(u32::MAX);
        let mut header = None;
        let mut body_statements: Vec<Stmt> = Vec::new();
        let mut body_span: Option<Span> = None;
        let mut other_functions = Vec::new();
        let mut stray_reported = false;
        while !self.at_end() {
            let before = self.position;
            if self.at_function_header() {
                let definition = self.function_definition();
                if header.is_none() && body_statements.is_empty() {
                    body_span = Some(definition.body.span);
                    body_statements = definition.body.statements;
                    header = Some(definition.header);
                } else {
                    other_functions.push(definition);
                }
            } else if self.at(TokenKind::RightBrace) {
                let token = self.current();
                self.report(
                    ParseErrorKind::Unexpected {
                        found: "`}`".to_string(),
                        hint: "no block is open here; remove it or add the matching `{`"
                            .to_string(),
                    },
                    token.span,
                );
                self.bump();
            } else {
                if header.is_some() && !stray_reported {
                    stray_reported = true;
                    let span = self.current().span;
                    self.report(
                        ParseErrorKind::Unexpected {
                            found: self.describe(self.current()),
                            hint: "statements must be inside the function's `{ ... }` body"
                                .to_string(),
                        },
                        span,
                    );
                }
                if let Some(statement) = self.statement() {
                    body_statements.push(statement);
                }
            }
            if self.position == before {
                self.bump();
            }
        }
        let body_span = match (header.is_some(), body_span) {
            (true, Some(span)) => span,
            _ => Span::new(0, end),
        };
        Script {
            header,
            body: Block {
                statements: body_statements,
                span: body_span,
            },
            other_functions,
            span: Span::new(0, end),
        }
    }
}

#[cfg(test)]
mod tests;

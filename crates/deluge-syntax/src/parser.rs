//! Recursive-descent parser (work in progress: returns the lexical errors and an empty tree).

use crate::ast::{Block, Expr, ExprKind, Script};
use crate::span::Span;
use crate::{ParseError, Parsed};

pub(crate) fn parse_script(source: &str) -> Parsed {
    let (_tokens, errors) = crate::lexer::tokenize(source);
    let end = u32::try_from(source.len()).unwrap_or(u32::MAX);
    Parsed {
        script: Script {
            header: None,
            body: Block {
                statements: Vec::new(),
                span: Span::new(0, end),
            },
            other_functions: Vec::new(),
            span: Span::new(0, end),
        },
        errors,
    }
}

pub(crate) fn parse_expression_only(source: &str) -> (Expr, Vec<ParseError>) {
    let (_tokens, errors) = crate::lexer::tokenize(source);
    let end = u32::try_from(source.len()).unwrap_or(u32::MAX);
    (
        Expr {
            kind: ExprKind::Error,
            span: Span::new(0, end),
        },
        errors,
    )
}

//! Expressions: operators by precedence climbing, primaries, postfix member/method chains,
//! literals, bracket tasks and Creator record expressions.

use super::Parser;
use super::statement::qualified;
use crate::ast::{
    BinaryOperator, BracketTask, ConstructorItem, ConstructorKind, Expr, ExprKind, FieldAssignment,
    Identifier, MapEntry, Name, RecordFetch, RecordRange, SortBy, TaskAttachment, TaskEntry,
    TaskValue, UnaryOperator,
};
use crate::error::ParseErrorKind;
use crate::lexer::{Token, TokenKind, decode_single_quoted, decode_text};
use crate::span::Span;

/// Names that are always bracket tasks (`name [ key : value ... ]`), never record fetches.
const TASK_NAMES: &[&str] = &["invokeurl", "sendmail", "sendsms", "pushnotify", "postfeed"];

/// `zoho.<name>` system variables (a further `.x` is a method call on them, not a task).
const SYSTEM_VARIABLES: &[&str] = &[
    "currentdate",
    "currenttime",
    "loginuser",
    "loginuserid",
    "adminuser",
    "adminuserid",
    "appname",
    "appuri",
    "ipaddress",
    "currentzone",
];

/// Task keys whose value may be an unquoted constant (`type :GET`).
const BARE_VALUE_KEYS: &[&str] = &[
    "type",
    "response-format",
    "response-decoding",
    "content-type",
    "content type",
];

const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

impl Parser<'_> {
    pub(super) fn expression(&mut self) -> Expr {
        self.binary(0)
    }

    /// An expression where Creator criteria syntax is allowed (`=` as equality, `is null`,
    /// `contains`, ...): `if (...)` conditions and `Form[...]` criteria.
    pub(super) fn condition_expression(&mut self) -> Expr {
        let saved = self.in_condition;
        self.in_condition = true;
        let expression = self.binary(0);
        self.in_condition = saved;
        expression
    }

    /// Creator criteria words (only inside conditions and `Form[...]` criteria): `is null`,
    /// `is not null`, `contains`, `not contains`, `starts with`, `ends with`. They bind like
    /// comparisons (precedence 4); see the module notes in [`crate::ast`].
    fn criteria_operator(&mut self, left: &Expr, minimum_precedence: u8) -> Option<Expr> {
        const PRECEDENCE: u8 = 4;
        if minimum_precedence > PRECEDENCE || self.kind() != TokenKind::Identifier {
            return None;
        }
        if self.at_word("is")
            && (self.word_at(1, "null") || (self.word_at(1, "not") && self.word_at(2, "null")))
        {
            let negated = self.word_at(1, "not");
            self.bump();
            if negated {
                self.bump();
            }
            let null_token = self.bump();
            let right = Expr {
                kind: ExprKind::Null,
                span: null_token.span,
            };
            let operator = if negated {
                BinaryOperator::NotEqual
            } else {
                BinaryOperator::Equal
            };
            return Some(Expr {
                span: left.span.to(null_token.span),
                kind: ExprKind::Binary {
                    operator,
                    left: Box::new(left.clone()),
                    right: Box::new(right),
                },
            });
        }
        let (method, negated, word_count) = if self.at_word("contains") {
            ("contains", false, 1)
        } else if self.at_word("not") && self.word_at(1, "contains") {
            ("contains", true, 2)
        } else if self.at_word("starts") && self.word_at(1, "with") {
            ("startsWith", false, 2)
        } else if self.at_word("ends") && self.word_at(1, "with") {
            ("endsWith", false, 2)
        } else {
            return None;
        };
        let first = self.current();
        let mut last = first;
        for _ in 0..word_count {
            last = self.bump();
        }
        let right = self.binary(PRECEDENCE + 1);
        let span = left.span.to(right.span);
        let call = Expr {
            span,
            kind: ExprKind::MethodCall {
                receiver: Box::new(left.clone()),
                method: Name {
                    name: method.to_string(),
                    key: method.to_lowercase(),
                    span: first.span.to(last.span),
                },
                arguments: vec![right],
            },
        };
        if negated {
            return Some(Expr {
                span,
                kind: ExprKind::Unary {
                    operator: UnaryOperator::Not,
                    operand: Box::new(call),
                },
            });
        }
        Some(call)
    }

    fn binary_operator(&self) -> Option<(BinaryOperator, u8, usize)> {
        let operator = match self.kind() {
            TokenKind::Assign if self.in_condition => (BinaryOperator::Equal, 3, 1),
            TokenKind::OrOr => (BinaryOperator::Or, 1, 1),
            TokenKind::AndAnd => (BinaryOperator::And, 2, 1),
            TokenKind::EqualEqual => (BinaryOperator::Equal, 3, 1),
            TokenKind::NotEqual => (BinaryOperator::NotEqual, 3, 1),
            TokenKind::Less => (BinaryOperator::Less, 4, 1),
            TokenKind::LessEqual => (BinaryOperator::LessEqual, 4, 1),
            TokenKind::Greater => (BinaryOperator::Greater, 4, 1),
            TokenKind::GreaterEqual => (BinaryOperator::GreaterEqual, 4, 1),
            TokenKind::Plus => (BinaryOperator::Add, 5, 1),
            TokenKind::Minus => (BinaryOperator::Subtract, 5, 1),
            TokenKind::Star => (BinaryOperator::Multiply, 6, 1),
            TokenKind::Slash => (BinaryOperator::Divide, 6, 1),
            TokenKind::Percent => (BinaryOperator::Remainder, 6, 1),
            TokenKind::Identifier if self.at_word("in") => (BinaryOperator::In, 4, 1),
            TokenKind::Identifier if self.at_word("not") && self.word_at(1, "in") => {
                (BinaryOperator::NotIn, 4, 2)
            }
            _ => return None,
        };
        Some(operator)
    }

    fn binary(&mut self, minimum_precedence: u8) -> Expr {
        if !self.enter() {
            let span = self.skip_balanced();
            return self.error_expr(span);
        }
        let mut left = self.unary();
        loop {
            if self.in_condition
                && let Some(combined) = self.criteria_operator(&left, minimum_precedence)
            {
                left = combined;
                continue;
            }
            let Some((operator, precedence, token_count)) = self.binary_operator() else {
                break;
            };
            if precedence < minimum_precedence {
                break;
            }
            for _ in 0..token_count {
                self.bump();
            }
            let right = self.binary(precedence + 1);
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    operator,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
        self.leave();
        left
    }

    fn unary(&mut self) -> Expr {
        let operator = match self.kind() {
            TokenKind::Bang => UnaryOperator::Not,
            TokenKind::Minus => UnaryOperator::Negate,
            TokenKind::Plus => UnaryOperator::Plus,
            _ => return self.postfix(),
        };
        let token = self.bump();
        if !self.enter() {
            let span = self.skip_balanced();
            return self.error_expr(token.span.to(span));
        }
        let operand = self.unary();
        self.leave();
        Expr {
            span: token.span.to(operand.span),
            kind: ExprKind::Unary {
                operator,
                operand: Box::new(operand),
            },
        }
    }

    /// A primary followed by `.field` / `.method(...)` links.
    fn postfix(&mut self) -> Expr {
        let mut expression = self.primary();
        while self.at(TokenKind::Dot) {
            if matches!(expression.kind, ExprKind::Error) {
                break;
            }
            self.bump();
            if !self.at(TokenKind::Identifier) {
                self.error_expected("a field or method name", " after `.`");
                break;
            }
            let name_token = self.bump();
            if self.at(TokenKind::LeftParen) {
                let open = self.bump();
                let method = self.name(name_token);
                let construct = format!("the call to `{}`", method.name);
                let (arguments, end) = self.arguments_after_open(open, &construct);
                expression = Expr {
                    span: Span::new(expression.span.start, end),
                    kind: ExprKind::MethodCall {
                        receiver: Box::new(expression),
                        method,
                        arguments,
                    },
                };
            } else {
                let field = Identifier {
                    name: self.text(name_token).to_string(),
                    span: name_token.span,
                };
                expression = Expr {
                    span: expression.span.to(name_token.span),
                    kind: ExprKind::Member {
                        object: Box::new(expression),
                        field,
                    },
                };
            }
        }
        expression
    }

    fn primary(&mut self) -> Expr {
        let token = self.current();
        match token.kind {
            TokenKind::Text => {
                self.bump();
                Expr {
                    kind: ExprKind::Text(decode_text(self.text(token))),
                    span: token.span,
                }
            }
            TokenKind::SingleQuoted => {
                self.bump();
                Expr {
                    kind: ExprKind::SingleQuoted(decode_single_quoted(self.text(token))),
                    span: token.span,
                }
            }
            TokenKind::Long => {
                self.bump();
                let text = self.text(token);
                match text.parse::<i64>() {
                    Ok(value) => Expr {
                        kind: ExprKind::Long(value),
                        span: token.span,
                    },
                    Err(_) => {
                        self.errors.push(crate::ParseError::new(
                            ParseErrorKind::NumberOutOfRange {
                                text: text.to_string(),
                            },
                            token.span,
                        ));
                        self.error_expr(token.span)
                    }
                }
            }
            TokenKind::Decimal => {
                self.bump();
                Expr {
                    kind: ExprKind::Decimal(self.text(token).to_string()),
                    span: token.span,
                }
            }
            TokenKind::LeftParen => {
                let open = self.bump();
                let inner = self.expression();
                let end = match self.expect_closer(
                    TokenKind::RightParen,
                    open,
                    "parenthesized expression",
                ) {
                    Some(close) => close.span.end,
                    None => inner.span.end,
                };
                Expr {
                    kind: ExprKind::Paren(Box::new(inner)),
                    span: Span::new(open.span.start, end),
                }
            }
            TokenKind::LeftBrace => self.collection_literal(TokenKind::RightBrace),
            TokenKind::LeftBracket => self.collection_literal(TokenKind::RightBracket),
            TokenKind::Identifier => self.identifier_expression(),
            _ => {
                self.error_expected("an expression", "");
                self.error_expr(Span::empty_at(token.span.start))
            }
        }
    }

    fn identifier_expression(&mut self) -> Expr {
        let token = self.current();
        let word = self.text(token).to_ascii_lowercase();
        let next = self.kind_at(1);
        match word.as_str() {
            "true" | "false" => {
                self.bump();
                return Expr {
                    kind: ExprKind::Boolean(word == "true"),
                    span: token.span,
                };
            }
            "null" => {
                self.bump();
                return Expr {
                    kind: ExprKind::Null,
                    span: token.span,
                };
            }
            "if" if next == TokenKind::LeftParen => return self.if_expression(),
            "ifnull" if next == TokenKind::LeftParen => return self.ifnull_expression(),
            "map" | "list" | "collection"
                if next == TokenKind::LeftParen
                    || (word == "list"
                        && next == TokenKind::Colon
                        && self.kind_at(2) == TokenKind::Identifier
                        && self.kind_at(3) == TokenKind::LeftParen) =>
            {
                return self.constructor(&word);
            }
            "zoho" if next == TokenKind::Dot && self.kind_at(2) == TokenKind::Identifier => {
                return self.zoho_expression();
            }
            "insert" if self.word_at(1, "into") => return self.insert_into(),
            _ => {}
        }
        if next == TokenKind::LeftBracket {
            return self.bracket_expression();
        }
        if next == TokenKind::LeftParen {
            return self.call(vec![self.name(token)], token);
        }
        if next == crate::lexer::TokenKind::Dot
            && crate::FUNCTION_QUALIFIERS.contains(&word.as_str())
            && let Some(expression) = self.qualified_call()
        {
            return expression;
        }
        self.bump();
        Expr {
            kind: ExprKind::Variable(Identifier {
                name: self.text(token).to_string(),
                span: token.span,
            }),
            span: token.span,
        }
    }

    /// `standalone.fn(...)`, `thisapp.ns.fn(...)`: a dotted name directly followed by `(`.
    fn qualified_call(&mut self) -> Option<Expr> {
        let mut ahead = 1;
        while self.kind_at(ahead) == TokenKind::Dot
            && self.kind_at(ahead + 1) == TokenKind::Identifier
        {
            ahead += 2;
        }
        if self.kind_at(ahead) != TokenKind::LeftParen {
            return None;
        }
        let first_token = self.current();
        let mut parts = Vec::new();
        loop {
            let token = self.current();
            parts.push(self.name(token));
            if self.kind_at(1) == TokenKind::Dot {
                self.bump();
                self.bump();
            } else {
                break;
            }
        }
        // At the last name, followed by `(`.
        Some(self.call(parts, first_token))
    }

    /// A call by name; the current token is the name's last part, followed by `(`.
    fn call(&mut self, parts: Vec<Name>, first: Token) -> Expr {
        self.bump();
        let open = self.bump();
        let function = qualified(parts);
        let construct = format!(
            "the call to `{}`",
            function.parts.last().map_or("", |part| part.name.as_str())
        );
        let (arguments, end) = self.arguments_after_open(open, &construct);
        Expr {
            span: Span::new(first.span.start, end),
            kind: ExprKind::Call {
                function,
                arguments,
            },
        }
    }

    /// Comma-separated arguments after an already consumed `(`; returns them and the end offset.
    pub(super) fn arguments_after_open(
        &mut self,
        open: Token,
        construct: &str,
    ) -> (Vec<Expr>, u32) {
        let mut arguments = Vec::new();
        if let Some(close) = self.eat(TokenKind::RightParen) {
            return (arguments, close.span.end);
        }
        loop {
            let mut argument = self.expression();
            let mut failed = matches!(argument.kind, ExprKind::Error);
            if !failed && self.eat(TokenKind::Colon).is_some() {
                let value = self.expression();
                failed = matches!(value.kind, ExprKind::Error);
                argument = Expr {
                    span: argument.span.to(value.span),
                    kind: ExprKind::Pair {
                        key: Box::new(argument),
                        value: Box::new(value),
                    },
                };
            }
            arguments.push(argument);
            if failed || self.eat(TokenKind::Comma).is_none() {
                break;
            }
        }
        match self.expect_closer(TokenKind::RightParen, open, construct) {
            Some(close) => (arguments, close.span.end),
            None => (arguments, self.previous_end().max(open.span.end)),
        }
    }

    fn if_expression(&mut self) -> Expr {
        let if_token = self.bump();
        let open = self.bump();
        let (mut arguments, end) = self.arguments_after_open(open, "`if(...)`");
        let span = Span::new(if_token.span.start, end);
        if arguments.len() != 3 {
            self.report_argument_count(
                "if",
                3,
                "if(condition, value_if_true, value_if_false)",
                arguments.len(),
                span,
            );
            return self.error_expr(span);
        }
        let else_value = arguments.pop();
        let then_value = arguments.pop();
        let condition = arguments.pop();
        match (condition, then_value, else_value) {
            (Some(condition), Some(then_value), Some(else_value)) => Expr {
                kind: ExprKind::If {
                    condition: Box::new(condition),
                    then_value: Box::new(then_value),
                    else_value: Box::new(else_value),
                },
                span,
            },
            _ => self.error_expr(span),
        }
    }

    fn ifnull_expression(&mut self) -> Expr {
        let name_token = self.bump();
        let open = self.bump();
        let construct = format!("`{}(...)`", self.text(name_token));
        let (mut arguments, end) = self.arguments_after_open(open, &construct);
        let span = Span::new(name_token.span.start, end);
        if arguments.len() != 2 {
            self.report_argument_count(
                "ifnull",
                2,
                "ifnull(value, fallback)",
                arguments.len(),
                span,
            );
            return self.error_expr(span);
        }
        let fallback = arguments.pop();
        let value = arguments.pop();
        match (value, fallback) {
            (Some(value), Some(fallback)) => Expr {
                kind: ExprKind::IfNull {
                    value: Box::new(value),
                    fallback: Box::new(fallback),
                },
                span,
            },
            _ => self.error_expr(span),
        }
    }

    fn report_argument_count(
        &mut self,
        function: &str,
        expected: u32,
        usage: &str,
        found: usize,
        span: Span,
    ) {
        // Only when the argument list itself parsed; otherwise that error already explains it.
        if self
            .last_error_token
            .is_some_and(|token| token + 1 >= self.position)
        {
            return;
        }
        self.errors.push(crate::ParseError::new(
            ParseErrorKind::WrongArgumentCount {
                function: function.to_string(),
                expected,
                usage: usage.to_string(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            },
            span,
        ));
    }

    /// `Map(...)`, `List(...)`, `Collection(...)`, `List:String(...)`.
    fn constructor(&mut self, word: &str) -> Expr {
        let name_token = self.bump();
        let name = self.name(name_token);
        let kind = match word {
            "map" => ConstructorKind::Map,
            "list" => ConstructorKind::List,
            _ => ConstructorKind::Collection,
        };
        let element_type = if self.eat(TokenKind::Colon).is_some() {
            let type_token = self.bump();
            Some(self.name(type_token))
        } else {
            None
        };
        let open = self.bump();
        let mut items = Vec::new();
        let construct = format!("`{}(...)`", name.name);
        let end;
        if let Some(close) = self.eat(TokenKind::RightParen) {
            end = close.span.end;
        } else {
            loop {
                let first = self.expression();
                let failed = matches!(first.kind, ExprKind::Error);
                let item = if self.eat(TokenKind::Colon).is_some() {
                    let value = self.expression();
                    ConstructorItem {
                        span: first.span.to(value.span),
                        key: Some(first),
                        value,
                    }
                } else {
                    ConstructorItem {
                        span: first.span,
                        key: None,
                        value: first,
                    }
                };
                items.push(item);
                if failed || self.eat(TokenKind::Comma).is_none() {
                    break;
                }
            }
            end = match self.expect_closer(TokenKind::RightParen, open, &construct) {
                Some(close) => close.span.end,
                None => self.previous_end(),
            };
        }
        Expr {
            kind: ExprKind::Constructor {
                kind,
                name,
                element_type,
                items,
            },
            span: Span::new(name_token.span.start, end.max(open.span.end)),
        }
    }

    /// `zoho.crm.getRecordById(...)` or `zoho.currentdate`.
    fn zoho_expression(&mut self) -> Expr {
        let zoho_token = self.bump();
        self.bump(); // .
        let first = self.bump();
        let mut parts = vec![self.name(first)];
        let first_key = parts[0].key.clone();
        if SYSTEM_VARIABLES.contains(&first_key.as_str()) {
            let path = qualified(parts);
            return Expr {
                span: zoho_token.span.to(path.span),
                kind: ExprKind::SystemVariable { path },
            };
        }
        // Collect `.name` parts up to the call parenthesis.
        let mut ahead = 0;
        while self.kind_at(ahead) == TokenKind::Dot
            && self.kind_at(ahead + 1) == TokenKind::Identifier
        {
            ahead += 2;
        }
        let is_call = self.kind_at(ahead) == TokenKind::LeftParen;
        if is_call {
            while self.at(TokenKind::Dot) {
                self.bump();
                let part = self.bump();
                parts.push(self.name(part));
            }
            let open = self.bump();
            let path = qualified(parts);
            let construct = format!(
                "the call to `zoho.{}`",
                path.parts
                    .iter()
                    .map(|part| part.name.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
            );
            let (arguments, end) = self.arguments_after_open(open, &construct);
            return Expr {
                span: Span::new(zoho_token.span.start, end),
                kind: ExprKind::IntegrationTask { path, arguments },
            };
        }
        // `zoho.device.type` and other unknown system values: the whole dotted path.
        while self.at(TokenKind::Dot) && self.kind_at(1) == TokenKind::Identifier {
            self.bump();
            let part = self.bump();
            parts.push(self.name(part));
        }
        let path = qualified(parts);
        Expr {
            span: zoho_token.span.to(path.span),
            kind: ExprKind::SystemVariable { path },
        }
    }

    /// `{...}` or `[...]`: a map when the first element is `key : value`, else a list.
    fn collection_literal(&mut self, closer: TokenKind) -> Expr {
        let open = self.bump();
        let construct = if closer == TokenKind::RightBrace {
            "list or map literal"
        } else {
            "list literal"
        };
        if let Some(close) = self.eat(closer) {
            let span = open.span.to(close.span);
            let kind = if closer == TokenKind::RightBrace {
                ExprKind::Map(Vec::new())
            } else {
                ExprKind::List(Vec::new())
            };
            return Expr { kind, span };
        }
        let first = self.expression();
        let kind = if self.at(TokenKind::Colon) {
            let mut entries = Vec::new();
            let mut key = first;
            loop {
                if matches!(key.kind, ExprKind::Error) {
                    break;
                }
                if self
                    .expect(TokenKind::Colon, "`:`", " between map key and value")
                    .is_none()
                {
                    break;
                }
                let value = self.expression();
                let failed = matches!(value.kind, ExprKind::Error);
                entries.push(MapEntry {
                    span: key.span.to(value.span),
                    key,
                    value,
                });
                if failed || self.eat(TokenKind::Comma).is_none() || self.at(closer) {
                    break;
                }
                key = self.expression();
            }
            ExprKind::Map(entries)
        } else {
            let mut elements = vec![first];
            while elements
                .last()
                .is_some_and(|element| !matches!(element.kind, ExprKind::Error))
                && self.eat(TokenKind::Comma).is_some()
                && !self.at(closer)
            {
                elements.push(self.expression());
            }
            ExprKind::List(elements)
        };
        let end = match self.expect_closer(closer, open, construct) {
            Some(close) => close.span.end,
            None => {
                self.skip_to_closer(closer);
                self.previous_end()
            }
        };
        Expr {
            kind,
            span: Span::new(open.span.start, end.max(open.span.end)),
        }
    }

    /// After an error inside a bracketed construct: skip to its closer (consumed) unless a
    /// statement boundary comes first.
    fn skip_to_closer(&mut self, closer: TokenKind) {
        let mut balance: i64 = 0;
        loop {
            let kind = self.kind();
            match kind {
                TokenKind::EndOfFile | TokenKind::Semicolon => return,
                TokenKind::LeftParen | TokenKind::LeftBracket | TokenKind::LeftBrace => {
                    balance += 1
                }
                TokenKind::RightParen | TokenKind::RightBracket | TokenKind::RightBrace => {
                    if balance == 0 {
                        if kind == closer {
                            self.bump();
                        }
                        return;
                    }
                    balance -= 1;
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// `name [ ... ]`: a bracket task when the name is a known task or the content starts with
    /// `key :`, otherwise a Creator record fetch `Form[criteria]`.
    fn bracket_expression(&mut self) -> Expr {
        let name_token = self.current();
        let word = self.text(name_token).to_ascii_lowercase();
        let is_task = TASK_NAMES.contains(&word.as_str())
            || self.kind_at(2) == TokenKind::RightBracket
            || self.task_key_length(2).is_some();
        if is_task {
            self.bracket_task()
        } else {
            self.record_fetch()
        }
    }

    /// If the tokens from `ahead` form a task key followed by `:`, the number of key tokens.
    fn task_key_length(&self, ahead: usize) -> Option<usize> {
        if self.kind_at(ahead) != TokenKind::Identifier {
            return None;
        }
        let mut length = 1;
        loop {
            match self.kind_at(ahead + length) {
                TokenKind::Colon => return Some(length),
                TokenKind::Minus if self.kind_at(ahead + length + 1) == TokenKind::Identifier => {
                    length += 2
                }
                TokenKind::Identifier if !self.token(ahead + length).newline_before => length += 1,
                _ => return None,
            }
        }
    }

    fn bracket_task(&mut self) -> Expr {
        let name_token = self.bump();
        let name = self.name(name_token);
        let open = self.bump();
        let construct = name.name.clone();
        let mut entries = Vec::new();
        loop {
            if self.at(TokenKind::RightBracket) || self.at_end() {
                break;
            }
            // Separators between entries are optional.
            if self.eat(TokenKind::Comma).is_some() || self.eat(TokenKind::Semicolon).is_some() {
                continue;
            }
            let Some(key_length) = self.task_key_length(0) else {
                self.error_expected("a task key such as `url :`", &format!(" in `{construct}`"));
                if !self.skip_task_entry() {
                    break;
                }
                continue;
            };
            let key = self.task_key(key_length);
            self.bump(); // :
            let value = self.task_value(&key);
            let value_end = match &value {
                TaskValue::Expr(expression) => expression.span.end,
                TaskValue::Bare { span, .. } => span.end,
                TaskValue::Attachments(items) => {
                    items.last().map_or(key.span.end, |item| item.span.end)
                }
            };
            let failed = matches!(&value, TaskValue::Expr(expression) if matches!(expression.kind, ExprKind::Error));
            entries.push(TaskEntry {
                span: Span::new(key.span.start, value_end.max(key.span.end)),
                key,
                value,
            });
            if failed && !self.skip_task_entry() {
                break;
            }
        }
        let end = match self.expect_closer(TokenKind::RightBracket, open, &construct) {
            Some(close) => close.span.end,
            None => self.previous_end(),
        };
        Expr {
            span: Span::new(name_token.span.start, end.max(open.span.end)),
            kind: ExprKind::Task(BracketTask {
                name,
                entries,
                span: Span::new(name_token.span.start, end.max(open.span.end)),
            }),
        }
    }

    /// Skips a broken task entry up to the next line that starts a key; false at the end of
    /// the task (or input).
    fn skip_task_entry(&mut self) -> bool {
        let from = self.position;
        loop {
            match self.kind() {
                TokenKind::EndOfFile | TokenKind::RightBracket | TokenKind::Semicolon => {
                    return false;
                }
                _ => {}
            }
            if self.position > from
                && self.current().newline_before
                && self.task_key_length(0).is_some()
            {
                return true;
            }
            self.bump();
        }
    }

    fn task_key(&mut self, length: usize) -> Name {
        let first = self.current();
        let mut last = first;
        for _ in 0..length {
            last = self.bump();
        }
        let span = first.span.to(last.span);
        let name = span.text(self.source).to_string();
        let key = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
            .replace(" - ", "-");
        Name { name, key, span }
    }

    fn task_value(&mut self, key: &Name) -> TaskValue {
        if key.key == "attachments" {
            return self.task_attachments();
        }
        if BARE_VALUE_KEYS.contains(&key.key.as_str())
            && self.at(TokenKind::Identifier)
            && let Some(bare) = self.bare_value(&key.key)
        {
            return bare;
        }
        let first = self.expression();
        // `to : a, b` lists several values; a `,` followed by the next key is a separator.
        if !self.at(TokenKind::Comma)
            || self.task_key_length(1).is_some()
            || self.kind_at(1) == TokenKind::RightBracket
        {
            return TaskValue::Expr(first);
        }
        let mut elements = vec![first];
        while self.at(TokenKind::Comma)
            && self.task_key_length(1).is_none()
            && self.kind_at(1) != TokenKind::RightBracket
        {
            self.bump();
            if self.at(TokenKind::Comma) {
                // An empty element (`a, , b`) is skipped, as Zoho does for recipient lists.
                continue;
            }
            let element = self.expression();
            let failed = matches!(element.kind, ExprKind::Error);
            elements.push(element);
            if failed {
                break;
            }
        }
        let span = match (elements.first(), elements.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => Span::empty_at(self.previous_end()),
        };
        TaskValue::Expr(Expr {
            kind: ExprKind::List(elements),
            span,
        })
    }

    /// An unquoted constant: a run of adjacent tokens such as `GET` or `application/json`.
    fn bare_value(&mut self, key: &str) -> Option<TaskValue> {
        let first = self.current();
        let mut count = 1;
        let mut end = first.span.end;
        loop {
            let next = self.token(count);
            let adjacent = next.span.start == end && !next.newline_before;
            let joins = matches!(
                next.kind,
                TokenKind::Identifier
                    | TokenKind::Slash
                    | TokenKind::Minus
                    | TokenKind::Long
                    | TokenKind::Dot
            );
            if adjacent && joins {
                end = next.span.end;
                count += 1;
            } else {
                break;
            }
        }
        let text = Span::new(first.span.start, end)
            .text(self.source)
            .to_string();
        let after = self.token(count);
        let ends_value = after.newline_before
            || matches!(
                after.kind,
                TokenKind::RightBracket | TokenKind::Comma | TokenKind::EndOfFile
            )
            || self.task_key_length(count).is_some();
        let is_bare = if key == "type" {
            count == 1 && HTTP_METHODS.contains(&text.to_ascii_lowercase().as_str())
        } else {
            ends_value && !(count == 1 && after.kind == TokenKind::LeftParen)
        };
        if !is_bare {
            return None;
        }
        for _ in 0..count {
            self.bump();
        }
        Some(TaskValue::Bare {
            text,
            span: Span::new(first.span.start, end),
        })
    }

    /// `file: f1, file: f2` (also `view:` / `template:`).
    fn task_attachments(&mut self) -> TaskValue {
        let mut items = Vec::new();
        loop {
            if !(self.at(TokenKind::Identifier) && self.kind_at(1) == TokenKind::Colon) {
                if items.is_empty() {
                    self.error_expected("`file :` followed by a file", " after `attachments :`");
                }
                break;
            }
            let kind_token = self.bump();
            self.bump(); // :
            let value = self.expression();
            let failed = matches!(value.kind, ExprKind::Error);
            items.push(TaskAttachment {
                kind: self.name(kind_token),
                span: kind_token.span.to(value.span),
                value,
            });
            if failed || self.eat(TokenKind::Comma).is_none() {
                break;
            }
        }
        TaskValue::Attachments(items)
    }

    /// `Form[criteria] [sort by Field [asc|desc]] [range from a to b]`.
    fn record_fetch(&mut self) -> Expr {
        let form_token = self.bump();
        let open = self.bump();
        let criteria = self.condition_expression();
        let mut end = match self.expect_closer(
            TokenKind::RightBracket,
            open,
            &format!("`{}[...]`", self.text(form_token)),
        ) {
            Some(close) => close.span.end,
            None => {
                self.skip_to_closer(TokenKind::RightBracket);
                self.previous_end()
            }
        };
        let mut sort_by = None;
        if self.at_word("sort") && self.word_at(1, "by") {
            let sort_token = self.bump();
            self.bump();
            let field = self.expression();
            let mut sort_end = field.span.end;
            let mut descending = false;
            if let Some(token) = self.eat_word("desc") {
                descending = true;
                sort_end = token.span.end;
            } else if let Some(token) = self.eat_word("asc") {
                sort_end = token.span.end;
            }
            end = sort_end;
            sort_by = Some(SortBy {
                field,
                descending,
                span: Span::new(sort_token.span.start, sort_end),
            });
        }
        let mut range = None;
        if self.at_word("range") && self.word_at(1, "from") {
            let range_token = self.bump();
            self.bump();
            let from = self.binary(1);
            let to = if self.eat_word("to").is_some() {
                self.expression()
            } else {
                self.error_expected("`to`", " in `range from ... to ...`");
                self.error_expr(Span::empty_at(self.previous_end()))
            };
            end = to.span.end.max(end);
            range = Some(RecordRange {
                span: range_token.span.to(to.span),
                from,
                to,
            });
        }
        let span = Span::new(form_token.span.start, end);
        Expr {
            kind: ExprKind::RecordFetch(Box::new(RecordFetch {
                form: Identifier {
                    name: self.text(form_token).to_string(),
                    span: form_token.span,
                },
                criteria: Box::new(criteria),
                sort_by,
                range,
                span,
            })),
            span,
        }
    }

    /// `insert into Form [ Field = value ... ]`.
    fn insert_into(&mut self) -> Expr {
        let insert_token = self.bump();
        self.bump(); // into
        let form = if self.at(TokenKind::Identifier) {
            let token = self.bump();
            Identifier {
                name: self.text(token).to_string(),
                span: token.span,
            }
        } else {
            self.error_expected("a form name", " after `insert into`");
            return self.error_expr(insert_token.span);
        };
        let Some(open) = self.expect(TokenKind::LeftBracket, "`[`", " after the form name") else {
            return self.error_expr(insert_token.span.to(form.span));
        };
        let mut fields = Vec::new();
        while !self.at(TokenKind::RightBracket) && !self.at_end() {
            if self.eat(TokenKind::Comma).is_some() {
                continue;
            }
            if !(self.at(TokenKind::Identifier) && self.kind_at(1) == TokenKind::Assign) {
                self.error_expected(
                    "a field assignment such as `Name = value`",
                    " in `insert into`",
                );
                self.skip_to_closer(TokenKind::RightBracket);
                return Expr {
                    span: insert_token.span.to(Span::empty_at(self.previous_end())),
                    kind: ExprKind::InsertInto { form, fields },
                };
            }
            let field_token = self.bump();
            self.bump(); // =
            let value = self.expression();
            let failed = matches!(value.kind, ExprKind::Error);
            fields.push(FieldAssignment {
                field: Identifier {
                    name: self.text(field_token).to_string(),
                    span: field_token.span,
                },
                span: field_token.span.to(value.span),
                value,
            });
            if failed {
                self.skip_to_closer(TokenKind::RightBracket);
                return Expr {
                    span: insert_token.span.to(Span::empty_at(self.previous_end())),
                    kind: ExprKind::InsertInto { form, fields },
                };
            }
        }
        let end = match self.expect_closer(TokenKind::RightBracket, open, "insert into") {
            Some(close) => close.span.end,
            None => self.previous_end(),
        };
        Expr {
            span: Span::new(insert_token.span.start, end),
            kind: ExprKind::InsertInto { form, fields },
        }
    }
}

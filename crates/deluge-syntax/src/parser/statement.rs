//! Statements, blocks and function definitions.

use super::Parser;
use crate::ast::{
    AssignOperator, AssignTarget, Block, CreatorStatement, CreatorStatementKind, ExprKind,
    ForEachKind, FunctionDefinition, FunctionHeader, Identifier, IfBranch, Parameter,
    QualifiedName, Stmt, TypeName,
};
use crate::error::ParseErrorKind;
use crate::lexer::TokenKind;
use crate::span::Span;

/// Words that begin a statement and therefore never begin a function header.
const STATEMENT_KEYWORDS: &[&str] = &[
    "if", "else", "for", "return", "info", "try", "catch", "break", "continue", "throw", "alert",
    "cancel", "delete", "insert", "hide", "show", "enable", "disable", "clear", "while",
];

/// Creator field UI tasks: `hide Field;`, `show Field;`, ...
const FIELD_ACTIONS: &[&str] = &["hide", "show", "enable", "disable", "clear"];

impl Parser<'_> {
    /// `type name.parts(` at the current position.
    pub(super) fn at_function_header(&self) -> bool {
        if self.kind() != TokenKind::Identifier || self.kind_at(1) != TokenKind::Identifier {
            return false;
        }
        if STATEMENT_KEYWORDS.iter().any(|word| self.at_word(word)) {
            return false;
        }
        let mut ahead = 2;
        loop {
            match self.kind_at(ahead) {
                TokenKind::LeftParen => return true,
                TokenKind::Dot if self.kind_at(ahead + 1) == TokenKind::Identifier => ahead += 2,
                _ => return false,
            }
        }
    }

    pub(super) fn function_definition(&mut self) -> FunctionDefinition {
        let header = self.function_header();
        let body = if self.at(TokenKind::LeftBrace) {
            self.block("function body")
        } else {
            self.error_expected("`{`", " to start the function body");
            Block {
                statements: Vec::new(),
                span: Span::empty_at(self.previous_end()),
            }
        };
        let span = header.span.to(body.span);
        FunctionDefinition { header, body, span }
    }

    fn function_header(&mut self) -> FunctionHeader {
        let return_token = self.bump();
        let return_type = self.type_name(return_token);
        let name = self.qualified_name();
        let mut parameters = Vec::new();
        let mut end = name.span.end;
        if let Some(open) = self.eat(TokenKind::LeftParen) {
            if !self.at(TokenKind::RightParen) {
                loop {
                    if self.at(TokenKind::Identifier) && self.kind_at(1) == TokenKind::Identifier {
                        let type_token = self.bump();
                        let name_token = self.bump();
                        let type_name = self.type_name(type_token);
                        let name = Identifier {
                            name: self.text(name_token).to_string(),
                            span: name_token.span,
                        };
                        parameters.push(Parameter {
                            span: type_name.span.to(name.span),
                            type_name,
                            name,
                        });
                    } else {
                        self.error_expected(
                            "a parameter such as `string name`",
                            " in the function header",
                        );
                        break;
                    }
                    if self.eat(TokenKind::Comma).is_none() {
                        break;
                    }
                }
            }
            match self.expect_closer(TokenKind::RightParen, open, "the function header") {
                Some(close) => end = close.span.end,
                None => {
                    // Skip the rest of a broken parameter list up to the body.
                    while !self.at_end() && !self.at(TokenKind::LeftBrace) {
                        self.bump();
                    }
                    end = self.previous_end().max(end);
                }
            }
        }
        FunctionHeader {
            span: Span::new(return_token.span.start, end),
            return_type,
            name,
            parameters,
        }
    }

    fn type_name(&self, token: crate::lexer::Token) -> TypeName {
        let text = self.text(token);
        TypeName {
            name: text.to_string(),
            key: text.to_lowercase(),
            span: token.span,
        }
    }

    /// `a.b.c` made of identifiers (the current token must be an identifier).
    pub(super) fn qualified_name(&mut self) -> QualifiedName {
        let first = self.bump();
        let mut parts = vec![self.name(first)];
        while self.at(TokenKind::Dot) && self.kind_at(1) == TokenKind::Identifier {
            self.bump();
            let part = self.bump();
            parts.push(self.name(part));
        }
        qualified(parts)
    }

    /// `{ statements }`. `construct` names the block in "unclosed" errors.
    pub(super) fn block(&mut self, construct: &str) -> Block {
        let Some(open) = self.eat(TokenKind::LeftBrace) else {
            self.error_expected("`{`", &format!(" to start the {construct}"));
            return Block {
                statements: Vec::new(),
                span: Span::empty_at(self.previous_end()),
            };
        };
        if !self.enter() {
            let skipped = self.skip_balanced();
            self.eat(TokenKind::RightBrace);
            return Block {
                statements: Vec::new(),
                span: open.span.to(skipped),
            };
        }
        let mut statements = Vec::new();
        while !self.at(TokenKind::RightBrace) && !self.at_end() {
            let before = self.position;
            if let Some(statement) = self.statement() {
                statements.push(statement);
            }
            if self.position == before {
                self.bump();
            }
        }
        self.leave();
        let end = match self.expect_closer(TokenKind::RightBrace, open, construct) {
            Some(close) => close.span.end,
            None => self.previous_end(),
        };
        Block {
            statements,
            span: Span::new(open.span.start, end.max(open.span.end)),
        }
    }

    /// One statement, or `None` for an empty `;`.
    pub(super) fn statement(&mut self) -> Option<Stmt> {
        let start_token = self.current();
        if self.eat(TokenKind::Semicolon).is_some() {
            return None;
        }
        if self.kind() == TokenKind::Identifier && !self.next_is_assignment() {
            let keyword = self.text(start_token).to_ascii_lowercase();
            match keyword.as_str() {
                "if" => {
                    return Some(self.if_statement());
                }
                "for" if self.word_at(1, "each") => return Some(self.for_each_statement()),
                "try" if self.kind_at(1) == TokenKind::LeftBrace => {
                    return Some(self.try_statement());
                }
                "while" if self.kind_at(1) == TokenKind::LeftParen => {
                    return Some(self.while_statement());
                }
                _ => {}
            }
            if self.kind_at(1) != TokenKind::Dot
                && let Some(statement) = self.keyword_statement(&keyword)
            {
                return Some(statement);
            }
        }
        Some(self.simple_statement())
    }

    fn next_is_assignment(&self) -> bool {
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

    /// Statements that start with a keyword and end with `;`.
    fn keyword_statement(&mut self, keyword: &str) -> Option<Stmt> {
        let start = self.position;
        let errors_before = self.errors.len();
        let start_span = self.current().span;
        let statement = match keyword {
            "break" => {
                self.bump();
                Stmt::Break { span: start_span }
            }
            "continue" => {
                self.bump();
                Stmt::Continue { span: start_span }
            }
            "return" => {
                self.bump();
                let value = if self.at(TokenKind::Semicolon)
                    || self.at(TokenKind::RightBrace)
                    || self.at_end()
                {
                    None
                } else {
                    Some(self.expression())
                };
                let end = value
                    .as_ref()
                    .map_or(start_span.end, |value| value.span.end);
                Stmt::Return {
                    value,
                    span: Span::new(start_span.start, end),
                }
            }
            "info" | "throw" | "alert" => {
                self.bump();
                let value = self.expression();
                let span = start_span.to(value.span);
                match keyword {
                    "info" => Stmt::Info { value, span },
                    "throw" => Stmt::Throw { value, span },
                    _ => Stmt::Creator(CreatorStatement {
                        kind: CreatorStatementKind::Alert { message: value },
                        span,
                    }),
                }
            }
            "cancel" if self.kind_at(1) == TokenKind::Identifier => {
                self.bump();
                let what_token = self.bump();
                let what = self.name(what_token);
                Stmt::Creator(CreatorStatement {
                    span: start_span.to(what.span),
                    kind: CreatorStatementKind::Cancel { what },
                })
            }
            "delete" if self.word_at(1, "from") => {
                self.bump();
                self.bump();
                let form_token = self.current();
                let fetch = self.expression();
                let (form, criteria) = match fetch.kind {
                    ExprKind::RecordFetch(record) => (record.form, *record.criteria),
                    _ => {
                        let found = self.describe(self.current());
                        let span = self.error_span();
                        self.report(
                            ParseErrorKind::Expected {
                                expected:
                                    "criteria in brackets, as in `delete from Form[ID == id]`"
                                        .to_string(),
                                context: format!(" after `delete from {}`", self.text(form_token)),
                                found,
                            },
                            span,
                        );
                        (
                            Identifier {
                                name: self.text(form_token).to_string(),
                                span: form_token.span,
                            },
                            fetch,
                        )
                    }
                };
                Stmt::Creator(CreatorStatement {
                    span: start_span.to(criteria.span),
                    kind: CreatorStatementKind::DeleteFrom { form, criteria },
                })
            }
            "openurl" if self.kind_at(1) == TokenKind::LeftParen => {
                self.bump();
                let open = self.bump();
                let (arguments, end) = self.arguments_after_open(open, "openUrl");
                Stmt::Creator(CreatorStatement {
                    span: Span::new(start_span.start, end),
                    kind: CreatorStatementKind::OpenUrl { arguments },
                })
            }
            _ if FIELD_ACTIONS.contains(&keyword)
                && self.kind_at(1) == TokenKind::Identifier
                && !self.token(1).newline_before =>
            {
                let action_token = self.bump();
                let action = self.name(action_token);
                let mut targets = vec![self.expression()];
                while self.eat(TokenKind::Comma).is_some() {
                    targets.push(self.expression());
                }
                let end = targets
                    .last()
                    .map_or(start_span.end, |target| target.span.end);
                Stmt::Creator(CreatorStatement {
                    span: Span::new(start_span.start, end),
                    kind: CreatorStatementKind::FieldAction { action, targets },
                })
            }
            _ => return None,
        };
        Some(self.finish_simple_statement(statement, start, errors_before))
    }

    /// Assignment or expression statement.
    fn simple_statement(&mut self) -> Stmt {
        let start = self.position;
        let errors_before = self.errors.len();
        let expression = self.expression();
        // Creator client function on a field: `input.Field:ui.add(list);`
        if self.at(TokenKind::Colon)
            && self.kind_at(1) == TokenKind::Identifier
            && self.kind_at(2) == TokenKind::Dot
        {
            let statement = self.field_ui_call(expression);
            return self.finish_simple_statement(statement, start, errors_before);
        }
        let operator = match self.kind() {
            TokenKind::Assign => Some(AssignOperator::Assign),
            TokenKind::PlusAssign => Some(AssignOperator::Add),
            TokenKind::MinusAssign => Some(AssignOperator::Subtract),
            TokenKind::StarAssign => Some(AssignOperator::Multiply),
            TokenKind::SlashAssign => Some(AssignOperator::Divide),
            TokenKind::PercentAssign => Some(AssignOperator::Remainder),
            _ => None,
        };
        let statement = match operator {
            Some(operator) => {
                self.bump();
                let value = self.expression();
                let span = expression.span.to(value.span);
                match self.assign_target(expression) {
                    Some(target) => Stmt::Assign {
                        target,
                        operator,
                        value,
                        span,
                    },
                    None => Stmt::Error { span },
                }
            }
            None => {
                if matches!(expression.kind, ExprKind::Error) {
                    Stmt::Error {
                        span: expression.span,
                    }
                } else {
                    Stmt::Expr {
                        span: expression.span,
                        expr: expression,
                    }
                }
            }
        };
        self.finish_simple_statement(statement, start, errors_before)
    }

    fn field_ui_call(&mut self, field: crate::ast::Expr) -> Stmt {
        self.bump(); // :
        let first = self.bump();
        let mut last = first;
        while self.at(TokenKind::Dot) && self.kind_at(1) == TokenKind::Identifier {
            self.bump();
            last = self.bump();
        }
        let span = first.span.to(last.span);
        let text = span.text(self.source).to_string();
        let function = crate::ast::Name {
            key: text.to_lowercase(),
            name: text,
            span,
        };
        let (arguments, end) =
            match self.expect(TokenKind::LeftParen, "`(`", " after the field function") {
                Some(open) => {
                    self.arguments_after_open(open, &format!("the call to `{}`", function.name))
                }
                None => (Vec::new(), span.end),
            };
        Stmt::Creator(CreatorStatement {
            span: Span::new(field.span.start, end),
            kind: CreatorStatementKind::FieldUiCall {
                field,
                function,
                arguments,
            },
        })
    }

    fn assign_target(&mut self, expression: crate::ast::Expr) -> Option<AssignTarget> {
        match expression.kind {
            ExprKind::Variable(identifier) => Some(AssignTarget::Variable(identifier)),
            ExprKind::Member { object, field } => Some(AssignTarget::Member {
                object,
                field,
                span: expression.span,
            }),
            ExprKind::Error => None,
            kind => {
                let error = if matches!(kind, ExprKind::RecordFetch(_)) {
                    ParseErrorKind::NotDeluge {
                        construct: "assigning to `name[key]`".to_string(),
                        suggestion: "use `name.put(key, value)` for a map, or `remove` and \
                                     `insert` for a list"
                            .to_string(),
                    }
                } else {
                    ParseErrorKind::InvalidAssignmentTarget
                };
                let saved = self.last_error_token.take();
                self.report(error, expression.span);
                if self.last_error_token.is_none() {
                    self.last_error_token = saved;
                }
                None
            }
        }
    }

    /// Expects the `;` that ends a simple statement, recovering when the statement was broken.
    fn finish_simple_statement(
        &mut self,
        statement: Stmt,
        start: usize,
        errors_before: usize,
    ) -> Stmt {
        if self.errors.len() > errors_before {
            if self.eat(TokenKind::Semicolon).is_none() {
                self.synchronize(start);
            }
            return statement;
        }
        if self.eat(TokenKind::Semicolon).is_some() {
            return statement;
        }
        // Zoho's editor writes `sendmail [ ... ]` (and other bracket tasks) without a `;`.
        if ends_with_bracket_task(&statement) {
            return statement;
        }
        let found = self.describe(self.current());
        let at = Span::empty_at(self.previous_end());
        // Report at the end of the statement, where the `;` belongs.
        self.report(
            ParseErrorKind::Expected {
                expected: "`;`".to_string(),
                context: " after statement".to_string(),
                found,
            },
            at,
        );
        let next = self.current();
        if !(next.newline_before
            || next.kind == TokenKind::RightBrace
            || next.kind == TokenKind::EndOfFile)
        {
            self.synchronize(start);
        }
        statement
    }

    fn if_statement(&mut self) -> Stmt {
        let if_token = self.bump();
        let mut branches = Vec::new();
        let first = self.if_branch(if_token.span);
        branches.push(first);
        let mut else_body = None;
        while self.at_word("else") {
            let else_token = self.bump();
            if self.at_word("if") {
                let if_token = self.bump();
                branches.push(self.if_branch(else_token.span.to(if_token.span)));
            } else {
                else_body = Some(self.block("else block"));
                break;
            }
        }
        let end = else_body
            .as_ref()
            .map(|block| block.span.end)
            .or_else(|| branches.last().map(|branch| branch.span.end))
            .unwrap_or(if_token.span.end);
        Stmt::If {
            branches,
            else_body,
            span: Span::new(if_token.span.start, end),
        }
    }

    fn if_branch(&mut self, start: Span) -> IfBranch {
        let condition = self.parenthesized_condition("if");
        let body = self.block("if block");
        IfBranch {
            span: start.to(body.span),
            condition,
            body,
        }
    }

    /// `( expression )` after `if` / `while`.
    fn parenthesized_condition(&mut self, construct: &str) -> crate::ast::Expr {
        let Some(open) = self.expect(
            TokenKind::LeftParen,
            "`(`",
            &format!(" after `{construct}`"),
        ) else {
            // Read an unparenthesized condition anyway so the block still parses.
            if self.at(TokenKind::LeftBrace) {
                return self.error_expr(Span::empty_at(self.previous_end()));
            }
            return self.condition_expression();
        };
        let condition = self.condition_expression();
        if self
            .expect_closer(
                TokenKind::RightParen,
                open,
                &format!("the {construct} condition"),
            )
            .is_none()
        {
            // Skip to the block so its statements still parse.
            while !self.at_end()
                && !self.at(TokenKind::LeftBrace)
                && !self.at(TokenKind::RightBrace)
            {
                self.bump();
            }
        }
        condition
    }

    fn for_each_statement(&mut self) -> Stmt {
        let for_token = self.bump();
        self.bump(); // each
        // `for each index i in list`; but `for each index in list` iterates into `index`.
        let kind = if self.at_word("index")
            && self.kind_at(1) == TokenKind::Identifier
            && !self.word_at(1, "in")
        {
            self.bump();
            ForEachKind::Index
        } else {
            ForEachKind::Element
        };
        let variable = if self.at(TokenKind::Identifier) {
            let token = self.bump();
            Identifier {
                name: self.text(token).to_string(),
                span: token.span,
            }
        } else {
            self.error_expected("a loop variable name", " after `for each`");
            Identifier {
                name: String::new(),
                span: Span::empty_at(self.previous_end()),
            }
        };
        let iterable = if self.eat_word("in").is_some() {
            self.expression()
        } else {
            self.error_expected("`in`", " after the loop variable");
            while !self.at_end()
                && !self.at(TokenKind::LeftBrace)
                && !self.at(TokenKind::RightBrace)
            {
                self.bump();
            }
            self.error_expr(Span::empty_at(self.previous_end()))
        };
        let body = self.block("for each loop");
        Stmt::ForEach {
            span: for_token.span.to(body.span),
            kind,
            variable,
            iterable,
            body,
        }
    }

    fn try_statement(&mut self) -> Stmt {
        let try_token = self.bump();
        let body = self.block("try block");
        let mut catch_variable = None;
        let catch_body;
        if self.at_word("catch") {
            self.bump();
            if let Some(open) = self.expect(TokenKind::LeftParen, "`(`", " after `catch`") {
                if self.at(TokenKind::Identifier) {
                    let token = self.bump();
                    catch_variable = Some(Identifier {
                        name: self.text(token).to_string(),
                        span: token.span,
                    });
                } else {
                    self.error_expected("an error variable name", " in `catch (...)`");
                }
                self.expect_closer(TokenKind::RightParen, open, "catch");
            }
            catch_body = self.block("catch block");
        } else {
            let span = Span::empty_at(body.span.end);
            self.report(ParseErrorKind::MissingCatch, try_token.span);
            catch_body = Block {
                statements: Vec::new(),
                span,
            };
        }
        Stmt::Try {
            span: try_token.span.to(catch_body.span).to(body.span),
            body,
            catch_variable,
            catch_body,
        }
    }

    /// `while (...) {...}` is not Deluge; parse it to keep going, report it, keep no tree.
    fn while_statement(&mut self) -> Stmt {
        let while_token = self.bump();
        self.report(
            ParseErrorKind::NotDeluge {
                construct: "`while`".to_string(),
                suggestion: "Deluge has no while loop; iterate over a list with `for each`"
                    .to_string(),
            },
            while_token.span,
        );
        let _ = self.parenthesized_condition("while");
        let body = self.block("while loop");
        Stmt::Error {
            span: while_token.span.to(body.span),
        }
    }
}

/// Builds a [`QualifiedName`] from its parts (at least one).
pub(super) fn qualified(parts: Vec<crate::ast::Name>) -> QualifiedName {
    let key = parts
        .iter()
        .map(|part| part.key.as_str())
        .collect::<Vec<_>>()
        .join(".");
    let span = match (parts.first(), parts.last()) {
        (Some(first), Some(last)) => first.span.to(last.span),
        _ => Span::default(),
    };
    QualifiedName { parts, key, span }
}

/// Whether a statement is, or assigns, a bracket task such as `sendmail [ ... ]` or an
/// `insert into Form [ ... ]`.
fn ends_with_bracket_task(statement: &Stmt) -> bool {
    match statement {
        Stmt::Expr { expr, .. } | Stmt::Assign { value: expr, .. } => {
            matches!(expr.kind, ExprKind::Task(_) | ExprKind::InsertInto { .. })
        }
        _ => false,
    }
}

//! A compact, readable rendering of the syntax tree as S-expressions: one statement per line,
//! nested blocks indented, each statement tagged with its byte span. Used by snapshot tests
//! and handy when debugging how a script was read.

use crate::ast::{
    AssignOperator, AssignTarget, Block, BracketTask, CreatorStatementKind, Expr, ExprKind,
    ForEachKind, FunctionHeader, QualifiedName, Script, Stmt, TaskValue, UnaryOperator,
};
use std::fmt::Write;

/// Renders a whole script.
pub fn script_to_sexpr(script: &Script) -> String {
    let mut output = String::new();
    if let Some(header) = &script.header {
        write_header(&mut output, header);
    }
    write_block_statements(&mut output, &script.body, 0);
    for function in &script.other_functions {
        write_header(&mut output, &function.header);
        write_block_statements(&mut output, &function.body, 0);
    }
    output
}

/// Renders one expression on a single line.
pub fn expr_to_sexpr(expression: &Expr) -> String {
    let mut output = String::new();
    write_expr(&mut output, expression);
    output
}

fn write_header(output: &mut String, header: &FunctionHeader) {
    let parameters: Vec<String> = header
        .parameters
        .iter()
        .map(|parameter| format!("{} {}", parameter.type_name.name, parameter.name.name))
        .collect();
    let _ = writeln!(
        output,
        "(function {} {} ({})) @{}",
        header.return_type.name,
        qualified(&header.name),
        parameters.join(", "),
        header.span
    );
}

fn qualified(name: &QualifiedName) -> String {
    name.parts
        .iter()
        .map(|part| part.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

fn indent(output: &mut String, depth: usize) {
    for _ in 0..depth {
        output.push_str("  ");
    }
}

fn write_block_statements(output: &mut String, block: &Block, depth: usize) {
    for statement in &block.statements {
        write_statement(output, statement, depth);
    }
}

fn write_block(output: &mut String, label: &str, block: &Block, depth: usize) {
    indent(output, depth);
    let _ = writeln!(output, "{label} @{}", block.span);
    write_block_statements(output, block, depth + 1);
}

fn write_statement(output: &mut String, statement: &Stmt, depth: usize) {
    indent(output, depth);
    match statement {
        Stmt::Assign {
            target,
            operator,
            value,
            span,
        } => {
            let operator = match operator {
                AssignOperator::Assign => "=",
                AssignOperator::Add => "+=",
                AssignOperator::Subtract => "-=",
                AssignOperator::Multiply => "*=",
                AssignOperator::Divide => "/=",
                AssignOperator::Remainder => "%=",
            };
            output.push('(');
            output.push_str(operator);
            output.push(' ');
            match target {
                AssignTarget::Variable(identifier) => output.push_str(&identifier.name),
                AssignTarget::Member { object, field, .. } => {
                    output.push_str("(. ");
                    write_expr(output, object);
                    let _ = write!(output, " {})", field.name);
                }
            }
            output.push(' ');
            write_expr(output, value);
            let _ = writeln!(output, ") @{span}");
        }
        Stmt::Expr { expr, span } => {
            write_expr(output, expr);
            let _ = writeln!(output, " @{span}");
        }
        Stmt::If {
            branches,
            else_body,
            span,
        } => {
            let _ = writeln!(output, "(if) @{span}");
            for branch in branches {
                indent(output, depth + 1);
                output.push_str("(when ");
                write_expr(output, &branch.condition);
                let _ = writeln!(output, ") @{}", branch.span);
                write_block_statements(output, &branch.body, depth + 2);
            }
            if let Some(block) = else_body {
                write_block(output, "(else)", block, depth + 1);
            }
        }
        Stmt::ForEach {
            kind,
            variable,
            iterable,
            body,
            span,
        } => {
            let kind = match kind {
                ForEachKind::Element => "for-each",
                ForEachKind::Index => "for-each-index",
            };
            let _ = write!(output, "({kind} {} ", variable.name);
            write_expr(output, iterable);
            let _ = writeln!(output, ") @{span}");
            write_block_statements(output, body, depth + 1);
        }
        Stmt::Break { span } => {
            let _ = writeln!(output, "(break) @{span}");
        }
        Stmt::Continue { span } => {
            let _ = writeln!(output, "(continue) @{span}");
        }
        Stmt::Return { value, span } => {
            output.push_str("(return");
            if let Some(value) = value {
                output.push(' ');
                write_expr(output, value);
            }
            let _ = writeln!(output, ") @{span}");
        }
        Stmt::Try {
            body,
            catch_variable,
            catch_body,
            span,
        } => {
            let _ = writeln!(output, "(try) @{span}");
            write_block_statements(output, body, depth + 1);
            let label = match catch_variable {
                Some(variable) => format!("(catch {})", variable.name),
                None => "(catch)".to_string(),
            };
            write_block(output, &label, catch_body, depth);
        }
        Stmt::Throw { value, span } => {
            output.push_str("(throw ");
            write_expr(output, value);
            let _ = writeln!(output, ") @{span}");
        }
        Stmt::Info { value, span } => {
            output.push_str("(info ");
            write_expr(output, value);
            let _ = writeln!(output, ") @{span}");
        }
        Stmt::Creator(statement) => {
            output.push_str("(creator ");
            match &statement.kind {
                CreatorStatementKind::Alert { message } => {
                    output.push_str("alert ");
                    write_expr(output, message);
                }
                CreatorStatementKind::Cancel { what } => {
                    let _ = write!(output, "cancel {}", what.name);
                }
                CreatorStatementKind::OpenUrl { arguments } => {
                    output.push_str("openUrl");
                    write_arguments(output, arguments);
                }
                CreatorStatementKind::DeleteFrom { form, criteria } => {
                    let _ = write!(output, "delete-from {} ", form.name);
                    write_expr(output, criteria);
                }
                CreatorStatementKind::FieldAction { action, targets } => {
                    output.push_str(&action.name);
                    write_arguments(output, targets);
                }
                CreatorStatementKind::FieldUiCall {
                    field,
                    function,
                    arguments,
                } => {
                    write_expr(output, field);
                    let _ = write!(output, " :{}", function.name);
                    write_arguments(output, arguments);
                }
            }
            let _ = writeln!(output, ") @{}", statement.span);
        }
        Stmt::Error { span } => {
            let _ = writeln!(output, "(error) @{span}");
        }
    }
}

fn write_arguments(output: &mut String, arguments: &[Expr]) {
    for argument in arguments {
        output.push(' ');
        write_expr(output, argument);
    }
}

fn write_expr(output: &mut String, expression: &Expr) {
    match &expression.kind {
        ExprKind::Text(text) => {
            let _ = write!(output, "{text:?}");
        }
        ExprKind::SingleQuoted(text) => {
            let _ = write!(output, "'{}'", text.replace('\'', "\\'"));
        }
        ExprKind::Long(value) => {
            let _ = write!(output, "{value}");
        }
        ExprKind::Decimal(text) => {
            let _ = write!(output, "{text}d");
        }
        ExprKind::Boolean(value) => {
            let _ = write!(output, "{value}");
        }
        ExprKind::Null => output.push_str("null"),
        ExprKind::Variable(identifier) => output.push_str(&identifier.name),
        ExprKind::List(elements) => {
            output.push_str("(list");
            write_arguments(output, elements);
            output.push(')');
        }
        ExprKind::Map(entries) => {
            output.push_str("(map");
            for entry in entries {
                output.push_str(" (");
                write_expr(output, &entry.key);
                output.push_str(" : ");
                write_expr(output, &entry.value);
                output.push(')');
            }
            output.push(')');
        }
        ExprKind::Constructor {
            name,
            element_type,
            items,
            ..
        } => {
            let _ = write!(output, "({}()", name.name);
            if let Some(element_type) = element_type {
                let _ = write!(output, ":{}", element_type.name);
            }
            for item in items {
                output.push(' ');
                if let Some(key) = &item.key {
                    write_expr(output, key);
                    output.push_str(" : ");
                }
                write_expr(output, &item.value);
            }
            output.push(')');
        }
        ExprKind::Unary { operator, operand } => {
            let operator = match operator {
                UnaryOperator::Not => "!",
                UnaryOperator::Negate => "neg",
                UnaryOperator::Plus => "pos",
            };
            let _ = write!(output, "({operator} ");
            write_expr(output, operand);
            output.push(')');
        }
        ExprKind::Binary {
            operator,
            left,
            right,
        } => {
            let _ = write!(output, "({} ", operator.as_str());
            write_expr(output, left);
            output.push(' ');
            write_expr(output, right);
            output.push(')');
        }
        ExprKind::If {
            condition,
            then_value,
            else_value,
        } => {
            output.push_str("(if-expr ");
            write_expr(output, condition);
            output.push(' ');
            write_expr(output, then_value);
            output.push(' ');
            write_expr(output, else_value);
            output.push(')');
        }
        ExprKind::IfNull { value, fallback } => {
            output.push_str("(ifnull ");
            write_expr(output, value);
            output.push(' ');
            write_expr(output, fallback);
            output.push(')');
        }
        ExprKind::Member { object, field } => {
            output.push_str("(. ");
            write_expr(output, object);
            let _ = write!(output, " {})", field.name);
        }
        ExprKind::MethodCall {
            receiver,
            method,
            arguments,
        } => {
            let _ = write!(output, "(.{} ", method.name);
            write_expr(output, receiver);
            write_arguments(output, arguments);
            output.push(')');
        }
        ExprKind::Call {
            function,
            arguments,
        } => {
            let _ = write!(output, "(call {}", qualified(function));
            write_arguments(output, arguments);
            output.push(')');
        }
        ExprKind::IntegrationTask { path, arguments } => {
            let _ = write!(output, "(zoho.{}", qualified(path));
            write_arguments(output, arguments);
            output.push(')');
        }
        ExprKind::SystemVariable { path } => {
            let _ = write!(output, "zoho.{}", qualified(path));
        }
        ExprKind::Task(task) => write_task(output, task),
        ExprKind::RecordFetch(fetch) => {
            let _ = write!(output, "(fetch {} ", fetch.form.name);
            write_expr(output, &fetch.criteria);
            if let Some(sort) = &fetch.sort_by {
                output.push_str(" (sort-by ");
                write_expr(output, &sort.field);
                if sort.descending {
                    output.push_str(" desc");
                }
                output.push(')');
            }
            if let Some(range) = &fetch.range {
                output.push_str(" (range ");
                write_expr(output, &range.from);
                output.push(' ');
                write_expr(output, &range.to);
                output.push(')');
            }
            output.push(')');
        }
        ExprKind::InsertInto { form, fields } => {
            let _ = write!(output, "(insert-into {}", form.name);
            for field in fields {
                let _ = write!(output, " ({} = ", field.field.name);
                write_expr(output, &field.value);
                output.push(')');
            }
            output.push(')');
        }
        ExprKind::Pair { key, value } => {
            output.push('(');
            write_expr(output, key);
            output.push_str(" : ");
            write_expr(output, value);
            output.push(')');
        }
        ExprKind::Paren(inner) => {
            output.push_str("(paren ");
            write_expr(output, inner);
            output.push(')');
        }
        ExprKind::Error => output.push_str("<error>"),
    }
}

fn write_task(output: &mut String, task: &BracketTask) {
    let _ = write!(output, "({}", task.name.name);
    for entry in &task.entries {
        let _ = write!(output, " [{}: ", entry.key.key);
        match &entry.value {
            TaskValue::Expr(expression) => write_expr(output, expression),
            TaskValue::Bare { text, .. } => {
                let _ = write!(output, "bare {text}");
            }
            TaskValue::Attachments(items) => {
                output.push_str("attachments");
                for item in items {
                    let _ = write!(output, " {}:", item.kind.name);
                    write_expr(output, &item.value);
                }
            }
        }
        output.push(']');
    }
    output.push(')');
}

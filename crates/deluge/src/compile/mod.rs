//! The compiler: syntax tree to [`Program`]. Variables become slots, built-in names become
//! ids, jumps become code offsets, and every op keeps the span it came from. Problems a
//! Zoho editor would reject on save (unknown functions and methods, `break` outside a
//! loop, ...) are reported as [`CompileDiagnostic`]s with their location; compilation goes
//! on after each one so that all of them are reported together.

pub mod code;
pub mod render;

use std::collections::HashMap;
use std::sync::Arc;

use trestle_deluge_syntax::Span;
use trestle_deluge_syntax::ast::{
    AssignOperator, AssignTarget, BinaryOperator as SyntaxOperator, Block, BracketTask,
    ConstructorKind, CreatorStatementKind, Expr, ExprKind, ForEachKind, Identifier, Script, Stmt,
    TaskValue, UnaryOperator,
};

use code::{
    EffectTemplate, FastMethod, LONG_STACK_DEPTH, LongExpression, LongOperand, LongOperator,
    LongStep, Op, Operator,
};
pub use code::{ParameterSlot, Program};

use crate::builtins;
use crate::error::{CompileDiagnostic, Error, SourceLocation};
use crate::value::{BinaryOperator, Value};

/// Diagnostic codes of the compiler (the `code` of [`CompileDiagnostic`]).
pub mod diagnostic_codes {
    pub const SYNTAX: &str = "DELUGE_SYNTAX_ERROR";
    pub const UNKNOWN_FUNCTION: &str = "DELUGE_UNKNOWN_FUNCTION";
    pub const UNKNOWN_METHOD: &str = "DELUGE_UNKNOWN_METHOD";
    pub const ARGUMENT_COUNT: &str = "DELUGE_ARGUMENT_COUNT";
    pub const BREAK_OUTSIDE_LOOP: &str = "DELUGE_BREAK_OUTSIDE_LOOP";
    pub const INVALID_LITERAL: &str = "DELUGE_INVALID_LITERAL";
    pub const TOO_LARGE: &str = "DELUGE_PROGRAM_TOO_LARGE";
}

/// Parses and compiles `source`. On any syntax or compile error, returns every diagnostic
/// (parse errors first, then compile errors, each in source order).
pub fn compile_source(source: &str) -> Result<Arc<Program>, Error> {
    compile_source_with(source, FastPaths::On)
}

/// Whether the compiler emits the fused fast paths: the whole-number ops ([`Op::LongPush`]
/// and its kin) and methods called on a variable in place ([`Op::CallMethodSlot`]). They
/// never change what a program does; `Off` exists to prove that, by running the same
/// program both ways (tests and the fuzz target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPaths {
    On,
    Off,
}

/// [`compile_source`] with the fast paths on or off.
pub fn compile_source_with(source: &str, fast_paths: FastPaths) -> Result<Arc<Program>, Error> {
    let parsed = trestle_deluge_syntax::parse(source);
    let line_starts = code::line_starts(source);
    let mut diagnostics: Vec<CompileDiagnostic> = parsed
        .errors
        .iter()
        .map(|error| CompileDiagnostic {
            code: diagnostic_codes::SYNTAX,
            message: error.message(),
            location: code::locate(&line_starts, source, error.span),
        })
        .collect();
    match compile_with(&parsed.script, source, fast_paths) {
        Ok(program) if diagnostics.is_empty() => Ok(program),
        Ok(_) => Err(Error::Compile { diagnostics }),
        Err(Error::Compile {
            diagnostics: compile_diagnostics,
        }) => {
            diagnostics.extend(compile_diagnostics);
            Err(Error::Compile { diagnostics })
        }
        Err(other) => Err(other),
    }
}

/// Compiles a parsed script. `source` is the text it was parsed from (for locations).
pub fn compile(script: &Script, source: &str) -> Result<Arc<Program>, Error> {
    compile_with(script, source, FastPaths::On)
}

fn compile_with(
    script: &Script,
    source: &str,
    fast_paths: FastPaths,
) -> Result<Arc<Program>, Error> {
    let mut compiler = Compiler::new(source);
    compiler.fast_paths = fast_paths;
    compiler.declare_parameters(script);
    compiler.collect_assigned(&script.body);
    compiler.block(&script.body);
    compiler.emit(Op::Null, script.span);
    compiler.emit(Op::Return, script.span);
    compiler.finish(script)
}

struct LoopContext {
    /// Try handlers open when the loop started; `break`/`continue` close the newer ones.
    try_depth: u32,
    continue_target: u32,
    break_jumps: Vec<usize>,
}

struct Compiler<'source> {
    source: &'source str,
    line_starts: Vec<u32>,
    code: Vec<Op>,
    spans: Vec<Span>,
    constants: Vec<Value>,
    text_constants: HashMap<String, u32>,
    effects: Vec<EffectTemplate>,
    names: Vec<String>,
    name_indices: HashMap<String, u32>,
    slots: HashMap<String, u32>,
    slot_names: Vec<(String, u32)>,
    slot_count: u32,
    iterator_count: u32,
    parameters: Vec<ParameterSlot>,
    /// Variables assigned somewhere in the script (or bound by loops and catch).
    assigned: std::collections::HashSet<String>,
    /// Catch variables and the hidden slot holding their error's line number.
    catch_line_slots: HashMap<String, u32>,
    loops: Vec<LoopContext>,
    try_depth: u32,
    diagnostics: Vec<CompileDiagnostic>,
    /// Every code offset a jump lands on (see [`Compiler::last_op_is_fusable`]).
    jump_targets: std::collections::HashSet<u32>,
    long_expressions: Vec<LongExpression>,
    /// Set while compiling the ordinary code behind a whole-number fast path, so that its
    /// parts get no fast path of their own (they would run only when the outer one failed).
    in_long_fallback: bool,
    fast_paths: FastPaths,
}

impl<'source> Compiler<'source> {
    fn new(source: &'source str) -> Self {
        Compiler {
            source,
            line_starts: code::line_starts(source),
            code: Vec::new(),
            spans: Vec::new(),
            constants: Vec::new(),
            text_constants: HashMap::new(),
            effects: Vec::new(),
            names: Vec::new(),
            name_indices: HashMap::new(),
            slots: HashMap::new(),
            slot_names: Vec::new(),
            slot_count: 0,
            iterator_count: 0,
            parameters: Vec::new(),
            assigned: std::collections::HashSet::new(),
            catch_line_slots: HashMap::new(),
            loops: Vec::new(),
            try_depth: 0,
            diagnostics: Vec::new(),
            jump_targets: std::collections::HashSet::new(),
            long_expressions: Vec::new(),
            in_long_fallback: false,
            fast_paths: FastPaths::On,
        }
    }

    fn finish(self, script: &Script) -> Result<Arc<Program>, Error> {
        if !self.diagnostics.is_empty() {
            let mut diagnostics = self.diagnostics;
            diagnostics.sort_by_key(|diagnostic| diagnostic.location.start);
            return Err(Error::Compile { diagnostics });
        }
        if u32::try_from(self.code.len()).is_err() {
            return Err(Error::Compile {
                diagnostics: vec![CompileDiagnostic {
                    code: diagnostic_codes::TOO_LARGE,
                    message: "the script is too large to compile".to_owned(),
                    location: SourceLocation::default(),
                }],
            });
        }
        let parameter_names: std::collections::HashSet<&str> = self
            .parameters
            .iter()
            .map(|parameter| parameter.name.as_str())
            .collect();
        let mut inputs: Vec<ParameterSlot> = self
            .slot_names
            .iter()
            .filter(|(name, _)| {
                !self.assigned.contains(name) && !parameter_names.contains(name.as_str())
            })
            .map(|(name, slot)| ParameterSlot {
                name: name.clone(),
                type_name: None,
                slot: *slot,
            })
            .collect();
        inputs.sort_by_key(|input| input.slot);
        Ok(Arc::new(Program {
            code: self.code,
            spans: self.spans,
            constants: self.constants,
            effects: self.effects,
            long_expressions: self.long_expressions,
            names: self.names,
            slot_count: self.slot_count,
            iterator_count: self.iterator_count,
            slot_names: self.slot_names,
            parameters: self.parameters,
            inputs,
            function_name: script.header.as_ref().map(|header| {
                header
                    .name
                    .parts
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
            }),
            line_starts: self.line_starts,
            source: Arc::from(self.source),
        }))
    }

    // ----- bookkeeping -----

    fn emit(&mut self, op: Op, span: Span) -> usize {
        self.code.push(op);
        self.spans.push(span);
        self.code.len() - 1
    }

    fn here(&self) -> u32 {
        u32::try_from(self.code.len()).unwrap_or(u32::MAX)
    }

    /// Whether the last op (a `Load`) may be merged with the operator about to be emitted
    /// into one op at the `Load`'s place. A jump landing on the `Load` then runs the merged
    /// op, which is right; a jump landing just after it (where the operator would go,
    /// `here()`) would skip the operator, so no merge then.
    fn last_op_is_fusable(&self) -> bool {
        !self.jump_targets.contains(&self.here())
    }

    fn patch_jump(&mut self, at: usize) {
        let target = self.here();
        self.jump_targets.insert(target);
        if let Some(op) = self.code.get_mut(at) {
            *op = match *op {
                Op::Jump(_) => Op::Jump(target),
                Op::JumpIfFalse(_) => Op::JumpIfFalse(target),
                Op::AndJump(_) => Op::AndJump(target),
                Op::OrJump(_) => Op::OrJump(target),
                Op::JumpIfNotNull(_) => Op::JumpIfNotNull(target),
                Op::TryStart(_) => Op::TryStart(target),
                other => other,
            };
        }
    }

    fn error(&mut self, code: &'static str, message: String, span: Span) {
        let location = code::locate(&self.line_starts, self.source, span);
        self.diagnostics.push(CompileDiagnostic {
            code,
            message,
            location,
        });
    }

    fn constant(&mut self, value: Value) -> u32 {
        if let Value::Text(text) = &value
            && let Some(index) = self.text_constants.get(text.as_str())
        {
            return *index;
        }
        let index = u32::try_from(self.constants.len()).unwrap_or(u32::MAX);
        if let Value::Text(text) = &value {
            self.text_constants.insert(text.as_str().to_owned(), index);
        }
        self.constants.push(value);
        index
    }

    fn name(&mut self, name: &str) -> u32 {
        if let Some(index) = self.name_indices.get(name) {
            return *index;
        }
        let index = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.name_indices.insert(name.to_owned(), index);
        index
    }

    fn effect(&mut self, template: EffectTemplate) -> u32 {
        let index = u32::try_from(self.effects.len()).unwrap_or(u32::MAX);
        self.effects.push(template);
        index
    }

    fn slot(&mut self, name: &str) -> u32 {
        if let Some(slot) = self.slots.get(name) {
            return *slot;
        }
        let slot = self.hidden_slots(1);
        self.slots.insert(name.to_owned(), slot);
        self.slot_names.push((name.to_owned(), slot));
        slot
    }

    fn hidden_slots(&mut self, count: u32) -> u32 {
        let slot = self.slot_count;
        self.slot_count = self.slot_count.saturating_add(count);
        slot
    }

    fn declare_parameters(&mut self, script: &Script) {
        let Some(header) = &script.header else {
            return;
        };
        for parameter in &header.parameters {
            let slot = self.slot(&parameter.name.name);
            self.assigned.insert(parameter.name.name.clone());
            self.parameters.push(ParameterSlot {
                name: parameter.name.name.clone(),
                type_name: Some(parameter.type_name.name.clone()),
                slot,
            });
        }
    }

    /// Records every variable the script assigns, so that reads of never-assigned names
    /// can be told apart (inputs, `today`/`now`, Creator namespaces).
    fn collect_assigned(&mut self, block: &Block) {
        for statement in &block.statements {
            match statement {
                Stmt::Assign {
                    target: AssignTarget::Variable(identifier),
                    ..
                } => {
                    self.assigned.insert(identifier.name.clone());
                }
                Stmt::If {
                    branches,
                    else_body,
                    ..
                } => {
                    for branch in branches {
                        self.collect_assigned(&branch.body);
                    }
                    if let Some(else_body) = else_body {
                        self.collect_assigned(else_body);
                    }
                }
                Stmt::ForEach { variable, body, .. } => {
                    self.assigned.insert(variable.name.clone());
                    self.collect_assigned(body);
                }
                Stmt::Try {
                    body,
                    catch_variable,
                    catch_body,
                    ..
                } => {
                    if let Some(variable) = catch_variable {
                        self.assigned.insert(variable.name.clone());
                    }
                    self.collect_assigned(body);
                    self.collect_assigned(catch_body);
                }
                _ => {}
            }
        }
    }

    // ----- statements -----

    fn block(&mut self, block: &Block) {
        for statement in &block.statements {
            self.statement(statement);
        }
    }

    fn statement(&mut self, statement: &Stmt) {
        let span = statement.span();
        match statement {
            Stmt::Assign {
                target,
                operator,
                value,
                ..
            } => {
                let fast_store = self.long_store_start(target, *operator, value, span);
                self.emit(Op::Statement, span);
                self.assignment(target, *operator, value, span);
                self.long_fast_path_end(fast_store);
            }
            Stmt::Expr { expr, .. } => {
                self.emit(Op::Statement, span);
                self.expression(expr);
                // A call whose result is always the statement's value drops it itself;
                // a jump landing after it (`if(c, x, y.f())`) brings another value.
                let lands_after = self.jump_targets.contains(&self.here());
                match self.code.last_mut() {
                    Some(Op::CallMethodSlot { discard, .. }) if !lands_after => *discard = true,
                    _ => {
                        self.emit(Op::Pop, span);
                    }
                }
            }
            Stmt::If {
                branches,
                else_body,
                ..
            } => {
                self.emit(Op::Statement, span);
                let mut end_jumps = Vec::new();
                for branch in branches {
                    let fast_branch = self.long_branch_start(&branch.condition);
                    self.expression(&branch.condition);
                    let skip = self.emit(Op::JumpIfFalse(0), branch.condition.span);
                    self.long_fast_path_end(fast_branch);
                    self.block(&branch.body);
                    end_jumps.push(self.emit(Op::Jump(0), branch.span));
                    self.patch_jump(skip);
                    if let Some(at) = fast_branch {
                        let target = self.here();
                        if let Some(Op::LongBranch { if_false, .. }) = self.code.get_mut(at) {
                            *if_false = target;
                        }
                    }
                }
                if let Some(else_body) = else_body {
                    self.block(else_body);
                }
                for jump in end_jumps {
                    self.patch_jump(jump);
                }
            }
            Stmt::ForEach {
                kind,
                variable,
                iterable,
                body,
                ..
            } => {
                self.emit(Op::Statement, span);
                self.expression(iterable);
                let state = self.iterator_count;
                self.iterator_count = self.iterator_count.saturating_add(1);
                let variable_slot = self.slot(&variable.name);
                self.emit(Op::ForEachStart { state }, iterable.span);
                let loop_start = self.here();
                let next = |body: u32| match kind {
                    ForEachKind::Element => Op::ForEachNext {
                        state,
                        variable: variable_slot,
                        body,
                    },
                    ForEachKind::Index => Op::ForEachIndexNext {
                        state,
                        variable: variable_slot,
                        body,
                    },
                };
                let body_start = loop_start.saturating_add(2);
                self.jump_targets.insert(loop_start);
                self.jump_targets.insert(body_start);
                self.emit(next(body_start), span);
                let exit = self.emit(Op::Jump(0), span);
                self.loops.push(LoopContext {
                    try_depth: self.try_depth,
                    continue_target: loop_start,
                    break_jumps: vec![exit],
                });
                self.block(body);
                self.emit(next(body_start), span);
                if let Some(context) = self.loops.pop() {
                    for jump in context.break_jumps {
                        self.patch_jump(jump);
                    }
                }
            }
            Stmt::Break { .. } | Stmt::Continue { .. } => {
                self.emit(Op::Statement, span);
                let is_break = matches!(statement, Stmt::Break { .. });
                let Some(context) = self.loops.last() else {
                    let word = if is_break { "break" } else { "continue" };
                    self.error(
                        diagnostic_codes::BREAK_OUTSIDE_LOOP,
                        format!("`{word}` can only be used inside a `for each` loop"),
                        span,
                    );
                    return;
                };
                let open_tries = self.try_depth.saturating_sub(context.try_depth);
                let continue_target = context.continue_target;
                for _ in 0..open_tries {
                    self.emit(Op::TryEnd, span);
                }
                if is_break {
                    let jump = self.emit(Op::Jump(0), span);
                    if let Some(context) = self.loops.last_mut() {
                        context.break_jumps.push(jump);
                    }
                } else {
                    self.emit(Op::Jump(continue_target), span);
                }
            }
            Stmt::Return { value, .. } => {
                self.emit(Op::Statement, span);
                match value {
                    Some(value) => self.expression(value),
                    None => {
                        self.emit(Op::Null, span);
                    }
                }
                self.emit(Op::Return, span);
            }
            Stmt::Try {
                body,
                catch_variable,
                catch_body,
                ..
            } => {
                self.emit(Op::Statement, span);
                let handler = self.emit(Op::TryStart(0), span);
                self.try_depth += 1;
                self.block(body);
                self.try_depth -= 1;
                self.emit(Op::TryEnd, span);
                let skip_catch = self.emit(Op::Jump(0), span);
                self.patch_jump(handler);
                // The handler pushes the message, then the line number.
                match catch_variable {
                    Some(variable) => {
                        let line_slot = match self.catch_line_slots.get(&variable.name) {
                            Some(slot) => *slot,
                            None => {
                                let slot = self.hidden_slots(1);
                                self.catch_line_slots.insert(variable.name.clone(), slot);
                                slot
                            }
                        };
                        let message_slot = self.slot(&variable.name);
                        self.emit(Op::Store(line_slot), variable.span);
                        self.emit(Op::Store(message_slot), variable.span);
                    }
                    None => {
                        self.emit(Op::Pop, span);
                        self.emit(Op::Pop, span);
                    }
                }
                self.block(catch_body);
                self.patch_jump(skip_catch);
            }
            Stmt::Throw { value, .. } => {
                self.emit(Op::Statement, span);
                self.expression(value);
                self.emit(Op::Throw, span);
            }
            Stmt::Info { value, .. } => {
                self.emit(Op::Statement, span);
                self.expression(value);
                self.emit(Op::Info, span);
            }
            Stmt::Creator(creator) => {
                self.emit(Op::Statement, span);
                let what = match &creator.kind {
                    CreatorStatementKind::Alert { .. } => "`alert`".to_owned(),
                    CreatorStatementKind::Cancel { what } => format!("`cancel {}`", what.name),
                    CreatorStatementKind::OpenUrl { .. } => "`openUrl`".to_owned(),
                    CreatorStatementKind::DeleteFrom { form, .. } => {
                        format!("`delete from {}`", form.name)
                    }
                    CreatorStatementKind::FieldAction { action, .. } => {
                        format!("`{}`", action.name)
                    }
                    CreatorStatementKind::FieldUiCall { function, .. } => {
                        format!("`{}`", function.name)
                    }
                };
                self.not_supported(
                    &format!("{what} is a Zoho Creator statement and is not supported here"),
                    span,
                );
            }
            Stmt::Error { .. } => {
                // Already reported by the parser; the program never runs.
            }
        }
    }

    fn not_supported(&mut self, message: &str, span: Span) {
        let index = self.name(message);
        self.emit(Op::NotSupported(index), span);
    }

    fn assignment(
        &mut self,
        target: &AssignTarget,
        operator: AssignOperator,
        value: &Expr,
        span: Span,
    ) {
        let binary = match operator {
            AssignOperator::Assign => None,
            AssignOperator::Add => Some(BinaryOperator::Add),
            AssignOperator::Subtract => Some(BinaryOperator::Subtract),
            AssignOperator::Multiply => Some(BinaryOperator::Multiply),
            AssignOperator::Divide => Some(BinaryOperator::Divide),
            AssignOperator::Remainder => Some(BinaryOperator::Remainder),
        };
        match target {
            AssignTarget::Variable(identifier) => {
                let slot = self.slot(&identifier.name);
                match binary {
                    Some(operator) => {
                        self.expression(value);
                        self.emit(Op::Compound { slot, operator }, span);
                    }
                    None => {
                        // `x = x + e` appends in place like `x += e`.
                        if let ExprKind::Binary {
                            operator: SyntaxOperator::Add,
                            left,
                            right,
                        } = &value.kind
                            && let ExprKind::Variable(read) = &left.kind
                            && read.name == identifier.name
                        {
                            self.expression(right);
                            self.emit(
                                Op::Compound {
                                    slot,
                                    operator: BinaryOperator::Add,
                                },
                                value.span,
                            );
                            return;
                        }
                        self.expression(value);
                        self.emit(Op::Store(slot), span);
                    }
                }
            }
            AssignTarget::Member {
                object,
                field,
                span: target_span,
            } => {
                self.expression(object);
                if let Some(operator) = binary {
                    // object.field <op>= value  →  object.field = object.field <op> value
                    self.expression(object);
                    let field_name = self.name(&field.name);
                    self.emit(Op::GetField(field_name), *target_span);
                    self.expression(value);
                    self.emit(Op::Binary(Operator::from_arithmetic(operator)), span);
                } else {
                    self.expression(value);
                }
                let field_name = self.name(&field.name);
                self.emit(Op::SetField(field_name), *target_span);
            }
        }
    }

    // ----- whole-number fast paths -----

    /// Emits an [`Op::LongStore`] before a statement `x = e` / `x <op>= e` whose value is
    /// a whole-number expression; returns its offset for [`Compiler::long_fast_path_end`].
    fn long_store_start(
        &mut self,
        target: &AssignTarget,
        operator: AssignOperator,
        value: &Expr,
        span: Span,
    ) -> Option<usize> {
        let AssignTarget::Variable(identifier) = target else {
            return None;
        };
        if !self.long_fast_path_allowed() || !self.variable_reads_slot(identifier) {
            return None;
        }
        let compound = match operator {
            AssignOperator::Assign => None,
            AssignOperator::Add => Some(LongOperator::Add),
            AssignOperator::Subtract => Some(LongOperator::Subtract),
            AssignOperator::Multiply => Some(LongOperator::Multiply),
            AssignOperator::Remainder => Some(LongOperator::Remainder),
            AssignOperator::Divide => return None,
        };
        let (operators, depth) = match compound {
            // `x <op>= e` is `x <op> (e)`.
            Some(_) => {
                let (operators, depth) = self.long_shape(value)?;
                (operators + 1, depth.saturating_add(1).max(1))
            }
            None => self.long_root_shape(value)?,
        };
        if operators == 0 || depth > LONG_STACK_DEPTH {
            return None;
        }
        // Slots in the order the ordinary code would create them: the target first.
        let slot = self.slot(&identifier.name);
        let mut steps = Vec::new();
        let comparison = match compound {
            Some(operator) => {
                steps.push(LongStep::push(LongOperand::Slot(slot)));
                match self.long_operand(value) {
                    Some(operand) => steps.push(LongStep::apply(operator, operand)),
                    None => {
                        self.long_steps(value, &mut steps);
                        steps.push(LongStep::combine(operator));
                    }
                }
                None
            }
            None => self.long_root_steps(value, &mut steps),
        };
        let expression = self.long_expression(steps, comparison);
        Some(self.long_fast_path_start(
            Op::LongStore {
                expression,
                slot,
                skip: 0,
            },
            span,
        ))
    }

    /// Emits an [`Op::LongBranch`] before an `if` condition that compares whole numbers.
    fn long_branch_start(&mut self, condition: &Expr) -> Option<usize> {
        if !self.long_fast_path_allowed() {
            return None;
        }
        let (_, depth) = self.long_root_shape(condition)?;
        if depth > LONG_STACK_DEPTH {
            return None;
        }
        let mut steps = Vec::new();
        let comparison = self.long_root_steps(condition, &mut steps);
        comparison?;
        let expression = self.long_expression(steps, comparison);
        Some(self.long_fast_path_start(
            Op::LongBranch {
                expression,
                if_false: 0,
                skip: 0,
            },
            condition.span,
        ))
    }

    /// Emits an [`Op::LongPush`] before an expression of at least two whole-number
    /// operators (one operator already runs as one op).
    fn long_push_start(&mut self, expr: &Expr) -> Option<usize> {
        if !self.long_fast_path_allowed() || !matches!(expr.kind, ExprKind::Binary { .. }) {
            return None;
        }
        let (operators, depth) = self.long_root_shape(expr)?;
        if operators < 2 || depth > LONG_STACK_DEPTH {
            return None;
        }
        let mut steps = Vec::new();
        let comparison = self.long_root_steps(expr, &mut steps);
        let expression = self.long_expression(steps, comparison);
        Some(self.long_fast_path_start(
            Op::LongPush {
                expression,
                skip: 0,
            },
            expr.span,
        ))
    }

    fn long_fast_path_allowed(&self) -> bool {
        self.fast_paths == FastPaths::On && !self.in_long_fallback
    }

    fn long_expression(&mut self, steps: Vec<LongStep>, comparison: Option<Operator>) -> u32 {
        let index = count(self.long_expressions.len());
        self.long_expressions
            .push(LongExpression { steps, comparison });
        index
    }

    fn long_fast_path_start(&mut self, op: Op, span: Span) -> usize {
        self.in_long_fallback = true;
        self.emit(op, span)
    }

    /// Ends the ordinary code behind a fast path: the fast path skips to here.
    fn long_fast_path_end(&mut self, start: Option<usize>) {
        let Some(start) = start else {
            return;
        };
        self.in_long_fallback = false;
        let end = self.here();
        self.jump_targets.insert(end);
        if let Some(
            Op::LongPush { skip, .. } | Op::LongStore { skip, .. } | Op::LongBranch { skip, .. },
        ) = self.code.get_mut(start)
        {
            *skip = end;
        }
    }

    /// Whether reading this variable compiles to a plain `Load` of its slot.
    fn variable_reads_slot(&self, identifier: &Identifier) -> bool {
        self.assigned.contains(&identifier.name)
            || !matches!(
                identifier.name.to_ascii_lowercase().as_str(),
                "today" | "now"
            )
    }

    /// Operator count and stack depth of an expression the fast path can compute, whose
    /// root may be a comparison.
    fn long_root_shape(&self, expr: &Expr) -> Option<(u32, usize)> {
        let expr = without_parens(expr);
        if let ExprKind::Binary {
            operator,
            left,
            right,
        } = &expr.kind
            && let Some(_) = long_comparison(*operator)
        {
            let (left_operators, left_depth) = self.long_shape(left)?;
            let (right_operators, right_depth) = self.long_shape(right)?;
            return Some((
                left_operators + right_operators + 1,
                left_depth.max(right_depth.saturating_add(1)),
            ));
        }
        self.long_shape(expr)
    }

    /// Operator count and stack depth of a whole-number arithmetic expression over
    /// variables and whole-number literals; `None` for anything else.
    fn long_shape(&self, expr: &Expr) -> Option<(u32, usize)> {
        let expr = without_parens(expr);
        match &expr.kind {
            ExprKind::Long(_) => Some((0, 1)),
            ExprKind::Variable(identifier) if self.variable_reads_slot(identifier) => Some((0, 1)),
            ExprKind::Binary {
                operator,
                left,
                right,
            } => {
                long_arithmetic(*operator)?;
                let (left_operators, left_depth) = self.long_shape(left)?;
                let (right_operators, right_depth) = self.long_shape(right)?;
                let depth = if right_operators == 0 {
                    left_depth
                } else {
                    left_depth.max(right_depth.saturating_add(1))
                };
                Some((left_operators.saturating_add(right_operators) + 1, depth))
            }
            _ => None,
        }
    }

    /// Steps of an expression [`Compiler::long_root_shape`] accepted; returns the root
    /// comparison, if any.
    fn long_root_steps(&mut self, expr: &Expr, steps: &mut Vec<LongStep>) -> Option<Operator> {
        let expr = without_parens(expr);
        if let ExprKind::Binary {
            operator,
            left,
            right,
        } = &expr.kind
            && let Some(comparison) = long_comparison(*operator)
        {
            self.long_steps(left, steps);
            self.long_steps(right, steps);
            return Some(comparison);
        }
        self.long_steps(expr, steps);
        None
    }

    /// Steps of an expression [`Compiler::long_shape`] accepted, creating slots left to
    /// right as the ordinary code does.
    fn long_steps(&mut self, expr: &Expr, steps: &mut Vec<LongStep>) {
        let expr = without_parens(expr);
        if let Some(operand) = self.long_operand(expr) {
            steps.push(LongStep::push(operand));
            return;
        }
        if let ExprKind::Binary {
            operator,
            left,
            right,
        } = &expr.kind
            && let Some(operator) = long_arithmetic(*operator)
        {
            self.long_steps(left, steps);
            match self.long_operand(right) {
                Some(operand) => steps.push(LongStep::apply(operator, operand)),
                None => {
                    self.long_steps(right, steps);
                    steps.push(LongStep::combine(operator));
                }
            }
        }
    }

    /// The operand of a leaf (a variable or a whole-number literal).
    fn long_operand(&mut self, expr: &Expr) -> Option<LongOperand> {
        let expr = without_parens(expr);
        match &expr.kind {
            ExprKind::Long(number) => Some(LongOperand::Constant(*number)),
            ExprKind::Variable(identifier) if self.variable_reads_slot(identifier) => {
                Some(LongOperand::Slot(self.slot(&identifier.name)))
            }
            _ => None,
        }
    }

    // ----- expressions -----

    fn expression(&mut self, expr: &Expr) {
        let fast_push = self.long_push_start(expr);
        self.ordinary_expression(expr);
        self.long_fast_path_end(fast_push);
    }

    fn ordinary_expression(&mut self, expr: &Expr) {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Text(text) => {
                let index = self.constant(Value::text(text.as_str()));
                self.emit(Op::Constant(index), span);
            }
            ExprKind::SingleQuoted(text) => {
                let value = single_quoted_literal(text);
                let index = self.constant(value);
                self.emit(Op::Constant(index), span);
            }
            ExprKind::Long(number) => {
                let index = self.constant(Value::Long(*number));
                self.emit(Op::Constant(index), span);
            }
            ExprKind::Decimal(digits) => match crate::value::number::parse_decimal(digits) {
                Some(decimal) => {
                    let index = self.constant(Value::Decimal(decimal));
                    self.emit(Op::Constant(index), span);
                }
                None => {
                    self.error(
                        diagnostic_codes::INVALID_LITERAL,
                        format!("decimal number `{digits}` is out of range"),
                        span,
                    );
                    self.emit(Op::Null, span);
                }
            },
            ExprKind::Boolean(value) => {
                let index = self.constant(Value::Boolean(*value));
                self.emit(Op::Constant(index), span);
            }
            ExprKind::Null => {
                self.emit(Op::Null, span);
            }
            ExprKind::Variable(identifier) => self.variable(identifier),
            ExprKind::List(elements) => {
                for element in elements {
                    self.expression(element);
                }
                self.emit(Op::MakeList(count(elements.len())), span);
            }
            ExprKind::Map(entries) => {
                for entry in entries {
                    self.expression(&entry.key);
                    self.expression(&entry.value);
                }
                self.emit(Op::MakeMap(count(entries.len())), span);
            }
            ExprKind::Constructor { kind, items, .. } => self.constructor(*kind, items, span),
            ExprKind::Unary { operator, operand } => {
                self.expression(operand);
                match operator {
                    UnaryOperator::Not => {
                        self.emit(Op::Not, span);
                    }
                    UnaryOperator::Negate => {
                        self.emit(Op::Negate, span);
                    }
                    UnaryOperator::Plus => {}
                }
            }
            ExprKind::Binary {
                operator,
                left,
                right,
            } => self.binary(*operator, left, right, span),
            ExprKind::If {
                condition,
                then_value,
                else_value,
            } => {
                self.expression(condition);
                let skip = self.emit(Op::JumpIfFalse(0), condition.span);
                self.expression(then_value);
                let end = self.emit(Op::Jump(0), span);
                self.patch_jump(skip);
                self.expression(else_value);
                self.patch_jump(end);
            }
            ExprKind::IfNull { value, fallback } => {
                self.expression(value);
                let end = self.emit(Op::JumpIfNotNull(0), span);
                self.expression(fallback);
                self.patch_jump(end);
            }
            ExprKind::Member { object, field } => {
                // `e.message` / `e.lineNo` on a catch variable.
                if let ExprKind::Variable(variable) = &object.kind
                    && let Some(line_slot) = self.catch_line_slots.get(&variable.name).copied()
                {
                    match field.name.to_ascii_lowercase().as_str() {
                        "lineno" | "linenumber" => {
                            self.emit(Op::Load(line_slot), span);
                            return;
                        }
                        "message" => {
                            self.variable(variable);
                            return;
                        }
                        _ => {}
                    }
                }
                self.expression(object);
                let index = self.name(&field.name);
                self.emit(Op::GetField(index), span);
            }
            ExprKind::MethodCall {
                receiver,
                method,
                arguments,
            } => self.method_call(receiver, method, arguments, span),
            ExprKind::Call {
                function,
                arguments,
            } => self.call(function, arguments, span),
            ExprKind::IntegrationTask { path, arguments } => {
                self.integration_task(path, arguments, span)
            }
            ExprKind::SystemVariable { path } => self.system_variable(&path.key, span),
            ExprKind::Task(task) => self.bracket_task(task, span),
            ExprKind::RecordFetch(fetch) => {
                self.not_supported(
                    &format!(
                        "`{}[...]` fetches Zoho Creator records and is not supported here",
                        fetch.form.name
                    ),
                    span,
                );
            }
            ExprKind::InsertInto { form, .. } => {
                self.not_supported(
                    &format!(
                        "`insert into {}` is a Zoho Creator statement and is not supported here",
                        form.name
                    ),
                    span,
                );
            }
            // `insert("k" : v)`: a one-entry map argument.
            ExprKind::Pair { key, value } => {
                self.expression(key);
                self.expression(value);
                self.emit(Op::MakeMap(1), span);
            }
            ExprKind::Paren(inner) => self.expression(inner),
            ExprKind::Error => {
                self.emit(Op::Null, span);
            }
        }
    }

    fn variable(&mut self, identifier: &Identifier) {
        let span = identifier.span;
        if !self.assigned.contains(&identifier.name) {
            match identifier.name.to_ascii_lowercase().as_str() {
                "today" => {
                    let index = self.effect(EffectTemplate::CurrentTime { date_only: true });
                    self.emit(Op::Effect(index), span);
                    return;
                }
                "now" => {
                    let index = self.effect(EffectTemplate::CurrentTime { date_only: false });
                    self.emit(Op::Effect(index), span);
                    return;
                }
                _ => {}
            }
        }
        let slot = self.slot(&identifier.name);
        self.emit(Op::Load(slot), span);
    }

    fn binary(&mut self, operator: SyntaxOperator, left: &Expr, right: &Expr, span: Span) {
        match operator {
            SyntaxOperator::And | SyntaxOperator::Or => {
                self.expression(left);
                let jump = if operator == SyntaxOperator::And {
                    self.emit(Op::AndJump(0), span)
                } else {
                    self.emit(Op::OrJump(0), span)
                };
                self.expression(right);
                self.emit(Op::CheckBoolean, right.span);
                self.patch_jump(jump);
            }
            _ => {
                self.expression(left);
                let operator = match operator {
                    SyntaxOperator::Add => Operator::Add,
                    SyntaxOperator::Subtract => Operator::Subtract,
                    SyntaxOperator::Multiply => Operator::Multiply,
                    SyntaxOperator::Divide => Operator::Divide,
                    SyntaxOperator::Remainder => Operator::Remainder,
                    SyntaxOperator::Less => Operator::Less,
                    SyntaxOperator::LessEqual => Operator::LessEqual,
                    SyntaxOperator::Greater => Operator::Greater,
                    SyntaxOperator::GreaterEqual => Operator::GreaterEqual,
                    SyntaxOperator::Equal => Operator::Equal,
                    SyntaxOperator::NotEqual => Operator::NotEqual,
                    SyntaxOperator::In => Operator::In,
                    SyntaxOperator::NotIn => Operator::NotIn,
                    SyntaxOperator::And | SyntaxOperator::Or => Operator::Equal,
                };
                // A variable or literal on the right is read in place (fewer stack moves).
                let mut simple_right = right;
                while let ExprKind::Paren(inner) = &simple_right.kind {
                    simple_right = inner;
                }
                match &simple_right.kind {
                    ExprKind::Variable(identifier)
                        if self.assigned.contains(&identifier.name)
                            || self.slots.contains_key(&identifier.name) =>
                    {
                        let slot = self.slot(&identifier.name);
                        // `a op b` with both sides variables: one op instead of two.
                        if let Some(Op::Load(left)) = self.code.last().copied()
                            && self.last_op_is_fusable()
                        {
                            self.code.pop();
                            self.spans.pop();
                            self.emit(
                                Op::BinarySlots {
                                    operator,
                                    left,
                                    right: slot,
                                },
                                span,
                            );
                        } else {
                            self.emit(Op::BinarySlot { operator, slot }, span);
                        }
                    }
                    ExprKind::Text(_)
                    | ExprKind::Long(_)
                    | ExprKind::Boolean(_)
                    | ExprKind::Decimal(_) => {
                        self.expression(simple_right);
                        if let Some(Op::Constant(index)) = self.code.last().copied() {
                            self.code.pop();
                            self.spans.pop();
                            if let Some(Op::Load(slot)) = self.code.last().copied()
                                && self.last_op_is_fusable()
                            {
                                self.code.pop();
                                self.spans.pop();
                                self.emit(
                                    Op::BinarySlotConstant {
                                        operator,
                                        slot,
                                        index,
                                    },
                                    span,
                                );
                            } else {
                                self.emit(Op::BinaryConstant { operator, index }, span);
                            }
                        } else {
                            self.emit(Op::Binary(operator), span);
                        }
                    }
                    _ => {
                        self.expression(right);
                        self.emit(Op::Binary(operator), span);
                    }
                }
            }
        }
    }

    fn constructor(
        &mut self,
        kind: ConstructorKind,
        items: &[trestle_deluge_syntax::ast::ConstructorItem],
        span: Span,
    ) {
        let keyed = items.iter().any(|item| item.key.is_some());
        match kind {
            ConstructorKind::Map | ConstructorKind::Collection if keyed || items.is_empty() => {
                for item in items {
                    match &item.key {
                        Some(key) => self.expression(key),
                        None => {
                            self.emit(Op::Null, item.span);
                        }
                    }
                    self.expression(&item.value);
                }
                self.emit(Op::MakeMap(count(items.len())), span);
            }
            ConstructorKind::Map | ConstructorKind::List => {
                // `Map({...})` / `List({...})` copy their argument; `List("a","b")` lists them.
                if items.len() == 1 && !keyed {
                    if let Some(item) = items.first() {
                        self.expression(&item.value);
                    }
                    self.emit(
                        Op::Construct {
                            map: kind == ConstructorKind::Map,
                        },
                        span,
                    );
                } else {
                    for item in items {
                        self.expression(&item.value);
                    }
                    self.emit(Op::MakeList(count(items.len())), span);
                }
            }
            ConstructorKind::Collection => {
                for item in items {
                    self.expression(&item.value);
                }
                self.emit(Op::MakeList(count(items.len())), span);
            }
        }
    }

    fn arguments(&mut self, arguments: &[Expr]) -> u8 {
        for argument in arguments {
            self.expression(argument);
        }
        u8::try_from(arguments.len()).unwrap_or(u8::MAX)
    }

    fn method_call(
        &mut self,
        receiver: &Expr,
        method: &trestle_deluge_syntax::ast::Name,
        arguments: &[Expr],
        span: Span,
    ) {
        let known = builtins::is_known_method(&method.key);
        // `Namespace.fn(x)` where `Namespace` is never a variable: a stored function call.
        if let ExprKind::Variable(variable) = &receiver.kind
            && !self.assigned.contains(&variable.name)
            && !known
        {
            let name = format!("{}.{}", variable.name, method.name);
            self.call_stored(&name, arguments, span);
            return;
        }
        if !known {
            let suggestion = builtins::suggest_method(&method.key)
                .map(|name| format!("; did you mean `{name}`?"))
                .unwrap_or_default();
            self.error(
                diagnostic_codes::UNKNOWN_METHOD,
                format!(
                    "Not able to find '{}' function: `{}` is not a Deluge built-in method{suggestion}",
                    method.name, method.name
                ),
                method.span,
            );
            return;
        }
        let fast = FastMethod::for_name(&method.key, arguments.len());
        if self.fast_paths == FastPaths::On
            && let ExprKind::Variable(variable) = &receiver.kind
            && self.variable_reads_slot(variable)
        {
            let slot = self.slot(&variable.name);
            let argc = self.arguments(arguments);
            let name = self.name(&method.key);
            self.emit(
                Op::CallMethodSlot {
                    slot,
                    name,
                    argc,
                    fast,
                    discard: false,
                },
                span,
            );
            return;
        }
        self.expression(receiver);
        let argc = self.arguments(arguments);
        let name = self.name(&method.key);
        self.emit(Op::CallMethod { name, argc, fast }, span);
    }

    fn call(
        &mut self,
        function: &trestle_deluge_syntax::ast::QualifiedName,
        arguments: &[Expr],
        span: Span,
    ) {
        if function.parts.len() > 1 {
            let name = function
                .parts
                .iter()
                .map(|part| part.name.as_str())
                .collect::<Vec<_>>()
                .join(".");
            self.call_stored(&name, arguments, span);
            return;
        }
        let key = function.key.as_str();
        match key {
            "randomnumber" => {
                if arguments.len() != 2 {
                    self.error(
                        diagnostic_codes::ARGUMENT_COUNT,
                        "randomNumber takes two arguments: randomNumber(low, high)".to_owned(),
                        function.span,
                    );
                }
                let argc = self.arguments(arguments);
                let _ = argc;
                let index = self.effect(EffectTemplate::Random);
                self.emit(Op::Effect(index), span);
                return;
            }
            "geturl" | "posturl" => {
                let method = if key == "geturl" { "GET" } else { "POST" };
                let argc = self.arguments(arguments);
                let index = self.effect(EffectTemplate::LegacyUrl {
                    method,
                    argc: u32::from(argc),
                });
                self.emit(Op::Effect(index), span);
                return;
            }
            _ => {}
        }
        match builtins::is_known_function(key) {
            true => {
                let argc = self.arguments(arguments);
                let name = self.name(key);
                self.emit(Op::CallFunction { name, argc }, span);
            }
            false => {
                let written = function
                    .parts
                    .first()
                    .map_or(function.key.as_str(), |part| part.name.as_str());
                self.error(
                    diagnostic_codes::UNKNOWN_FUNCTION,
                    format!(
                        "Not able to find '{written}' function: it is neither a Deluge built-in nor a stored function (call stored functions with their category, e.g. `standalone.{written}(...)`)"
                    ),
                    function.span,
                );
            }
        }
    }

    fn call_stored(&mut self, name: &str, arguments: &[Expr], span: Span) {
        let argc = self.arguments(arguments);
        let index = self.effect(EffectTemplate::CallFunction {
            name: name.to_owned(),
            argc: u32::from(argc),
        });
        self.emit(Op::Effect(index), span);
    }

    fn integration_task(
        &mut self,
        path: &trestle_deluge_syntax::ast::QualifiedName,
        arguments: &[Expr],
        span: Span,
    ) {
        // Pure built-ins that live under `zoho.` (`zoho.encryption.urlEncode`, ...).
        let dotted = format!("zoho.{}", path.key);
        if builtins::is_known_function(&dotted)
            || (path.key.starts_with("encryption.")
                && builtins::is_known_function(path.key.trim_start_matches("encryption.")))
        {
            let argc = self.arguments(arguments);
            let name = self.name(&dotted);
            self.emit(Op::CallFunction { name, argc }, span);
            return;
        }
        let (service_parts, task) = match path.parts.split_last() {
            Some((task, service)) if !service.is_empty() => (service, task),
            _ => {
                self.error(
                    diagnostic_codes::UNKNOWN_FUNCTION,
                    format!(
                        "`zoho.{}` is not an integration task: write `zoho.<service>.<task>(...)`",
                        path.key
                    ),
                    path.span,
                );
                return;
            }
        };
        let service = service_parts
            .iter()
            .map(|part| part.key.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let argc = self.arguments(arguments);
        let index = self.effect(EffectTemplate::IntegrationTask {
            service,
            task: task.name.clone(),
            argc: u32::from(argc),
        });
        self.emit(Op::Effect(index), span);
    }

    fn system_variable(&mut self, key: &str, span: Span) {
        match key {
            "currentdate" => {
                let index = self.effect(EffectTemplate::CurrentTime { date_only: true });
                self.emit(Op::Effect(index), span);
            }
            "currenttime" => {
                let index = self.effect(EffectTemplate::CurrentTime { date_only: false });
                self.emit(Op::Effect(index), span);
            }
            other => {
                let index = self.name(other);
                self.emit(Op::SystemVariable(index), span);
            }
        }
    }

    fn bracket_task(&mut self, task: &BracketTask, span: Span) {
        let mut keys = Vec::with_capacity(task.entries.len());
        for entry in &task.entries {
            keys.push(entry.key.key.clone());
            match &entry.value {
                TaskValue::Expr(expr) => self.expression(expr),
                TaskValue::Bare { text, span } => {
                    let index = self.constant(Value::text(text.as_str()));
                    self.emit(Op::Constant(index), *span);
                }
                TaskValue::Attachments(attachments) => {
                    for attachment in attachments {
                        self.expression(&attachment.value);
                    }
                    self.emit(Op::MakeList(count(attachments.len())), entry.span);
                }
            }
        }
        let template = match task.name.key.as_str() {
            "invokeurl" => EffectTemplate::InvokeUrl { keys },
            "sendmail" => EffectTemplate::SendMail { keys },
            _ => EffectTemplate::Task {
                name: task.name.key.clone(),
                keys,
            },
        };
        let index = self.effect(template);
        self.emit(Op::Effect(index), span);
    }
}

/// `'...'`: a date or date-time when the content is in one of Deluge's date formats,
/// otherwise text (reference §2.4).
fn single_quoted_literal(text: &str) -> Value {
    use crate::value::datetime::{Zone, parse_default};
    match parse_default(text, Zone::Named(chrono_tz::UTC)) {
        Some(parsed) if parsed.has_time => Value::DateTime(parsed.local),
        Some(parsed) => Value::Date(parsed.local.date()),
        None => Value::text(text),
    }
}

fn without_parens(mut expr: &Expr) -> &Expr {
    while let ExprKind::Paren(inner) = &expr.kind {
        expr = inner;
    }
    expr
}

fn long_arithmetic(operator: SyntaxOperator) -> Option<LongOperator> {
    match operator {
        SyntaxOperator::Add => Some(LongOperator::Add),
        SyntaxOperator::Subtract => Some(LongOperator::Subtract),
        SyntaxOperator::Multiply => Some(LongOperator::Multiply),
        SyntaxOperator::Remainder => Some(LongOperator::Remainder),
        _ => None,
    }
}

fn long_comparison(operator: SyntaxOperator) -> Option<Operator> {
    match operator {
        SyntaxOperator::Less => Some(Operator::Less),
        SyntaxOperator::LessEqual => Some(Operator::LessEqual),
        SyntaxOperator::Greater => Some(Operator::Greater),
        SyntaxOperator::GreaterEqual => Some(Operator::GreaterEqual),
        SyntaxOperator::Equal => Some(Operator::Equal),
        SyntaxOperator::NotEqual => Some(Operator::NotEqual),
        _ => None,
    }
}

fn count(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

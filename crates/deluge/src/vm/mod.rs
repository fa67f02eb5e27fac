//! The VM: runs a [`Program`] step by step. A [`Run`] owns everything of one execution
//! (slots, operand stack, heap, counters), is `Send + 'static`, and never blocks: when the
//! script needs the outside world it returns [`Step::Effect`] and waits to be resumed with
//! the [`EffectResult`]. The same program, arguments and effect results always give the
//! same steps, so a run can be replayed from a journal of its effects.

mod effects;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod fast_path_tests;

use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::builtins::{self, BuiltinError, BuiltinErrorKind};
use crate::compile::Program;
use crate::compile::code::{FastMethod, LONG_STACK_DEPTH, LongExpression, LongStep, Op, Operator};
use crate::effect::{Effect, EffectResult};
use crate::error::{Error, SourceLocation, codes};
use crate::limits::{LimitKind, Limits};
use crate::value::{BinaryOperator, BuiltinLimits, Heap, ListId, OwnedValue, Value, decisions};

/// What the host knows about the run that the script can read: `zoho.loginuser`,
/// `zoho.adminuserid`, ... (keys without the `zoho.` prefix, lower-case), and how deep in
/// a chain of function calls this run is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    #[serde(default)]
    pub system_variables: IndexMap<String, OwnedValue>,
    /// 0 for a run started by a trigger or a user; callee runs get the caller's depth + 1.
    #[serde(default)]
    pub call_depth: u32,
}

/// How the driver continues a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// Start the run, or continue after [`Step::Yield`].
    Continue,
    /// The answer to the [`Step::Effect`] the run returned last.
    Effect(EffectResult),
}

/// What a run did when it handed control back.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The run needs this effect performed; resume with [`Resume::Effect`].
    Effect(Effect),
    /// The run used up its slice of statements; the driver may check the wall clock,
    /// then resume with [`Resume::Continue`].
    Yield,
    /// The function returned.
    Finished(Outcome),
    /// The function stopped with an error the script did not catch.
    Failed(Failure),
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub return_value: OwnedValue,
    pub info_lines: Vec<String>,
    pub statements_executed: u64,
    pub effects_performed: u32,
}

/// A failed run: the error plus what the run had logged until then.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: Error,
    pub info_lines: Vec<String>,
    pub statements_executed: u64,
    pub effects_performed: u32,
}

/// One execution of a program.
pub struct Run {
    program: Arc<Program>,
    heap: Heap,
    slots: Vec<Value>,
    stack: Vec<Value>,
    iterators: Vec<Iteration>,
    handlers: Vec<Handler>,
    pc: usize,
    state: State,
    limits: Limits,
    context: RunContext,
    statements: u64,
    effects: u32,
    info_lines: Vec<String>,
    info_bytes: usize,
}

#[derive(Debug, Clone, Copy)]
struct Iteration {
    list: ListId,
    next: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Handler {
    catch_pc: usize,
    stack_depth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    AwaitingEffect { template: u32, effect_pc: usize },
    Done,
}

/// An error inside the dispatch loop, before it gets its location.
#[derive(Debug)]
pub(crate) enum Fault {
    Runtime { code: &'static str, message: String },
    Limit(LimitKind),
    NotSupported(String),
}

impl Fault {
    pub(crate) fn runtime(code: &'static str, message: impl Into<String>) -> Fault {
        Fault::Runtime {
            code,
            message: message.into(),
        }
    }
}

impl From<BuiltinError> for Fault {
    fn from(error: BuiltinError) -> Fault {
        match error.kind() {
            BuiltinErrorKind::TextTooLong => Fault::Limit(LimitKind::TextSize),
            BuiltinErrorKind::HeapTooLarge => Fault::Limit(LimitKind::CollectionSize),
            _ => Fault::Runtime {
                code: error.code(),
                message: error.message().to_owned(),
            },
        }
    }
}

enum Flow {
    Continue,
    Stop(Step),
}

impl Run {
    /// Creates a run of `program` with named arguments. Header parameters and the inputs of
    /// a headerless script are filled by name; a missing one starts as null. An argument
    /// the function does not take is an error.
    pub fn new(
        program: Arc<Program>,
        arguments: Vec<(String, OwnedValue)>,
        limits: Limits,
        context: RunContext,
    ) -> Result<Run, Error> {
        let mut heap = Heap::with_limits(BuiltinLimits {
            max_text_bytes: limits.max_text_bytes,
            max_heap_elements: limits.max_collection_elements,
            ..BuiltinLimits::default()
        });
        let mut slots = vec![Value::Null; program.slot_count as usize];
        for (name, value) in arguments {
            let slot = program
                .parameters
                .iter()
                .chain(program.inputs.iter())
                .find(|parameter| parameter.name == name)
                .map(|parameter| parameter.slot);
            let Some(slot) = slot else {
                let known: Vec<&str> = program
                    .parameters
                    .iter()
                    .chain(program.inputs.iter())
                    .map(|parameter| parameter.name.as_str())
                    .collect();
                let message = if known.is_empty() {
                    format!("the function takes no argument named `{name}` (it takes no arguments)")
                } else {
                    format!(
                        "the function takes no argument named `{name}`; it takes: {}",
                        known.join(", ")
                    )
                };
                return Err(Error::InvalidArgument { name, message });
            };
            let value = heap.attach(value);
            if let Some(target) = slots.get_mut(slot as usize) {
                *target = value;
            }
        }
        let iterators = vec![
            Iteration {
                list: heap.new_list(Vec::new()),
                next: 0,
                end: 0,
            };
            program.iterator_count as usize
        ];
        Ok(Run {
            program,
            heap,
            slots,
            stack: Vec::with_capacity(64),
            iterators,
            handlers: Vec::new(),
            pc: 0,
            state: State::Ready,
            limits,
            context,
            statements: 0,
            effects: 0,
            info_lines: Vec::new(),
            info_bytes: 0,
        })
    }

    /// The `info` lines logged so far.
    pub fn info_lines(&self) -> &[String] {
        &self.info_lines
    }

    /// Statements executed so far.
    pub fn statements_executed(&self) -> u64 {
        self.statements
    }

    /// The limits this run enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The program this run executes.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Ends the run because the driver's wall clock ran out; the error points at the
    /// statement the run was at.
    pub fn fail_wall_time(&mut self) -> Failure {
        let location = self.location_at(self.pc.saturating_sub(1));
        self.state = State::Done;
        self.failure(Error::LimitExceeded {
            limit: LimitKind::WallTime,
            message: LimitKind::WallTime.describe(&self.limits),
            location,
        })
    }

    /// Runs until the next effect, yield, return or uncaught error.
    pub fn resume(&mut self, input: Resume) -> Step {
        match (self.state, input) {
            (State::Ready, Resume::Continue) => {}
            (
                State::AwaitingEffect {
                    template,
                    effect_pc,
                },
                Resume::Effect(result),
            ) => {
                self.state = State::Ready;
                match result {
                    EffectResult::Value(value) => {
                        self.collect_garbage_if_wanted();
                        let value = self.effect_result_value(template, value);
                        self.stack.push(value);
                    }
                    EffectResult::Error(message) => {
                        let fault = Fault::runtime(codes::EFFECT_FAILED, message);
                        if let Flow::Stop(step) = self.raise(fault, effect_pc) {
                            return step;
                        }
                    }
                }
            }
            (State::AwaitingEffect { .. }, Resume::Continue) => {
                return Step::Failed(self.failure(Error::InvalidResume {
                    message: "the run is waiting for an effect result".to_owned(),
                }));
            }
            (State::Ready, Resume::Effect(_)) => {
                return Step::Failed(self.failure(Error::InvalidResume {
                    message: "the run is not waiting for an effect result".to_owned(),
                }));
            }
            (State::Done, _) => {
                return Step::Failed(self.failure(Error::InvalidResume {
                    message: "the run has already finished".to_owned(),
                }));
            }
        }
        self.execute()
    }

    fn failure(&self, error: Error) -> Failure {
        Failure {
            error,
            info_lines: self.info_lines.clone(),
            statements_executed: self.statements,
            effects_performed: self.effects,
        }
    }

    fn location_at(&self, pc: usize) -> SourceLocation {
        let span = self.program.spans.get(pc).copied().unwrap_or_default();
        self.program.locate(span)
    }

    /// Handles a fault raised by the op at `pc`: jumps to the innermost catch, or ends the
    /// run.
    fn raise(&mut self, fault: Fault, pc: usize) -> Flow {
        let location = self.location_at(pc);
        let error = match fault {
            Fault::Runtime { code, message } => {
                if let Some(handler) = self.handlers.pop() {
                    self.stack.truncate(handler.stack_depth);
                    self.stack.push(Value::text(message));
                    self.stack.push(Value::Long(i64::from(location.line)));
                    self.pc = handler.catch_pc;
                    return Flow::Continue;
                }
                Error::Runtime {
                    code,
                    message,
                    location,
                }
            }
            Fault::Limit(limit) => Error::LimitExceeded {
                limit,
                message: limit.describe(&self.limits),
                location,
            },
            Fault::NotSupported(message) => Error::NotSupported { message, location },
        };
        self.state = State::Done;
        Flow::Stop(Step::Failed(self.failure(error)))
    }

    #[inline(always)]
    fn pop(&mut self) -> Value {
        match self.stack.pop() {
            Some(value) => value,
            None => Value::Null,
        }
    }

    /// `top = top <op> right`, with whole-number arithmetic done in place.
    #[inline(always)]
    fn binary_in_place(&mut self, operator: Operator, right: &Value) -> Result<(), Fault> {
        if let (Some(left), Value::Long(right)) = (self.stack.last_mut(), right)
            && long_fast_path(operator, left, *right)
        {
            return Ok(());
        }
        // Text `+` anything appends the printed right side to the text where it lies, as
        // `Heap::concatenate` would (in place when the text is not shared).
        if operator == Operator::Add
            && decisions::TEXT_PLUS_CONCATENATES
            && let Some(Value::Text(left)) = self.stack.last_mut()
        {
            return Ok(self.heap.append_printed(left, right)?);
        }
        let left = self.pop();
        let value = self.binary(operator, left, right)?;
        self.stack.push(value);
        Ok(())
    }

    fn execute(&mut self) -> Step {
        let program = Arc::clone(&self.program);
        let code = program.code.as_slice();
        let constants = program.constants.as_slice();
        let slice_end = self
            .statements
            .saturating_add(self.limits.statements_per_slice.max(1));
        let next_check = slice_end.min(self.limits.max_statements);
        loop {
            let pc = self.pc;
            let Some(&op) = code.get(pc) else {
                // Falling off the end cannot happen (the compiler ends with Return); be safe.
                return self.finish(Value::Null);
            };
            self.pc = pc + 1;
            let result: Result<(), Fault> = match op {
                Op::Statement => {
                    self.statements += 1;
                    if self.statements > next_check {
                        if self.statements > self.limits.max_statements {
                            Err(Fault::Limit(LimitKind::Statements))
                        } else {
                            // Resume re-enters here with a fresh slice; the statement is
                            // already counted.
                            return Step::Yield;
                        }
                    } else {
                        Ok(())
                    }
                }
                Op::Constant(index) => {
                    let value = constants.get(index as usize).cloned().unwrap_or_default();
                    self.stack.push(value);
                    Ok(())
                }
                Op::Null => {
                    self.stack.push(Value::Null);
                    Ok(())
                }
                Op::Load(slot) => {
                    let value = self.slots.get(slot as usize).cloned().unwrap_or_default();
                    self.stack.push(value);
                    Ok(())
                }
                Op::Store(slot) => {
                    let value = self.pop();
                    if let Some(target) = self.slots.get_mut(slot as usize) {
                        *target = value;
                    }
                    Ok(())
                }
                Op::Pop => {
                    self.stack.pop();
                    Ok(())
                }
                Op::Binary(operator) => {
                    let right = self.pop();
                    self.binary_in_place(operator, &right)
                }
                Op::BinarySlot { operator, slot } => {
                    let done = match (self.stack.last_mut(), self.slots.get(slot as usize)) {
                        (Some(left), Some(Value::Long(right))) => {
                            long_fast_path(operator, left, *right)
                        }
                        _ => false,
                    };
                    if done {
                        Ok(())
                    } else {
                        let right = self.slots.get(slot as usize).cloned().unwrap_or_default();
                        self.binary_in_place(operator, &right)
                    }
                }
                Op::BinaryConstant { operator, index } => {
                    let right = constants.get(index as usize);
                    let done = match (self.stack.last_mut(), right) {
                        (Some(left), Some(Value::Long(right))) => {
                            long_fast_path(operator, left, *right)
                        }
                        _ => false,
                    };
                    if done {
                        Ok(())
                    } else {
                        let right = right.cloned().unwrap_or_default();
                        self.binary_in_place(operator, &right)
                    }
                }
                Op::BinarySlots {
                    operator,
                    left,
                    right,
                } => {
                    let (left, right) = (
                        self.slots.get(left as usize),
                        self.slots.get(right as usize),
                    );
                    if let (Some(Value::Long(a)), Some(Value::Long(b))) = (left, right)
                        && let Some(value) = long_operation(operator, *a, *b)
                    {
                        self.stack.push(value);
                        Ok(())
                    } else {
                        let left = left.cloned().unwrap_or_default();
                        let right = right.cloned().unwrap_or_default();
                        self.push_binary(operator, left, &right)
                    }
                }
                Op::BinarySlotConstant {
                    operator,
                    slot,
                    index,
                } => {
                    let (left, right) =
                        (self.slots.get(slot as usize), constants.get(index as usize));
                    if let (Some(Value::Long(a)), Some(Value::Long(b))) = (left, right)
                        && let Some(value) = long_operation(operator, *a, *b)
                    {
                        self.stack.push(value);
                        Ok(())
                    } else {
                        let left = left.cloned().unwrap_or_default();
                        let right = right.cloned().unwrap_or_default();
                        self.push_binary(operator, left, &right)
                    }
                }
                Op::Compound { slot, operator } => self.compound(slot, operator),
                Op::Not => {
                    let value = self.pop();
                    match self.heap.condition(&value) {
                        Ok(truth) => {
                            self.stack.push(Value::Boolean(!truth));
                            Ok(())
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Op::Negate => {
                    let value = self.pop();
                    match self.heap.negate(&value) {
                        Ok(value) => {
                            self.stack.push(value);
                            Ok(())
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Op::CheckBoolean => {
                    let value = self.pop();
                    match self.heap.condition(&value) {
                        Ok(truth) => {
                            self.stack.push(Value::Boolean(truth));
                            Ok(())
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Op::Jump(target) => {
                    self.pc = target as usize;
                    Ok(())
                }
                Op::JumpIfFalse(target) => {
                    let value = self.pop();
                    match value {
                        Value::Boolean(true) => Ok(()),
                        Value::Boolean(false) => {
                            self.pc = target as usize;
                            Ok(())
                        }
                        other => match self.heap.condition(&other) {
                            Ok(true) => Ok(()),
                            Ok(false) => {
                                self.pc = target as usize;
                                Ok(())
                            }
                            Err(error) => Err(error.into()),
                        },
                    }
                }
                Op::AndJump(target) | Op::OrJump(target) => {
                    let value = self.pop();
                    match self.heap.condition(&value) {
                        Ok(truth) => {
                            let short_circuit = if matches!(op, Op::AndJump(_)) {
                                !truth
                            } else {
                                truth
                            };
                            if short_circuit {
                                self.stack.push(Value::Boolean(truth));
                                self.pc = target as usize;
                            }
                            Ok(())
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Op::JumpIfNotNull(target) => {
                    if self.stack.last().is_some_and(|value| !value.is_null()) {
                        self.pc = target as usize;
                    } else {
                        self.stack.pop();
                    }
                    Ok(())
                }
                Op::MakeList(length) => {
                    self.collect_garbage_if_wanted();
                    let start = self.stack.len().saturating_sub(length as usize);
                    let elements: Vec<Value> = self.stack.drain(start..).collect();
                    let value = self.heap.new_list_value(elements);
                    self.stack.push(value);
                    self.heap.check_size().map_err(Fault::from)
                }
                Op::MakeMap(length) => {
                    self.collect_garbage_if_wanted();
                    self.make_map(length as usize)
                }
                Op::CallMethod { name, argc, fast } => match self.fast_method(fast) {
                    Some(result) => result,
                    None => {
                        self.collect_garbage_if_wanted();
                        let name = program.names.get(name as usize).map_or("", String::as_str);
                        self.call_method(name, usize::from(argc))
                    }
                },
                Op::CallMethodSlot {
                    slot,
                    name,
                    argc,
                    fast,
                    discard,
                } => match self.fast_method_slot(slot, fast, discard) {
                    Some(result) => result,
                    None => {
                        self.collect_garbage_if_wanted();
                        let name = program.names.get(name as usize).map_or("", String::as_str);
                        self.call_method_slot(slot, name, usize::from(argc), discard)
                    }
                },
                Op::CallFunction { name, argc } => {
                    self.collect_garbage_if_wanted();
                    let name = program.names.get(name as usize).map_or("", String::as_str);
                    let start = self.stack.len().saturating_sub(usize::from(argc));
                    let result = builtins::call_function(
                        &mut self.heap,
                        name,
                        self.stack.get(start..).unwrap_or(&[]),
                    );
                    self.stack.truncate(start);
                    match result {
                        Ok(value) => {
                            self.stack.push(value);
                            Ok(())
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Op::Construct { map } => {
                    self.collect_garbage_if_wanted();
                    let value = self.pop();
                    let copy = match (map, value) {
                        (true, Value::Map(id)) => {
                            let entries = self.heap.map(id).clone();
                            Value::Map(self.heap.new_map_from(entries))
                        }
                        (true, Value::Null) => self.heap.new_map_value(),
                        (false, Value::List(id)) => {
                            let elements = self.heap.list(id).to_vec();
                            self.heap.new_list_value(elements)
                        }
                        (false, Value::Null) => self.heap.new_list_value(Vec::new()),
                        (false, other) => self.heap.new_list_value(vec![other]),
                        (true, other) => {
                            let fault = Fault::runtime(
                                codes::TYPE_MISMATCH,
                                format!("Map() needs a map, found {}", self.heap.describe(&other)),
                            );
                            if let Flow::Stop(step) = self.raise(fault, pc) {
                                return step;
                            }
                            continue;
                        }
                    };
                    self.stack.push(copy);
                    self.heap.check_size().map_err(Fault::from)
                }
                Op::GetField(name) => {
                    let object = self.pop();
                    let field = program.names.get(name as usize).map_or("", String::as_str);
                    match object {
                        Value::Map(map) => {
                            let value = self.heap.map_get(map, field);
                            self.stack.push(value);
                            Ok(())
                        }
                        Value::Null => Err(Fault::runtime(
                            codes::NULL_VALUE,
                            format!("Null value occurred: cannot read `.{field}` of null"),
                        )),
                        other => Err(Fault::runtime(
                            codes::TYPE_MISMATCH,
                            format!(
                                "cannot read field `{field}` of {}: only maps have fields; use .get(\"{field}\")",
                                self.heap.describe(&other)
                            ),
                        )),
                    }
                }
                Op::SetField(name) => {
                    let value = self.pop();
                    let object = self.pop();
                    let field = program.names.get(name as usize).map_or("", String::as_str);
                    match object {
                        Value::Map(map) => self
                            .heap
                            .map_put(map, field.to_owned(), value)
                            .map_err(Fault::from),
                        other => Err(Fault::NotSupported(format!(
                            "assigning `.{field}` of {} updates a Zoho Creator record, which is not supported here; use map.put(\"{field}\", value) on a map",
                            self.heap.describe(&other)
                        ))),
                    }
                }
                Op::ForEachStart { state } => {
                    self.collect_garbage_if_wanted();
                    self.for_each_start(state)
                }
                Op::ForEachNext {
                    state,
                    variable,
                    body,
                } => {
                    if let Some(iteration) = self.iterators.get_mut(state as usize) {
                        let index = iteration.next;
                        if index < iteration.end
                            && let Some(element) = self.heap.list(iteration.list).get(index)
                        {
                            let element = element.clone();
                            iteration.next = index + 1;
                            if let Some(target) = self.slots.get_mut(variable as usize) {
                                *target = element;
                            }
                            self.pc = body as usize;
                        }
                    }
                    Ok(())
                }
                Op::ForEachIndexNext {
                    state,
                    variable,
                    body,
                } => {
                    if let Some(iteration) = self.iterators.get_mut(state as usize) {
                        let length = self.heap.list(iteration.list).len();
                        let index = iteration.next;
                        if index < iteration.end && index < length {
                            iteration.next = index + 1;
                            if let Some(target) = self.slots.get_mut(variable as usize) {
                                *target = Value::Long(i64::try_from(index).unwrap_or(i64::MAX));
                            }
                            self.pc = body as usize;
                        }
                    }
                    Ok(())
                }
                Op::TryStart(catch_pc) => {
                    self.handlers.push(Handler {
                        catch_pc: catch_pc as usize,
                        stack_depth: self.stack.len(),
                    });
                    Ok(())
                }
                Op::TryEnd => {
                    self.handlers.pop();
                    Ok(())
                }
                Op::Info => {
                    let value = self.pop();
                    self.info(&value)
                }
                Op::Return => {
                    let value = self.pop();
                    return self.finish(value);
                }
                Op::Throw => {
                    let value = self.pop();
                    Err(Fault::runtime(codes::THROWN, self.heap.display(&value)))
                }
                Op::Effect(template) => match self.request_effect(template, pc) {
                    Ok(effect) => return Step::Effect(effect),
                    Err(fault) => Err(fault),
                },
                Op::SystemVariable(name) => {
                    self.collect_garbage_if_wanted();
                    let key = program.names.get(name as usize).map_or("", String::as_str);
                    let value = match self.context.system_variables.get(key) {
                        Some(value) => {
                            let value = value.clone();
                            self.heap.attach(value)
                        }
                        None => Value::Null,
                    };
                    self.stack.push(value);
                    Ok(())
                }
                Op::LongPush { expression, skip } => {
                    if let Some(value) = program
                        .long_expressions
                        .get(expression as usize)
                        .and_then(|expression| evaluate_long(expression, &self.slots))
                    {
                        self.stack.push(value);
                        self.pc = skip as usize;
                    }
                    Ok(())
                }
                Op::LongStore {
                    expression,
                    slot,
                    skip,
                } => {
                    // The statement is counted here only when the `Statement` op would
                    // neither yield nor stop the run.
                    if self.statements < next_check
                        && let Some(value) = program
                            .long_expressions
                            .get(expression as usize)
                            .and_then(|expression| evaluate_long(expression, &self.slots))
                        && let Some(target) = self.slots.get_mut(slot as usize)
                    {
                        *target = value;
                        self.statements += 1;
                        self.pc = skip as usize;
                    }
                    Ok(())
                }
                Op::LongBranch {
                    expression,
                    if_false,
                    skip,
                } => {
                    match program
                        .long_expressions
                        .get(expression as usize)
                        .and_then(|expression| evaluate_long(expression, &self.slots))
                    {
                        Some(Value::Boolean(true)) => self.pc = skip as usize,
                        Some(Value::Boolean(false)) => self.pc = if_false as usize,
                        _ => {}
                    }
                    Ok(())
                }
                Op::NotSupported(message) => Err(Fault::NotSupported(
                    program
                        .names
                        .get(message as usize)
                        .cloned()
                        .unwrap_or_default(),
                )),
            };
            if let Err(fault) = result
                && let Flow::Stop(step) = self.raise(fault, pc)
            {
                return step;
            }
        }
    }

    /// Collects garbage when the heap asks for it. Called before the ops that create lists
    /// and maps (literals, `Map()`/`List()`, built-ins, loops over maps, effect results): the
    /// only places the heap grows by containers, and safe points, since every live value is
    /// then in a variable, on the operand stack or behind a loop's iterator. Arithmetic and
    /// the inlined methods never pay for the check.
    #[inline(always)]
    fn collect_garbage_if_wanted(&mut self) {
        if self.heap.wants_collection() {
            self.collect_garbage();
        }
    }

    /// Reclaims the lists and maps the script can no longer reach, with every variable,
    /// the operand stack and the lists loops iterate over as roots.
    fn collect_garbage(&mut self) {
        let iterated: Vec<Value> = self
            .iterators
            .iter()
            .map(|iteration| Value::List(iteration.list))
            .collect();
        self.heap.collect_garbage(
            self.slots
                .iter()
                .chain(self.stack.iter())
                .chain(iterated.iter()),
        );
    }

    fn finish(&mut self, value: Value) -> Step {
        self.state = State::Done;
        let return_value = self.heap.detach(&value);
        Step::Finished(Outcome {
            return_value,
            info_lines: std::mem::take(&mut self.info_lines),
            statements_executed: self.statements,
            effects_performed: self.effects,
        })
    }

    fn info(&mut self, value: &Value) -> Result<(), Fault> {
        let line = self.heap.display(value);
        self.info_bytes = self.info_bytes.saturating_add(line.len() + 1);
        if self.info_bytes > self.limits.max_info_bytes {
            return Err(Fault::Limit(LimitKind::InfoOutput));
        }
        self.info_lines.push(line);
        Ok(())
    }

    /// The general path of the fused operand/operator ops: the operator's result goes on the stack.
    fn push_binary(&mut self, operator: Operator, left: Value, right: &Value) -> Result<(), Fault> {
        let value = self.binary(operator, left, right)?;
        self.stack.push(value);
        Ok(())
    }

    fn binary(&mut self, operator: Operator, left: Value, right: &Value) -> Result<Value, Fault> {
        match operator {
            Operator::Add => Ok(self.heap.binary(BinaryOperator::Add, left, right)?),
            Operator::Subtract => Ok(self.heap.binary(BinaryOperator::Subtract, left, right)?),
            Operator::Multiply => Ok(self.heap.binary(BinaryOperator::Multiply, left, right)?),
            Operator::Divide => Ok(self.heap.binary(BinaryOperator::Divide, left, right)?),
            Operator::Remainder => Ok(self.heap.binary(BinaryOperator::Remainder, left, right)?),
            Operator::Equal => Ok(Value::Boolean(self.heap.values_equal(&left, right))),
            Operator::NotEqual => Ok(Value::Boolean(!self.heap.values_equal(&left, right))),
            Operator::Less | Operator::LessEqual | Operator::Greater | Operator::GreaterEqual => {
                let ordering = self.heap.compare(&left, right)?;
                let truth = match operator {
                    Operator::Less => ordering.is_lt(),
                    Operator::LessEqual => ordering.is_le(),
                    Operator::Greater => ordering.is_gt(),
                    _ => ordering.is_ge(),
                };
                Ok(Value::Boolean(truth))
            }
            Operator::In => Ok(Value::Boolean(self.heap.contains(right, &left)?)),
            Operator::NotIn => Ok(Value::Boolean(!self.heap.contains(right, &left)?)),
        }
    }

    fn compound(&mut self, slot: u32, operator: BinaryOperator) -> Result<(), Fault> {
        let right = self.pop();
        let Some(target) = self.slots.get_mut(slot as usize) else {
            return Ok(());
        };
        if let Value::Long(right) = right
            && long_fast_path(Operator::from_arithmetic(operator), target, right)
        {
            return Ok(());
        }
        // `s += x` on text appends in the variable itself; at the text limit the error ends
        // the run and leaves `s` as it was.
        if operator == BinaryOperator::Add
            && decisions::TEXT_PLUS_CONCATENATES
            && let Value::Text(text) = target
        {
            return Ok(self.heap.append_printed(text, &right)?);
        }
        // Taking text out leaves it unshared, so `+` appends in place. Text `+` fails only
        // at the text limit, which ends the run; other values are copied so that a caught
        // error leaves the variable as it was.
        let left = match target {
            Value::Text(_) => std::mem::take(target),
            other => other.clone(),
        };
        let result = self.binary(Operator::from_arithmetic(operator), left, &right)?;
        if let Some(target) = self.slots.get_mut(slot as usize) {
            *target = result;
        }
        Ok(())
    }

    fn call_method(&mut self, name: &str, argc: usize) -> Result<(), Fault> {
        let start = self.stack.len().saturating_sub(argc);
        let receiver_index = start.saturating_sub(1);
        let result = match self.stack.get(receiver_index..) {
            Some([receiver, arguments @ ..]) => {
                builtins::call_method(&mut self.heap, receiver, name, arguments)
            }
            _ => builtins::call_method(&mut self.heap, &Value::Null, name, &[]),
        };
        self.stack.truncate(receiver_index);
        let value = result?;
        self.stack.push(value);
        Ok(())
    }

    /// [`Run::call_method`] on the receiver in `slot`, read where it lies.
    fn call_method_slot(
        &mut self,
        slot: u32,
        name: &str,
        argc: usize,
        discard: bool,
    ) -> Result<(), Fault> {
        let start = self.stack.len().saturating_sub(argc);
        let arguments = self.stack.get(start..).unwrap_or(&[]);
        let result = match self.slots.get(slot as usize) {
            Some(receiver) => builtins::call_method(&mut self.heap, receiver, name, arguments),
            None => builtins::call_method(&mut self.heap, &Value::Null, name, arguments),
        };
        self.stack.truncate(start);
        let value = result?;
        if !discard {
            self.stack.push(value);
        }
        Ok(())
    }

    /// [`Run::fast_method`] on the receiver in `slot`: the same cases, the same results.
    #[inline]
    fn fast_method_slot(
        &mut self,
        slot: u32,
        fast: FastMethod,
        discard: bool,
    ) -> Option<Result<(), Fault>> {
        let receiver = self.slots.get(slot as usize)?;
        // The value of a call that leaves its arguments' place: replaces the top argument,
        // or is pushed, or dropped when discarded.
        match fast {
            FastMethod::Get => {
                let (Value::Map(map), Some(Value::Text(key))) = (receiver, self.stack.last())
                else {
                    return None;
                };
                let value = self.heap.map_get(*map, key.as_str());
                self.replace_top(value, discard);
                Some(Ok(()))
            }
            FastMethod::Put => {
                let (Value::Map(map), [.., Value::Text(_), _]) = (receiver, self.stack.as_slice())
                else {
                    return None;
                };
                let map = *map;
                let value = self.pop();
                let key = self.pop();
                let result = match key {
                    Value::Text(key) => self.heap.map_put_text(map, key, value),
                    other => self.heap.map_put_value_key(map, &other, value),
                };
                if !discard {
                    self.stack.push(Value::Null);
                }
                Some(result.map_err(Fault::from))
            }
            FastMethod::Add => {
                let (Value::List(list), Some(_)) = (receiver, self.stack.last()) else {
                    return None;
                };
                let list = *list;
                let element = self.pop();
                let result = self.heap.list_push(list, element);
                if !discard {
                    self.stack.push(Value::Null);
                }
                Some(result.map_err(Fault::from))
            }
            FastMethod::Size | FastMethod::Length => {
                let size = match (fast, receiver) {
                    (FastMethod::Size, Value::List(list)) => self.heap.list(*list).len(),
                    (FastMethod::Size, Value::Map(map)) => self.heap.map(*map).len(),
                    (FastMethod::Length, Value::Text(text)) => character_count(text),
                    _ => return None,
                };
                if !discard {
                    self.stack
                        .push(Value::Long(i64::try_from(size).unwrap_or(i64::MAX)));
                }
                Some(Ok(()))
            }
            FastMethod::Contains | FastMethod::StartsWith | FastMethod::EndsWith => {
                let (Value::Text(text), Some(Value::Text(argument))) =
                    (receiver, self.stack.last())
                else {
                    return None;
                };
                let truth = match fast {
                    FastMethod::Contains => text_contains(text, argument),
                    FastMethod::StartsWith => text.starts_with(argument.as_str()),
                    _ => text.ends_with(argument.as_str()),
                };
                self.replace_top(Value::Boolean(truth), discard);
                Some(Ok(()))
            }
            FastMethod::None => None,
        }
    }

    /// Puts a call's value where its one argument was (or drops both when discarded).
    #[inline(always)]
    fn replace_top(&mut self, value: Value, discard: bool) {
        if discard {
            self.stack.pop();
        } else if let Some(top) = self.stack.last_mut() {
            *top = value;
        }
    }

    /// Inlined versions of the hottest methods. Returns `None` (leaving the stack alone)
    /// when the receiver or arguments are not the simple case, so the built-in runs.
    #[inline]
    fn fast_method(&mut self, fast: FastMethod) -> Option<Result<(), Fault>> {
        let length = self.stack.len();
        match fast {
            FastMethod::Get => {
                if let [.., Value::Map(map), Value::Text(key)] = self.stack.as_slice() {
                    let value = self.heap.map_get(*map, key.as_str());
                    self.stack.truncate(length - 2);
                    self.stack.push(value);
                    return Some(Ok(()));
                }
                None
            }
            FastMethod::Put => {
                let [.., Value::Map(map), Value::Text(_), _] = self.stack.as_slice() else {
                    return None;
                };
                let map = *map;
                let value = self.pop();
                let key = self.pop();
                self.stack.pop();
                let result = match key {
                    Value::Text(key) => self.heap.map_put_text(map, key, value),
                    other => self.heap.map_put_value_key(map, &other, value),
                };
                self.stack.push(Value::Null);
                Some(result.map_err(Fault::from))
            }
            FastMethod::Add => {
                let [.., Value::List(list), _] = self.stack.as_slice() else {
                    return None;
                };
                let list = *list;
                let element = self.pop();
                self.stack.pop();
                let result = self.heap.list_push(list, element);
                self.stack.push(Value::Null);
                Some(result.map_err(Fault::from))
            }
            FastMethod::Size => {
                let size = match self.stack.last() {
                    Some(Value::List(list)) => self.heap.list(*list).len(),
                    Some(Value::Map(map)) => self.heap.map(*map).len(),
                    _ => return None,
                };
                self.stack.pop();
                self.stack
                    .push(Value::Long(i64::try_from(size).unwrap_or(i64::MAX)));
                Some(Ok(()))
            }
            FastMethod::Length => {
                let size = match self.stack.last() {
                    Some(Value::Text(text)) => character_count(text),
                    _ => return None,
                };
                self.stack.pop();
                self.stack
                    .push(Value::Long(i64::try_from(size).unwrap_or(i64::MAX)));
                Some(Ok(()))
            }
            FastMethod::Contains | FastMethod::StartsWith | FastMethod::EndsWith => {
                let truth = match self.stack.as_slice() {
                    [.., Value::Text(text), Value::Text(argument)] => match fast {
                        FastMethod::Contains => text_contains(text, argument),
                        FastMethod::StartsWith => text.starts_with(argument.as_str()),
                        _ => text.ends_with(argument.as_str()),
                    },
                    _ => return None,
                };
                self.stack.truncate(length - 2);
                self.stack.push(Value::Boolean(truth));
                Some(Ok(()))
            }
            FastMethod::None => None,
        }
    }

    fn make_map(&mut self, length: usize) -> Result<(), Fault> {
        // `Map()` is usually filled right away: room for a few entries saves the first
        // regrowths of the table.
        const EMPTY_MAP_ROOM: usize = 4;
        let start = self.stack.len().saturating_sub(length * 2);
        let room = if length == 0 { EMPTY_MAP_ROOM } else { length };
        let map = self.heap.new_map_with_capacity(room);
        let mut pairs = self.stack.drain(start..);
        let mut result = Ok(());
        while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
            let key = match key {
                Value::Text(text) => text,
                other => self.heap.key_text(&other),
            };
            if let Err(error) = self.heap.map_put(map, key, value) {
                result = Err(Fault::from(error));
                break;
            }
        }
        drop(pairs);
        result?;
        self.stack.push(Value::Map(map));
        Ok(())
    }

    fn for_each_start(&mut self, state: u32) -> Result<(), Fault> {
        let iterable = self.pop();
        let list = match iterable {
            Value::List(list) => list,
            other => {
                let items = self.heap.iteration_items(&other)?;
                self.heap.new_list(items)
            }
        };
        let end = self.heap.list(list).len();
        if let Some(iteration) = self.iterators.get_mut(state as usize) {
            *iteration = Iteration { list, next: 0, end };
        }
        Ok(())
    }
}

/// Characters in `text` (`length()`). Short texts are counted in one simple pass over
/// their bytes (every byte that does not continue a UTF-8 sequence starts a character).
fn character_count(text: &str) -> usize {
    const SHORT_TEXT: usize = 32;
    if text.len() <= SHORT_TEXT {
        return text.bytes().filter(|byte| (byte & 0xC0) != 0x80).count();
    }
    text.chars().count()
}

/// `haystack.contains(needle)`. Short texts (the usual receiver in a loop) are searched
/// window by window, which costs less than setting up the general substring search. A
/// byte match of valid UTF-8 in valid UTF-8 always lies on character boundaries, so both
/// ways give the same answer.
fn text_contains(haystack: &str, needle: &str) -> bool {
    const SHORT_TEXT: usize = 64;
    if needle.is_empty() {
        return true;
    }
    if haystack.len() <= SHORT_TEXT {
        let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
        let Some((&first, rest)) = needle.split_first() else {
            return true;
        };
        let Some(last_start) = haystack.len().checked_sub(needle.len()) else {
            return false;
        };
        // Byte by byte: for a few bytes this beats calling memcmp at every position.
        return (0..=last_start).any(|start| {
            haystack.get(start) == Some(&first)
                && haystack
                    .get(start + 1..start + needle.len())
                    .is_some_and(|candidate| {
                        candidate
                            .iter()
                            .zip(rest)
                            .all(|(left, right)| left == right)
                    })
        });
    }
    haystack.contains(needle)
}

/// The value of a whole-number expression, or `None` when a variable does not hold a whole
/// number or a step needs the value rules (then the ordinary code computes it). The top of
/// the stack lives in a local, the values under it in a small array.
#[inline]
fn evaluate_long(expression: &LongExpression, slots: &[Value]) -> Option<Value> {
    let mut below = [0i64; LONG_STACK_DEPTH];
    // Values pushed so far (the first push saves the meaningless initial `top`).
    let mut depth = 0usize;
    let mut top = 0i64;
    for step in &expression.steps {
        top = match *step {
            LongStep::PushSlot(slot) => {
                *below.get_mut(depth)? = top;
                depth += 1;
                long_slot(slots, slot)?
            }
            LongStep::PushConstant(value) => {
                *below.get_mut(depth)? = top;
                depth += 1;
                value
            }
            LongStep::AddSlot(slot) => top.checked_add(long_slot(slots, slot)?)?,
            LongStep::SubtractSlot(slot) => top.checked_sub(long_slot(slots, slot)?)?,
            LongStep::MultiplySlot(slot) => top.checked_mul(long_slot(slots, slot)?)?,
            LongStep::RemainderSlot(slot) => long_remainder(top, long_slot(slots, slot)?)?,
            LongStep::AddConstant(value) => top.checked_add(value)?,
            LongStep::SubtractConstant(value) => top.checked_sub(value)?,
            LongStep::MultiplyConstant(value) => top.checked_mul(value)?,
            LongStep::RemainderConstant(value) => long_remainder(top, value)?,
            LongStep::Add => {
                depth = depth.checked_sub(1)?;
                below.get(depth)?.checked_add(top)?
            }
            LongStep::Subtract => {
                depth = depth.checked_sub(1)?;
                below.get(depth)?.checked_sub(top)?
            }
            LongStep::Multiply => {
                depth = depth.checked_sub(1)?;
                below.get(depth)?.checked_mul(top)?
            }
            LongStep::Remainder => {
                depth = depth.checked_sub(1)?;
                long_remainder(*below.get(depth)?, top)?
            }
        };
    }
    match expression.comparison {
        None if depth == 1 => Some(Value::Long(top)),
        Some(operator) if depth == 2 => long_operation(operator, *below.get(1)?, top),
        _ => None,
    }
}

#[inline(always)]
fn long_slot(slots: &[Value], slot: u32) -> Option<i64> {
    match slots.get(slot as usize) {
        Some(Value::Long(value)) => Some(*value),
        _ => None,
    }
}

/// `a % b` as [`long_operation`] computes it: only for `b > 0`.
#[inline(always)]
fn long_remainder(a: i64, b: i64) -> Option<i64> {
    if b > 0 { Some(a % b) } else { None }
}

/// Whole-number arithmetic and comparison written straight into `left`. Returns false
/// (leaving `left` alone) for overflow, division and anything else the value rules decide.
#[inline(always)]
fn long_fast_path(operator: Operator, left: &mut Value, right: i64) -> bool {
    let Value::Long(a) = *left else {
        return false;
    };
    match long_operation(operator, a, right) {
        Some(value) => {
            *left = value;
            true
        }
        None => false,
    }
}

/// `a <op> b` on whole numbers when the result is certain without the value rules: `None`
/// for overflow, division, a remainder by zero or less, and `in`.
#[inline(always)]
fn long_operation(operator: Operator, a: i64, b: i64) -> Option<Value> {
    match operator {
        Operator::Add => a.checked_add(b).map(Value::Long),
        Operator::Subtract => a.checked_sub(b).map(Value::Long),
        Operator::Multiply => a.checked_mul(b).map(Value::Long),
        Operator::Remainder if b > 0 => Some(Value::Long(a % b)),
        Operator::Less => Some(Value::Boolean(a < b)),
        Operator::LessEqual => Some(Value::Boolean(a <= b)),
        Operator::Greater => Some(Value::Boolean(a > b)),
        Operator::GreaterEqual => Some(Value::Boolean(a >= b)),
        Operator::Equal => Some(Value::Boolean(a == b)),
        Operator::NotEqual => Some(Value::Boolean(a != b)),
        _ => None,
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Run")
            .field("pc", &self.pc)
            .field("statements", &self.statements)
            .field("effects", &self.effects)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::text_contains;

    #[test]
    fn short_and_long_texts_are_searched_alike() {
        let long = format!("{}item77;{}", "x".repeat(100), "é".repeat(40));
        for haystack in [
            "",
            "a",
            "item7",
            "item77",
            "77",
            "é77é",
            "ééé",
            long.as_str(),
        ] {
            for needle in ["", "7", "77", "item", "é", "é7", "x77", "item77;é"] {
                assert_eq!(
                    text_contains(haystack, needle),
                    haystack.contains(needle),
                    "{haystack:?} contains {needle:?}"
                );
            }
        }
    }
}

//! The compact code a script compiles to: a flat list of [`Op`]s with one source span per
//! op, a constant pool, and descriptions of the effects the code can request. Variables are
//! slots (indices into the run's slot array), decided at compile time.

use trestle_deluge_syntax::Span;

use crate::error::SourceLocation;
use crate::value::{BinaryOperator, Value};

/// Every binary operator the VM evaluates (arithmetic goes to [`BinaryOperator`]). One
/// flat enum, so the VM's whole-number fast path decodes it with a single jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
    NotEqual,
    In,
    NotIn,
}

impl Operator {
    pub(crate) fn from_arithmetic(operator: BinaryOperator) -> Operator {
        match operator {
            BinaryOperator::Add => Operator::Add,
            BinaryOperator::Subtract => Operator::Subtract,
            BinaryOperator::Multiply => Operator::Multiply,
            BinaryOperator::Divide => Operator::Divide,
            BinaryOperator::Remainder => Operator::Remainder,
        }
    }
}

/// A compiled script. Immutable and shareable between runs (`Send + Sync`).
#[derive(Debug)]
pub struct Program {
    pub(crate) code: Vec<Op>,
    /// `spans[pc]` is the source of `code[pc]`, for error locations.
    pub(crate) spans: Vec<Span>,
    /// Scalar constants only (no lists or maps: those belong to a run's heap).
    pub(crate) constants: Vec<Value>,
    pub(crate) effects: Vec<EffectTemplate>,
    /// Whole-number expressions of the [`Op::LongPush`], [`Op::LongStore`] and
    /// [`Op::LongBranch`] ops.
    pub(crate) long_expressions: Vec<LongExpression>,
    /// Names used by ops at run time (fields, system variables, messages).
    pub(crate) names: Vec<String>,
    pub(crate) slot_count: u32,
    pub(crate) iterator_count: u32,
    /// Variable name of each named slot (hidden loop slots are not listed).
    pub(crate) slot_names: Vec<(String, u32)>,
    pub(crate) parameters: Vec<ParameterSlot>,
    /// Variables the script reads but never assigns: inputs given by name when the script
    /// has no header (the seed script reads `contact` this way).
    pub(crate) inputs: Vec<ParameterSlot>,
    pub(crate) function_name: Option<String>,
    pub(crate) line_starts: Vec<u32>,
    pub(crate) source: std::sync::Arc<str>,
}

/// A parameter of the function header, or an input of a headerless script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSlot {
    pub name: String,
    /// The declared type as written (`map`, `string`, ...); `None` for inputs.
    pub type_name: Option<String>,
    pub(crate) slot: u32,
}

impl Program {
    /// The qualified name in the function header (`automation.sync`), if there is one.
    pub fn function_name(&self) -> Option<&str> {
        self.function_name.as_deref()
    }

    /// Parameters of the function header, in order.
    pub fn parameters(&self) -> &[ParameterSlot] {
        &self.parameters
    }

    /// Names the script reads without ever assigning them; a headerless script receives
    /// them as named arguments.
    pub fn inputs(&self) -> &[ParameterSlot] {
        &self.inputs
    }

    /// The script's variables and their slots, for debugging tools.
    pub fn variables(&self) -> impl Iterator<Item = (&str, u32)> {
        self.slot_names
            .iter()
            .map(|(name, slot)| (name.as_str(), *slot))
    }

    /// Number of ops, for tests and tools.
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// The source the program was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Line and column (1-based, columns in characters) of a byte span.
    pub fn locate(&self, span: Span) -> SourceLocation {
        locate(&self.line_starts, &self.source, span)
    }

    /// A readable listing of the code, for debugging and snapshot tests.
    pub fn disassemble(&self) -> String {
        let mut listing = String::new();
        for (pc, op) in self.code.iter().enumerate() {
            listing.push_str(&format!("{pc:4} {op:?}\n"));
        }
        listing
    }
}

pub(crate) fn line_starts(source: &str) -> Vec<u32> {
    let mut starts = vec![0u32];
    for (offset, byte) in source.bytes().enumerate() {
        if byte == b'\n' {
            starts.push(u32::try_from(offset + 1).unwrap_or(u32::MAX));
        }
    }
    starts
}

pub(crate) fn locate(line_starts: &[u32], source: &str, span: Span) -> SourceLocation {
    let line_index = match line_starts.binary_search(&span.start) {
        Ok(index) => index,
        Err(index) => index.saturating_sub(1),
    };
    let line_start = line_starts.get(line_index).copied().unwrap_or(0) as usize;
    let start = (span.start as usize).min(source.len());
    let column = source
        .get(line_start..start)
        .map_or(start.saturating_sub(line_start), |prefix| {
            prefix.chars().count()
        });
    SourceLocation {
        start: span.start,
        end: span.end,
        line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
        column: u32::try_from(column + 1).unwrap_or(u32::MAX),
    }
}

/// One instruction. Operands come from and results go to the run's operand stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    /// Start of a statement: counts it against the statement limit.
    Statement,
    Constant(u32),
    Null,
    Load(u32),
    Store(u32),
    Pop,
    Binary(Operator),
    /// `top = top <op> slot`: the right operand is a variable, read in place.
    BinarySlot {
        operator: Operator,
        slot: u32,
    },
    /// `top = top <op> constant`.
    BinaryConstant {
        operator: Operator,
        index: u32,
    },
    /// `push(left_slot <op> right_slot)`: both operands are variables, read in place.
    BinarySlots {
        operator: Operator,
        left: u32,
        right: u32,
    },
    /// `push(slot <op> constant)`.
    BinarySlotConstant {
        operator: Operator,
        slot: u32,
        index: u32,
    },
    /// `slot = slot <op> pop()`, appending in place when the slot holds unshared text.
    Compound {
        slot: u32,
        operator: BinaryOperator,
    },
    Not,
    Negate,
    /// Checks that the top of the stack is a boolean (right side of `&&`/`||`).
    CheckBoolean,
    Jump(u32),
    /// Pops a boolean; jumps when false.
    JumpIfFalse(u32),
    /// `&&`: when the top is false, jumps keeping it; otherwise pops it.
    AndJump(u32),
    /// `||`: when the top is true, jumps keeping it; otherwise pops it.
    OrJump(u32),
    /// `ifnull`: when the top is not null, jumps keeping it; otherwise pops it.
    JumpIfNotNull(u32),
    MakeList(u32),
    /// Pops `2 * n` values (key, value pairs).
    MakeMap(u32),
    /// `receiver.name(args)`: name (lower case) in `names`; `fast` picks an inlined
    /// implementation of the hottest methods, with the built-in as the fallback.
    CallMethod {
        name: u32,
        argc: u8,
        fast: FastMethod,
    },
    /// `variable.name(args)`: [`Op::CallMethod`] with the receiver read where it lies, in
    /// its slot, instead of a copy pushed on the operand stack. `discard` drops the
    /// result (the call is a whole statement), instead of a `Pop` after it.
    CallMethodSlot {
        slot: u32,
        name: u32,
        argc: u8,
        fast: FastMethod,
        discard: bool,
    },
    /// `name(args)`: a global built-in (lower-case name in `names`).
    CallFunction {
        name: u32,
        argc: u8,
    },
    /// `Map(x)` / `List(x)` with one argument: a copy of a map or list (a list around any
    /// other value).
    Construct {
        map: bool,
    },
    /// `object.field` (name in `names`).
    GetField(u32),
    /// `object.field = value`: pops value then object.
    SetField(u32),
    /// Pops the iterable into iterator `state`.
    ForEachStart {
        state: u32,
    },
    /// Binds the next element (or index) and jumps to `body`; when the loop is done,
    /// falls through. A loop has two: one at its head (followed by a `Jump` to the exit,
    /// and the target of `continue`) and one at the end of the body, so an iteration
    /// costs one op for the loop instead of two.
    ForEachNext {
        state: u32,
        variable: u32,
        body: u32,
    },
    ForEachIndexNext {
        state: u32,
        variable: u32,
        body: u32,
    },
    /// Installs a catch handler whose code starts at the operand.
    TryStart(u32),
    TryEnd,
    Info,
    Return,
    Throw,
    /// Requests an effect (template index); its result is pushed when the run resumes.
    Effect(u32),
    /// A system variable of the run's context (`zoho.loginuserid`); name in `names`.
    SystemVariable(u32),
    /// A statement this host cannot run; message in `names`.
    NotSupported(u32),
    /// The fast path of a whole-number expression (index in `long_expressions`) whose
    /// ordinary code follows. When every variable it reads holds a whole number and no
    /// step needs the value rules (overflow, `%` by zero or less), pushes the result and
    /// jumps to `skip`, the end of the ordinary code; otherwise falls through to it, so
    /// every other case (and every error with its location) is exactly the ordinary one.
    LongPush {
        expression: u32,
        skip: u32,
    },
    /// The fast path of a whole statement `slot = expression` (also `x += e`, `x = x + e`),
    /// placed before the statement's `Statement` op: counts the statement, stores the
    /// result and jumps to `skip`. Falls through to the ordinary code like
    /// [`Op::LongPush`], and also when the statement would reach the end of the slice
    /// or the statement limit (the `Statement` op then yields or stops the run).
    LongStore {
        expression: u32,
        slot: u32,
        skip: u32,
    },
    /// The fast path of an `if` condition that compares whole numbers, placed before the
    /// condition's code: jumps to `if_false` or to `skip` (the start of the branch, after
    /// the condition's `JumpIfFalse`). Falls through to the ordinary code like
    /// [`Op::LongPush`].
    LongBranch {
        expression: u32,
        if_false: u32,
        skip: u32,
    },
}

/// A whole-number expression over variables and constants, in postfix steps, evaluated
/// by the VM without the operand stack (see [`Op::LongPush`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LongExpression {
    pub(crate) steps: Vec<LongStep>,
    /// Set when the expression is a comparison: `steps` leave its two sides and the value
    /// is the boolean result.
    pub(crate) comparison: Option<Operator>,
}

/// Deepest stack of partial results a [`LongExpression`] may need; the compiler does not
/// fuse deeper expressions.
pub(crate) const LONG_STACK_DEPTH: usize = 8;

/// A leaf of a [`LongExpression`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongOperand {
    Slot(u32),
    Constant(i64),
}

/// The operators a [`LongExpression`] computes directly (division follows the value rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongOperator {
    Add,
    Subtract,
    Multiply,
    Remainder,
}

/// One postfix step of a [`LongExpression`], operator and operand kind in one flat enum
/// so the VM decodes a step with a single jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongStep {
    PushSlot(u32),
    PushConstant(i64),
    /// `top = top + slot`, and so on.
    AddSlot(u32),
    SubtractSlot(u32),
    MultiplySlot(u32),
    RemainderSlot(u32),
    /// `top = top + constant`, and so on.
    AddConstant(i64),
    SubtractConstant(i64),
    MultiplyConstant(i64),
    RemainderConstant(i64),
    /// Pops the right side: `top = top + right`, and so on.
    Add,
    Subtract,
    Multiply,
    Remainder,
}

impl LongStep {
    pub(crate) fn push(operand: LongOperand) -> LongStep {
        match operand {
            LongOperand::Slot(slot) => LongStep::PushSlot(slot),
            LongOperand::Constant(value) => LongStep::PushConstant(value),
        }
    }

    /// `top = top <operator> operand`.
    pub(crate) fn apply(operator: LongOperator, operand: LongOperand) -> LongStep {
        match (operator, operand) {
            (LongOperator::Add, LongOperand::Slot(slot)) => LongStep::AddSlot(slot),
            (LongOperator::Subtract, LongOperand::Slot(slot)) => LongStep::SubtractSlot(slot),
            (LongOperator::Multiply, LongOperand::Slot(slot)) => LongStep::MultiplySlot(slot),
            (LongOperator::Remainder, LongOperand::Slot(slot)) => LongStep::RemainderSlot(slot),
            (LongOperator::Add, LongOperand::Constant(value)) => LongStep::AddConstant(value),
            (LongOperator::Subtract, LongOperand::Constant(value)) => {
                LongStep::SubtractConstant(value)
            }
            (LongOperator::Multiply, LongOperand::Constant(value)) => {
                LongStep::MultiplyConstant(value)
            }
            (LongOperator::Remainder, LongOperand::Constant(value)) => {
                LongStep::RemainderConstant(value)
            }
        }
    }

    /// Pops the right side: `top = top <operator> right`.
    pub(crate) fn combine(operator: LongOperator) -> LongStep {
        match operator {
            LongOperator::Add => LongStep::Add,
            LongOperator::Subtract => LongStep::Subtract,
            LongOperator::Multiply => LongStep::Multiply,
            LongOperator::Remainder => LongStep::Remainder,
        }
    }
}

/// Methods the VM runs inline when the receiver has the expected kind (the most frequent
/// methods in real scripts); any other case goes to the built-in of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastMethod {
    None,
    /// `map.get(key)`
    Get,
    /// `map.put(key, value)`
    Put,
    /// `list.add(element)`
    Add,
    /// `list.size()` / `map.size()`
    Size,
    /// `text.length()`
    Length,
    /// `text.contains(text)`
    Contains,
    /// `text.startsWith(text)`
    StartsWith,
    /// `text.endsWith(text)`
    EndsWith,
}

impl FastMethod {
    pub(crate) fn for_name(lowercase_name: &str, argc: usize) -> FastMethod {
        match (lowercase_name, argc) {
            ("get", 1) => FastMethod::Get,
            ("put", 2) => FastMethod::Put,
            ("add", 1) => FastMethod::Add,
            ("size", 0) => FastMethod::Size,
            ("length", 0) => FastMethod::Length,
            ("contains", 1) => FastMethod::Contains,
            ("startswith", 1) => FastMethod::StartsWith,
            ("endswith", 1) => FastMethod::EndsWith,
            _ => FastMethod::None,
        }
    }
}

/// What an [`Op::Effect`] pops and which [`crate::effect::Effect`] it builds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EffectTemplate {
    /// `invokeurl`: one value per key, in `keys` order.
    InvokeUrl {
        keys: Vec<String>,
    },
    IntegrationTask {
        service: String,
        task: String,
        argc: u32,
    },
    /// `sendmail`: one value per key; `attachments` is already a list.
    SendMail {
        keys: Vec<String>,
    },
    Task {
        name: String,
        keys: Vec<String>,
    },
    CallFunction {
        name: String,
        argc: u32,
    },
    /// `zoho.currenttime` / `now` (`date_only` false) or `zoho.currentdate` / `today`.
    CurrentTime {
        date_only: bool,
    },
    /// `randomNumber(low, high)`: pops two values.
    Random,
    /// Legacy `getUrl(url, [headers], [simple])` and `postUrl(url, body, [headers], [simple])`.
    LegacyUrl {
        method: &'static str,
        argc: u32,
    },
}

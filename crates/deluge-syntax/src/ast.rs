//! The Deluge syntax tree. Every node carries the byte [`Span`] of the source it came from.
//!
//! Shape decisions the compiler relies on:
//! * A script is an optional [`FunctionHeader`] plus a body. Files that concatenate several
//!   function definitions keep the first as `header`/`body` and the rest in `other_functions`.
//! * Built-in names are case-insensitive in Deluge, so every name a built-in could resolve to
//!   (methods, functions, task names, bracket keys) keeps its spelling as written and a
//!   lower-cased `key` for lookup. Variable names stay case-sensitive.
//! * Single-quoted literals stay [`ExprKind::SingleQuoted`]: the runtime decides whether the
//!   content is a date-time (one of the documented formats) or text, because the same format
//!   table is needed by `toDate`/`toTime` at run time.
//! * Decimal literals keep their source digits ([`ExprKind::Decimal`]) so the runtime can build
//!   an exact decimal without going through binary floating point.
//! * Creator-only constructs get their own node kinds ([`Stmt::Creator`],
//!   [`ExprKind::RecordFetch`], [`ExprKind::InsertInto`]) so the runtime can refuse them clearly.
//! * Creator criteria words map onto existing nodes: `a = b` inside an `if (...)` condition or
//!   `Form[...]` criteria is [`BinaryOperator::Equal`] (Creator accepts `=` there), `x is null`
//!   / `x is not null` compare with null, and `a contains b`, `a starts with b`,
//!   `a ends with b` become method calls `a.contains(b)`, `a.startsWith(b)`, `a.endsWith(b)`
//!   (`not contains` wraps that in `!`).
//! * Nodes the parser could not make sense of become [`Stmt::Error`] / [`ExprKind::Error`];
//!   they only ever appear when [`crate::Parsed::errors`] is not empty.

use crate::span::Span;
use serde::Serialize;

/// A whole parsed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Script {
    /// `void automation.sync(map contact)`; `None` when the script is just a body.
    pub header: Option<FunctionHeader>,
    /// The function body (or the whole script when there is no header).
    pub body: Block,
    /// Further definitions when a file holds several functions one after another.
    pub other_functions: Vec<FunctionDefinition>,
    pub span: Span,
}

/// A complete function: header plus braced body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionDefinition {
    pub header: FunctionHeader,
    pub body: Block,
    pub span: Span,
}

/// `<return type> <qualified name>(<type> <name>, ...)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionHeader {
    /// `void`, `string`, `map`, `int`, ... as written (see [`TypeName::key`]).
    pub return_type: TypeName,
    /// `automation.sync`, `standalone.fmt`, `Nav.push`, or a bare `fn`.
    pub name: QualifiedName,
    pub parameters: Vec<Parameter>,
    pub span: Span,
}

/// A type written in a header: `string`, `String`, `int`, `BigInt`, `map`, `Bills`, ...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeName {
    pub name: String,
    /// Lower-cased `name`, for case-insensitive lookup.
    pub key: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    pub type_name: TypeName,
    pub name: Identifier,
    pub span: Span,
}

/// A name as written (variables, fields, parameters). Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Identifier {
    pub name: String,
    pub span: Span,
}

/// A name that resolves case-insensitively (built-in functions, methods, task names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Name {
    /// As written in the source.
    pub name: String,
    /// Lower-cased, for lookup.
    pub key: String,
    pub span: Span,
}

/// Dotted name such as `standalone.fmt` or `thisapp.Developer.addActivityLog`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualifiedName {
    pub parts: Vec<Name>,
    /// Lower-cased parts joined with `.`, e.g. `standalone.fmt`.
    pub key: String,
    pub span: Span,
}

/// `{ statements }`, or the top level of a script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub statements: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Stmt {
    /// `target = value;`, `target += value;`. The target is a variable, or a member chain such
    /// as `input.Field` / `rec.Field` (Creator).
    Assign {
        target: AssignTarget,
        operator: AssignOperator,
        value: Expr,
        span: Span,
    },
    /// An expression evaluated for its effect: calls, `invokeurl [...]`, method calls.
    Expr {
        expr: Expr,
        span: Span,
    },
    /// `if (c) {..} else if (c) {..} else {..}`; `branches` has at least one entry.
    If {
        branches: Vec<IfBranch>,
        else_body: Option<Block>,
        span: Span,
    },
    /// `for each x in list {..}` and `for each index i in list {..}`.
    ForEach {
        kind: ForEachKind,
        variable: Identifier,
        iterable: Expr,
        body: Block,
        span: Span,
    },
    Break {
        span: Span,
    },
    Continue {
        span: Span,
    },
    /// `return;` or `return expr;`.
    Return {
        value: Option<Expr>,
        span: Span,
    },
    /// `try {..} catch (e) {..}`. A missing catch (error already reported) leaves `catch_body`
    /// empty.
    Try {
        body: Block,
        catch_variable: Option<Identifier>,
        catch_body: Block,
        span: Span,
    },
    /// `throw expr;`
    Throw {
        value: Expr,
        span: Span,
    },
    /// `info expr;`
    Info {
        value: Expr,
        span: Span,
    },
    /// Statements that exist only in Zoho Creator.
    Creator(CreatorStatement),
    /// A statement the parser could not read; an error was reported for it.
    Error {
        span: Span,
    },
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Assign { span, .. }
            | Stmt::Expr { span, .. }
            | Stmt::If { span, .. }
            | Stmt::ForEach { span, .. }
            | Stmt::Break { span }
            | Stmt::Continue { span }
            | Stmt::Return { span, .. }
            | Stmt::Try { span, .. }
            | Stmt::Throw { span, .. }
            | Stmt::Info { span, .. }
            | Stmt::Error { span } => *span,
            Stmt::Creator(statement) => statement.span,
        }
    }
}

/// The left side of an assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AssignTarget {
    /// `x = ...`
    Variable(Identifier),
    /// `a.b.c = ...`: `object` is the base expression, `field` the last name.
    Member {
        object: Box<Expr>,
        field: Identifier,
        span: Span,
    },
}

impl AssignTarget {
    pub fn span(&self) -> Span {
        match self {
            AssignTarget::Variable(identifier) => identifier.span,
            AssignTarget::Member { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AssignOperator {
    /// `=`
    Assign,
    /// `+=`
    Add,
    /// `-=`
    Subtract,
    /// `*=`
    Multiply,
    /// `/=`
    Divide,
    /// `%=`
    Remainder,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IfBranch {
    pub condition: Expr,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ForEachKind {
    /// `for each x in list`: binds each element.
    Element,
    /// `for each index i in list`: binds 0-based indices.
    Index,
}

/// A Creator-only statement, kept so the runtime can say "not supported here" precisely.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatorStatement {
    pub kind: CreatorStatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CreatorStatementKind {
    /// `alert expr;`
    Alert { message: Expr },
    /// `cancel submit;`, `cancel delete;`: the word after `cancel`.
    Cancel { what: Name },
    /// `openUrl(url, "same window");`
    OpenUrl { arguments: Vec<Expr> },
    /// `delete from Form[criteria];`
    DeleteFrom { form: Identifier, criteria: Expr },
    /// Field UI tasks: `hide f;`, `show f;`, `enable f;`, `disable f;`, `clear f;`,
    /// `reload;` ... (`action.key` says which); `targets` may be empty.
    FieldAction { action: Name, targets: Vec<Expr> },
    /// Client-side field function `input.Field:ui.add(list);` (`function.key` is `ui.add`).
    FieldUiCall {
        field: Expr,
        function: Name,
        arguments: Vec<Expr>,
    },
}

/// An expression: what it is plus where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    /// `"..."` with escapes already decoded.
    Text(String),
    /// `'...'` as written between the quotes: a date-time when the content parses as one of
    /// the documented date formats, otherwise text. The runtime decides.
    SingleQuoted(String),
    /// Whole number literal (always non-negative; `-5` is a unary minus).
    Long(i64),
    /// Decimal literal, source digits such as `"0.99"` or `"100.0"`.
    Decimal(String),
    /// `true` / `false` in any letter case.
    Boolean(bool),
    Null,
    /// A variable reference (also `today`, `now`, `input`: the runtime decides what they mean).
    Variable(Identifier),
    /// `{a, b}` or `[a, b]`.
    List(Vec<Expr>),
    /// `{"k": v, ...}`; also `{}`.
    Map(Vec<MapEntry>),
    /// `Map(...)`, `List(...)`, `Collection(...)` (any letter case), and the legacy
    /// `List:String(...)` whose `element_type` is `String`.
    Constructor {
        kind: ConstructorKind,
        name: Name,
        element_type: Option<Name>,
        items: Vec<ConstructorItem>,
    },
    Unary {
        operator: UnaryOperator,
        operand: Box<Expr>,
    },
    Binary {
        operator: BinaryOperator,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `if(condition, then, otherwise)` (the expression form, any letter case).
    If {
        condition: Box<Expr>,
        then_value: Box<Expr>,
        else_value: Box<Expr>,
    },
    /// `ifnull(value, fallback)` (any letter case).
    IfNull {
        value: Box<Expr>,
        fallback: Box<Expr>,
    },
    /// `object.field` (no call): map-like field read on Creator records / `input`, or a
    /// `crmAPIRequest.body`-style access.
    Member {
        object: Box<Expr>,
        field: Identifier,
    },
    /// `receiver.method(arguments)`; `method.key` is lower-cased for lookup.
    ///
    /// When the receiver is a bare variable that is never assigned (e.g. a Creator namespace
    /// `Default.fn(x)`), the compiler may treat this as a stored-function call instead.
    MethodCall {
        receiver: Box<Expr>,
        method: Name,
        arguments: Vec<Expr>,
    },
    /// A call by name: built-in functions (`isNull(x)`, `getUrl(...)`), a bare user function
    /// `fn(x)`, or a stored function with a known qualifier (`standalone.fn`,
    /// `automation.fn`, `thisapp.ns.fn`, ...; see [`crate::FUNCTION_QUALIFIERS`]).
    Call {
        function: QualifiedName,
        arguments: Vec<Expr>,
    },
    /// `zoho.<service>.<task>(...)`, e.g. `zoho.crm.getRecordById(...)`,
    /// `zoho.crm.v8.searchRecords(...)`, `zoho.encryption.base64Encode(...)`.
    /// `path` is everything after `zoho` (service first, task last); `path.key` is lower-case
    /// dotted without the `zoho.` prefix, e.g. `crm.getrecordbyid`.
    IntegrationTask {
        path: QualifiedName,
        arguments: Vec<Expr>,
    },
    /// `zoho.currentdate`, `zoho.loginuserid`, `zoho.device.type`, ... (no call). `path` is
    /// what follows `zoho.`.
    SystemVariable {
        path: QualifiedName,
    },
    /// `invokeurl [...]`, `sendmail [...]`, and the general `name [ key : value ... ]`.
    Task(BracketTask),
    /// Creator: `Form[criteria]`, optionally `sort by Field [desc]` and `range from a to b`.
    RecordFetch(Box<RecordFetch>),
    /// Creator: `insert into Form [ Field = value ... ]` (its value is the new record id).
    InsertInto {
        form: Identifier,
        fields: Vec<FieldAssignment>,
    },
    /// `key : value` as a call argument, as in `collection.insert("k" : v)`; only ever
    /// appears directly in an argument list.
    Pair {
        key: Box<Expr>,
        value: Box<Expr>,
    },
    /// `(expr)`: kept so spans and rendering follow the source.
    Paren(Box<Expr>),
    /// An expression the parser could not read; an error was reported for it.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEntry {
    pub key: Expr,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ConstructorKind {
    Map,
    List,
    Collection,
}

/// One argument of a constructor: `value` or `key : value` (`Collection("a" : 1)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstructorItem {
    pub key: Option<Expr>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum UnaryOperator {
    /// `!`
    Not,
    /// `-`
    Negate,
    /// `+` (no effect)
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BinaryOperator {
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
    And,
    Or,
    /// `x in list`
    In,
    /// `x not in list`
    NotIn,
}

impl BinaryOperator {
    /// The operator as written in Deluge.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOperator::Add => "+",
            BinaryOperator::Subtract => "-",
            BinaryOperator::Multiply => "*",
            BinaryOperator::Divide => "/",
            BinaryOperator::Remainder => "%",
            BinaryOperator::Less => "<",
            BinaryOperator::LessEqual => "<=",
            BinaryOperator::Greater => ">",
            BinaryOperator::GreaterEqual => ">=",
            BinaryOperator::Equal => "==",
            BinaryOperator::NotEqual => "!=",
            BinaryOperator::And => "&&",
            BinaryOperator::Or => "||",
            BinaryOperator::In => "in",
            BinaryOperator::NotIn => "not in",
        }
    }
}

/// `name [ key : value ... ]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BracketTask {
    /// `invokeurl`, `sendmail`, `sendsms`, ... (`name.key` is lower-case).
    pub name: Name,
    pub entries: Vec<TaskEntry>,
    pub span: Span,
}

/// `key : value` inside a bracket task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskEntry {
    /// As written; may contain spaces or `-` (`reply to`, `content type`, `response-format`).
    /// `key.key` is lower-case with inner whitespace collapsed to one space.
    pub key: Name,
    pub value: TaskValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TaskValue {
    /// Any expression: `url : "https://..." + id`.
    Expr(Expr),
    /// An unquoted constant such as `type :GET`, `response-format: JSON` or
    /// `content-type: application/json`: the text as written.
    Bare { text: String, span: Span },
    /// sendmail `attachments : file: f1, file: f2` (also `view:`, `template:` in Creator).
    Attachments(Vec<TaskAttachment>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskAttachment {
    /// `file`, `view`, `template`.
    pub kind: Name,
    pub value: Expr,
    pub span: Span,
}

/// Creator `Form[criteria] sort by Field desc range from 1 to 10`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordFetch {
    pub form: Identifier,
    /// The criteria between the brackets (e.g. `ID == input.Id && Status != "Closed"`).
    pub criteria: Box<Expr>,
    pub sort_by: Option<SortBy>,
    pub range: Option<RecordRange>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SortBy {
    pub field: Expr,
    pub descending: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRange {
    pub from: Expr,
    pub to: Expr,
    pub span: Span,
}

/// `Field = value` inside `insert into Form [ ... ]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldAssignment {
    pub field: Identifier,
    pub value: Expr,
    pub span: Span,
}

//! Every decision Trestle makes where the Deluge reference leaves a question open
//! (reference §17 and the [UNVERIFIED] notes). One place, so a check on Zoho's console that
//! disagrees changes one line here and the test next to it. Each item names the test that
//! pins it (in `value::decisions::tests` unless stated).
//!
//! Numbers
//! - [`DECIMALS_ARE_EXACT`]: DECIMAL is an exact base-10 number (28 significant digits), not a
//!   binary double, so money sums never show round-off (`0.1 + 0.2 == 0.3`).
//! - [`LONG_DIVISION_TRUNCATES`]: NUMBER / NUMBER is a NUMBER truncated toward zero, as in
//!   Java (`5 / 2` is `2`, `-7 / 2` is `-3`). Real scripts write `x.toDecimal() / y` when they
//!   want a fraction, which suggests Zoho truncates. With a DECIMAL operand the quotient is a
//!   DECIMAL rounded to [`DIVISION_SCALE`] places.
//! - `%` follows Java: the sign of the result is the sign of the dividend (`7 % -3` is `1`,
//!   `-7 % 3` is `-1`). Division or remainder by zero is the runtime error "Divide by zero".
//! - NUMBER overflow (beyond 64 bits) is a runtime error, never a silent wrap.
//! - [`DECIMAL_DISPLAY`]: a DECIMAL prints like a Java double for everyday magnitudes: trailing
//!   zeros dropped but at least one digit after the point (`1.50` prints `1.5`, `3.00`
//!   prints `3.0`), never an exponent.
//!
//! The `+` operator
//! - [`TEXT_PLUS_CONCATENATES`]: when either operand is TEXT, `+` concatenates the printed
//!   forms, whatever the order (`1 + "2"` is `"12"`, `"a" + 1` is `"a1"`). The int-left
//!   arithmetic some practitioners report is not reproduced: it depends on the save-time
//!   checker and would silently turn text into numbers.
//! - [`NULL_PRINTS_AS`]: null prints as `null` in concatenation (`"x: " + null` is `"x: null"`).
//! - NUMBER + null, null + null, and arithmetic on booleans, lists and maps are runtime errors
//!   naming both types. Date-times do not support `+`/`-`; the error points to `addDay` etc.
//!
//! Equality and ordering
//! - `==` compares numbers by value across NUMBER and DECIMAL (`1 == 1.0`), text
//!   case-sensitively, dates and date-times as instants (a DATE is that day at 00:00:00),
//!   lists and maps by content. Values of different kinds are unequal, never an error
//!   (`"1" == 1` is false). `null == null` is true.
//! - `< <= > >=` order numbers, dates/date-times and times. [`TEXT_ORDERING_ALLOWED`]:
//!   text is ordered lexicographically by character (Zoho's checker rejects some of these
//!   at save time; we allow them rather than fail a working script). Other kinds, and any
//!   comparison with null, are runtime errors.
//!
//! Maps, lists, collections
//! - [`MAP_KEYS_ARE_TEXT`]: map keys are stored as text. A non-text key is converted to its
//!   printed form (`put(1, "a")` then `get("1")` finds it; `keys()` returns `"1"`). Keys are
//!   case-sensitive; order is insertion order, also after `toMap()` of JSON text.
//! - `list.get(i)` outside the list is the runtime error "Index greater than list size";
//!   `map.get(k)` of a missing key is null.
//! - [`SUBLIST_END_EXCLUSIVE`]: `subList(from, to)` excludes `to`, like `subString`.
//! - [`COLLECTION_KIND`]: `Collection()` with key-value arguments or none is a map;
//!   with plain elements it is a list. Collection methods (`insert`, `update`, `delete`,
//!   `getKey`, ...) work on both lists and maps. `insert(element)` on an empty map made by
//!   `Collection()` is an error asking for `List()` instead (a handle cannot change kind).
//! - `for each x in map` visits the keys; `for each x in null` visits nothing.
//!
//! Printing (reference §12)
//! - Maps print as JSON objects. [`SCALAR_LIST_PRINTS_WITHOUT_BRACKETS`]: a top-level list
//!   whose elements are all scalars prints comma-separated without brackets or quotes
//!   (`ZohoCreator,ZohoCRM`, as in Zoho's toList example); a list holding any list or map
//!   prints as a JSON array. Inside JSON every list is a JSON array.
//! - [`DATE_TIME_FORMAT`], [`DATE_FORMAT`], [`TIME_FORMAT`]: default text forms; inside JSON a
//!   date-time is a JSON string in the same form.
//! - A file prints as its name.
//! - Cycles (a map put inside itself) and nesting deeper than [`MAX_NESTING_DEPTH`] print as
//!   null instead of looping.
//!
//! Text built-ins
//! - [`FIND_IS_ONE_BASED`]: `find(s)` is 1-based and 0 when absent; `indexOf` is 0-based, -1
//!   when absent.
//! - `matches(regex)` must match the whole text, as Java's `String.matches`.
//! - `replaceAll` replacement text: `$1` refers to a group, as in Java; `\$` is a literal `$`.
//! - `isBlank(x)`: true for null, empty text and whitespace-only text, and for empty lists
//!   and maps.
//! - [`WEEKDAY_SUNDAY_IS_ONE`]: `weekday()` / `getDayOfWeek()` give 1 = Sunday ... 7 = Saturday.
//! - [`UNIX_EPOCH_IN_MILLISECONDS`]: `unixEpoch()` counts milliseconds.
//! - Encryption outputs: `hmacsha1/256/512(data, key)` and `md5`/`sha256`/`sha512` return
//!   lower-case hex by default; an output argument `"base64"` gives base64 instead.
//! - Text functions refuse to produce text longer than [`DEFAULT_MAX_TEXT_BYTES`] (Zoho's
//!   300 KB per parameter is an input limit; we bound outputs at a larger, configurable size).

/// DECIMAL is exact base-10 arithmetic.
pub const DECIMALS_ARE_EXACT: bool = true;
/// NUMBER / NUMBER truncates toward zero.
pub const LONG_DIVISION_TRUNCATES: bool = true;
/// Decimal places kept by a division with a DECIMAL operand.
pub const DIVISION_SCALE: u32 = 16;
/// Decimals print with trailing zeros removed but at least one fractional digit.
pub const DECIMAL_DISPLAY: &str = "java-double-like";
/// `+` with a TEXT operand concatenates.
pub const TEXT_PLUS_CONCATENATES: bool = true;
/// How null prints in concatenation and `info`.
pub const NULL_PRINTS_AS: &str = "null";
/// Text can be ordered with `<` and friends.
pub const TEXT_ORDERING_ALLOWED: bool = true;
/// Map keys are text; other keys are converted to their printed form.
pub const MAP_KEYS_ARE_TEXT: bool = true;
/// `subList(from, to)` excludes `to`.
pub const SUBLIST_END_EXCLUSIVE: bool = true;
/// How `Collection()` picks its kind.
pub const COLLECTION_KIND: &str = "map-unless-plain-elements";
/// A top-level list of scalars prints as `a,b,c`.
pub const SCALAR_LIST_PRINTS_WITHOUT_BRACKETS: bool = true;
/// Default text form of a date-time (Java SimpleDateFormat letters).
pub const DATE_TIME_FORMAT: &str = "dd-MMM-yyyy HH:mm:ss";
/// Default text form of a date.
pub const DATE_FORMAT: &str = "dd-MMM-yyyy";
/// Default text form of a time.
pub const TIME_FORMAT: &str = "HH:mm:ss";
/// `find` is 1-based.
pub const FIND_IS_ONE_BASED: bool = true;
/// `weekday()` numbering starts at Sunday = 1.
pub const WEEKDAY_SUNDAY_IS_ONE: bool = true;
/// `unixEpoch()` unit.
pub const UNIX_EPOCH_IN_MILLISECONDS: bool = true;
/// Default bound on a produced text, in bytes (10 MB, Zoho CRM's response size).
pub const DEFAULT_MAX_TEXT_BYTES: usize = 10 * 1024 * 1024;
/// Default bound on list elements plus map entries alive in one run.
pub const DEFAULT_MAX_HEAP_ELEMENTS: usize = 5_000_000;
/// Deepest nesting followed when printing, converting to JSON or detaching.
pub const MAX_NESTING_DEPTH: usize = 200;

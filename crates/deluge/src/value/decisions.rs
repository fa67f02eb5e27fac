//! Every decision Trestle makes where the Deluge reference leaves a question open
//! (reference §17 and the "UNVERIFIED" notes). One place, so a check on Zoho's console that
//! disagrees changes one line here and the test that pins it: each item is checked by a
//! test in this file's `tests` module or by a line of `builtins/cases.txt`.
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
//! - Nesting deeper than [`MAX_NESTING_DEPTH`] prints (and detaches) as null, so a cycle (a
//!   map put inside itself) gives a finite text instead of looping.
//!
//! Text built-ins
//! - [`FIND_IS_ONE_BASED`]: `find(s)` is 1-based and 0 when absent; `indexOf` is 0-based, -1
//!   when absent. Positions count characters, not bytes.
//! - `matches(regex)` must match the whole text, as Java's `String.matches`. Regular
//!   expressions use the `regex` crate: Java's look-around and back-references are not
//!   available and give an "Invalid regular expression" error.
//! - `replaceAll` replacement text: `$1` refers to a group, as in Java; `\$` is a literal `$`.
//! - `toList()` without a separator parses text that is a JSON array into its elements;
//!   other text gives a one-element list. `toList("")` splits into characters.
//! - `"".toMap()` is an empty map; other text that is not a JSON object is the error
//!   "Cannot cast to MAP". JSON numbers beyond DECIMAL's range stay text.
//! - `text.toString(pattern)` formats the text as a date when it holds one in a default
//!   format (a date field that arrived as text); other text is returned unchanged.
//! - `isBlank(x)`: true for null, empty text and whitespace-only text, and for empty lists
//!   and maps.
//! - `null.toString()` is empty text (while `"x" + null` is `"xnull"`): scripts write
//!   `field.toString().trim()` on fields that may be missing.
//!
//! Numbers
//! - `round()` without places, `ceil()` and `floor()` give a NUMBER; `round(n)` on a DECIMAL
//!   gives a DECIMAL rounded half away from zero.
//! - `toLong()` of a date-time is its epoch milliseconds, like `unixEpoch()`.
//! - `toWords()` reads in English title case ("One Thousand Two Hundred Thirty Four").
//!
//! Dates
//! - Date-times carry no zone: they are wall-clock times in the run's time zone
//!   (`Heap::time_zone`, UTC unless the VM sets the organization's). `toString(pattern,
//!   zone)` converts to `zone`; `toDate(pattern, zone)` and text with an offset convert
//!   from it.
//! - Text without a pattern is tried against the reference's default formats in the
//!   reference's order with strict digit counts (so `01/02/2024` is 2 January, `MM/dd/yyyy`
//!   coming before `dd/MM/yyyy`), each optionally followed by a time; ISO 8601 text is also
//!   accepted. Two-digit years up to `datetime::TWO_DIGIT_YEAR_PIVOT` are in the 2000s.
//! - [`WEEKDAY_SUNDAY_IS_ONE`]: `weekday()` / `getDayOfWeek()` give 1 = Sunday ... 7 = Saturday.
//! - [`UNIX_EPOCH_IN_MILLISECONDS`]: `unixEpoch()` counts milliseconds.
//! - Adding months clamps the day to the month's length (31 January + 1 month is 29
//!   February in a leap year). `addBusinessDay` skips Saturdays and Sundays.
//!
//! Lists and maps
//! - `sort()` sorts the list in place and also returns it, so both `list.sort();` and
//!   `sorted = list.sort();` work. Mixed lists order null, booleans, numbers, dates, times,
//!   text. `distinct()`, `intersect()` and `subList()` return new lists.
//! - `list.remove(i)` removes by index and returns the element; a text argument that is not
//!   a number removes that value instead.
//! - `add`, `put` and the other changing methods return null.
//!
//! Encoding
//! - `encodeUrl`/`urlEncode` encode as Java's `URLEncoder` (space becomes `+`). A map or
//!   list argument is encoded as its JSON text (scripts write `urlEncode({"data": list})`);
//!   `urlDecode` of a value that is not text is null, as Zoho documents.
//! - `hmacsha1/256/512(key, message, [output])`: key first, base64 output unless `"hex"`
//!   (lower case) or `"binary"` is asked for. `md5` defaults to hex, `sha1`/`sha256`/`sha512`
//!   to base64.
//!
//! Limits and memory
//! - Built-ins refuse to produce text longer than [`DEFAULT_MAX_TEXT_BYTES`] (Zoho's 300 KB
//!   per parameter is an input limit; we bound outputs at a larger, configurable size) and
//!   to grow the heap beyond [`DEFAULT_MAX_HEAP_ELEMENTS`] list elements plus map entries.
//! - Lists and maps nothing reaches are reclaimed when the VM runs `Heap::collect_garbage`
//!   before an op that creates lists or maps, which it does when `Heap::wants_collection`
//!   says so: the heap doubled since the last collection (by at least
//!   [`COLLECTION_MINIMUM_GROWTH`]), or half the room left under the element limit was used. The limit therefore counts what
//!   a script keeps, not what it dropped: only a single op that alone fills half the
//!   remaining room can hit it because of garbage.

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
/// Growth (list elements, map entries and containers) below which
/// `Heap::wants_collection` never asks for a garbage collection.
pub const COLLECTION_MINIMUM_GROWTH: usize = 100_000;
/// Fewest new elements between two collections near the element limit, so a run whose
/// kept data nearly fills the limit does not collect at every statement.
pub const COLLECTION_MINIMUM_SPACING: usize = 1_000;
/// Deepest nesting followed when printing, converting to JSON or detaching.
pub const MAX_NESTING_DEPTH: usize = 200;

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;
    use std::str::FromStr;

    use chrono::{NaiveDate, NaiveTime};
    use rust_decimal::Decimal;

    use super::*;
    use crate::builtins::{call_function, call_method};
    use crate::value::{BinaryOperator, Heap, Value};

    fn decimal(text: &str) -> Value {
        Value::Decimal(Decimal::from_str(text).unwrap())
    }

    fn operate(operator: BinaryOperator, left: Value, right: Value) -> Result<String, String> {
        let heap = Heap::new();
        heap.binary(operator, left, &right)
            .map(|value| format!("{}:{}", value.type_name(), heap.display(&value)))
            .map_err(|error| error.code().to_owned())
    }

    #[test]
    fn decimals_are_exact() {
        const { assert!(DECIMALS_ARE_EXACT) };
        let sum = operate(BinaryOperator::Add, decimal("0.1"), decimal("0.2"));
        assert_eq!(sum.unwrap(), "decimal:0.3");
        let heap = Heap::new();
        let sum = heap
            .binary(BinaryOperator::Add, decimal("0.1"), &decimal("0.2"))
            .unwrap();
        assert!(heap.values_equal(&sum, &decimal("0.3")));
    }

    #[test]
    fn long_division_truncates_and_decimal_division_is_rounded() {
        const { assert!(LONG_DIVISION_TRUNCATES) };
        let divide = |a, b| operate(BinaryOperator::Divide, a, b).unwrap();
        assert_eq!(divide(Value::Long(5), Value::Long(2)), "number:2");
        assert_eq!(divide(Value::Long(-7), Value::Long(2)), "number:-3");
        assert_eq!(divide(Value::Long(5), decimal("2.0")), "decimal:2.5");
        assert_eq!(
            divide(Value::Long(1), decimal("3")),
            format!("decimal:0.{}", "3".repeat(DIVISION_SCALE as usize))
        );
    }

    #[test]
    fn remainder_follows_java_and_zero_divisors_fail() {
        let remainder = |a, b| operate(BinaryOperator::Remainder, a, b);
        assert_eq!(
            remainder(Value::Long(7), Value::Long(-3)).unwrap(),
            "number:1"
        );
        assert_eq!(
            remainder(Value::Long(-7), Value::Long(3)).unwrap(),
            "number:-1"
        );
        assert_eq!(
            remainder(Value::Long(1), Value::Long(0)).unwrap_err(),
            "DELUGE_DIVIDE_BY_ZERO"
        );
        assert_eq!(
            operate(BinaryOperator::Divide, decimal("1.5"), decimal("0")).unwrap_err(),
            "DELUGE_DIVIDE_BY_ZERO"
        );
    }

    #[test]
    fn number_overflow_is_an_error() {
        assert_eq!(
            operate(BinaryOperator::Add, Value::Long(i64::MAX), Value::Long(1)).unwrap_err(),
            "DELUGE_NUMBER_OVERFLOW"
        );
        assert_eq!(
            operate(BinaryOperator::Multiply, decimal("1e27"), decimal("1e27")).unwrap_err(),
            "DELUGE_NUMBER_OVERFLOW"
        );
        assert_eq!(
            Heap::new()
                .negate(&Value::Long(i64::MIN))
                .unwrap_err()
                .code(),
            "DELUGE_NUMBER_OVERFLOW"
        );
    }

    #[test]
    fn decimals_print_like_java_doubles() {
        assert_eq!(DECIMAL_DISPLAY, "java-double-like");
        let heap = Heap::new();
        assert_eq!(heap.display(&decimal("1.50")), "1.5");
        assert_eq!(heap.display(&decimal("3.00")), "3.0");
        assert_eq!(heap.display(&decimal("12345678901.25")), "12345678901.25");
    }

    #[test]
    fn plus_with_text_concatenates_in_either_order() {
        const { assert!(TEXT_PLUS_CONCATENATES) };
        let add = |a, b| operate(BinaryOperator::Add, a, b).unwrap();
        assert_eq!(add(Value::Long(1), Value::text("2")), "text:12");
        assert_eq!(add(Value::text("a"), Value::Long(1)), "text:a1");
        assert_eq!(add(Value::text("x"), decimal("1.50")), "text:x1.5");
        assert_eq!(add(Value::text("x"), Value::Boolean(true)), "text:xtrue");
        assert_eq!(add(Value::Long(1), Value::Long(2)), "number:3");
        assert_eq!(add(Value::Long(1), decimal("0.5")), "decimal:1.5");
    }

    #[test]
    fn plus_appends_in_place_without_changing_shared_text() {
        let heap = Heap::new();
        let original = Value::text("abc");
        let alias = original.clone();
        let joined = heap
            .binary(BinaryOperator::Add, original, &Value::text("d"))
            .unwrap();
        assert_eq!(heap.display(&joined), "abcd");
        assert_eq!(heap.display(&alias), "abc");
        let unique = Value::text("x");
        let joined = heap
            .binary(BinaryOperator::Add, unique, &Value::Long(1))
            .unwrap();
        assert_eq!(heap.display(&joined), "x1");
    }

    #[test]
    fn null_prints_as_null_in_text_and_fails_in_arithmetic() {
        assert_eq!(NULL_PRINTS_AS, "null");
        let joined = operate(BinaryOperator::Add, Value::text("x: "), Value::Null).unwrap();
        assert_eq!(joined, "text:x: null");
        let error = Heap::new()
            .binary(BinaryOperator::Add, Value::Long(1), &Value::Null)
            .unwrap_err();
        assert_eq!(error.code(), "DELUGE_TYPE_MISMATCH");
        assert!(error.message().contains("null"), "{}", error.message());
        assert!(operate(BinaryOperator::Add, Value::Null, Value::Null).is_err());
        assert!(operate(BinaryOperator::Multiply, Value::text("a"), Value::Long(2)).is_err());
        let mut heap = Heap::new();
        let list = heap.new_list_value(Vec::new());
        assert!(
            heap.binary(BinaryOperator::Add, list, &Value::Long(1))
                .is_err()
        );
    }

    #[test]
    fn date_arithmetic_with_operators_points_to_the_functions() {
        let date = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let error = Heap::new()
            .binary(BinaryOperator::Add, date, &Value::Long(1))
            .unwrap_err();
        assert!(error.message().contains("addDay"), "{}", error.message());
    }

    #[test]
    fn equality_never_fails_and_compares_numbers_dates_and_content() {
        let mut heap = Heap::new();
        assert!(heap.values_equal(&Value::Long(1), &decimal("1.0")));
        assert!(!heap.values_equal(&Value::text("1"), &Value::Long(1)));
        assert!(!heap.values_equal(&Value::text("a"), &Value::text("A")));
        assert!(heap.values_equal(&Value::Null, &Value::Null));
        assert!(!heap.values_equal(&Value::Null, &Value::text("")));
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert!(heap.values_equal(
            &Value::Date(day),
            &Value::DateTime(day.and_time(NaiveTime::MIN))
        ));
        let first = heap.parse_json_text(r#"{"a":[1,2],"b":null}"#).unwrap();
        let second = heap.parse_json_text(r#"{"b":null,"a":[1,2.0]}"#).unwrap();
        let third = heap.parse_json_text(r#"{"a":[1,3],"b":null}"#).unwrap();
        assert!(heap.values_equal(&first, &second));
        assert!(!heap.values_equal(&first, &third));
    }

    #[test]
    fn ordering_covers_numbers_dates_times_and_text() {
        const { assert!(TEXT_ORDERING_ALLOWED) };
        let mut heap = Heap::new();
        assert_eq!(
            heap.compare(&Value::Long(1), &decimal("1.5")).unwrap(),
            Ordering::Less
        );
        let early = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let late = Value::Date(NaiveDate::from_ymd_opt(2024, 6, 1).unwrap());
        assert_eq!(heap.compare(&early, &late).unwrap(), Ordering::Less);
        assert_eq!(
            heap.compare(&Value::text("apple"), &Value::text("banana"))
                .unwrap(),
            Ordering::Less
        );
        let error = heap.compare(&Value::Null, &Value::Long(1)).unwrap_err();
        assert_eq!(error.code(), "DELUGE_TYPE_MISMATCH");
        let list = heap.new_list_value(Vec::new());
        assert!(heap.compare(&list, &list).is_err());
    }

    #[test]
    fn map_keys_are_text() {
        const { assert!(MAP_KEYS_ARE_TEXT) };
        let mut heap = Heap::new();
        let map = heap.new_map_value();
        call_method(&mut heap, &map, "put", &[Value::Long(1), Value::text("a")]).unwrap();
        let found = call_method(&mut heap, &map, "get", &[Value::text("1")]).unwrap();
        assert_eq!(heap.display(&found), "a");
        let keys = call_method(&mut heap, &map, "keys", &[]).unwrap();
        assert_eq!(heap.to_json_text(&keys).unwrap(), r#"["1"]"#);
        let missing = call_method(&mut heap, &map, "get", &[Value::text("ID")]).unwrap();
        assert!(missing.is_null());
    }

    #[test]
    fn map_order_is_insertion_order_also_after_parsing() {
        let mut heap = Heap::new();
        let map = heap.parse_json_text(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        call_method(&mut heap, &map, "put", &[Value::text("b"), Value::Long(4)]).unwrap();
        call_method(&mut heap, &map, "put", &[Value::text("z"), Value::Long(5)]).unwrap();
        assert_eq!(heap.display(&map), r#"{"z":5,"a":2,"m":3,"b":4}"#);
    }

    #[test]
    fn sublist_end_is_exclusive() {
        const { assert!(SUBLIST_END_EXCLUSIVE) };
        let mut heap = Heap::new();
        let list = heap.parse_json_text("[0,1,2,3]").unwrap();
        let part = call_method(
            &mut heap,
            &list,
            "sublist",
            &[Value::Long(1), Value::Long(3)],
        )
        .unwrap();
        assert_eq!(heap.display(&part), "1,2");
    }

    #[test]
    fn collection_is_a_map_unless_given_plain_elements() {
        assert_eq!(COLLECTION_KIND, "map-unless-plain-elements");
        let mut heap = Heap::new();
        let empty = call_function(&mut heap, "collection", &[]).unwrap();
        assert!(matches!(empty, Value::Map(_)));
        call_method(
            &mut heap,
            &empty,
            "insert",
            &[Value::text("k"), Value::Long(1)],
        )
        .unwrap();
        assert_eq!(heap.display(&empty), r#"{"k":1}"#);
        let error = call_method(&mut heap, &empty, "insert", &[Value::text("plain")]).unwrap_err();
        assert!(error.message().contains("List()"), "{}", error.message());
        let list =
            call_function(&mut heap, "collection", &[Value::Long(1), Value::Long(2)]).unwrap();
        assert!(matches!(list, Value::List(_)));
        call_method(&mut heap, &list, "insert", &[Value::Long(3)]).unwrap();
        assert_eq!(heap.display(&list), "1,2,3");
    }

    #[test]
    fn for_each_visits_list_elements_map_keys_and_nothing_for_null() {
        let mut heap = Heap::new();
        let map = heap.parse_json_text(r#"{"a":1,"b":2}"#).unwrap();
        let keys = heap.iteration_items(&map).unwrap();
        assert_eq!(
            keys.iter().map(|k| heap.display(k)).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(heap.iteration_items(&Value::Null).unwrap().is_empty());
        assert!(heap.iteration_items(&Value::Long(1)).is_err());
    }

    #[test]
    fn scalar_lists_print_without_brackets_and_nested_ones_as_json() {
        const { assert!(SCALAR_LIST_PRINTS_WITHOUT_BRACKETS) };
        let mut heap = Heap::new();
        let scalars = heap
            .parse_json_text(r#"["ZohoCreator","ZohoCRM",1,null]"#)
            .unwrap();
        assert_eq!(heap.display(&scalars), "ZohoCreator,ZohoCRM,1,null");
        let with_map = heap.parse_json_text(r#"[{"a":"x"},1]"#).unwrap();
        assert_eq!(heap.display(&with_map), r#"[{"a":"x"},1]"#);
        let map = heap.parse_json_text(r#"{"data":["a","b"]}"#).unwrap();
        assert_eq!(heap.display(&map), r#"{"data":["a","b"]}"#);
        let quoted = heap.parse_json_text(r#"{"q":"say \"hi\"\n"}"#).unwrap();
        assert_eq!(heap.display(&quoted), r#"{"q":"say \"hi\"\n"}"#);
    }

    #[test]
    fn dates_print_in_the_default_forms_also_inside_json() {
        assert_eq!(DATE_TIME_FORMAT, "dd-MMM-yyyy HH:mm:ss");
        let mut heap = Heap::new();
        let day = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
        let moment = day.and_hms_opt(14, 7, 9).unwrap();
        assert_eq!(heap.display(&Value::Date(day)), "05-Mar-2024");
        assert_eq!(
            heap.display(&Value::DateTime(moment)),
            "05-Mar-2024 14:07:09"
        );
        assert_eq!(
            heap.display(&Value::Time(NaiveTime::from_hms_opt(9, 5, 0).unwrap())),
            "09:05:00"
        );
        let map = heap.new_map();
        heap.map_put(map, "when".to_owned(), Value::DateTime(moment))
            .unwrap();
        assert_eq!(
            heap.display(&Value::Map(map)),
            r#"{"when":"05-Mar-2024 14:07:09"}"#
        );
    }

    #[test]
    fn cycles_and_deep_nesting_print_and_detach_finitely() {
        let mut heap = Heap::new();
        let map = heap.new_map();
        heap.map_put(map, "self".to_owned(), Value::Map(map))
            .unwrap();
        let printed = heap.display(&Value::Map(map));
        assert!(printed.contains(":null}"), "{printed}");
        assert_eq!(printed.matches("self").count(), MAX_NESTING_DEPTH);
        let detached = heap.detach(&Value::Map(map));
        let mut depth = 0;
        let mut current = &detached;
        while let crate::value::OwnedValue::Map(entries) = current {
            depth += 1;
            current = &entries["self"];
        }
        assert_eq!(depth, MAX_NESTING_DEPTH);
        // A small list shared at every level would print 2^60 elements; the text limit stops it.
        let mut shared = heap.new_list_value(vec![Value::Long(1)]);
        for _ in 0..60 {
            shared = heap.new_list_value(vec![shared.clone(), shared]);
        }
        assert_eq!(
            heap.to_text(&shared).unwrap_err().code(),
            "DELUGE_TEXT_SIZE_LIMIT"
        );
        assert!(heap.display(&shared).len() <= DEFAULT_MAX_TEXT_BYTES + 64);
    }

    #[test]
    fn shared_sub_lists_cannot_make_copies_or_comparisons_exponential() {
        let mut heap = Heap::with_limits(crate::value::BuiltinLimits {
            max_heap_elements: 10_000,
            ..Default::default()
        });
        let mut first = heap.new_list_value(vec![Value::Long(1)]);
        let mut second = heap.new_list_value(vec![Value::Long(1)]);
        for _ in 0..60 {
            first = heap.new_list_value(vec![first.clone(), first]);
            second = heap.new_list_value(vec![second.clone(), second]);
        }
        // Each of these would visit 2^60 nodes without a budget.
        let detached = heap.detach(&first);
        assert!(serde_json::to_string(&detached).unwrap().contains("null"));
        assert!(heap.to_json(&first).to_string().contains("null"));
        assert!(!heap.values_equal(&first, &second));
        assert!(heap.values_equal(&first, &first.clone()));
    }

    #[test]
    fn text_search_positions() {
        const { assert!(FIND_IS_ONE_BASED) };
        let mut heap = Heap::new();
        let find = call_method(&mut heap, &Value::text("abc"), "find", &[Value::text("b")]);
        let index = call_method(
            &mut heap,
            &Value::text("abc"),
            "indexof",
            &[Value::text("b")],
        );
        assert_eq!(heap.display(&find.unwrap()), "2");
        assert_eq!(heap.display(&index.unwrap()), "1");
    }

    #[test]
    fn matches_must_match_the_whole_text() {
        let mut heap = Heap::new();
        let partial = call_method(
            &mut heap,
            &Value::text("abc1"),
            "matches",
            &[Value::text("[a-z]+")],
        );
        assert!(matches!(partial.unwrap(), Value::Boolean(false)));
    }

    #[test]
    fn replacement_text_uses_java_group_references() {
        let mut heap = Heap::new();
        let swapped = call_method(
            &mut heap,
            &Value::text("John Smith"),
            "replaceall",
            &[Value::text("(\\w+) (\\w+)"), Value::text("$2, $1 \\$")],
        )
        .unwrap();
        assert_eq!(heap.display(&swapped), "Smith, John $");
    }

    #[test]
    fn is_blank_covers_null_whitespace_and_empty_collections() {
        let mut heap = Heap::new();
        let empty_list = heap.new_list_value(Vec::new());
        for value in [Value::Null, Value::text(" \t"), empty_list] {
            let blank = call_method(&mut heap, &value, "isblank", &[]).unwrap();
            assert!(matches!(blank, Value::Boolean(true)), "{value:?}");
        }
        let blank = call_method(&mut heap, &Value::Long(0), "isblank", &[]).unwrap();
        assert!(matches!(blank, Value::Boolean(false)));
    }

    #[test]
    fn weekday_starts_on_sunday_and_unix_epoch_counts_milliseconds() {
        const { assert!(WEEKDAY_SUNDAY_IS_ONE && UNIX_EPOCH_IN_MILLISECONDS) };
        let mut heap = Heap::new();
        let sunday = Value::Date(NaiveDate::from_ymd_opt(2024, 3, 3).unwrap());
        let weekday = call_method(&mut heap, &sunday, "weekday", &[]).unwrap();
        assert_eq!(heap.display(&weekday), "1");
        let epoch = Value::DateTime(
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 1)
                .unwrap(),
        );
        let millis = call_method(&mut heap, &epoch, "unixepoch", &[]).unwrap();
        assert_eq!(heap.display(&millis), "1000");
    }

    #[test]
    fn unix_epoch_and_formats_follow_the_run_time_zone() {
        let mut heap = Heap::new();
        heap.set_time_zone(chrono_tz::Asia::Kolkata);
        let local = Value::DateTime(
            NaiveDate::from_ymd_opt(1970, 1, 1)
                .unwrap()
                .and_hms_opt(5, 30, 0)
                .unwrap(),
        );
        let millis = call_method(&mut heap, &local, "unixepoch", &[]).unwrap();
        assert_eq!(heap.display(&millis), "0");
        let utc = call_method(
            &mut heap,
            &local,
            "tostring",
            &[Value::text("HH:mm"), Value::text("UTC")],
        )
        .unwrap();
        assert_eq!(heap.display(&utc), "00:00");
    }

    #[test]
    fn hash_outputs_default_to_hex_for_md5_and_base64_for_sha_and_hmac() {
        let mut heap = Heap::new();
        let md5 = call_function(&mut heap, "md5", &[Value::text("")]).unwrap();
        assert_eq!(heap.display(&md5), "d41d8cd98f00b204e9800998ecf8427e");
        let sha = call_function(&mut heap, "sha256", &[Value::text("")]).unwrap();
        assert_eq!(
            heap.display(&sha),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let signature = call_function(
            &mut heap,
            "zoho.encryption.hmacsha256",
            &[Value::text("key"), Value::text("message")],
        )
        .unwrap();
        assert_eq!(
            heap.display(&signature),
            "bp7ym3X//Ft6uuUn1Y/a2y/kLnIZARl2kXNDBl9Y7Uo="
        );
    }

    #[test]
    fn null_to_string_is_empty_text() {
        let mut heap = Heap::new();
        let text = call_method(&mut heap, &Value::Null, "tostring", &[]).unwrap();
        assert_eq!(heap.display(&text), "");
    }

    #[test]
    fn conditions_accept_booleans_and_boolean_text_only() {
        let heap = Heap::new();
        assert!(heap.condition(&Value::Boolean(true)).unwrap());
        assert!(!heap.condition(&Value::text("FALSE")).unwrap());
        assert!(heap.condition(&Value::Long(1)).is_err());
        assert!(heap.condition(&Value::Null).is_err());
    }

    #[test]
    fn in_checks_list_elements_map_keys_and_text() {
        let mut heap = Heap::new();
        let list = heap.parse_json_text(r#"[1,"a"]"#).unwrap();
        let map = heap.parse_json_text(r#"{"k":1}"#).unwrap();
        assert!(heap.contains(&list, &Value::text("a")).unwrap());
        assert!(!heap.contains(&list, &Value::text("1")).unwrap());
        assert!(heap.contains(&map, &Value::text("k")).unwrap());
        assert!(
            heap.contains(&Value::text("hello"), &Value::text("ell"))
                .unwrap()
        );
        assert!(!heap.contains(&Value::Null, &Value::Long(1)).unwrap());
        assert!(heap.contains(&Value::Long(5), &Value::Long(5)).is_err());
    }

    #[test]
    fn text_limit_defaults_are_generous_but_finite() {
        let heap = Heap::new();
        assert_eq!(heap.limits().max_text_bytes, DEFAULT_MAX_TEXT_BYTES);
        assert_eq!(heap.limits().max_heap_elements, DEFAULT_MAX_HEAP_ELEMENTS);
        assert!(heap.check_text_length(DEFAULT_MAX_TEXT_BYTES + 1).is_err());
    }
}

//! The names of all built-ins, for early checks in the compiler and "did you mean" hints.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Every built-in method, spelled as Zoho documents it: the per-type lists below, joined
/// at compile time so each name is written once.
pub const METHOD_NAMES: &[&str] = &ALL_METHOD_NAMES;

const METHOD_NAME_GROUPS: &[&[&str]] = &[
    TEXT_METHOD_NAMES,
    CONVERSION_METHOD_NAMES,
    NUMBER_METHOD_NAMES,
    DATE_TIME_METHOD_NAMES,
    COLLECTION_METHOD_NAMES,
    FILE_METHOD_NAMES,
];

const ALL_METHOD_NAMES: [&str; total_length(METHOD_NAME_GROUPS)] = concatenate(METHOD_NAME_GROUPS);

/// Methods of text; numbers and booleans accept them through their printed form.
const TEXT_METHOD_NAMES: &[&str] = &[
    "contains",
    "notContains",
    "containsIgnoreCase",
    "startsWith",
    "startsWithIgnoreCase",
    "endsWith",
    "endsWithIgnoreCase",
    "equals",
    "equalsIgnoreCase",
    "matches",
    "isAscii",
    "indexOf",
    "lastIndexOf",
    "find",
    "length",
    "len",
    "getOccurenceCount",
    "getOccurrenceCount",
    "subString",
    "subText",
    "mid",
    "left",
    "right",
    "getPrefix",
    "getSuffix",
    "getPrefixIgnoreCase",
    "getSuffixIgnoreCase",
    "getAlpha",
    "getAlphaNumeric",
    "removeAllAlpha",
    "removeAllAlphaNumeric",
    "toUpperCase",
    "upper",
    "toLowerCase",
    "lower",
    "proper",
    "trim",
    "ltrim",
    "rtrim",
    "reverse",
    "leftPad",
    "rightPad",
    "concat",
    "repeat",
    "replaceAll",
    "replaceFirst",
    "replaceAllIgnoreCase",
    "replaceFirstIgnoreCase",
    "remove",
    "removeFirstOccurence",
    "removeFirstOccurrence",
    "removeLastOccurence",
    "removeLastOccurrence",
    "toList",
    "toCollection",
    "toListString",
    "textToHex",
    "hexToText",
    "toFile",
    "executeXPath",
    "toXmlList",
    "xmlEncode",
    "xmlDecode",
    "htmlEncode",
    "htmlDecode",
    "toMap",
    "toJSONList",
    "getJSON",
    "toDate",
    "toTime",
    "toDateTime",
    "toTimestamp",
    "base64Encode",
    "base64Decode",
    "urlEncode",
    "encodeUrl",
    "urlDecode",
    "decodeUrl",
    "md5",
    "sha1",
    "sha256",
    "sha512",
];

/// Type checks and conversions, on any value.
const CONVERSION_METHOD_NAMES: &[&str] = &[
    "isNull",
    "isEmpty",
    "isBlank",
    "isText",
    "isNumber",
    "isDecimal",
    "isDate",
    "isDateTime",
    "isFile",
    "isList",
    "isMap",
    "isBoolean",
    "toString",
    "toText",
    "toLong",
    "toNumber",
    "toBigInt",
    "toInt",
    "toDecimal",
    "toBoolean",
];

/// Methods of numbers and decimals.
const NUMBER_METHOD_NAMES: &[&str] = &[
    "abs",
    "truncate",
    "ceil",
    "floor",
    "round",
    "frac",
    "sqrt",
    "exp",
    "log",
    "log10",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "power",
    "pow",
    "isEven",
    "isOdd",
    "toHex",
    "toWords",
    "text",
    "format",
    "max",
    "min",
    "compareTo",
];

/// Methods of dates, date-times and times.
const DATE_TIME_METHOD_NAMES: &[&str] = &[
    "addDay",
    "addDays",
    "subDay",
    "subDays",
    "addWeek",
    "addWeeks",
    "subWeek",
    "subWeeks",
    "addMonth",
    "addMonths",
    "subMonth",
    "subMonths",
    "addYear",
    "addYears",
    "subYear",
    "subYears",
    "addHour",
    "addHours",
    "subHour",
    "subHours",
    "addMinutes",
    "addMinute",
    "subMinutes",
    "subMinute",
    "addSeconds",
    "addSecond",
    "subSeconds",
    "subSecond",
    "addBusinessDay",
    "addBusinessDays",
    "subBusinessDay",
    "subBusinessDays",
    "workday",
    "edate",
    "getDay",
    "day",
    "getDayOfWeek",
    "weekday",
    "getDayOfYear",
    "getWeekOfYear",
    "getMonth",
    "month",
    "getYear",
    "year",
    "getHour",
    "hour",
    "getMinutes",
    "getMinute",
    "minute",
    "getSeconds",
    "getSecond",
    "second",
    "daysBetween",
    "hoursBetween",
    "minutesBetween",
    "monthsBetween",
    "yearsBetween",
    "days360",
    "eomonth",
    "toStartOfMonth",
    "toStartOfWeek",
    "unixEpoch",
    "getTime",
    "toDateTimeString",
    "isWeekend",
];

/// Methods of lists and maps.
const COLLECTION_METHOD_NAMES: &[&str] = &[
    "add",
    "addAll",
    "insert",
    "addFirst",
    "append",
    "insertAll",
    "get",
    "size",
    "count",
    "getKey",
    "removeElement",
    "delete",
    "removeAll",
    "deleteAll",
    "deleteKey",
    "deleteKeys",
    "clear",
    "sort",
    "distinct",
    "intersect",
    "subList",
    "duplicate",
    "update",
    "set",
    "getLastKey",
    "keys",
    "values",
    "sum",
    "average",
    "median",
    "largest",
    "smallest",
    "nthLargest",
    "nthSmallest",
    "join",
    "containsKey",
    "put",
    "putAll",
    "containKey",
    "containValue",
    "containsValue",
    "sortKey",
];

/// Methods of files.
const FILE_METHOD_NAMES: &[&str] = &[
    "getFileName",
    "getName",
    "getFileContent",
    "getContent",
    "toFileContent",
    "getFileSize",
    "getFileType",
    "getContentType",
];

const fn total_length(groups: &[&[&str]]) -> usize {
    let mut total = 0;
    let mut group = 0;
    while group < groups.len() {
        total += groups[group].len();
        group += 1;
    }
    total
}

/// Evaluated by the compiler only (the array length is `total_length` of the same groups,
/// so every index is in range; an error here would fail the build, not a run).
const fn concatenate<const LENGTH: usize>(groups: &[&[&'static str]]) -> [&'static str; LENGTH] {
    let mut names = [""; LENGTH];
    let mut next = 0;
    let mut group = 0;
    while group < groups.len() {
        let mut index = 0;
        while index < groups[group].len() {
            names[next] = groups[group][index];
            next += 1;
            index += 1;
        }
        group += 1;
    }
    names
}

/// Every global built-in function (methods can also be called as functions).
pub const FUNCTION_NAMES: &[&str] = &[
    "ifnull",
    "nvl",
    "if",
    "Map",
    "List",
    "Collection",
    "atan2",
    "hmacsha1",
    "hmacsha256",
    "hmacsha512",
    "hmacmd5",
];

/// Built-ins of the reference that Trestle deliberately does not provide, with the reason
/// given to the script's author. They count as known (a script using them compiles) and
/// fail when called.
pub const UNSUPPORTED_NAMES: &[(&str, &str)] = &[
    (
        "aesEncode",
        "Zoho does not document the key derivation and padding of its AES functions, so no compatible result can be produced; encrypt on the receiving service instead",
    ),
    (
        "aesDecode",
        "Zoho does not document the key derivation and padding of its AES functions, so no compatible result can be produced",
    ),
    (
        "aesEncode128",
        "Zoho does not document the key derivation and padding of its AES functions, so no compatible result can be produced",
    ),
    (
        "aesDecode128",
        "Zoho does not document the key derivation and padding of its AES functions, so no compatible result can be produced",
    ),
    (
        "addBusinessHour",
        "business hours are an organization setting Trestle does not have; use addHour",
    ),
    (
        "subBusinessHour",
        "business hours are an organization setting Trestle does not have; use subHour",
    ),
    (
        "nextWeekDay",
        "its arguments are not documented; use addDay with weekday()",
    ),
    (
        "previousWeekDay",
        "its arguments are not documented; use subDay with weekday()",
    ),
    (
        "totalMonth",
        "its meaning is not documented; use monthsBetween",
    ),
    (
        "totalYear",
        "its meaning is not documented; use yearsBetween",
    ),
    ("extract", "unpacking archives is not supported"),
    (
        "toXml",
        "converting values to XML is not supported; build the XML text",
    ),
];

/// Why a known but unsupported built-in cannot be called, if `name` is one.
pub fn unsupported_reason(name: &str) -> Option<(&'static str, &'static str)> {
    let lower = lower_case(name);
    let name = lower.strip_prefix("zoho.encryption.").unwrap_or(&lower);
    UNSUPPORTED_NAMES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .copied()
}

struct NameIndex {
    methods: HashMap<String, &'static str>,
    functions: HashMap<String, &'static str>,
    text_methods: HashSet<String>,
}

fn index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| NameIndex {
        methods: METHOD_NAMES
            .iter()
            .map(|name| (name.to_ascii_lowercase(), *name))
            .collect(),
        functions: FUNCTION_NAMES
            .iter()
            .map(|name| (name.to_ascii_lowercase(), *name))
            .collect(),
        text_methods: TEXT_METHOD_NAMES
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect(),
    })
}

fn lower_case(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Whether `name` (any case) is a built-in method (supported or not, see
/// [`unsupported_reason`]).
pub fn is_known_method(name: &str) -> bool {
    index().methods.contains_key(lower_case(name).as_ref()) || unsupported_reason(name).is_some()
}

/// Whether `name` (any case, dotted `zoho.encryption.*` names included) can be called as
/// a function.
pub fn is_known_function(name: &str) -> bool {
    let lower = lower_case(name);
    let name = lower.strip_prefix("zoho.encryption.").unwrap_or(&lower);
    index().functions.contains_key(name)
        || index().methods.contains_key(name)
        || unsupported_reason(name).is_some()
}

/// The closest method name, for "did you mean".
pub fn suggest_method(name: &str) -> Option<&'static str> {
    closest(name, METHOD_NAMES.iter())
}

/// The closest function or method name, for "did you mean".
pub fn suggest_function(name: &str) -> Option<&'static str> {
    closest(name, FUNCTION_NAMES.iter().chain(METHOD_NAMES.iter()))
}

pub(crate) fn is_text_method(name: &str) -> bool {
    index().text_methods.contains(lower_case(name).as_ref())
}

/// The documented spelling of a lower-case name, or the name itself.
pub(crate) fn display_name(name: &str) -> &str {
    let lower = lower_case(name);
    let index = index();
    match index
        .methods
        .get(lower.as_ref())
        .or_else(|| index.functions.get(lower.as_ref()))
    {
        Some(display) => display,
        None => name,
    }
}

fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a &'static str>,
) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    let allowed = (lower.len() / 3).max(1);
    for candidate in candidates {
        if candidate.len().abs_diff(lower.len()) > allowed {
            continue;
        }
        let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.filter(|(distance, _)| *distance <= allowed)
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_list_is_every_per_type_list_once() {
        let joined: Vec<&str> = METHOD_NAME_GROUPS
            .iter()
            .flat_map(|group| group.iter().copied())
            .collect();
        assert_eq!(METHOD_NAMES, joined.as_slice());
        let mut seen = HashSet::new();
        let repeated: Vec<&str> = METHOD_NAMES
            .iter()
            .copied()
            .filter(|name| !seen.insert(name.to_ascii_lowercase()))
            .collect();
        assert!(repeated.is_empty(), "listed twice: {repeated:?}");
        assert!(is_text_method("startsWith") && is_text_method("tolist"));
        assert!(!is_text_method("put") && is_known_method("put"));
    }
}

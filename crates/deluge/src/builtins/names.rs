//! The names of all built-ins, for early checks in the compiler and "did you mean" hints.

/// Every built-in method, spelled as Zoho documents it.
pub const METHOD_NAMES: &[&str] = &[
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
    "abs",
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
    "getFileName",
    "getName",
    "getFileContent",
    "getContent",
    "toFileContent",
    "getFileSize",
    "getFileType",
    "getContentType",
];

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

/// Whether `name` (any case) is a built-in method.
pub fn is_known_method(name: &str) -> bool {
    METHOD_NAMES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
}

/// Whether `name` (any case) can be called as a function.
pub fn is_known_function(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let name = lower.strip_prefix("zoho.encryption.").unwrap_or(&lower);
    FUNCTION_NAMES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
        || is_known_method(name)
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
    TEXT_METHOD_NAMES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
}

/// The documented spelling of a lower-case name, or the name itself.
pub(crate) fn display_name(name: &str) -> &str {
    METHOD_NAMES
        .iter()
        .chain(FUNCTION_NAMES.iter())
        .find(|known| known.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a &'static str>,
) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    let allowed = (lower.len() / 3).max(1);
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

use crate::ast::*;
use crate::sexpr::{expr_to_sexpr, script_to_sexpr};
use crate::{ParseErrorKind, Span, parse, parse_expression};

/// The tree of a script that must parse without errors, spans stripped.
fn tree(source: &str) -> String {
    let parsed = parse(source);
    assert!(
        parsed.errors.is_empty(),
        "unexpected errors for {source:?}: {:#?}",
        parsed.errors
    );
    strip_spans(&script_to_sexpr(&parsed.script))
}

fn strip_spans(text: &str) -> String {
    text.lines()
        .map(|line| match line.rfind(" @") {
            Some(index) => &line[..index],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn expr(source: &str) -> String {
    let (expression, errors) = parse_expression(source);
    assert!(
        errors.is_empty(),
        "unexpected errors for {source:?}: {errors:#?}"
    );
    expr_to_sexpr(&expression)
}

fn error_messages(source: &str) -> Vec<String> {
    parse(source)
        .errors
        .iter()
        .map(|error| error.message())
        .collect()
}

#[test]
fn parses_empty_script() {
    let parsed = parse("");
    assert!(parsed.errors.is_empty());
    assert!(parsed.script.body.statements.is_empty());
    assert!(parsed.script.header.is_none());
}

#[test]
fn precedence_follows_the_reference() {
    assert_eq!(expr("1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(expr("a - b - c"), "(- (- a b) c)");
    assert_eq!(expr("a || b && c"), "(|| a (&& b c))");
    assert_eq!(expr("a == b < c"), "(== a (< b c))");
    assert_eq!(expr("!a && -b"), "(&& (! a) (neg b))");
    assert_eq!(expr("a + b > c % d"), "(> (+ a b) (% c d))");
    assert_eq!(
        expr("x in list && y not in list"),
        "(&& (in x list) (not in y list))"
    );
    assert_eq!(expr("(1 + 2) * 3"), "(* (paren (+ 1 2)) 3)");
}

#[test]
fn literals() {
    assert_eq!(expr("\"a\\\"b\""), "\"a\\\"b\"");
    assert_eq!(expr("'15-Aug-1947'"), "'15-Aug-1947'");
    assert_eq!(expr("9223372036854775807"), "9223372036854775807");
    assert_eq!(expr("0.99"), "0.99d");
    assert_eq!(expr("TRUE"), "true");
    assert_eq!(expr("False"), "false");
    assert_eq!(expr("NULL"), "null");
    assert_eq!(expr("{1, \"a\", {2}}"), "(list 1 \"a\" (list 2))");
    assert_eq!(expr("[1, 2]"), "(list 1 2)");
    assert_eq!(expr("{}"), "(map)");
    assert_eq!(
        expr("{\"k\": 1, \"t\": {\"workflow\"}}"),
        "(map (\"k\" : 1) (\"t\" : (list \"workflow\")))"
    );
}

#[test]
fn number_too_large_is_an_error() {
    let (_, errors) = parse_expression("99999999999999999999");
    assert_eq!(errors[0].code(), "NUMBER_OUT_OF_RANGE");
}

#[test]
fn constructors_in_any_case() {
    assert_eq!(expr("Map()"), "(Map())");
    assert_eq!(expr("list()"), "(list())");
    assert_eq!(expr("List({1,2})"), "(List() (list 1 2))");
    assert_eq!(expr("List:String({\"a\"})"), "(List():String (list \"a\"))");
    assert_eq!(
        expr("Collection(\"a\":1, \"b\":2)"),
        "(Collection() \"a\" : 1 \"b\" : 2)"
    );
    let (expression, _) = parse_expression("MAP()");
    assert!(matches!(
        expression.kind,
        ExprKind::Constructor {
            kind: ConstructorKind::Map,
            ..
        }
    ));
}

#[test]
fn conditional_expressions() {
    assert_eq!(
        expr("if(a > 1, \"x\", \"y\")"),
        "(if-expr (> a 1) \"x\" \"y\")"
    );
    assert_eq!(expr("IF(a, 1, 2)"), "(if-expr a 1 2)");
    assert_eq!(
        expr("ifnull(a.get(\"k\"), {\"id\":\"none\"}).get(\"id\")"),
        "(.get (ifnull (.get a \"k\") (map (\"id\" : \"none\"))) \"id\")"
    );
    assert_eq!(expr("ifNull(a, 0)"), "(ifnull a 0)");
    let (_, errors) = parse_expression("if(a, b)");
    assert_eq!(errors[0].code(), "WRONG_ARGUMENT_COUNT");
    assert!(
        errors[0]
            .message()
            .contains("if(condition, value_if_true, value_if_false)")
    );
}

#[test]
fn method_names_keep_spelling_and_lowercase_key() {
    let (expression, _) = parse_expression("name.toLowerCase()");
    let ExprKind::MethodCall { method, .. } = expression.kind else {
        panic!("not a method call");
    };
    assert_eq!(method.name, "toLowerCase");
    assert_eq!(method.key, "tolowercase");
    assert_eq!(expr("a.get(\"x\").tolong()"), "(.tolong (.get a \"x\"))");
    assert_eq!(expr("input.Field"), "(. input Field)");
}

#[test]
fn calls_stored_functions_and_integration_tasks() {
    assert_eq!(expr("standalone.fmt(1)"), "(call standalone.fmt 1)");
    assert_eq!(
        expr("thisapp.ns.fn(a).get(\"x\")"),
        "(.get (call thisapp.ns.fn a) \"x\")"
    );
    assert_eq!(expr("isNull(x)"), "(call isNull x)");
    assert_eq!(
        expr("zoho.crm.getRecordById(\"Leads\", id)"),
        "(zoho.crm.getRecordById \"Leads\" id)"
    );
    assert_eq!(
        expr("zoho.crm.v8.searchRecords(\"Leads\", c)"),
        "(zoho.crm.v8.searchRecords \"Leads\" c)"
    );
    assert_eq!(
        expr("zoho.currentdate.addDay(1)"),
        "(.addDay zoho.currentdate 1)"
    );
    assert_eq!(expr("zoho.loginuserid"), "zoho.loginuserid");
    let (expression, _) = parse_expression("zoho.Books.getRecords(\"x\")");
    let ExprKind::IntegrationTask { path, .. } = expression.kind else {
        panic!("not an integration task");
    };
    assert_eq!(path.key, "books.getrecords");
    let (expression, _) = parse_expression("Default.fn(x)");
    assert!(matches!(expression.kind, ExprKind::MethodCall { .. }));
}

#[test]
fn pair_arguments_for_collections() {
    assert_eq!(expr("c.insert(\"k\":v)"), "(.insert c (\"k\" : v))");
}

#[test]
fn assignments_and_compound_assignments() {
    assert_eq!(
        tree(
            "a = 1; a += 2; a -= 1; a *= 3; a /= 2; a %= 2; input.Name = \"x\"; rec.sub.Field = y;"
        ),
        "(= a 1)\n(+= a 2)\n(-= a 1)\n(*= a 3)\n(/= a 2)\n(%= a 2)\n(= (. input Name) \"x\")\n(= (. (. rec sub) Field) y)"
    );
    let parsed = parse("a.get(1) = 2;");
    assert_eq!(
        parsed.errors[0].kind,
        ParseErrorKind::InvalidAssignmentTarget
    );
}

#[test]
fn control_flow() {
    let source = "if (a) { info 1; } else if (b) { info 2; } else { info 3; }\n\
                  for each x in list { if (x == 1) { continue; } break; }\n\
                  for each index i in list { info i; }\n\
                  for each index in indexes { info index; }\n\
                  try { x = 1 / 0; } catch (e) { info e.message; }\n\
                  return;";
    assert_eq!(
        tree(source),
        "(if)\n  (when a)\n    (info 1)\n  (when b)\n    (info 2)\n  (else)\n    (info 3)\n\
         (for-each x list)\n  (if)\n    (when (== x 1))\n      (continue)\n  (break)\n\
         (for-each-index i list)\n  (info i)\n\
         (for-each index indexes)\n  (info index)\n\
         (try)\n  (= x (/ 1 0))\n(catch e)\n  (info (. e message))\n\
         (return)"
    );
}

#[test]
fn info_throw_and_return_values() {
    assert_eq!(
        tree("info (a);\nthrow \"bad\";\nreturn x.size();"),
        "(info (paren a))\n(throw \"bad\")\n(return (.size x))"
    );
}

#[test]
fn function_headers() {
    let parsed = parse("void automation.sync(map contact, int n)\n{\ninfo contact;\n}");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let header = parsed.script.header.expect("header");
    assert_eq!(header.return_type.key, "void");
    assert_eq!(header.name.key, "automation.sync");
    assert_eq!(header.parameters.len(), 2);
    assert_eq!(header.parameters[0].type_name.name, "map");
    assert_eq!(header.parameters[1].name.name, "n");
    assert_eq!(parsed.script.body.statements.len(), 1);

    let parsed = parse(
        "string standalone.fmt(int n) { return n.toString(); }\nstring other() { return \"\"; }",
    );
    assert!(parsed.errors.is_empty());
    assert_eq!(parsed.script.other_functions.len(), 1);
    assert_eq!(parsed.script.other_functions[0].header.name.key, "other");
}

#[test]
fn bracket_tasks() {
    let source = "resp = invokeurl\n[\n\turl :\"https://x.test/\" + id\n\ttype :GET\n\tparameters:m.toString()\n\theaders: h\n\tconnection:\"conn\"\n];";
    assert_eq!(
        tree(source),
        "(= resp (invokeurl [url: (+ \"https://x.test/\" id)] [type: bare GET] [parameters: (.toString m)] [headers: h] [connection: \"conn\"]))"
    );
    let source = "sendmail\n[\n\tfrom :zoho.adminuserid\n\tto :a, \"b@x.test\"\n\treply to: r\n\tsubject :\"s\"\n\tcontent type: HTML\n\tmessage :'<b>hi</b>'\n\tAttachments :file:f1, file: f2\n]\ninfo 1;";
    assert_eq!(
        tree(source),
        "(sendmail [from: zoho.adminuserid] [to: (list a \"b@x.test\")] [reply to: r] [subject: \"s\"] [content type: bare HTML] [message: '<b>hi</b>'] [attachments: attachments file:f1 file:f2])\n(info 1)"
    );
    assert_eq!(
        tree(
            "r = invokeurl [ url: u type: POST content-type: application/json response-format: JSON body: b ];"
        ),
        "(= r (invokeurl [url: u] [type: bare POST] [content-type: bare application/json] [response-format: bare JSON] [body: b]))"
    );
    assert_eq!(
        tree("r = invokeurl [ url: u type: method ];"),
        "(= r (invokeurl [url: u] [type: method]))"
    );
    assert_eq!(
        tree("pushNotify [ to: a message: \"m\" ];"),
        "(pushNotify [to: a] [message: \"m\"])"
    );
}

#[test]
fn creator_statements() {
    let source = "rec = Orders[ID == input.Id && Status != \"Closed\"];\n\
                  for each r in Orders[Total > 0] sort by Added_Time desc range from 1 to 10 { info r.ID; }\n\
                  n = Orders[Name = \"x\" && Note is not null && Name contains \"a\"].count();\n\
                  id = insert into Orders [ Name = \"a\" Added_User = zoho.loginuser ];\n\
                  delete from Orders[ID == 1];\n\
                  alert \"saved\";\n\
                  cancel submit;\n\
                  openUrl(\"https://x.test\", \"same window\");\n\
                  hide Field_A;\n\
                  input.Province:ui.add(states);";
    assert_eq!(
        tree(source),
        "(= rec (fetch Orders (&& (== ID (. input Id)) (!= Status \"Closed\"))))\n\
         (for-each r (fetch Orders (> Total 0) (sort-by Added_Time desc) (range 1 10)))\n  (info (. r ID))\n\
         (= n (.count (fetch Orders (&& (&& (== Name \"x\") (!= Note null)) (.contains Name \"a\")))))\n\
         (= id (insert-into Orders (Name = \"a\") (Added_User = zoho.loginuser)))\n\
         (creator delete-from Orders (== ID 1))\n\
         (creator alert \"saved\")\n\
         (creator cancel submit)\n\
         (creator openUrl \"https://x.test\" \"same window\")\n\
         (creator hide Field_A)\n\
         (creator (. input Province) :ui.add states)"
    );
}

#[test]
fn keywords_are_contextual() {
    assert_eq!(
        tree("update = 1; index = 2; alert = 3; info update + index;"),
        "(= update 1)\n(= index 2)\n(= alert 3)\n(info (+ update index))"
    );
}

#[test]
fn equals_is_comparison_only_in_conditions() {
    assert_eq!(tree("if (a = 1) { }"), "(if)\n  (when (== a 1))");
    let parsed = parse("x = (a = 1);");
    assert!(!parsed.errors.is_empty());
}

#[test]
fn missing_semicolon_is_reported_at_end_of_statement() {
    let parsed = parse("x = 1\ny = 2;");
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(
        parsed.errors[0].message(),
        "expected `;` after statement, found `y`"
    );
    assert_eq!(parsed.errors[0].span, Span::new(5, 5));
    // The next statement is still parsed.
    assert_eq!(parsed.script.body.statements.len(), 2);
}

#[test]
fn unclosed_invokeurl_names_its_line() {
    let messages = error_messages("a = 1;\nb = 2;\nr = invokeurl\n[\nurl: \"x\"\n");
    assert_eq!(
        messages,
        vec!["unclosed `[` of invokeurl opened at line 4: add `]`"]
    );
}

#[test]
fn recovers_at_statement_boundaries() {
    let parsed = parse("a = ;\nb = 2;\nif (x) { c = * 3; d = 4; }\ne = 5;");
    assert_eq!(parsed.errors.len(), 2, "{:#?}", parsed.errors);
    let text = strip_spans(&script_to_sexpr(&parsed.script));
    assert!(text.contains("(= b 2)"), "{text}");
    assert!(text.contains("(= d 4)"), "{text}");
    assert!(text.contains("(= e 5)"), "{text}");
}

#[test]
fn while_is_rejected_with_a_suggestion() {
    let parsed = parse("while (true) { info 1; }\ninfo 2;");
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(parsed.errors[0].code(), "NOT_DELUGE_SYNTAX");
    assert!(parsed.errors[0].message().contains("for each"));
}

#[test]
fn try_without_catch() {
    let parsed = parse("try { a = 1; }\ninfo a;");
    assert_eq!(parsed.errors[0].kind, ParseErrorKind::MissingCatch);
}

#[test]
fn deep_nesting_reports_instead_of_overflowing() {
    let source = format!("x = {}1{};", "(".repeat(5000), ")".repeat(5000));
    let parsed = parse(&source);
    assert!(
        parsed
            .errors
            .iter()
            .any(|error| error.code() == "NESTING_TOO_DEEP")
    );
    let source = format!("{}info 1;{}", "if (a) {".repeat(3000), "}".repeat(3000));
    let parsed = parse(&source);
    assert!(
        parsed
            .errors
            .iter()
            .any(|error| error.code() == "NESTING_TOO_DEEP")
    );
    let source = format!("x = {}1;", "!".repeat(5000));
    assert!(
        parse(&source)
            .errors
            .iter()
            .any(|error| error.code() == "NESTING_TOO_DEEP")
    );
}

#[test]
fn spans_cover_the_source_they_came_from() {
    let source = "total = price * 2;";
    let parsed = parse(source);
    let Stmt::Assign { value, span, .. } = &parsed.script.body.statements[0] else {
        panic!("not an assignment");
    };
    assert_eq!(span.text(source), "total = price * 2");
    assert_eq!(value.span.text(source), "price * 2");
}

#[test]
fn stray_closing_brace_is_reported() {
    let messages = error_messages("a = 1;\n}\nb = 2;");
    assert_eq!(
        messages,
        vec!["unexpected `}`: no block is open here; remove it or add the matching `{`"]
    );
}

#[test]
fn windows_line_endings_are_whitespace() {
    let source = "a = 1\r\nb = 2;\r\n";
    let parsed = parse(source);
    assert_eq!(parsed.errors.len(), 1);
    let diagnostics = crate::diagnostic::diagnostics("x.dg", source, &parsed.errors);
    assert_eq!((diagnostics[0].line, diagnostics[0].column), (1, 6));
}

#[test]
fn zero_width_characters_are_whitespace() {
    assert_eq!(tree("\u{200b}a = 1;\u{feff}"), "(= a 1)");
}

#[test]
fn optional_separators_inside_tasks() {
    assert_eq!(
        tree("r = invokeurl [ url: u, type: GET; connection: \"c\" ];"),
        "(= r (invokeurl [url: u] [type: bare GET] [connection: \"c\"]))"
    );
}

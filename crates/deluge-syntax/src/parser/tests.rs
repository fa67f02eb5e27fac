use crate::ast::*;
use crate::parse;

#[test]
fn parses_empty_script() {
    let parsed = parse("");
    assert!(parsed.errors.is_empty());
    assert!(parsed.script.body.statements.is_empty());
}

//! The contact sync script the product starts from parses without errors, and its tree has
//! the shape the runtime expects (a body-only script with three invokeurl/bigin effects).
//! The seed lives outside the repository; `TRESTLE_SEED_DIR` names its folder.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use trestle_deluge_syntax::{diagnostic, parse, sexpr};

#[test]
fn seed_contact_sync_script_parses() {
    let Some(folder) = std::env::var_os("TRESTLE_SEED_DIR") else {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("TRESTLE_SEED_DIR is not set; CI must run the seed test");
        }
        eprintln!(
            "\n==========\nSKIPPED: seed_contact_sync_script_parses needs TRESTLE_SEED_DIR\n==========\n"
        );
        return;
    };
    let path = std::path::Path::new(&folder).join("sync-contact-to-books.dg");
    let source = std::fs::read_to_string(&path).unwrap();
    let parsed = parse(&source);
    assert!(
        parsed.errors.is_empty(),
        "{}",
        diagnostic::render_text("sync-contact-to-books.dg", &source, &parsed.errors)
    );
    assert!(parsed.script.header.is_none());
    let tree = sexpr::script_to_sexpr(&parsed.script);
    assert!(
        tree.contains("(zoho.bigin.getRecordById \"Contacts\""),
        "{tree}"
    );
    assert_eq!(tree.matches("(invokeurl [url:").count(), 3, "{tree}");
    assert!(
        tree.contains("[type: bare GET]")
            && tree.contains("[type: bare PUT]")
            && tree.contains("[type: bare POST]")
    );
}

//! Rendering compile diagnostics the way `deluge-syntax` renders parse errors:
//! ```text
//! path:3:7: error[DELUGE_UNKNOWN_FUNCTION]: Not able to find 'frob' function ...
//!   |
//! 3 | x = frob(1);
//!   |     ^^^^
//! ```
//! and as JSON objects with path, code, message, line and column.

use serde::Serialize;

use crate::error::CompileDiagnostic;

/// Lines longer than this many characters are cut to a window around the caret.
const LONG_LINE: usize = 160;
const WINDOW_BEFORE: usize = 60;

/// All diagnostics of one file as text.
pub fn render_text(path: &str, source: &str, diagnostics: &[CompileDiagnostic]) -> String {
    let mut output = String::new();
    for diagnostic in diagnostics {
        render_one(&mut output, path, source, diagnostic);
    }
    output
}

/// One diagnostic in machine-readable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticRecord {
    pub path: String,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub line: u32,
    pub column: u32,
    pub start: u32,
    pub end: u32,
}

/// The diagnostics of one file as records (serialize them for `--format json`).
pub fn records(path: &str, diagnostics: &[CompileDiagnostic]) -> Vec<DiagnosticRecord> {
    diagnostics
        .iter()
        .map(|diagnostic| DiagnosticRecord {
            path: path.to_owned(),
            severity: "error",
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            line: diagnostic.location.line,
            column: diagnostic.location.column,
            start: diagnostic.location.start,
            end: diagnostic.location.end,
        })
        .collect()
}

fn render_one(output: &mut String, path: &str, source: &str, diagnostic: &CompileDiagnostic) {
    use std::fmt::Write;
    let location = diagnostic.location;
    let _ = writeln!(
        output,
        "{path}:{}:{}: error[{}]: {}",
        location.line, location.column, diagnostic.code, diagnostic.message
    );
    let line_text = source
        .lines()
        .nth(location.line.saturating_sub(1) as usize)
        .unwrap_or("");
    let characters: Vec<char> = line_text
        .chars()
        .map(|character| if character == '\t' { ' ' } else { character })
        .collect();
    let caret_column = location.column.saturating_sub(1) as usize;
    let window_start = if characters.len() > LONG_LINE {
        caret_column
            .saturating_sub(WINDOW_BEFORE)
            .min(characters.len())
    } else {
        0
    };
    let window_end = if characters.len() > LONG_LINE {
        (window_start + LONG_LINE).min(characters.len())
    } else {
        characters.len()
    };
    let prefix = if window_start > 0 { "..." } else { "" };
    let suffix = if window_end < characters.len() {
        "..."
    } else {
        ""
    };
    let shown: String = characters
        .get(window_start..window_end)
        .unwrap_or(&[])
        .iter()
        .collect();
    let gutter = location.line.to_string().len();
    let _ = writeln!(output, "{:gutter$} |", "");
    let _ = writeln!(output, "{} | {prefix}{shown}{suffix}", location.line);
    let span_characters = source
        .get(location.start as usize..location.end as usize)
        .map_or(1, |text| text.lines().next().unwrap_or("").chars().count())
        .max(1);
    let available = characters.len().saturating_sub(caret_column).max(1);
    let width = span_characters.min(available);
    let indent = caret_column.saturating_sub(window_start) + prefix.len();
    let _ = writeln!(
        output,
        "{:gutter$} | {}{}",
        "",
        " ".repeat(indent),
        "^".repeat(width)
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::compile_source;
    use crate::error::Error;

    #[test]
    fn renders_location_source_line_and_caret() {
        let source = "x = 1;\ny = frob(2);\n";
        let Err(Error::Compile { diagnostics }) = compile_source(source) else {
            panic!("expected a compile error");
        };
        let text = render_text("a.dg", source, &diagnostics);
        assert!(
            text.starts_with("a.dg:2:5: error[DELUGE_UNKNOWN_FUNCTION]: "),
            "{text}"
        );
        assert!(text.contains("2 | y = frob(2);\n"), "{text}");
        assert!(text.contains("  |     ^^^^\n"), "{text}");
        let records = records("a.dg", &diagnostics);
        assert_eq!((records[0].line, records[0].column), (2, 5));
    }
}

//! Rendering parse errors for people (`path:line:col: error: message`, the source line and a
//! caret under the span) and for machines (JSON through serde).

use crate::error::ParseError;
use crate::span::Span;
use serde::Serialize;

/// Maps byte offsets to 1-based lines and columns. Columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset where each line starts; the first entry is 0.
    line_starts: Vec<u32>,
    length: u32,
}

/// A 1-based line and column (column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

impl LineIndex {
    pub fn new(source: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (position, byte) in source.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(u32::try_from(position + 1).unwrap_or(u32::MAX));
            }
        }
        LineIndex {
            line_starts,
            length: u32::try_from(source.len()).unwrap_or(u32::MAX),
        }
    }

    /// 0-based index of the line holding `offset` (offsets past the end map to the last line).
    fn line_of(&self, offset: u32) -> usize {
        let offset = offset.min(self.length);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(insertion) => insertion.saturating_sub(1),
        }
    }

    /// 1-based line number of `offset`.
    pub fn line_number(&self, offset: u32) -> u32 {
        u32::try_from(self.line_of(offset) + 1).unwrap_or(u32::MAX)
    }

    /// 1-based line and character column of `offset` in `source` (the text this index was
    /// built from).
    pub fn line_column(&self, source: &str, offset: u32) -> LineColumn {
        let line = self.line_of(offset);
        let line_start = self.line_starts.get(line).copied().unwrap_or(0);
        let offset = offset.min(self.length);
        let prefix = source
            .get(line_start as usize..offset as usize)
            .map(|text| text.chars().count())
            .unwrap_or_else(|| {
                // Offset inside a multi-byte character: count the bytes lossily.
                String::from_utf8_lossy(
                    source
                        .as_bytes()
                        .get(line_start as usize..offset as usize)
                        .unwrap_or(&[]),
                )
                .chars()
                .count()
            });
        LineColumn {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(prefix + 1).unwrap_or(u32::MAX),
        }
    }

    /// The text of the 1-based `line`, without its line break.
    pub fn line_text<'a>(&self, source: &'a str, line: u32) -> &'a str {
        let index = (line as usize).saturating_sub(1);
        let start = self.line_starts.get(index).copied().unwrap_or(self.length) as usize;
        let end = self
            .line_starts
            .get(index + 1)
            .map(|next| *next as usize)
            .unwrap_or(self.length as usize);
        source
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

/// One error in machine-readable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub span: Span,
}

/// Converts errors to [`Diagnostic`]s with line and column numbers.
pub fn diagnostics(path: &str, source: &str, errors: &[ParseError]) -> Vec<Diagnostic> {
    let index = LineIndex::new(source);
    errors
        .iter()
        .map(|error| {
            let start = index.line_column(source, error.span.start);
            let end = index.line_column(source, error.span.end);
            Diagnostic {
                path: path.to_string(),
                severity: "error",
                code: error.code(),
                message: error.message(),
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
                span: error.span,
            }
        })
        .collect()
}

/// JSON array of [`Diagnostic`]s.
pub fn render_json(path: &str, source: &str, errors: &[ParseError]) -> String {
    serde_json::to_string_pretty(&diagnostics(path, source, errors))
        .unwrap_or_else(|_| "[]".to_string())
}

/// Renders every error as
/// ```text
/// path:3:7: error: expected `;` after statement, found `info`
///   |
/// 3 | x = 1
///   |      ^
/// ```
pub fn render_text(path: &str, source: &str, errors: &[ParseError]) -> String {
    let index = LineIndex::new(source);
    let mut output = String::new();
    for error in errors {
        render_one(&mut output, &index, path, source, error);
    }
    output
}

/// Lines longer than this many characters are shown as a window of this size.
const LONG_LINE: usize = 160;
/// Characters shown before the caret in a windowed line.
const WINDOW_BEFORE: usize = 60;

fn render_one(
    output: &mut String,
    index: &LineIndex,
    path: &str,
    source: &str,
    error: &ParseError,
) {
    use std::fmt::Write;
    let start = index.line_column(source, error.span.start);
    let line_text = index.line_text(source, start.line);
    let gutter = start.line.to_string().len();
    let _ = writeln!(
        output,
        "{path}:{}:{}: error[{}]: {}",
        start.line,
        start.column,
        error.code(),
        error.message()
    );
    // Very long lines (minified HTML in a text literal) are shown as a window around the caret.
    let characters: Vec<char> = line_text
        .chars()
        .map(|character| if character == '\t' { ' ' } else { character })
        .collect();
    let caret_column = start.column.saturating_sub(1) as usize;
    let (window_start, prefix) = if characters.len() > LONG_LINE {
        let window_start = caret_column
            .saturating_sub(WINDOW_BEFORE)
            .min(characters.len());
        (window_start, if window_start > 0 { "..." } else { "" })
    } else {
        (0, "")
    };
    let window_end = if characters.len() > LONG_LINE {
        (window_start + LONG_LINE).min(characters.len())
    } else {
        characters.len()
    };
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
    let _ = writeln!(output, "{:gutter$} |", "");
    let _ = writeln!(output, "{} | {prefix}{shown}{suffix}", start.line);
    // The caret covers the span on its first line (at least one character).
    let end = index.line_column(source, error.span.end);
    let width = if end.line == start.line {
        end.column.saturating_sub(start.column).max(1) as usize
    } else {
        (characters.len() + 1)
            .saturating_sub(caret_column + 1)
            .max(1)
    };
    let width = width.min((window_end + 1).saturating_sub(caret_column).max(1));
    let _ = writeln!(
        output,
        "{:gutter$} | {}{}",
        "",
        " ".repeat(prefix.len() + caret_column.saturating_sub(window_start)),
        "^".repeat(width)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseErrorKind;

    #[test]
    fn line_index_counts_characters_not_bytes() {
        let source = "a = 1;\nñé = \"x\";\n";
        let index = LineIndex::new(source);
        assert_eq!(
            index.line_column(source, 0),
            LineColumn { line: 1, column: 1 }
        );
        // "ñé" is 4 bytes; the space after it is column 3.
        assert_eq!(
            index.line_column(source, 11),
            LineColumn { line: 2, column: 3 }
        );
        assert_eq!(index.line_text(source, 2), "ñé = \"x\";");
        assert_eq!(index.line_number(1000), 3);
    }

    #[test]
    fn renders_path_line_column_and_caret() {
        let source = "x = 1\ny = 2;";
        let error = ParseError::new(
            ParseErrorKind::Expected {
                expected: "`;`".into(),
                context: " after statement".into(),
                found: "`y`".into(),
            },
            Span::new(5, 5),
        );
        let text = render_text("f.dg", source, std::slice::from_ref(&error));
        assert_eq!(
            text,
            "f.dg:1:6: error[EXPECTED_TOKEN]: expected `;` after statement, found `y`\n  |\n1 | x = 1\n  |      ^\n"
        );
        let json = render_json("f.dg", source, std::slice::from_ref(&error));
        assert!(json.contains("\"code\": \"EXPECTED_TOKEN\""));
        assert!(json.contains("\"line\": 1"));
        assert!(json.contains("\"column\": 6"));
    }

    #[test]
    fn long_lines_are_windowed_around_the_caret() {
        let source = format!("x = \"{}\" +;", "a".repeat(1000));
        let error = ParseError::new(ParseErrorKind::MissingCatch, Span::new(1007, 1008));
        let text = render_text("f.dg", &source, &[error]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("1 | ...aaa"), "{text}");
        assert!(lines[2].len() < 200);
        let caret_position = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret_position..caret_position + 1], "+");
    }
}

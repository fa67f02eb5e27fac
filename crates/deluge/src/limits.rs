//! Limits a run enforces on itself. Every limit error names the statement where it
//! tripped (see [`crate::error::Error::LimitExceeded`]). Wall time is the one limit the VM
//! cannot see: the driver checks it whenever the run hands back control (at every effect
//! and at every [`crate::vm::Step::Yield`], which comes at least every
//! [`Limits::statements_per_slice`] statements).

use serde::{Deserialize, Serialize};

/// The limits of one run. `Default` gives Zoho CRM's figures where Zoho publishes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Statements executed per run; each loop iteration counts its statements again.
    /// Zoho CRM's "lines of execution" limit is 200,000.
    pub max_statements: u64,
    /// Depth of nested calls to stored functions (`standalone.fn(...)`); Zoho allows 75.
    pub max_call_depth: u32,
    /// Effects (HTTP requests, integration tasks, mails, calls, clock reads) per run.
    pub max_effects: u32,
    /// Largest text value a run may build, in bytes (Zoho's text functions take 300 KB;
    /// we allow more because API responses are often larger).
    pub max_text_bytes: usize,
    /// Total bytes of `info` output per run.
    pub max_info_bytes: usize,
    /// Total elements across all lists and maps a run may hold at once.
    pub max_collection_elements: usize,
    /// The run yields to its driver at least this often (in statements) so that the
    /// driver can check the wall clock and share the thread.
    pub statements_per_slice: u64,
    /// Wall time per run in milliseconds, enforced by the driver, not the VM.
    pub max_wall_time_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_statements: 200_000,
            max_call_depth: 75,
            max_effects: 1_000,
            max_text_bytes: 16 * 1024 * 1024,
            max_info_bytes: 1024 * 1024,
            max_collection_elements: 2_000_000,
            statements_per_slice: 20_000,
            max_wall_time_ms: 60_000,
        }
    }
}

/// Which limit a run hit; part of [`crate::error::Error::LimitExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Statements,
    CallDepth,
    Effects,
    TextSize,
    InfoOutput,
    CollectionSize,
    WallTime,
}

impl LimitKind {
    /// A sentence for the user: what was exceeded and how to avoid it.
    pub fn describe(self, limits: &Limits) -> String {
        match self {
            LimitKind::Statements => format!(
                "Number of statement execution limit exceeded: the function ran more than {} statements; reduce the work per run or raise the limit (--max-statements)",
                limits.max_statements
            ),
            LimitKind::CallDepth => format!(
                "Function calls are nested more than {} deep; check for recursion between functions",
                limits.max_call_depth
            ),
            LimitKind::Effects => format!(
                "The function performed more than {} requests, tasks, mails or calls in one run",
                limits.max_effects
            ),
            LimitKind::TextSize => {
                format!("A text value grew beyond {} bytes", limits.max_text_bytes)
            }
            LimitKind::InfoOutput => format!(
                "The function's info output grew beyond {} bytes",
                limits.max_info_bytes
            ),
            LimitKind::CollectionSize => format!(
                "Lists and maps grew beyond {} elements in total",
                limits.max_collection_elements
            ),
            LimitKind::WallTime => format!(
                "The function ran longer than {} ms",
                limits.max_wall_time_ms
            ),
        }
    }
}

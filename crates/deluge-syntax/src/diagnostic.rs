//! Rendering of parse errors (placeholder, completed below).

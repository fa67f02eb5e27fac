//! The Deluge runtime: values, built-in functions, the compiler from syntax tree to
//! slot-resolved code, and the VM that runs it step by step, stopping at every effect.
//! This crate performs no IO and never panics on any input.

pub mod builtins;
pub mod value;

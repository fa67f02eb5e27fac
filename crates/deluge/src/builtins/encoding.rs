//! Encoding functions.
use super::BuiltinError;
use super::arguments::Call;
use crate::value::{FileValue, Value};

pub(crate) fn function(_call: &mut Call<'_>, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}
pub(crate) fn file_method(_call: &mut Call<'_>, _file: &FileValue, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

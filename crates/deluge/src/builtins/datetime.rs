//! Date-time methods.
use super::BuiltinError;
use super::arguments::Call;
use crate::value::Value;

pub(crate) fn function(_call: &mut Call<'_>, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}
pub(crate) fn method(_call: &mut Call<'_>, _receiver: &Value, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

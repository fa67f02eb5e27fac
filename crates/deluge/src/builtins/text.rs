//! Text methods.
use super::BuiltinError;
use super::arguments::Call;
use crate::value::Value;

pub(crate) fn method(_call: &mut Call<'_>, _text: &str, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

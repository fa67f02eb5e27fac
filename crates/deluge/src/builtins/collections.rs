//! List, map and collection methods.
use super::BuiltinError;
use super::arguments::Call;
use crate::value::{ListId, MapId, Value};

pub(crate) fn function(_call: &mut Call<'_>, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}
pub(crate) fn list_method(_call: &mut Call<'_>, _id: ListId, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}
pub(crate) fn map_method(_call: &mut Call<'_>, _id: MapId, _name: &str) -> Option<Result<Value, BuiltinError>> {
    None
}

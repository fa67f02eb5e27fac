//! XML text: `executeXPath` and `toXmlList`.
use super::BuiltinError;
use super::arguments::Call;
use crate::value::Value;

pub(crate) fn execute_xpath(call: &mut Call<'_>, _text: &str) -> Result<Value, BuiltinError> {
    Err(call.invalid("not implemented yet"))
}

pub(crate) fn to_xml_list(call: &mut Call<'_>, _text: &str) -> Result<Value, BuiltinError> {
    Err(call.invalid("not implemented yet"))
}

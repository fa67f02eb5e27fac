//! Encoding and hashing (reference §11.8): URL encoding, base64, hex, MD5/SHA hashes and
//! HMAC signatures (`zoho.encryption.*` and the global forms), and file methods.

use base64::Engine;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::arguments::Call;
use super::{BuiltinError, BuiltinErrorKind};
use crate::value::{FileValue, Value};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Encoding functions, called with the input first. `name` has any `zoho.encryption.`
/// prefix removed.
pub(crate) fn function(call: &mut Call<'_>, name: &str) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "encodeurl" | "urlencode" => url_encode(call),
        "decodeurl" | "urldecode" => url_decode(call),
        "base64encode" => base64_encode(call),
        "base64decode" => base64_decode(call),
        "md5" => hash(call, Algorithm::Md5, Output::Hex),
        "sha1" => hash(call, Algorithm::Sha1, Output::Base64),
        "sha256" => hash(call, Algorithm::Sha256, Output::Base64),
        "sha512" => hash(call, Algorithm::Sha512, Output::Base64),
        "hmacsha1" => hmac(call, Algorithm::Sha1),
        "hmacsha256" => hmac(call, Algorithm::Sha256),
        "hmacsha512" => hmac(call, Algorithm::Sha512),
        "hmacmd5" => hmac(call, Algorithm::Md5),
        _ => return None,
    })
}

/// The same functions called as methods on text (`s.base64Encode()`).
pub(crate) fn text_method(
    call: &mut Call<'_>,
    text: &str,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    if !matches!(
        name,
        "encodeurl"
            | "urlencode"
            | "decodeurl"
            | "urldecode"
            | "base64encode"
            | "base64decode"
            | "md5"
            | "sha1"
            | "sha256"
            | "sha512"
    ) {
        return None;
    }
    let mut arguments = Vec::with_capacity(call.arguments.len() + 1);
    arguments.push(Value::text(text));
    arguments.extend_from_slice(call.arguments);
    let mut inner = Call::new(call.heap, &Value::Null, call.name, &arguments);
    function(&mut inner, name)
}

/// The input of an encoding function as bytes: text as UTF-8, a file's content, numbers
/// printed, maps and lists as JSON text (scripts write `urlEncode({"data": list})`).
fn input_bytes(call: &Call<'_>, index: usize) -> Result<Option<Vec<u8>>, BuiltinError> {
    Ok(match call.argument(index) {
        Value::Null => None,
        Value::Text(text) => Some(text.as_bytes().to_vec()),
        Value::File(file) => Some(file.bytes.clone()),
        Value::Map(_) | Value::List(_) => {
            Some(call.heap.to_json_text(call.argument(index))?.into_bytes())
        }
        other => Some(call.heap.display(other).into_bytes()),
    })
}

/// Percent-encoding as Java's `URLEncoder` does it: letters, digits and `.-*_` stay,
/// a space becomes `+`, everything else is `%XX` of its UTF-8 bytes.
pub(crate) fn encode_url_text(bytes: &[u8]) -> String {
    let mut output = String::with_capacity(bytes.len() * 3);
    for byte in bytes {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                output.push(char::from(*byte))
            }
            b' ' => output.push('+'),
            other => output.push_str(&format!("%{other:02X}")),
        }
    }
    output
}

fn url_encode(call: &Call<'_>) -> Result<Value, BuiltinError> {
    call.count(1, 2)?;
    match input_bytes(call, 0)? {
        None => Ok(Value::Null),
        Some(bytes) => call.text_result(encode_url_text(&bytes)),
    }
}

fn url_decode(call: &Call<'_>) -> Result<Value, BuiltinError> {
    call.count(1, 2)?;
    let Value::Text(text) = call.argument(0) else {
        // Zoho documents null for arguments that are not text.
        return Ok(Value::Null);
    };
    let plus_as_space = text.as_str().replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&plus_as_space).decode_utf8_lossy();
    Ok(Value::text(decoded.into_owned()))
}

fn base64_encode(call: &Call<'_>) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    match input_bytes(call, 0)? {
        None => Ok(Value::Null),
        Some(bytes) => call.text_result(BASE64.encode(bytes)),
    }
}

fn base64_decode(call: &Call<'_>) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let text = match call.argument(0) {
        Value::Null => return Ok(Value::Null),
        _ => call.text(0)?,
    };
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = BASE64
        .decode(cleaned.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('='))
        })
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.trim_end_matches('='))
        })
        .map_err(|_| {
            BuiltinError::new(
                BuiltinErrorKind::InvalidArgument,
                format!(
                    "base64Decode: {} is not base64 text",
                    call.heap.describe(call.argument(0))
                ),
            )
        })?;
    Ok(Value::text(String::from_utf8_lossy(&decoded).into_owned()))
}

#[derive(Clone, Copy)]
enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Clone, Copy)]
enum Output {
    Hex,
    Base64,
    Binary,
}

fn output_argument(call: &Call<'_>, index: usize, default: Output) -> Result<Output, BuiltinError> {
    if !call.has(index) || call.argument(index).is_null() {
        return Ok(default);
    }
    let name = call.text(index)?;
    match name.to_ascii_lowercase().as_str() {
        "hex" => Ok(Output::Hex),
        "base64" => Ok(Output::Base64),
        "binary" => Ok(Output::Binary),
        _ => Err(BuiltinError::new(
            BuiltinErrorKind::InvalidArgument,
            format!(
                "{}: the output type must be \"base64\", \"hex\" or \"binary\", found \"{name}\"",
                call.display_name()
            ),
        )),
    }
}

fn render(digest: &[u8], output: Output) -> Value {
    Value::text(match output {
        Output::Hex => hex::encode(digest),
        Output::Base64 => BASE64.encode(digest),
        // Each byte as one character (ISO-8859-1), as Java's binary string.
        Output::Binary => digest.iter().map(|byte| char::from(*byte)).collect(),
    })
}

fn digest(algorithm: Algorithm, bytes: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Md5 => Md5::digest(bytes).to_vec(),
        Algorithm::Sha1 => Sha1::digest(bytes).to_vec(),
        Algorithm::Sha256 => Sha256::digest(bytes).to_vec(),
        Algorithm::Sha512 => Sha512::digest(bytes).to_vec(),
    }
}

/// `md5(text, [output])`, `sha256(text, [output])`, ...: MD5 defaults to hex, the SHA
/// family to base64 (as Zoho's HMAC functions do).
fn hash(call: &Call<'_>, algorithm: Algorithm, default: Output) -> Result<Value, BuiltinError> {
    call.count(1, 2)?;
    let Some(bytes) = input_bytes(call, 0)? else {
        return Ok(Value::Null);
    };
    let output = output_argument(call, 1, default)?;
    Ok(render(&digest(algorithm, &bytes), output))
}

/// `hmacsha256(key, message, [output])`: key first, as Zoho documents; base64 by default.
fn hmac(call: &Call<'_>, algorithm: Algorithm) -> Result<Value, BuiltinError> {
    call.count(2, 3)?;
    let Some(key) = input_bytes(call, 0)? else {
        return Err(call.wrong_type(0, "a text key"));
    };
    let message = input_bytes(call, 1)?.unwrap_or_default();
    let output = output_argument(call, 2, Output::Base64)?;
    let signature = match algorithm {
        Algorithm::Md5 => mac::<Hmac<Md5>>(&key, &message),
        Algorithm::Sha1 => mac::<Hmac<Sha1>>(&key, &message),
        Algorithm::Sha256 => mac::<Hmac<Sha256>>(&key, &message),
        Algorithm::Sha512 => mac::<Hmac<Sha512>>(&key, &message),
    };
    Ok(render(&signature, output))
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Methods of FILE values.
pub(crate) fn file_method(
    call: &mut Call<'_>,
    file: &FileValue,
    name: &str,
) -> Option<Result<Value, BuiltinError>> {
    Some(match name {
        "getfilename" | "getname" | "tostring" | "totext" => {
            call.count(0, 0).map(|()| Value::text(&file.name))
        }
        "getfilecontent" | "getcontent" | "tofilecontent" => call
            .count(0, 0)
            .map(|()| Value::text(String::from_utf8_lossy(&file.bytes).into_owned())),
        "getfilesize" | "size" | "length" => call
            .count(0, 0)
            .map(|()| Value::Long(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))),
        "getfiletype" | "getcontenttype" => {
            call.count(0, 0).map(|()| Value::text(&file.content_type))
        }
        "base64encode" => call
            .count(0, 0)
            .and_then(|()| call.text_result(BASE64.encode(&file.bytes))),
        _ => return None,
    })
}

/// A content type guessed from a file name's extension.
pub(crate) fn content_type_for(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

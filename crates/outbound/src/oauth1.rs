//! OAuth 1.0a request signing (RFC 5849 section 3): the signature base string, HMAC-SHA1,
//! HMAC-SHA256 and PLAINTEXT signatures, and the `Authorization: OAuth ...` header.
//!
//! Used by the engine for every request through an OAuth 1 connection (the token and its
//! secret never leave this process: only the signature travels) and by the connections crate
//! for the temporary-credential and token-credential requests of the authorization flow.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use url::Url;

pub use trestle_services::OAuth1SignatureMethod;

use crate::credential::SecretString;

/// Everything needed to sign requests for one OAuth 1 client (and, once authorized, one
/// resource owner's token credentials).
#[derive(Clone)]
pub struct OAuth1Signer {
    /// The client identifier (`oauth_consumer_key`); not a secret.
    pub consumer_key: String,
    pub consumer_secret: SecretString,
    /// Temporary or token credentials; absent for the temporary-credential request.
    pub token: Option<SecretString>,
    pub token_secret: Option<SecretString>,
    pub signature_method: OAuth1SignatureMethod,
}

/// The protocol parameters of one signed request, before the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth1Nonce {
    pub nonce: String,
    pub timestamp: u64,
}

impl OAuth1Nonce {
    /// A random 32-character nonce and the current time.
    pub fn fresh() -> OAuth1Nonce {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut random = rand::thread_rng();
        let nonce = (0..32)
            .map(|_| char::from(ALPHABET[random.gen_range(0..ALPHABET.len())]))
            .collect();
        let timestamp = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
        OAuth1Nonce { nonce, timestamp }
    }
}

impl OAuth1Signer {
    /// Whether this signer may only be used over https (PLAINTEXT sends the secrets).
    pub fn requires_https(&self) -> bool {
        self.signature_method == OAuth1SignatureMethod::Plaintext
    }

    /// The `Authorization` header value for a request. `form_parameters` are the decoded pairs
    /// of an `application/x-www-form-urlencoded` body (empty for any other body);
    /// `extra_protocol_parameters` are `oauth_callback` or `oauth_verifier` during the flow.
    pub fn authorization_header(
        &self,
        method: &str,
        url: &Url,
        form_parameters: &[(String, String)],
        extra_protocol_parameters: &[(&str, &str)],
    ) -> SecretString {
        self.authorization_header_with(
            method,
            url,
            form_parameters,
            extra_protocol_parameters,
            &OAuth1Nonce::fresh(),
        )
    }

    /// [`OAuth1Signer::authorization_header`] with a given nonce and timestamp (tests, RFC
    /// examples).
    pub fn authorization_header_with(
        &self,
        method: &str,
        url: &Url,
        form_parameters: &[(String, String)],
        extra_protocol_parameters: &[(&str, &str)],
        nonce: &OAuth1Nonce,
    ) -> SecretString {
        let protocol = self.protocol_parameters(extra_protocol_parameters, nonce);
        let signature = self.signature(method, url, form_parameters, &protocol);
        let mut header = String::from("OAuth ");
        let mut first = true;
        for (name, value) in protocol
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(std::iter::once(("oauth_signature", signature.as_str())))
        {
            if !first {
                header.push_str(", ");
            }
            first = false;
            header.push_str(&percent_encode(name));
            header.push_str("=\"");
            header.push_str(&percent_encode(value));
            header.push('"');
        }
        SecretString::new(header)
    }

    /// The signature of a request whose protocol parameters (without `oauth_signature`) are
    /// `protocol`. A verifier recomputes it from the parameters it received.
    pub fn signature(
        &self,
        method: &str,
        url: &Url,
        form_parameters: &[(String, String)],
        protocol: &[(String, String)],
    ) -> String {
        let mut parameters: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        parameters.extend(form_parameters.iter().cloned());
        parameters.extend(
            protocol
                .iter()
                .filter(|(name, _)| name != "oauth_signature" && name != "realm")
                .cloned(),
        );
        let base = signature_base_string(method, url, &parameters);
        sign(
            self.signature_method,
            &base,
            self.consumer_secret.expose_secret(),
            self.token_secret
                .as_ref()
                .map(|secret| secret.expose_secret())
                .unwrap_or_default(),
        )
    }

    fn protocol_parameters(
        &self,
        extra_protocol_parameters: &[(&str, &str)],
        nonce: &OAuth1Nonce,
    ) -> Vec<(String, String)> {
        let mut protocol = vec![("oauth_consumer_key".to_owned(), self.consumer_key.clone())];
        if let Some(token) = &self.token {
            protocol.push(("oauth_token".to_owned(), token.expose_secret().to_owned()));
        }
        protocol.push((
            "oauth_signature_method".to_owned(),
            self.signature_method.as_str().to_owned(),
        ));
        protocol.push(("oauth_timestamp".to_owned(), nonce.timestamp.to_string()));
        protocol.push(("oauth_nonce".to_owned(), nonce.nonce.clone()));
        protocol.push(("oauth_version".to_owned(), "1.0".to_owned()));
        for (name, value) in extra_protocol_parameters {
            protocol.push(((*name).to_owned(), (*value).to_owned()));
        }
        protocol
    }

    /// Secret values to redact: both secrets and the token.
    pub fn secret_values(&self) -> Vec<String> {
        [
            Some(&self.consumer_secret),
            self.token.as_ref(),
            self.token_secret.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|secret| secret.expose_secret().to_owned())
        .collect()
    }
}

impl fmt::Debug for OAuth1Signer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OAuth1Signer")
            .field("consumer_key", &self.consumer_key)
            .field("signature_method", &self.signature_method.as_str())
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

/// RFC 5849 section 3.6: everything but ALPHA, DIGIT, `-`, `.`, `_` and `~` is `%XX` with
/// upper-case hex digits, on the UTF-8 bytes.
const OAUTH_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encoding of RFC 5849 section 3.6.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, OAUTH_ENCODE_SET).to_string()
}

/// The signature base string (RFC 5849 section 3.4.1). `parameters` are every decoded
/// name/value pair to sign: the query's, the form body's and the protocol parameters (without
/// `oauth_signature` and `realm`).
pub fn signature_base_string(method: &str, url: &Url, parameters: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = parameters
        .iter()
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_string_uri(url)),
        percent_encode(&normalized)
    )
}

/// RFC 5849 section 3.4.1.2: scheme and host in lower case, the port only when it is not the
/// scheme's default, the path (`/` when empty), no query and no fragment.
pub fn base_string_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    format!("{}://{authority}{path}", url.scheme().to_ascii_lowercase())
}

/// The signature of a base string: HMAC over it keyed with `consumer_secret&token_secret`
/// (each percent-encoded), base64; for PLAINTEXT the key itself.
pub fn sign(
    method: OAuth1SignatureMethod,
    base_string: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    match method {
        OAuth1SignatureMethod::HmacSha1 => {
            // HMAC takes keys of any length; new_from_slice cannot fail for it.
            match Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()) {
                Ok(mut mac) => {
                    mac.update(base_string.as_bytes());
                    BASE64.encode(mac.finalize().into_bytes())
                }
                Err(_) => String::new(),
            }
        }
        OAuth1SignatureMethod::HmacSha256 => {
            match Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) {
                Ok(mut mac) => {
                    mac.update(base_string.as_bytes());
                    BASE64.encode(mac.finalize().into_bytes())
                }
                Err(_) => String::new(),
            }
        }
        OAuth1SignatureMethod::Plaintext => key,
    }
}

/// The parameters of an `Authorization: OAuth ...` header, decoded (for verifiers and tests).
/// `None` when the value is not an OAuth header.
pub fn parse_authorization_header(value: &str) -> Option<Vec<(String, String)>> {
    let rest = value.trim().strip_prefix("OAuth ")?;
    let mut parameters = Vec::new();
    for part in rest.split(',') {
        let (name, quoted) = part.trim().split_once('=')?;
        let inner = quoted.trim().strip_prefix('"')?.strip_suffix('"')?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .ok()
        };
        parameters.push((decode(name.trim())?, decode(inner)?));
    }
    Some(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(
        consumer_key: &str,
        consumer_secret: &str,
        token: Option<(&str, &str)>,
        method: OAuth1SignatureMethod,
    ) -> OAuth1Signer {
        OAuth1Signer {
            consumer_key: consumer_key.to_owned(),
            consumer_secret: SecretString::new(consumer_secret.to_owned()),
            token: token.map(|(token, _)| SecretString::new(token.to_owned())),
            token_secret: token.map(|(_, secret)| SecretString::new(secret.to_owned())),
            signature_method: method,
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// RFC 5849 section 3.4.1.1: the example request and its base string, byte for byte
    /// (query with an encoded `=`, an empty value, `+` in the form body, repeated names).
    #[test]
    fn base_string_matches_rfc_5849_section_3_4_1_1() {
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let mut parameters: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        parameters.extend(url::form_urlencoded::parse(b"c2&a3=2+q").into_owned());
        parameters.extend(pairs(&[
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
        ]));
        assert_eq!(
            signature_base_string("POST", &url, &parameters),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    /// RFC 5849 section 3.4.1.2: default ports dropped, others kept, host lower-cased.
    #[test]
    fn base_string_uri_follows_rfc_5849_section_3_4_1_2() {
        let uri = |text: &str| base_string_uri(&Url::parse(text).unwrap());
        assert_eq!(
            uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            uri("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
        assert_eq!(uri("https://api.example.com"), "https://api.example.com/");
    }

    /// RFC 5849 section 1.2: the three signed requests of the photo-printing example
    /// (temporary credentials, token credentials, protected resource), HMAC-SHA1.
    /// The RFC's requests carry no `oauth_version`, so the signature is computed over exactly
    /// the parameters it lists.
    #[test]
    fn signatures_match_rfc_5849_section_1_2() {
        let client = signer(
            "dpf43f3p2l4k3l03",
            "kd94hf93k423kf44",
            None,
            OAuth1SignatureMethod::HmacSha1,
        );
        let initiate = client.signature(
            "POST",
            &Url::parse("https://photos.example.net/initiate").unwrap(),
            &[],
            &pairs(&[
                ("realm", "Photos"),
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131200"),
                ("oauth_nonce", "wIjqoS"),
                ("oauth_callback", "http://printer.example.com/ready"),
            ]),
        );
        assert_eq!(initiate, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");

        let temporary = signer(
            "dpf43f3p2l4k3l03",
            "kd94hf93k423kf44",
            Some(("hh5s93j4hdidpola", "hdhd0244k9j7ao03")),
            OAuth1SignatureMethod::HmacSha1,
        );
        let token = temporary.signature(
            "POST",
            &Url::parse("https://photos.example.net/token").unwrap(),
            &[],
            &pairs(&[
                ("realm", "Photos"),
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_token", "hh5s93j4hdidpola"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "walatlh"),
                ("oauth_verifier", "hfdp7dh39dks9884"),
            ]),
        );
        assert_eq!(token, "gKgrFCywp7rO0OXSjdot/IHF7IU=");

        let authorized = signer(
            "dpf43f3p2l4k3l03",
            "kd94hf93k423kf44",
            Some(("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")),
            OAuth1SignatureMethod::HmacSha1,
        );
        let resource = authorized.signature(
            "GET",
            &Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original")
                .unwrap(),
            &[],
            &pairs(&[
                ("realm", "Photos"),
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_token", "nnch734d00sl2jdk"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131202"),
                ("oauth_nonce", "chapoH"),
            ]),
        );
        assert_eq!(resource, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    }

    #[test]
    fn hmac_sha256_and_plaintext_signatures() {
        // HMAC-SHA256 of the RFC 5849 section 1.2 resource request, computed independently
        // (Python: base64(hmac.new(b"kd94hf93k423kf44&pfkkdhi9sl3r4s00", base, sha256))).
        let base = "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal";
        assert_eq!(
            sign(
                OAuth1SignatureMethod::HmacSha256,
                base,
                "kd94hf93k423kf44",
                "pfkkdhi9sl3r4s00"
            ),
            HMAC_SHA256_EXPECTED
        );
        // PLAINTEXT: the encoded secrets joined by `&` (RFC 5849 section 3.4.4).
        assert_eq!(
            sign(
                OAuth1SignatureMethod::Plaintext,
                base,
                "kd94hf93k423kf44",
                "a b&c"
            ),
            "kd94hf93k423kf44&a%20b%26c"
        );
        assert_eq!(
            sign(
                OAuth1SignatureMethod::Plaintext,
                base,
                "kd94hf93k423kf44",
                ""
            ),
            "kd94hf93k423kf44&"
        );
    }

    const HMAC_SHA256_EXPECTED: &str = "HtMwoX2zenlFjgGg/SNEoKEQmL7CzxYFEKzs7er044Y=";

    #[test]
    fn the_header_round_trips_and_verifies() {
        let client = signer(
            "key one",
            "secret/one",
            Some(("token+1", "token secret")),
            OAuth1SignatureMethod::HmacSha256,
        );
        let url = Url::parse("https://api.example.com/1/cards?name=a%20b&x=1").unwrap();
        let form = pairs(&[("desc", "é & ü")]);
        let nonce = OAuth1Nonce {
            nonce: "abc".to_owned(),
            timestamp: 1_700_000_000,
        };
        let header = client.authorization_header_with("post", &url, &form, &[], &nonce);
        let parameters = parse_authorization_header(header.expose_secret()).unwrap();
        let get = |name: &str| {
            parameters
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap()
        };
        assert_eq!(get("oauth_consumer_key"), "key one");
        assert_eq!(get("oauth_token"), "token+1");
        assert_eq!(get("oauth_signature_method"), "HMAC-SHA256");
        assert_eq!(get("oauth_version"), "1.0");
        let received_signature = get("oauth_signature");
        let recomputed = client.signature("POST", &url, &form, &parameters);
        assert_eq!(received_signature, recomputed);
        // Any change to what was signed changes the signature.
        let other_url = Url::parse("https://api.example.com/1/cards?name=a%20b&x=2").unwrap();
        assert_ne!(
            client.signature("POST", &other_url, &form, &parameters),
            recomputed
        );
        assert_ne!(client.signature("POST", &url, &[], &parameters), recomputed);
        let debug = format!("{client:?}");
        assert!(!debug.contains("secret/one") && !debug.contains("token+1"));
    }

    #[test]
    fn nonces_are_fresh() {
        let first = OAuth1Nonce::fresh();
        let second = OAuth1Nonce::fresh();
        assert_eq!(first.nonce.len(), 32);
        assert_ne!(first.nonce, second.nonce);
        assert!(first.timestamp > 1_600_000_000);
    }
}

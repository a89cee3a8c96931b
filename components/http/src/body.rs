//! Request bodies: content-type checks, strict JSON objects and URL-encoded forms, read
//! into named string [`Fields`] so a bad field is reported by its name.

use std::collections::BTreeMap;
use std::fmt;

use itsor_accounts::AuthError;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::{ApiError, Body, Request};

/// The kinds of body a route may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `application/json` only.
    Json,
    /// `application/json` or `application/x-www-form-urlencoded`.
    JsonOrForm,
    /// `application/json`, or no body at all (no fields).
    JsonOrEmpty,
}

/// The top-level members of a JSON object body, or the pairs of a form.
#[derive(Debug, Default)]
pub struct Fields {
    members: BTreeMap<String, serde_json::Value>,
    form: bool,
}

impl Fields {
    /// Reads `request`'s body as `accept` allows.
    pub fn read(request: &Request, accept: Accept) -> Result<Fields, ApiError> {
        let bytes: &[u8] = match &request.body {
            Body::Complete(bytes) => bytes,
            Body::TooLarge => return Err(ApiError::too_large()),
            Body::Unread => &[],
        };
        let expected = match accept {
            Accept::Json | Accept::JsonOrEmpty => "application/json",
            Accept::JsonOrForm => "application/json or application/x-www-form-urlencoded",
        };
        match media_type(request).as_deref() {
            Some("application/json") => Fields::json(bytes),
            Some(FORM) if accept == Accept::JsonOrForm => Fields::form(bytes),
            None if accept == Accept::JsonOrEmpty && bytes.is_empty() => Ok(Fields::default()),
            _ => Err(ApiError::unsupported_media_type(expected)),
        }
    }

    fn json(bytes: &[u8]) -> Result<Fields, ApiError> {
        serde_json::from_slice::<StrictObject>(bytes)
            .map(|object| Fields { members: object.0, form: false })
            .map_err(|e| ApiError::bad_body(json_problem(&e)))
    }

    fn form(bytes: &[u8]) -> Result<Fields, ApiError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::bad_body("Form body is not valid UTF-8"))?;
        Fields::urlencoded(text)
    }

    /// The pairs of a query string or form (`a=1&b=x+y`); a repeated key is an error.
    pub fn urlencoded(text: &str) -> Result<Fields, ApiError> {
        let mut fields = BTreeMap::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (percent_decode(key)?, percent_decode(value)?);
            if fields.insert(key.clone(), serde_json::Value::String(value)).is_some() {
                return Err(ApiError::bad_body(format!("Parameter '{key}' appears more than once")));
            }
        }
        Ok(Fields { members: fields, form: true })
    }

    /// Whether the fields came from a URL-encoded form (or query) rather than JSON.
    pub fn is_form(&self) -> bool {
        self.form
    }

    /// The required string field `name`.
    pub fn string(&self, name: &str) -> Result<&str, AuthError> {
        self.optional_string(name)?.ok_or_else(|| AuthError::invalid(name, FIELD_REQUIRED))
    }

    /// The optional string field `name` (`null` counts as absent).
    pub fn optional_string(&self, name: &str) -> Result<Option<&str>, AuthError> {
        match self.members.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AuthError::invalid(name, "must be a string")),
        }
    }
}

impl Fields {
    /// The optional boolean field `name` (`null` counts as absent).
    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, AuthError> {
        match self.members.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(AuthError::invalid(name, "must be true or false")),
        }
    }

    /// A string field that may be absent (`None`), `null` (`Some(None)`) or a string.
    pub fn nullable_string(&self, name: &str) -> Result<Option<Option<&str>>, AuthError> {
        match self.members.get(name) {
            None => Ok(None),
            Some(serde_json::Value::Null) => Ok(Some(None)),
            Some(serde_json::Value::String(s)) => Ok(Some(Some(s))),
            Some(_) => Err(AuthError::invalid(name, "must be a string or null")),
        }
    }
}

/// Why a field is refused: the body lacks it.
pub const FIELD_REQUIRED: &str = "field required";

/// The media type of URL-encoded forms.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The lower-cased media type of the request, without parameters.
pub fn media_type(request: &Request) -> Option<String> {
    let value = request.header("content-type")?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

fn json_problem(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => format!("JSON body must be an object without repeated keys ({err})"),
        Category::Syntax | Category::Eof | Category::Io => "Malformed JSON body".to_owned(),
    }
}

/// A JSON object that refuses repeated keys (serde_json would keep the last one silently).
struct StrictObject(BTreeMap<String, serde_json::Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StrictObject, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictObject, A::Error> {
                let mut members = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if members.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!("key '{key}' is repeated")));
                    }
                    members.insert(key, value);
                }
                Ok(StrictObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn percent_decode(text: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_body("Malformed form encoding");
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(b) = input.next() {
        bytes.push(match b {
            b'+' => b' ',
            b'%' => {
                let hi = input.next().and_then(|h| (h as char).to_digit(16)).ok_or_else(bad)?;
                let lo = input.next().and_then(|l| (l as char).to_digit(16)).ok_or_else(bad)?;
                (hi * 16 + lo) as u8
            }
            other => other,
        });
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &[u8]) -> Request {
        Request {
            method: "POST".into(),
            path: "/".into(),
            query: None,
            headers: vec![("content-type".into(), content_type.as_bytes().to_vec())],
            body: Body::Complete(body.to_vec()),
        }
    }

    #[test]
    fn reads_json_objects_and_names_bad_fields() {
        let fields = Fields::read(&request("application/json; charset=utf-8", br#"{"a":"x","n":5}"#), Accept::Json)
            .expect("reads");
        assert_eq!(fields.string("a"), Ok("x"));
        assert_eq!(fields.string("missing"), Err(AuthError::invalid("missing", "field required")));
        assert_eq!(fields.string("n"), Err(AuthError::invalid("n", "must be a string")));
    }

    #[test]
    fn rejects_malformed_repeated_and_non_object_json() {
        for body in [&b"{"[..], b"[1,2]", br#"{"a":"x","a":"y"}"#, b"\xff\xfe", b""] {
            let err = Fields::read(&request("application/json", body), Accept::Json).expect_err("rejects");
            assert_eq!((err.status, err.code), (400, "INVALID_BODY"), "{body:?}");
        }
    }

    #[test]
    fn reads_forms_only_where_accepted() {
        let req = request("application/x-www-form-urlencoded", b"username=a%40b.co&password=p+w%21");
        let fields = Fields::read(&req, Accept::JsonOrForm).expect("reads");
        assert_eq!(fields.string("username"), Ok("a@b.co"));
        assert_eq!(fields.string("password"), Ok("p w!"));
        assert_eq!(Fields::read(&req, Accept::Json).expect_err("json only").status, 415);
        let bad = request("application/x-www-form-urlencoded", b"a=%zz");
        assert_eq!(Fields::read(&bad, Accept::JsonOrForm).expect_err("bad escape").status, 400);
    }

    #[test]
    fn wrong_or_missing_content_type_is_415_and_oversize_is_413() {
        assert_eq!(Fields::read(&request("text/plain", b"{}"), Accept::Json).expect_err("415").status, 415);
        let mut req = request("application/json", b"{}");
        req.headers.clear();
        assert_eq!(Fields::read(&req, Accept::Json).expect_err("415").status, 415);
        req.body = Body::TooLarge;
        assert_eq!(Fields::read(&req, Accept::Json).expect_err("413").status, 413);
    }

    #[test]
    fn only_post_put_and_patch_take_a_body_and_an_unread_one_is_empty() {
        for method in ["POST", "PUT", "PATCH"] {
            assert!(Body::is_taken_by(method), "{method}");
        }
        for method in ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT", "post"] {
            assert!(!Body::is_taken_by(method), "{method}");
        }
        let mut req = request("application/json", b"");
        req.body = Body::Unread;
        let err = Fields::read(&req, Accept::Json).expect_err("an empty body is not an object");
        assert_eq!((err.status, err.code), (400, "INVALID_BODY"));
    }
}

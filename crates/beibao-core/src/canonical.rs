//! Canonical JSON and SHA-256 content hashes.
//!
//! The canonical form is the JSON of RFC 8785 (JCS) restricted to what our records contain: object
//! keys sorted by their UTF-8 bytes (equal to JCS's UTF-16 order for the ASCII keys we use), no
//! insignificant whitespace, strings escaped as serde_json does (the same set JCS escapes), and
//! integers only. Floating-point numbers are refused, because their text form is where platforms
//! disagree: positions are stored as integer micro-degrees instead. The same value therefore hashes
//! the same on every run, device and server.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The value could not be turned into JSON.
    #[error("value cannot be serialised: {0}")]
    Serialize(String),
    /// A floating-point number was found at this path.
    #[error("canonical JSON allows integers only; found a floating-point number at {0}")]
    Float(String),
}

/// The canonical JSON text of a value.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, CanonicalError> {
    let value = serde_json::to_value(value).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
    let mut out = String::new();
    write(&value, &mut Vec::new(), &mut out)?;
    Ok(out)
}

/// Whether `s` is a SHA-256 as this code writes it: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The op id an outbox op has unless it says otherwise: a UUID (version 8) made of the first 16
/// bytes of its payload's SHA-256 (hex). Tablet and server both derive it from the payload, so
/// in sync protocol v2 it does not travel (`beibao_sync::wire::PushRequestV2`).
pub fn derived_op_id(sha256_hex: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = sha256_hex.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    }
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// SHA-256 (lower-case hex) of the canonical JSON of a value.
pub fn content_hash<T: Serialize + ?Sized>(value: &T) -> Result<String, CanonicalError> {
    Ok(sha256_hex(to_canonical_json(value)?.as_bytes()))
}

/// One step of the path to a value, kept on a stack so a path is formatted only for an error.
enum Step<'a> {
    Index(usize),
    Key(&'a str),
}

fn path(steps: &[Step<'_>]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
        }
    }
    out
}

fn write<'a>(value: &'a Value, steps: &mut Vec<Step<'a>>, out: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&value.to_string()),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(CanonicalError::Float(path(steps)));
            }
            out.push_str(&n.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                steps.push(Step::Index(i));
                write(item, steps, out)?;
                steps.pop();
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                steps.push(Step::Key(key));
                write(&map[key], steps, out)?;
                steps.pop();
            }
            out.push('}');
        }
    }
    Ok(())
}

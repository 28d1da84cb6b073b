use beibao_core::canonical::{CanonicalError, content_hash, sha256_hex, to_canonical_json};
use serde_json::json;

#[test]
fn canonical_json_sorts_keys_and_drops_whitespace() {
    let a = json!({"b": 1, "a": {"d": [1, 2, {"z": null, "y": true}], "c": "王"}});
    assert_eq!(to_canonical_json(&a).expect("ok"), r#"{"a":{"c":"王","d":[1,2,{"y":true,"z":null}]},"b":1}"#);
    let b: serde_json::Value =
        serde_json::from_str(r#"{ "a" : { "d":[1,2,{"y":true,"z":null}], "c":"王" }, "b":1 }"#).expect("json");
    assert_eq!(content_hash(&a), content_hash(&b), "the same value hashes the same whatever its key order");
}

#[test]
fn canonical_json_escapes_control_characters_and_keeps_unicode() {
    let v = json!({"s": "引号\"\\\n\t\u{1}"});
    assert_eq!(to_canonical_json(&v).expect("ok"), "{\"s\":\"引号\\\"\\\\\\n\\t\\u0001\"}");
}

#[test]
fn floats_have_no_canonical_form() {
    let v = json!({"gps": {"lat": 34.98}});
    assert_eq!(to_canonical_json(&v), Err(CanonicalError::Float("$.gps.lat".into())));
    assert_eq!(to_canonical_json(&json!([1, -2, 3])).expect("integers are fine"), "[1,-2,3]");
}

#[test]
fn sha256_of_known_input() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "FIPS 180-2 test vector"
    );
}

//! Readers for `protocol/vectors/v1.json` and `v2.json` (schema in
//! `protocol/vectors/README.md`), shared by the wire tests here and the
//! codec's unit tests.

use serde_json::Value;

/// The committed vectors of protocol version 1.
pub const VECTORS_JSON: &str = include_str!("../../protocol/vectors/v1.json");

/// The committed vectors of what protocol version 2 adds.
pub const VECTORS_V2_JSON: &str = include_str!("../../protocol/vectors/v2.json");

/// The parsed version-1 vectors.
pub fn vectors() -> Value {
    serde_json::from_str(VECTORS_JSON).expect("v1.json is valid JSON")
}

/// Both files, parsed: version 1's, then what version 2 adds.
pub fn all_vectors() -> [Value; 2] {
    let v2 = serde_json::from_str(VECTORS_V2_JSON).expect("v2.json is valid JSON");
    [vectors(), v2]
}

/// A byte string: hex (spaces ignored), or an array of hex strings and
/// `{"repeat": hex, "count": n}` parts.
pub fn bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::String(hex) => decode_hex(hex),
        Value::Array(parts) => parts.iter().flat_map(part).collect(),
        other => panic!("not a byte string: {other}"),
    }
}

fn part(value: &Value) -> Vec<u8> {
    match value {
        Value::String(hex) => decode_hex(hex),
        Value::Object(repeat) => {
            let count = repeat["count"].as_u64().expect("count") as usize;
            decode_hex(repeat["repeat"].as_str().expect("repeat")).repeat(count)
        }
        other => panic!("not a byte part: {other}"),
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(|b| *b != b' ').collect();
    assert!(digits.len() % 2 == 0, "odd hex length: {hex}");
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ASCII hex");
            u8::from_str_radix(pair, 16).expect("hex digit")
        })
        .collect()
}

/// A u64 written as a decimal string.
pub fn u64_string(value: &Value) -> u64 {
    value
        .as_str()
        .expect("u64 as a decimal string")
        .parse()
        .expect("u64")
}

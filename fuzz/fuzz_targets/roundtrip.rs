//! Fuzz encode-then-decode: for an arbitrary request and arbitrary key and
//! value limits, the encoding decodes to the same request (or to the
//! rejection the limits demand), consumes exactly the encoding, and every
//! proper prefix of it is `NeedMore`.

#![no_main]

use arbitrary::Arbitrary;
use blink_store::protocol::{
    Decoded, Limits, Request, RequestError, decode_request, encode_request,
};
use libfuzzer_sys::fuzz_target;

/// A mirror of `Request` that `arbitrary` can derive.
#[derive(Arbitrary, Debug)]
enum Mirror<'a> {
    Ping,
    Hello(u8),
    Auth(&'a [u8]),
    Get(&'a [u8]),
    Set(&'a [u8], &'a [u8], u64),
    Del(&'a [u8]),
    Expire(&'a [u8], u64),
    Ttl(&'a [u8]),
    Stats,
    Add(&'a [u8], &'a [u8], u64),
    Replace(&'a [u8], &'a [u8], u64),
    Incr(&'a [u8], i64),
    Append(&'a [u8], &'a [u8]),
    Flush,
    Scan(u64, u16, &'a [u8]),
}

impl<'a> Mirror<'a> {
    fn request(&self) -> Request<'a> {
        match *self {
            Mirror::Ping => Request::Ping,
            Mirror::Hello(version) => Request::Hello { version },
            Mirror::Auth(token) => Request::Auth { token },
            Mirror::Get(key) => Request::Get { key },
            Mirror::Set(key, value, ttl_ms) => Request::Set { key, value, ttl_ms },
            Mirror::Del(key) => Request::Del { key },
            Mirror::Expire(key, ttl_ms) => Request::Expire { key, ttl_ms },
            Mirror::Ttl(key) => Request::Ttl { key },
            Mirror::Stats => Request::Stats,
            Mirror::Add(key, value, ttl_ms) => Request::Add { key, value, ttl_ms },
            Mirror::Replace(key, value, ttl_ms) => Request::Replace { key, value, ttl_ms },
            Mirror::Incr(key, delta) => Request::Incr { key, delta },
            Mirror::Append(key, suffix) => Request::Append { key, suffix },
            Mirror::Flush => Request::Flush,
            Mirror::Scan(cursor, count, prefix) => Request::Scan {
                cursor,
                count,
                prefix,
            },
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    request: Mirror<'a>,
    max_key_bytes: u16,
    max_value_bytes: u16,
}

fuzz_target!(|input: Input<'_>| {
    let request = input.request.request();
    // key_len is a u16: longer keys have no encoding (encode_request panics).
    if request
        .key()
        .is_some_and(|key| key.len() > usize::from(u16::MAX))
    {
        return;
    }
    let limits = Limits {
        max_frame_bytes: Limits::MAX_FRAME_BYTES_CEILING,
        max_key_bytes: u32::from(input.max_key_bytes),
        max_value_bytes: u32::from(input.max_value_bytes),
    };
    let mut wire = Vec::new();
    encode_request(&request, &mut wire);
    let frame_len = wire.len();
    let expected = match (request.key(), request.value()) {
        (Some(key), _) if key.len() > usize::from(input.max_key_bytes) => Decoded::Rejected {
            error: RequestError::KeyTooLarge,
            frame_len,
        },
        (_, Some(value)) if value.len() > usize::from(input.max_value_bytes) => Decoded::Rejected {
            error: RequestError::ValueTooLarge,
            frame_len,
        },
        _ => Decoded::Request { request, frame_len },
    };
    assert_eq!(decode_request(&wire, &limits), expected);
    for end in 0..frame_len {
        assert_eq!(decode_request(&wire[..end], &limits), Decoded::NeedMore);
    }
});

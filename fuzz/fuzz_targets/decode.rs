//! Fuzz the request decoder the way the server drives it: decode frame after
//! frame over an arbitrary buffer and check every outcome against the spec
//! (`blink_store::protocol::blink::oracle`): accepted requests are within the limits and
//! re-encode to exactly the bytes consumed, rejections consume exactly the
//! declared frame, and `Fatal` happens only for the spec's reasons.
//!
//! The first input byte picks the limits, so both the defaults and tiny
//! limits (which make every rejection reachable) are explored.

#![no_main]

use blink_store::protocol::blink::{Limits, oracle};
use libfuzzer_sys::fuzz_target;

const TINY: Limits = Limits {
    max_frame_bytes: 64,
    max_key_bytes: 8,
    max_value_bytes: 16,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, buf)) = data.split_first() else {
        return;
    };
    let limits = match selector % 3 {
        0 => Limits::DEFAULT,
        1 => Limits::DEFAULT.pre_auth(),
        _ => TINY,
    };
    if let Err(violation) = oracle::check_stream(buf, &limits) {
        panic!("{violation}");
    }
});

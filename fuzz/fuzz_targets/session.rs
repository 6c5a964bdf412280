//! Fuzz a whole session the way the event loop runs it: arbitrary client
//! bytes, fed in arbitrary chunks, go through the same batch executor the
//! server uses (decode, execute against a store with a tiny cap, encode).
//! Checks: nothing panics; the output is a sequence of well-formed reply
//! frames, one per answered frame; input is consumed in whole frames; a
//! closing reply ends the session; the store stays consistent.
//!
//! The first input byte picks the chunk size and whether a token is set.

#![no_main]

use blink_store::batch::{self, BatchBudget, BatchEnd};
use blink_store::command::{Context, Gauges};
use blink_store::config::Secret;
use blink_store::protocol::{DecodedReply, Limits, Status, decode_reply};
use blink_store::stats::ServerCounters;
use blink_store::store::Store;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_frame_bytes: 4096,
    max_key_bytes: 16,
    max_value_bytes: 512,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    // Chunks of 1 to 128 bytes: frames split everywhere, or many per read.
    let chunk_bytes = 1usize << (selector & 7);
    let with_token = selector & 0x80 != 0;
    let auth_token = with_token.then(|| Secret::new(b"k".to_vec()));
    let mut store = Store::new(2048);
    let mut counters = ServerCounters::default();
    let mut authenticated = auth_token.is_none();
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut answered = 0usize;
    for (turn, chunk) in stream.chunks(chunk_bytes).enumerate() {
        input.extend_from_slice(chunk);
        let mut ctx = Context {
            store: &mut store,
            counters: &mut counters,
            limits: &LIMITS,
            auth_token: auth_token.as_ref(),
            gauges: Gauges::default(),
            now_ms: turn as u64,
        };
        let budget = BatchBudget {
            max_requests: 8,
            max_output_len: usize::MAX,
        };
        let pre_auth = LIMITS.pre_auth();
        let batch = batch::execute(
            &input,
            &mut authenticated,
            &pre_auth,
            &mut ctx,
            budget,
            &mut out,
            0,
        );
        assert!(batch.consumed_bytes <= input.len());
        assert!(batch.replies <= 9, "the budget plus one final error");
        input.drain(..batch.consumed_bytes);
        answered += batch.replies;
        if batch.replies > 0 {
            store.check_invariants();
        }
        if batch.end == BatchEnd::Close {
            let status = last_status(&out).expect("a closing reply");
            assert!(Status::try_from(status).is_ok_and(Status::closes_connection));
            break;
        }
    }
    assert_eq!(
        count_replies(&out),
        answered,
        "one reply per answered frame"
    );
});

/// Replies in `out`, asserting each is a well-formed frame.
fn count_replies(mut out: &[u8]) -> usize {
    let mut replies = 0;
    while !out.is_empty() {
        match decode_reply(out, u32::MAX >> 3) {
            DecodedReply::Reply { frame_len, .. } => {
                out = &out[frame_len..];
                replies += 1;
            }
            other => panic!("malformed reply stream: {other:?}"),
        }
    }
    replies
}

fn last_status(mut out: &[u8]) -> Option<u8> {
    let mut last = None;
    while let DecodedReply::Reply {
        status, frame_len, ..
    } = decode_reply(out, u32::MAX >> 3)
    {
        last = Some(status);
        out = &out[frame_len..];
    }
    last
}

//! Fuzz a whole session the way a connection runs it: arbitrary client
//! bytes, fed in arbitrary chunks, go through the same answer loop the
//! server uses (decode, execute against a store with a tiny cap, encode).
//! Checks: nothing panics; the output is a sequence of well-formed reply
//! frames, one per answered frame; input is consumed in whole frames; a
//! closing reply ends the session; the store stays consistent.
//!
//! The first input byte picks the chunk size and whether a token is set.

#![no_main]

use blink_store::command::Context;
use blink_store::config::Secret;
use blink_store::protocol::{DecodedReply, Limits, Status, decode_reply};
use blink_store::session::{AnswerBudget, AnswerEnd, Session};
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
    let mut ctx = Context::for_tests(2048, LIMITS, auth_token);
    let mut session = Session::new(ctx.auth_token.is_none());
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut replies = 0usize;
    for (turn, chunk) in stream.chunks(chunk_bytes).enumerate() {
        input.extend_from_slice(chunk);
        let budget = AnswerBudget {
            max_requests: 8,
            max_output_len: usize::MAX,
        };
        let answered = session.answer(&input, &mut ctx, budget, &mut out, turn as u64, 0);
        assert!(answered.consumed_bytes <= input.len());
        assert!(answered.replies <= 9, "the budget plus one final error");
        input.drain(..answered.consumed_bytes);
        replies += answered.replies;
        if answered.replies > 0 {
            ctx.store.check_invariants();
        }
        if answered.end == AnswerEnd::Close {
            let status = last_status(&out).expect("a closing reply");
            assert!(Status::try_from(status).is_ok_and(Status::closes_connection));
            break;
        }
    }
    assert_eq!(
        count_replies(&out),
        replies,
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

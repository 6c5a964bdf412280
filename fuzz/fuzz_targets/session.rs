//! Fuzz a whole session the way a connection runs it: arbitrary client
//! bytes, fed in arbitrary chunks, go through the same answer loop the
//! server uses (decode, execute against a store with a tiny cap, encode).
//! Checks: nothing panics; the output is a sequence of well-formed replies
//! (Blink frames, or RESP values when the stream's first byte chose RESP),
//! one per answered request; input is consumed in whole requests; a
//! closing reply ends the session; the store stays consistent.
//!
//! The first input byte picks the chunk size and whether a token is set;
//! the next one, as on a real connection, the protocol.

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
    let resp = matches!(stream.first(), Some(&byte) if byte >= 0x20 && byte <= b'~');
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
        if answered.end == AnswerEnd::Close && resp {
            break;
        }
        if answered.end == AnswerEnd::Close {
            let status = last_status(&out).expect("a closing reply");
            assert!(Status::try_from(status).is_ok_and(Status::closes_connection));
            break;
        }
    }
    let counted = if resp {
        count_resp_replies(&out)
    } else {
        count_replies(&out)
    };
    assert_eq!(counted, replies, "one reply per answered request");
});

/// RESP values in `out`, asserting each is well formed.
fn count_resp_replies(mut out: &[u8]) -> usize {
    let mut replies = 0;
    while !out.is_empty() {
        out = resp_value(out);
        replies += 1;
    }
    replies
}

/// The bytes after the RESP value at the front of `out`.
fn resp_value(out: &[u8]) -> &[u8] {
    let line_end = out
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a terminated RESP line");
    let (kind, line) = (out[0], &out[1..line_end]);
    let rest = &out[line_end + 2..];
    let number = || -> i64 {
        std::str::from_utf8(line)
            .ok()
            .and_then(|n| n.parse().ok())
            .expect("a RESP length")
    };
    match kind {
        b'+' | b'-' | b':' | b'_' => rest,
        b'$' | b'=' if number() < 0 => rest,
        b'$' | b'=' => {
            let len = number() as usize;
            assert_eq!(&rest[len..len + 2], b"\r\n", "a bulk string's end");
            &rest[len + 2..]
        }
        b'*' | b'~' | b'%' => {
            let elements = number().max(0) as usize * if kind == b'%' { 2 } else { 1 };
            (0..elements).fold(rest, |rest, _| resp_value(rest))
        }
        other => panic!("not a RESP reply type: {other:#x}"),
    }
}

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

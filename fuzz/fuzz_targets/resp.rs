//! Fuzz the RESP decoder with arbitrary bytes, under both the
//! authenticated and the pre-auth limits. Checks: nothing panics; a
//! decoded request never claims more bytes than it was given; a multibulk
//! request re-encodes to exactly the bytes it consumed; every argument
//! respects the bulk limit; decoding a prefix of an accepted request
//! never accepts something else.

#![no_main]

use blink_store::protocol::Limits;
use blink_store::protocol::resp::{Decoded, RespLimits, decode_command, encode_command as encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_frame_bytes: 4096,
        max_key_bytes: 64,
        max_value_bytes: 1024,
    };
    for authenticated in [true, false] {
        let blink = if authenticated {
            limits
        } else {
            limits.pre_auth()
        };
        let resp_limits = RespLimits::new(&blink, authenticated);
        let mut scratch = Vec::new();
        let Decoded::Command { args, len } = decode_command(data, &resp_limits, &mut scratch)
        else {
            continue;
        };
        assert!(len <= data.len());
        assert!(
            len <= resp_limits
                .max_request_bytes
                .max(blink_store::protocol::resp::MAX_INLINE_BYTES)
        );
        let args: Vec<&[u8]> = args.collect();
        assert!(!args.is_empty());
        assert!(args.len() <= resp_limits.max_args);
        if data[0] == b'*' {
            assert!(
                args.iter()
                    .all(|arg| arg.len() <= resp_limits.max_bulk_bytes)
            );
            assert_eq!(encode(&args), &data[..len], "re-encodes to its bytes");
        }
        // A strict prefix is never a different complete request.
        let mut prefix_scratch = Vec::new();
        match decode_command(&data[..len - 1], &resp_limits, &mut prefix_scratch) {
            Decoded::Command { len: shorter, .. } | Decoded::Empty { len: shorter } => {
                panic!("a prefix of {len} bytes decoded as a {shorter}-byte request")
            }
            Decoded::NeedMore | Decoded::Fatal(_) => {}
        }
    }
});

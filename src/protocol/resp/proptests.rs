//! Property tests of the RESP decoder: a request decodes the same however
//! the input is split, every accepted multibulk request re-encodes to the
//! bytes it came from, and arbitrary bytes never panic.

use proptest::prelude::*;

use super::{Decoded, RespLimits, decode_command, encode_command as encode};
use crate::protocol::Limits;

fn limits() -> RespLimits {
    RespLimits::new(&Limits::DEFAULT, true)
}

/// Decodes every request in `input`, feeding it in `chunk_bytes` pieces
/// the way a connection would; returns the commands and the leftover.
fn decode_all(input: &[u8], chunk_bytes: usize) -> (Vec<Vec<Vec<u8>>>, usize) {
    let mut buffered = Vec::new();
    let mut scratch = Vec::new();
    let mut commands = Vec::new();
    for chunk in input.chunks(chunk_bytes.max(1)) {
        buffered.extend_from_slice(chunk);
        loop {
            match decode_command(&buffered, &limits(), &mut scratch) {
                Decoded::NeedMore => break,
                Decoded::Empty { len } => drop(buffered.drain(..len)),
                Decoded::Command { args, len } => {
                    commands.push(args.map(<[u8]>::to_vec).collect());
                    buffered.drain(..len);
                }
                Decoded::Fatal(error) => panic!("{error}"),
            }
        }
    }
    (commands, buffered.len())
}

proptest! {
    #[test]
    fn splitting_never_changes_what_is_decoded(
        commands in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6), 1..8),
        chunk_bytes in 1usize..64,
    ) {
        let wire: Vec<u8> = commands.iter().flat_map(|args| encode(args)).collect();
        let (whole, left) = decode_all(&wire, wire.len());
        prop_assert_eq!(left, 0);
        prop_assert_eq!(&whole, &commands);
        let (split, left) = decode_all(&wire, chunk_bytes);
        prop_assert_eq!(left, 0);
        prop_assert_eq!(split, commands);
    }

    #[test]
    fn accepted_multibulk_requests_re_encode_to_their_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // Arbitrary bytes, and a valid request with arbitrary bytes spliced in.
        let mut valid = encode(&args);
        let at = cut.index(valid.len());
        valid.splice(at..at, bytes.iter().copied());
        for input in [&bytes, &valid] {
            let mut scratch = Vec::new();
            if let Decoded::Command { args, len } = decode_command(input, &limits(), &mut scratch) {
                if input.first() == Some(&b'*') {
                    let args: Vec<Vec<u8>> = args.map(<[u8]>::to_vec).collect();
                    prop_assert_eq!(encode(&args), &input[..len]);
                }
                prop_assert!(len <= input.len());
            }
        }
    }
}

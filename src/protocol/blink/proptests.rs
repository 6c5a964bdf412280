//! Property tests of the codec: round trips, arbitrary splits of pipelined
//! streams, and arbitrary bytes checked against the decoder's contract.

use proptest::collection::vec;
use proptest::prelude::*;

use super::oracle::check_stream;
use super::*;

/// An owned request, so strategies can generate one; `borrow` gives the
/// wire-level [`Request`].
#[derive(Clone, Debug)]
enum Owned {
    Ping,
    Hello(u8),
    Auth(Vec<u8>),
    Get(Vec<u8>),
    Set(Vec<u8>, Vec<u8>, u64),
    Del(Vec<u8>),
    Expire(Vec<u8>, u64),
    Ttl(Vec<u8>),
    Stats,
}

impl Owned {
    fn borrow(&self) -> Request<'_> {
        match self {
            Owned::Ping => Request::Ping,
            Owned::Hello(version) => Request::Hello { version: *version },
            Owned::Auth(token) => Request::Auth { token },
            Owned::Get(key) => Request::Get { key },
            Owned::Set(key, value, ttl_ms) => Request::Set {
                key,
                value,
                ttl_ms: *ttl_ms,
            },
            Owned::Del(key) => Request::Del { key },
            Owned::Expire(key, ttl_ms) => Request::Expire {
                key,
                ttl_ms: *ttl_ms,
            },
            Owned::Ttl(key) => Request::Ttl { key },
            Owned::Stats => Request::Stats,
        }
    }
}

/// Small limits so generated requests hit every boundary often.
const SMALL: Limits = Limits {
    max_frame_bytes: 96,
    max_key_bytes: 16,
    max_value_bytes: 48,
};

fn bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max_len)
}

fn ttl_ms() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(u64::MAX), any::<u64>()]
}

/// Requests within the default limits (keys and values kept short for speed).
fn request() -> impl Strategy<Value = Owned> {
    prop_oneof![
        Just(Owned::Ping),
        any::<u8>().prop_map(Owned::Hello),
        bytes(64).prop_map(Owned::Auth),
        bytes(64).prop_map(Owned::Get),
        (bytes(64), bytes(256), ttl_ms()).prop_map(|(k, v, t)| Owned::Set(k, v, t)),
        bytes(64).prop_map(Owned::Del),
        (bytes(64), ttl_ms()).prop_map(|(k, t)| Owned::Expire(k, t)),
        bytes(64).prop_map(Owned::Ttl),
        Just(Owned::Stats),
    ]
}

fn encode_all(requests: &[Owned]) -> Vec<u8> {
    let mut wire = Vec::new();
    for request in requests {
        encode_request(&request.borrow(), &mut wire);
    }
    wire
}

/// Feeds `wire` in the given chunks to a buffer, decoding after each chunk
/// the way a server does, and returns every decoded request re-encoded.
fn decode_in_chunks(wire: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut decoded = Vec::new();
    let mut fed = 0;
    for &cut in cuts.iter().chain([&wire.len()]) {
        let cut = cut.clamp(fed, wire.len());
        buffer.extend_from_slice(&wire[fed..cut]);
        fed = cut;
        let mut consumed = 0;
        while let Decoded::Request { request, frame_len } =
            decode_request(&buffer[consumed..], &Limits::DEFAULT)
        {
            encode_request(&request, &mut decoded);
            consumed += frame_len;
        }
        assert_eq!(
            decode_request(&buffer[consumed..], &Limits::DEFAULT),
            Decoded::NeedMore
        );
        buffer.drain(..consumed);
    }
    assert!(buffer.is_empty(), "bytes left over: {buffer:02x?}");
    decoded
}

/// A frame-shaped chunk: a plausible header and opcode, arbitrary fields.
fn frameish() -> impl Strategy<Value = Vec<u8>> {
    let opcode = prop_oneof![
        prop::sample::select(Opcode::ALL.iter().map(|&op| op as u8).collect::<Vec<_>>()),
        any::<u8>()
    ];
    (0u32..=100, opcode, bytes(110)).prop_map(|(len, op, fields)| {
        let mut chunk = len.to_be_bytes().to_vec();
        chunk.push(op);
        chunk.extend_from_slice(&fields);
        chunk
    })
}

/// Byte streams that reach every decoder branch: valid frames, frame-shaped
/// noise, and pure noise.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let chunk = prop_oneof![
        4 => request().prop_map(|r| encode_all(&[r])),
        4 => frameish(),
        1 => bytes(16),
    ];
    vec(chunk, 0..8).prop_map(|chunks| chunks.concat())
}

// Cheap properties run 10 000 cases each (RELIABILITY.md A9); the stream
// properties decode every prefix or every byte, so they run fewer.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn decode_inverts_encode(owned in request()) {
        let request = owned.borrow();
        let mut wire = Vec::new();
        encode_request(&request, &mut wire);
        prop_assert_eq!(
            decode_request(&wire, &Limits::DEFAULT),
            Decoded::Request { request, frame_len: wire.len() }
        );
    }

    #[test]
    fn arbitrary_bytes_meet_the_contract_under_default_limits(buf in stream()) {
        check_stream(&buf, &Limits::DEFAULT).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_bytes_meet_the_contract_under_small_limits(buf in stream()) {
        check_stream(&buf, &SMALL).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn peek_key_agrees_with_the_decoder(buf in stream()) {
        let peeked = peek_key(&buf, &Limits::DEFAULT);
        match decode_request(&buf, &Limits::DEFAULT) {
            Decoded::Request { request, frame_len } => {
                prop_assert_eq!(peeked, Some((request.key(), frame_len)));
            }
            Decoded::Rejected { frame_len, .. } => {
                prop_assert_eq!(peeked.map(|(_, len)| len), Some(frame_len));
            }
            Decoded::NeedMore => prop_assert_eq!(peeked, None),
            // Bad framing peeks nothing; fields that do not fill a complete
            // frame may still yield a key hint.
            Decoded::Fatal(_) => {
                let whole = peeked.is_none_or(|(_, len)| len <= buf.len());
                prop_assert!(whole);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_proper_prefix_needs_more(owned in request()) {
        let mut wire = Vec::new();
        encode_request(&owned.borrow(), &mut wire);
        for end in 0..wire.len() {
            prop_assert_eq!(decode_request(&wire[..end], &Limits::DEFAULT), Decoded::NeedMore);
        }
    }

    #[test]
    fn any_split_decodes_the_same_requests(
        requests in vec(request(), 1..24),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire = encode_all(&requests);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        prop_assert_eq!(decode_in_chunks(&wire, &points), wire);
    }

    #[test]
    fn one_byte_feeds_decode_the_same_requests(requests in vec(request(), 1..8)) {
        let wire = encode_all(&requests);
        let points: Vec<usize> = (1..wire.len()).collect();
        prop_assert_eq!(decode_in_chunks(&wire, &points), wire);
    }
}

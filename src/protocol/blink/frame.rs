//! Framing, shared by the request and reply decoders: find one complete
//! frame at the front of a buffer, judging the 4-byte header against the
//! frame limit before waiting for any of the body.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use super::{FOREIGN_FIRST_BYTE_MIN, HEADER_BYTES, Status};

/// Why a byte stream can no longer be trusted: the peer gets one error reply
/// and the connection closes, because the next frame boundary is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Zero length, a first byte of `0x20` or more (a foreign protocol), or
    /// fields that do not exactly fill the frame.
    Malformed,
    /// The declared length exceeds `max_frame_bytes`; decided from the header alone.
    FrameTooLarge,
}

impl FrameError {
    /// The status of the final reply.
    pub fn status(self) -> Status {
        match self {
            FrameError::Malformed => Status::Malformed,
            FrameError::FrameTooLarge => Status::FrameTooLarge,
        }
    }

    /// The message body of the final reply.
    pub fn message(self) -> &'static str {
        self.status().message()
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for FrameError {}

/// The first frame of a buffer, if it is all there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing<'a> {
    /// Not enough bytes yet to decide; nothing consumed.
    NeedMore,
    /// One whole frame: its payload and its length including the header.
    Complete { payload: &'a [u8], frame_len: usize },
    /// The stream cannot be trusted.
    Fatal(FrameError),
}

/// Splits the first frame off `buf`, checking in SPEC.md order: foreign first
/// byte, header present, zero length, length over the limit, body present.
pub(crate) fn split_frame(buf: &[u8], max_frame_bytes: u32) -> Framing<'_> {
    let Some(&first) = buf.first() else {
        return Framing::NeedMore;
    };
    // Decided on the very first byte so a text client is refused at once.
    if first >= FOREIGN_FIRST_BYTE_MIN {
        return Framing::Fatal(FrameError::Malformed);
    }
    let Some((header, rest)) = buf.split_first_chunk::<HEADER_BYTES>() else {
        return Framing::NeedMore;
    };
    let len = u32::from_be_bytes(*header);
    if len == 0 {
        return Framing::Fatal(FrameError::Malformed);
    }
    // Judged from the header alone: the body is never awaited, never sized for.
    if len > max_frame_bytes {
        return Framing::Fatal(FrameError::FrameTooLarge);
    }
    let Some((payload_len, frame_len)) = frame_sizes(len) else {
        return Framing::Fatal(FrameError::FrameTooLarge);
    };
    match rest.get(..payload_len) {
        Some(payload) => Framing::Complete { payload, frame_len },
        None => Framing::NeedMore,
    }
}

/// The payload and whole-frame lengths as `usize`, or `None` where `usize` is
/// too narrow to hold them (such a frame could never be buffered there).
fn frame_sizes(len: u32) -> Option<(usize, usize)> {
    let payload_len = usize::try_from(len).ok()?;
    Some((payload_len, HEADER_BYTES.checked_add(payload_len)?))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic)] // tests may fail loudly
mod tests {
    use super::*;

    const LIMIT: u32 = 16;

    #[test]
    fn empty_and_partial_headers_need_more() {
        for buf in [&b""[..], b"\x00", b"\x00\x00", b"\x00\x00\x00"] {
            assert_eq!(split_frame(buf, LIMIT), Framing::NeedMore);
        }
    }

    #[test]
    fn foreign_first_byte_is_fatal_before_the_header_completes() {
        for buf in [&b" "[..], b"*", b"G", b"get ", b"\xff\xff\xff\xff"] {
            assert_eq!(
                split_frame(buf, LIMIT),
                Framing::Fatal(FrameError::Malformed)
            );
        }
    }

    #[test]
    fn zero_length_is_malformed() {
        assert_eq!(
            split_frame(b"\x00\x00\x00\x00", LIMIT),
            Framing::Fatal(FrameError::Malformed)
        );
    }

    #[test]
    fn over_limit_is_fatal_from_the_header_alone() {
        assert_eq!(
            split_frame(b"\x00\x00\x00\x11", LIMIT),
            Framing::Fatal(FrameError::FrameTooLarge)
        );
    }

    #[test]
    fn complete_frame_is_split_at_its_end() {
        let buf = b"\x00\x00\x00\x02ab\x00";
        assert_eq!(
            split_frame(buf, LIMIT),
            Framing::Complete {
                payload: b"ab",
                frame_len: 6
            }
        );
        assert_eq!(split_frame(&buf[..5], LIMIT), Framing::NeedMore);
    }
}

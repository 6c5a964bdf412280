//! The decoder's contract as an executable check, restated from SPEC.md's
//! header rules rather than from the decoder's code paths. Shared by the
//! property tests and the `decode` fuzz target: compiled for tests and for
//! fuzzing (`--cfg fuzzing`, which cargo-fuzz sets), never into the server.

use super::*;

/// Decodes `buf` frame after frame, as a server would on a connection that
/// negotiated the latest version, and checks every outcome against the spec. Returns the outcomes in order; the last one is
/// `NeedMore` or `Fatal`.
pub fn check_stream<'a>(buf: &'a [u8], limits: &Limits) -> Result<Vec<Decoded<'a>>, String> {
    let mut outcomes = Vec::new();
    let mut rest = buf;
    loop {
        let outcome = decode_request(rest, limits);
        outcomes.push(outcome);
        match check_outcome(rest, limits, PROTOCOL_VERSION, &outcome)? {
            Some(frame_len) => rest = &rest[frame_len..],
            None => return Ok(outcomes),
        }
    }
}

/// Checks one outcome for `buf` on a connection speaking `version`;
/// returns the bytes it consumes, or `None` when decoding stops there
/// (`NeedMore` or `Fatal`).
pub fn check_outcome(
    buf: &[u8],
    limits: &Limits,
    version: u8,
    outcome: &Decoded<'_>,
) -> Result<Option<usize>, String> {
    let foreign = buf.first().is_some_and(|&b| b >= 0x20);
    let declared = buf
        .get(..4)
        .map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    let frame = declared.and_then(|len| buf.get(..4 + len as usize));
    let opcode_known = frame.is_some_and(|f| {
        f.get(4).is_some_and(|&op| {
            Opcode::try_from(op).is_ok_and(|opcode| opcode.since_version() <= version)
        })
    });
    let fail = |why: &str| Err(format!("{why}: {outcome:?} for {buf:02x?}"));
    match *outcome {
        Decoded::NeedMore => {
            if foreign || declared == Some(0) || frame.is_some() {
                return fail("NeedMore with a decidable header or a whole frame");
            }
            if declared.is_some_and(|len| len > limits.max_frame_bytes) {
                return fail("NeedMore awaiting a body over the limit");
            }
            Ok(None)
        }
        Decoded::Fatal(FrameError::FrameTooLarge) => match declared {
            Some(len) if !foreign && len > limits.max_frame_bytes => Ok(None),
            _ => fail("FrameTooLarge without an oversized header"),
        },
        Decoded::Fatal(FrameError::Malformed) => {
            if foreign || declared == Some(0) || opcode_known {
                Ok(None)
            } else {
                fail("Malformed without a reason")
            }
        }
        Decoded::Rejected { error, frame_len } => {
            check_frame_len(frame, frame_len, limits)
                .map_err(|why| format!("{why}: {outcome:?}"))?;
            check_rejection(&buf[..frame_len], limits, version, error, opcode_known)?;
            Ok(Some(frame_len))
        }
        Decoded::Request { request, frame_len } => {
            check_frame_len(frame, frame_len, limits)
                .map_err(|why| format!("{why}: {outcome:?}"))?;
            check_request(&buf[..frame_len], limits, &request)?;
            Ok(Some(frame_len))
        }
    }
}

/// A consumed frame is exactly the declared one, and within the limit.
fn check_frame_len(frame: Option<&[u8]>, frame_len: usize, limits: &Limits) -> Result<(), String> {
    match frame {
        Some(f) if f.len() == frame_len && frame_len - 4 <= limits.max_frame_bytes as usize => {
            Ok(())
        }
        _ => Err("frame_len is not the declared, in-limit frame".to_string()),
    }
}

/// An accepted request is within the limits and is the canonical encoding of
/// exactly the bytes consumed.
fn check_request(frame: &[u8], limits: &Limits, request: &Request<'_>) -> Result<(), String> {
    if request
        .key()
        .is_some_and(|k| k.len() > limits.max_key_bytes as usize)
    {
        return Err(format!("accepted key over the limit: {request:?}"));
    }
    if request
        .value()
        .is_some_and(|v| v.len() > limits.max_value_bytes as usize)
    {
        return Err(format!("accepted value over the limit: {request:?}"));
    }
    let mut encoded = Vec::new();
    encode_request(request, &mut encoded);
    if encoded != frame {
        return Err(format!(
            "{request:?} re-encodes to {encoded:02x?}, consumed {frame:02x?}"
        ));
    }
    Ok(())
}

/// A rejection names the first broken rule: re-decoding without key and
/// value limits shows which one.
fn check_rejection(
    frame: &[u8],
    limits: &Limits,
    version: u8,
    error: RequestError,
    opcode_known: bool,
) -> Result<(), String> {
    let unlimited = Limits {
        max_key_bytes: u32::MAX,
        max_value_bytes: u32::MAX,
        ..*limits
    };
    let parsed = match decode_request_at(frame, &unlimited, version) {
        Decoded::Request { request, .. } => Some(request),
        _ => None,
    };
    let key_over = parsed
        .and_then(|r| r.key())
        .is_some_and(|k| k.len() > limits.max_key_bytes as usize);
    let value_over = parsed
        .and_then(|r| r.value())
        .is_some_and(|v| v.len() > limits.max_value_bytes as usize);
    let consistent = match error {
        RequestError::UnknownCommand => !opcode_known,
        RequestError::KeyTooLarge => key_over,
        RequestError::ValueTooLarge => !key_over && value_over,
    };
    if consistent {
        Ok(())
    } else {
        Err(format!(
            "{error:?} is not the first broken rule of {frame:02x?}"
        ))
    }
}

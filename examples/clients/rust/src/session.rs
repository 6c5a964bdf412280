//! What one connection knows about its server: the limits HELLO reported and
//! whether AUTH succeeded. It encodes the connect handshake (HELLO, then AUTH
//! when a token is configured, pipelined), reads its replies, and refuses an
//! oversized request locally before a byte is sent (SPEC §13, §14).

use crate::error::{Error, ProtocolError, RequestSizes, Result};
use crate::reply::{FromReply, Limits, ServerInfo};
use crate::wire::{
    MAX_FRAME_BYTES_CEILING, Opcode, PRE_AUTH_MAX_FRAME_BYTES, PROTOCOL_VERSION, RawReply, Request,
    Shape,
};

/// The largest key any v1 server accepts: `key_len` is a `u16`.
const KEY_BYTES_CEILING: u32 = u16::MAX as u32;

/// A connection's view of its server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    info: ServerInfo,
    authenticated: bool,
}

impl Default for Session {
    /// Before HELLO: the protocol's ceilings, and no AUTH needed.
    fn default() -> Self {
        Session {
            info: ServerInfo {
                version: PROTOCOL_VERSION,
                auth_required: false,
                limits: Limits {
                    max_frame_bytes: MAX_FRAME_BYTES_CEILING,
                    max_key_bytes: KEY_BYTES_CEILING,
                    max_value_bytes: MAX_FRAME_BYTES_CEILING,
                },
            },
            authenticated: false,
        }
    }
}

impl Session {
    /// What the last HELLO reported.
    pub(crate) fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The frame limit that applies to requests now (SPEC §11).
    fn max_request_frame_bytes(&self) -> u32 {
        let limit = self.info.limits.max_frame_bytes;
        if self.info.auth_required && !self.authenticated {
            limit.min(PRE_AUTH_MAX_FRAME_BYTES)
        } else {
            limit
        }
    }

    /// The largest reply the server may send (SPEC §4).
    pub(crate) fn max_reply_frame_bytes(&self) -> u32 {
        self.info.limits.max_frame_bytes
    }

    /// Checks `request` against the limits, in the server's order (key,
    /// value, frame), and returns the sizes its errors are reported with.
    pub(crate) fn check(&self, shape: Shape) -> Result<RequestSizes> {
        let limits = &self.info.limits;
        let sizes = RequestSizes {
            key_bytes: shape.key_bytes,
            value_bytes: shape.value_bytes,
            max_key_bytes: limits.max_key_bytes.min(KEY_BYTES_CEILING) as usize,
            max_value_bytes: limits.max_value_bytes as usize,
        };
        if sizes.key_bytes > sizes.max_key_bytes {
            return Err(Error::KeyTooLarge {
                key_bytes: sizes.key_bytes,
                max_key_bytes: sizes.max_key_bytes,
            });
        }
        if sizes.value_bytes > sizes.max_value_bytes {
            return Err(Error::ValueTooLarge {
                value_bytes: sizes.value_bytes,
                max_value_bytes: sizes.max_value_bytes,
            });
        }
        let frame_bytes = shape.payload_bytes;
        let max_frame_bytes = self.max_request_frame_bytes() as usize;
        if frame_bytes > max_frame_bytes {
            return Err(Error::FrameTooLarge {
                frame_bytes,
                max_frame_bytes,
            });
        }
        Ok(sizes)
    }

    /// Takes in what a HELLO reply reported. A version this client does not
    /// speak is an error: the connection must close (SPEC §10).
    pub(crate) fn apply_hello(&mut self, info: ServerInfo) -> Result<()> {
        if info.version != PROTOCOL_VERSION {
            return Err(ProtocolError::VersionMismatch(info.version).into());
        }
        self.info = info;
        if !info.auth_required {
            self.authenticated = true;
        }
        Ok(())
    }

    /// Records that AUTH succeeded: the full frame limit applies from now.
    pub(crate) fn apply_auth(&mut self) {
        self.authenticated = true;
    }

    /// Updates the session from a successful reply to `op`, for the commands
    /// that change it (HELLO, AUTH), whichever path sent them.
    pub(crate) fn observe(&mut self, op: Opcode, reply: RawReply<'_>) -> Result<()> {
        match op {
            Opcode::Hello => {
                if let Ok(info) = ServerInfo::from_reply(op, reply, &RequestSizes::default()) {
                    self.apply_hello(info)?;
                }
            }
            Opcode::Auth if reply.status == 0 => self.apply_auth(),
            _ => {}
        }
        Ok(())
    }
}

/// The connect handshake: `HELLO 1`, then AUTH when there is a token, as one
/// pipelined write.
pub(crate) struct Handshake {
    pub(crate) frames: Vec<u8>,
    /// Replies to read: 1, or 2 with AUTH.
    pub(crate) replies: usize,
}

impl Handshake {
    pub(crate) fn new(token: Option<&[u8]>) -> Handshake {
        let mut frames = Vec::with_capacity(32);
        Request::Hello {
            version: PROTOCOL_VERSION,
        }
        .encode(&mut frames);
        if let Some(token) = token {
            Request::Auth { token }.encode(&mut frames);
        }
        Handshake {
            frames,
            replies: 1 + usize::from(token.is_some()),
        }
    }

    /// Reads the handshake's replies, in order, into `session`. The HELLO
    /// reply decides first: a closing status there (too many connections,
    /// shutting down) is the connect's error.
    pub(crate) fn read_reply(
        session: &mut Session,
        index: usize,
        reply: RawReply<'_>,
    ) -> Result<()> {
        let sizes = RequestSizes::default();
        if index == 0 {
            let info = ServerInfo::from_reply(Opcode::Hello, reply, &sizes)?;
            session.apply_hello(info)
        } else {
            <()>::from_reply(Opcode::Auth, reply, &sizes)?;
            session.apply_auth();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Session {
        let mut session = Session::default();
        let limits = Limits {
            max_frame_bytes: 4096,
            max_key_bytes: 4,
            max_value_bytes: 8,
        };
        session
            .apply_hello(ServerInfo {
                version: 1,
                auth_required: false,
                limits,
            })
            .expect("v1");
        session
    }

    #[test]
    fn oversized_keys_values_and_frames_are_refused_locally() {
        let session = small();
        let ok = session.check(
            Request::Set {
                key: b"kkkk",
                value: b"vvvvvvvv",
                ttl_ms: 0,
            }
            .shape(),
        );
        assert!(ok.is_ok());
        assert!(matches!(
            session.check(Request::Get { key: b"kkkkk" }.shape()),
            Err(Error::KeyTooLarge {
                key_bytes: 5,
                max_key_bytes: 4
            })
        ));
        assert!(matches!(
            session.check(
                Request::Set {
                    key: b"k",
                    value: b"vvvvvvvvv",
                    ttl_ms: 0
                }
                .shape()
            ),
            Err(Error::ValueTooLarge {
                value_bytes: 9,
                max_value_bytes: 8
            })
        ));
        let token = vec![7u8; 4096];
        assert!(matches!(
            session.check(Request::Auth { token: &token }.shape()),
            Err(Error::FrameTooLarge {
                frame_bytes: 4097,
                max_frame_bytes: 4096
            })
        ));
    }

    #[test]
    fn the_pre_auth_frame_limit_lifts_after_auth() {
        let mut session = Session::default();
        let limits = Limits {
            max_frame_bytes: 1 << 20,
            max_key_bytes: 1024,
            max_value_bytes: 1 << 20,
        };
        session
            .apply_hello(ServerInfo {
                version: 1,
                auth_required: true,
                limits,
            })
            .expect("v1");
        let value = vec![0u8; 5000];
        let set = Request::Set {
            key: b"k",
            value: &value,
            ttl_ms: 0,
        };
        assert!(matches!(
            session.check(set.shape()),
            Err(Error::FrameTooLarge {
                max_frame_bytes: 4096,
                ..
            })
        ));
        session.apply_auth();
        assert!(session.check(set.shape()).is_ok());
    }

    #[test]
    fn another_protocol_version_is_refused() {
        let mut session = Session::default();
        let info = ServerInfo {
            version: 2,
            ..*Session::default().info()
        };
        assert!(matches!(
            session.apply_hello(info),
            Err(Error::Protocol(ProtocolError::VersionMismatch(2)))
        ));
    }
}

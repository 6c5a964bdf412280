//! What one connection knows about its server: the version and limits the
//! last HELLO reported and whether AUTH succeeded. It encodes the connect
//! handshake (`HELLO 2`, then AUTH when a token is configured, pipelined),
//! reads its replies, and refuses locally, before a byte is sent, a command
//! the negotiated version lacks and an oversized request (SPEC §10, §13, §14).
//!
//! The version is that of the last successful HELLO on the connection, and
//! 1 before any: every HELLO reply, the handshake's or a caller's, updates
//! it, so after `hello(1)` the version-2 commands are refused locally.

use crate::error::{Error, ProtocolError, RequestSizes, Result};
use crate::reply::{FromReply, Limits, ServerInfo};
use crate::wire::{
    MAX_FRAME_BYTES_CEILING, MIN_PROTOCOL_VERSION, Opcode, PRE_AUTH_MAX_FRAME_BYTES,
    PROTOCOL_VERSION, RawReply, Request, Shape,
};

/// The largest key any server accepts: `key_len` is a `u16`.
const KEY_BYTES_CEILING: u32 = u16::MAX as u32;

/// A connection's view of its server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    info: ServerInfo,
    authenticated: bool,
}

impl Default for Session {
    /// Before HELLO: version 1, the protocol's ceilings, and no AUTH needed.
    fn default() -> Self {
        Session {
            info: ServerInfo {
                version: MIN_PROTOCOL_VERSION,
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

    /// Checks a request to `op` of `shape` against the negotiated version
    /// and the limits, in the server's order (command, key, value, frame),
    /// and returns the sizes its errors are reported with.
    pub(crate) fn check(&self, op: Opcode, shape: Shape) -> Result<RequestSizes> {
        if op.version() > self.info.version {
            return Err(Error::UnknownCommand);
        }
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

    /// Takes in what a HELLO reply reported, the version first. A version
    /// this client does not speak is an error: the connection must close
    /// (SPEC §10).
    pub(crate) fn apply_hello(&mut self, info: ServerInfo) -> Result<()> {
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&info.version) {
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

/// The connect handshake: `HELLO 2`, then AUTH when there is a token, as one
/// pipelined write. A version-1 server answers version 1, and the session
/// then refuses the version-2 commands locally.
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

    fn check(session: &Session, request: Request<'_>) -> Result<RequestSizes> {
        session.check(request.opcode(), request.shape())
    }

    fn at_version(version: u8) -> Session {
        let mut session = small();
        let info = ServerInfo {
            version,
            ..*session.info()
        };
        session
            .apply_hello(info)
            .expect("a version this client speaks");
        session
    }

    #[test]
    fn oversized_keys_values_and_frames_are_refused_locally() {
        let session = small();
        let ok = check(
            &session,
            Request::Set {
                key: b"kkkk",
                value: b"vvvvvvvv",
                ttl_ms: 0,
            },
        );
        assert!(ok.is_ok());
        assert!(matches!(
            check(&session, Request::Get { key: b"kkkkk" }),
            Err(Error::KeyTooLarge {
                key_bytes: 5,
                max_key_bytes: 4
            })
        ));
        assert!(matches!(
            check(
                &session,
                Request::Set {
                    key: b"k",
                    value: b"vvvvvvvvv",
                    ttl_ms: 0
                }
            ),
            Err(Error::ValueTooLarge {
                value_bytes: 9,
                max_value_bytes: 8
            })
        ));
        let token = vec![7u8; 4096];
        assert!(matches!(
            check(&session, Request::Auth { token: &token }),
            Err(Error::FrameTooLarge {
                frame_bytes: 4097,
                max_frame_bytes: 4096
            })
        ));
    }

    #[test]
    fn v2_keys_values_and_suffixes_are_refused_locally() {
        let session = at_version(2);
        let (key, long_key) = (&b"kkkk"[..], &b"kkkkk"[..]);
        let (value, long_value) = (&b"vvvvvvvv"[..], &b"vvvvvvvvv"[..]);
        let key_too_large = |r: Result<RequestSizes>| {
            matches!(
                r,
                Err(Error::KeyTooLarge {
                    key_bytes: 5,
                    max_key_bytes: 4
                })
            )
        };
        let value_too_large = |r: Result<RequestSizes>| {
            matches!(
                r,
                Err(Error::ValueTooLarge {
                    value_bytes: 9,
                    max_value_bytes: 8
                })
            )
        };
        for add in [true, false] {
            let build = |key, value| match add {
                true => Request::Add {
                    key,
                    value,
                    ttl_ms: 0,
                },
                false => Request::Replace {
                    key,
                    value,
                    ttl_ms: 1,
                },
            };
            assert!(check(&session, build(key, value)).is_ok());
            assert!(key_too_large(check(&session, build(long_key, value))));
            assert!(value_too_large(check(&session, build(key, long_value))));
        }
        let append = |key, suffix| Request::Append { key, suffix };
        assert!(check(&session, append(key, value)).is_ok());
        assert!(key_too_large(check(&session, append(long_key, value))));
        assert!(value_too_large(check(&session, append(key, long_value))));
        let incr = |key| Request::Incr { key, delta: -1 };
        assert!(check(&session, incr(key)).is_ok());
        assert!(key_too_large(check(&session, incr(long_key))));
        // A prefix is not a key: only the frame limit bounds it.
        let scan = |prefix| Request::Scan {
            cursor: 0,
            count: 10,
            prefix,
        };
        assert!(check(&session, scan(&[b'p'; 4085])).is_ok());
        assert!(matches!(
            check(&session, scan(&[b'p'; 4086])),
            Err(Error::FrameTooLarge {
                frame_bytes: 4097,
                max_frame_bytes: 4096
            })
        ));
        assert!(check(&session, Request::Flush).is_ok());
    }

    #[test]
    fn v2_commands_are_refused_locally_at_version_1() {
        let v1 = at_version(1);
        let v2_requests = [
            Request::Add {
                key: b"k",
                value: b"v",
                ttl_ms: 0,
            },
            Request::Replace {
                key: b"k",
                value: b"v",
                ttl_ms: 0,
            },
            Request::Incr {
                key: b"k",
                delta: 1,
            },
            Request::Append {
                key: b"k",
                suffix: b"s",
            },
            Request::Flush,
            Request::Scan {
                cursor: 0,
                count: 1,
                prefix: b"",
            },
        ];
        for request in v2_requests {
            assert!(
                matches!(check(&v1, request), Err(Error::UnknownCommand)),
                "{request:?}"
            );
            assert!(check(&at_version(2), request).is_ok(), "{request:?}");
        }
        // The command check comes first, as the server's does (SPEC §7.1).
        let long_key = Request::Incr {
            key: b"kkkkk",
            delta: 1,
        };
        assert!(matches!(check(&v1, long_key), Err(Error::UnknownCommand)));
        assert!(check(&v1, Request::Get { key: b"k" }).is_ok());
        assert_eq!(Session::default().info().version, 1, "before any HELLO");
        assert!(matches!(
            check(&Session::default(), Request::Flush),
            Err(Error::UnknownCommand)
        ));
    }

    #[test]
    fn every_hello_reply_sets_the_version() {
        let mut session = Session::default();
        let hello = |version: u8| {
            let mut frame = vec![version, 0];
            for limit in [4096u32, 4, 8] {
                frame.extend_from_slice(&limit.to_be_bytes());
            }
            frame
        };
        for version in [2, 1, 2] {
            let body = hello(version);
            let reply = RawReply {
                status: 0,
                body: &body,
            };
            session
                .observe(Opcode::Hello, reply)
                .expect("a version it speaks");
            assert_eq!(session.info().version, version);
        }
        let refused = RawReply {
            status: 0x88,
            body: b"",
        };
        session
            .observe(Opcode::Hello, refused)
            .expect("an error reply changes nothing");
        assert_eq!(session.info().version, 2);
        let body = hello(3);
        let reply = RawReply {
            status: 0,
            body: &body,
        };
        assert!(matches!(
            session.observe(Opcode::Hello, reply),
            Err(Error::Protocol(ProtocolError::VersionMismatch(3)))
        ));
    }

    #[test]
    fn the_handshake_asks_for_version_2() {
        let handshake = Handshake::new(None);
        assert_eq!(handshake.frames, [0, 0, 0, 2, 0x02, 0x02]);
        assert_eq!(handshake.replies, 1);
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
            check(&session, set),
            Err(Error::FrameTooLarge {
                max_frame_bytes: 4096,
                ..
            })
        ));
        session.apply_auth();
        assert!(check(&session, set).is_ok());
    }

    #[test]
    fn another_protocol_version_is_refused() {
        for version in [0, 3, 255] {
            let mut session = Session::default();
            let info = ServerInfo {
                version,
                ..*Session::default().info()
            };
            assert!(matches!(
                session.apply_hello(info),
                Err(Error::Protocol(ProtocolError::VersionMismatch(v))) if v == version
            ));
        }
    }
}

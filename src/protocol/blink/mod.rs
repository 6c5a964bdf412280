//! The Blink binary protocol, version 2: constants, limits, command and status
//! codes, the borrowed [`Request`] type, and the codec that moves them over a
//! byte stream. `protocol/SPEC.md` is normative; this module implements it.
//!
//! Every message, in both directions, is one frame:
//!
//! ```text
//!  0       1       2       3       4
//! +-------+-------+-------+-------+---------------------------+
//! |   len: u32 big-endian (>= 1)  |  payload: len bytes       |
//! +-------+-------+-------+-------+---------------------------+
//!
//! request payload:  | opcode: u8 | fields (per opcode)        |
//! reply payload:    | status: u8 | body: len - 1 bytes        |
//! ```
//!
//! `len` counts the payload only. Because `max_frame_bytes` never exceeds
//! [`Limits::MAX_FRAME_BYTES_CEILING`] (`0x1000_0000`), the first byte of a valid
//! frame is always below `0x20`: a first byte that is printable ASCII (`*` of
//! RESP, `g`/`s` of memcache text, `G` of HTTP) is a foreign protocol.
//!
//! - [`decode_request`] is the hardened, incremental, zero-copy decoder the
//!   server runs on untrusted bytes.
//! - [`encode_reply`], [`encode_hello_reply`], [`encode_ttl_reply`] and
//!   [`ReplyWriter`] append replies to a caller's buffer.
//! - [`encode_request`] and [`decode_reply`] are the client half, used by tests,
//!   the load generator and Rust clients.
//!
//! ```
//! use blink_store::protocol::blink::{Decoded, Limits, Request, decode_request, encode_request};
//!
//! let mut wire = Vec::new();
//! encode_request(&Request::Get { key: b"user:1" }, &mut wire);
//! assert_eq!(wire, b"\x00\x00\x00\x09\x10\x00\x06user:1");
//!
//! match decode_request(&wire, &Limits::DEFAULT) {
//!     Decoded::Request { request, frame_len } => {
//!         assert_eq!(request, Request::Get { key: b"user:1" });
//!         assert_eq!(frame_len, wire.len()); // the caller advances its buffer by this
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

mod decode;
mod encode;
mod frame;
mod reply;

#[cfg(any(test, fuzzing))]
pub mod oracle;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod vectors_tests;

pub use decode::{Decoded, RequestError, decode_request, decode_request_at, peek_key};
pub use encode::{
    ReplyWriter, encode_hello_reply, encode_reply, encode_request, encode_ttl_reply, put_scan_key,
    write_stat_line,
};
pub use frame::FrameError;
pub use reply::{DecodedReply, HelloReply, ScanReply, decode_reply};

/// The highest protocol version this crate speaks (sent in HELLO).
pub const PROTOCOL_VERSION: u8 = 2;

/// The version a connection speaks until a HELLO negotiates another.
pub const FIRST_PROTOCOL_VERSION: u8 = 1;

/// Bytes in the length prefix that starts every frame.
pub const HEADER_BYTES: usize = 4;

/// Any frame whose first byte is at or above this value is not Blink: valid
/// lengths stay below `0x2000_0000`, so their top byte is below `0x20`.
pub const FOREIGN_FIRST_BYTE_MIN: u8 = 0x20;

/// Frame limit applied before a connection has authenticated (servers with a
/// token only): enough for HELLO, PING and AUTH with a long token, small enough
/// that an unauthenticated peer cannot make the server buffer much.
pub const PRE_AUTH_MAX_FRAME_BYTES: u32 = 4096;

/// Bit 0 of the HELLO reply flags: this connection must AUTH before data commands.
pub const HELLO_FLAG_AUTH_REQUIRED: u8 = 0b0000_0001;

/// Bytes in a HELLO reply body: version, flags and three u32 limits.
pub const HELLO_REPLY_BODY_BYTES: usize = 14;

/// The size limits the decoder enforces. All three count bytes.
///
/// The decoder accepts any values; the server's configuration refuses to
/// start with a limit outside its minimum and ceiling (`crate::config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted payload length (the 4-byte header is not counted).
    pub max_frame_bytes: u32,
    /// Largest accepted key.
    pub max_key_bytes: u32,
    /// Largest accepted SET value.
    pub max_value_bytes: u32,
}

impl Limits {
    /// Default frame limit: a maximal default value plus room for the SET
    /// header and a maximal default key (1 MiB + 4 KiB).
    pub const MAX_FRAME_BYTES_DEFAULT: u32 = 1_052_672;
    /// Smallest frame limit: every reply the server generates on its own
    /// (HELLO, STATS, error messages) fits, and it equals the pre-auth limit.
    pub const MAX_FRAME_BYTES_MIN: u32 = PRE_AUTH_MAX_FRAME_BYTES;
    /// Largest frame limit (256 MiB): keeps the top byte of every valid length
    /// below `0x20` (the foreign-protocol rule) with room to spare.
    pub const MAX_FRAME_BYTES_CEILING: u32 = 0x1000_0000;
    /// Default key limit, as memcached-class caches use short keys.
    pub const MAX_KEY_BYTES_DEFAULT: u32 = 1024;
    /// Smallest key limit.
    pub const MAX_KEY_BYTES_MIN: u32 = 1;
    /// Largest key limit: `key_len` is a u16 on the wire.
    pub const MAX_KEY_BYTES_CEILING: u32 = 65_535;
    /// Default value limit (1 MiB).
    pub const MAX_VALUE_BYTES_DEFAULT: u32 = 1_048_576;
    /// Smallest value limit (empty values are always legal).
    pub const MAX_VALUE_BYTES_MIN: u32 = 0;
    /// Largest value limit: a value never exceeds a frame.
    pub const MAX_VALUE_BYTES_CEILING: u32 = Self::MAX_FRAME_BYTES_CEILING;

    /// The defaults of SPEC.md.
    pub const DEFAULT: Limits = Limits {
        max_frame_bytes: Self::MAX_FRAME_BYTES_DEFAULT,
        max_key_bytes: Self::MAX_KEY_BYTES_DEFAULT,
        max_value_bytes: Self::MAX_VALUE_BYTES_DEFAULT,
    };

    /// The limits for a connection that has not authenticated yet: the frame
    /// limit drops to [`PRE_AUTH_MAX_FRAME_BYTES`], the others are unchanged.
    #[must_use]
    pub fn pre_auth(self) -> Limits {
        Limits {
            max_frame_bytes: self.max_frame_bytes.min(PRE_AUTH_MAX_FRAME_BYTES),
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A byte that names no known opcode or status (the error of `TryFrom<u8>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCode(pub u8);

/// Declares a `#[repr(u8)]` enum with `TryFrom<u8>` and a wire name per variant,
/// so each code is written exactly once.
macro_rules! wire_codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $wire:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)*
        }

        impl $name {
            /// Every code, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name SPEC.md and the test vectors use, e.g. `"GET"`.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }

        impl TryFrom<u8> for $name {
            type Error = UnknownCode;

            fn try_from(byte: u8) -> Result<Self, UnknownCode> {
                match byte {
                    $($code => Ok($name::$variant),)*
                    other => Err(UnknownCode(other)),
                }
            }
        }
    };
}

wire_codes! {
    /// The first payload byte of a request.
    Opcode {
        /// Liveness check; no fields.
        Ping = 0x01, "PING";
        /// Version and limits handshake; `version u8`.
        Hello = 0x02, "HELLO";
        /// Present the shared-secret token; `token` = rest of payload.
        Auth = 0x03, "AUTH";
        /// Read a value; `key_len u16, key`.
        Get = 0x10, "GET";
        /// Store a value; `ttl_ms u64, key_len u16, key, value`.
        Set = 0x11, "SET";
        /// Remove a key; `key_len u16, key`.
        Del = 0x12, "DEL";
        /// Set or clear a key's TTL; `ttl_ms u64, key_len u16, key`.
        Expire = 0x13, "EXPIRE";
        /// Read a key's remaining TTL; `key_len u16, key`.
        Ttl = 0x14, "TTL";
        /// v2: store only if the key is missing; SET's fields.
        Add = 0x15, "ADD";
        /// v2: store only if the key exists; SET's fields.
        Replace = 0x16, "REPLACE";
        /// v2: add to a decimal integer in place; `delta i64, key_len u16, key`.
        Incr = 0x17, "INCR";
        /// v2: append to a value; `key_len u16, key, suffix`.
        Append = 0x18, "APPEND";
        /// Server counters as text; no fields.
        Stats = 0x20, "STATS";
        /// v2: remove every key; no fields.
        Flush = 0x21, "FLUSH";
        /// v2: one bounded step of a key walk; `cursor u64, count u16, prefix`.
        Scan = 0x22, "SCAN";
    }
}

wire_codes! {
    /// The first payload byte of a reply. Codes `0x80` and above are errors.
    Status {
        /// Success; the body depends on the command.
        Ok = 0x00, "OK";
        /// The key does not exist (or has expired).
        NotFound = 0x01, "NOT_FOUND";
        /// v2: ADD found the key already there; nothing changed.
        Exists = 0x02, "EXISTS";
        /// The opcode is unknown; the frame was skipped.
        UnknownCommand = 0x80, "ERR_UNKNOWN_COMMAND";
        /// The frame cannot be trusted; the connection closes.
        Malformed = 0x81, "ERR_MALFORMED";
        /// The declared length exceeds the frame limit; the connection closes.
        FrameTooLarge = 0x82, "ERR_FRAME_TOO_LARGE";
        /// The key exceeds the key limit.
        KeyTooLarge = 0x83, "ERR_KEY_TOO_LARGE";
        /// The value exceeds the value limit.
        ValueTooLarge = 0x84, "ERR_VALUE_TOO_LARGE";
        /// The item can never fit in the memory cap.
        ItemTooLarge = 0x85, "ERR_ITEM_TOO_LARGE";
        /// The server has a token and this connection has not authenticated.
        AuthRequired = 0x86, "ERR_AUTH_REQUIRED";
        /// The token is wrong; the connection closes.
        AuthFailed = 0x87, "ERR_AUTH_FAILED";
        /// HELLO asked for a version the server cannot speak.
        UnsupportedVersion = 0x88, "ERR_UNSUPPORTED_VERSION";
        /// The server is at its connection limit; sent right after accept, then close.
        TooManyConnections = 0x89, "ERR_TOO_MANY_CONNECTIONS";
        /// A frame took too long to arrive, or the connection sat idle; then close.
        Timeout = 0x8A, "ERR_TIMEOUT";
        /// Server buffer budget or this connection's output cap exhausted; then close.
        Busy = 0x8B, "ERR_BUSY";
        /// The server is draining; then close.
        ShuttingDown = 0x8C, "ERR_SHUTTING_DOWN";
        /// v2: INCR found no integer, or the result would overflow.
        NotInteger = 0x8D, "ERR_NOT_INTEGER";
    }
}

impl Opcode {
    /// Whether the command's first field after the opcode's own is a key
    /// (on RESP: whether its first argument is one).
    pub fn takes_key(self) -> bool {
        matches!(
            self,
            Opcode::Get
                | Opcode::Set
                | Opcode::Del
                | Opcode::Expire
                | Opcode::Ttl
                | Opcode::Add
                | Opcode::Replace
                | Opcode::Incr
                | Opcode::Append
        )
    }

    /// The first protocol version with this command: a connection that
    /// negotiated an older one treats the opcode as unknown (SPEC §10).
    ///
    /// ```
    /// use blink_store::protocol::Opcode;
    /// assert_eq!(Opcode::Get.since_version(), 1);
    /// assert_eq!(Opcode::Incr.since_version(), 2);
    /// ```
    pub fn since_version(self) -> u8 {
        match self {
            Opcode::Add
            | Opcode::Replace
            | Opcode::Incr
            | Opcode::Append
            | Opcode::Flush
            | Opcode::Scan => 2,
            _ => 1,
        }
    }
}

impl Status {
    /// Whether the server closes the connection right after sending this status.
    ///
    /// ```
    /// use blink_store::protocol::Status;
    /// assert_eq!(Status::try_from(0x83), Ok(Status::KeyTooLarge));
    /// assert!(!Status::KeyTooLarge.closes_connection()); // framing intact
    /// assert!(Status::FrameTooLarge.closes_connection());
    /// ```
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Status::Malformed
                | Status::FrameTooLarge
                | Status::AuthFailed
                | Status::TooManyConnections
                | Status::Timeout
                | Status::Busy
                | Status::ShuttingDown
        )
    }

    /// Whether this status reports an error (code `0x80` and above).
    pub fn is_error(self) -> bool {
        (self as u8) >= 0x80
    }

    /// The default human-readable message the server sends as the body of
    /// this error reply (empty for `OK` and `NOT_FOUND`). Clients display it
    /// and never parse it.
    pub fn message(self) -> &'static str {
        match self {
            Status::Ok | Status::NotFound | Status::Exists => "",
            Status::UnknownCommand => "unknown command",
            Status::Malformed => "malformed frame",
            Status::FrameTooLarge => "frame too large",
            Status::KeyTooLarge => "key too large",
            Status::ValueTooLarge => "value too large",
            Status::ItemTooLarge => "item larger than the memory cap",
            Status::AuthRequired => "authentication required",
            Status::AuthFailed => "authentication failed",
            Status::UnsupportedVersion => "unsupported protocol version",
            Status::TooManyConnections => "too many connections",
            Status::Timeout => "timeout",
            Status::Busy => "server busy",
            Status::ShuttingDown => "server shutting down",
            Status::NotInteger => "value is not an integer or out of range",
        }
    }
}

/// One decoded request. Keys, values and tokens borrow from the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `PING`: replies OK with an empty body.
    Ping,
    /// `HELLO`: `version` is the highest protocol version the client speaks.
    Hello {
        /// Highest version the client speaks (1 today; 0 is invalid).
        version: u8,
    },
    /// `AUTH`: the shared-secret token.
    Auth {
        /// The token bytes, compared exactly.
        token: &'a [u8],
    },
    /// `GET key`.
    Get {
        /// The key.
        key: &'a [u8],
    },
    /// `SET key value` with an optional TTL.
    Set {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Time to live in milliseconds; 0 = no TTL.
        ttl_ms: u64,
    },
    /// `DEL key`.
    Del {
        /// The key.
        key: &'a [u8],
    },
    /// `EXPIRE key ttl_ms`.
    Expire {
        /// The key.
        key: &'a [u8],
        /// New time to live in milliseconds; 0 = clear the TTL.
        ttl_ms: u64,
    },
    /// `TTL key`.
    Ttl {
        /// The key.
        key: &'a [u8],
    },
    /// `STATS`.
    Stats,
    /// v2 `ADD key value`: store only if the key is missing.
    Add {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Time to live in milliseconds; 0 = no TTL.
        ttl_ms: u64,
    },
    /// v2 `REPLACE key value`: store only if the key exists.
    Replace {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Time to live in milliseconds; 0 = no TTL.
        ttl_ms: u64,
    },
    /// v2 `INCR key delta`.
    Incr {
        /// The key.
        key: &'a [u8],
        /// Added to the stored integer (negative to decrement).
        delta: i64,
    },
    /// v2 `APPEND key suffix`.
    Append {
        /// The key.
        key: &'a [u8],
        /// Appended to the stored value.
        suffix: &'a [u8],
    },
    /// v2 `FLUSH`.
    Flush,
    /// v2 `SCAN cursor count prefix`.
    Scan {
        /// 0 to start a walk, else a cursor a reply returned.
        cursor: u64,
        /// How many keys the client would like (a hint; 0 reads as 1).
        count: u16,
        /// Only keys starting with these bytes are returned.
        prefix: &'a [u8],
    },
}

impl<'a> Request<'a> {
    /// The opcode this request is sent with.
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Ping => Opcode::Ping,
            Request::Hello { .. } => Opcode::Hello,
            Request::Auth { .. } => Opcode::Auth,
            Request::Get { .. } => Opcode::Get,
            Request::Set { .. } => Opcode::Set,
            Request::Del { .. } => Opcode::Del,
            Request::Expire { .. } => Opcode::Expire,
            Request::Ttl { .. } => Opcode::Ttl,
            Request::Stats => Opcode::Stats,
            Request::Add { .. } => Opcode::Add,
            Request::Replace { .. } => Opcode::Replace,
            Request::Incr { .. } => Opcode::Incr,
            Request::Append { .. } => Opcode::Append,
            Request::Flush => Opcode::Flush,
            Request::Scan { .. } => Opcode::Scan,
        }
    }

    /// The key, for the commands that carry one.
    pub fn key(&self) -> Option<&'a [u8]> {
        match *self {
            Request::Get { key }
            | Request::Set { key, .. }
            | Request::Del { key }
            | Request::Expire { key, .. }
            | Request::Ttl { key }
            | Request::Add { key, .. }
            | Request::Replace { key, .. }
            | Request::Incr { key, .. }
            | Request::Append { key, .. } => Some(key),
            Request::Ping
            | Request::Hello { .. }
            | Request::Auth { .. }
            | Request::Stats
            | Request::Flush
            | Request::Scan { .. } => None,
        }
    }

    /// The value (or APPEND's suffix), held to `max_value_bytes`.
    pub fn value(&self) -> Option<&'a [u8]> {
        match *self {
            Request::Set { value, .. }
            | Request::Add { value, .. }
            | Request::Replace { value, .. }
            | Request::Append { suffix: value, .. } => Some(value),
            _ => None,
        }
    }
}

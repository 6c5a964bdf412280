//! [`Pipeline`]: many requests queued, sent in one write, their replies
//! matched in order. The frames are encoded once into one buffer as they are
//! queued; the limits (and the negotiated version) are checked when the
//! pipeline runs on a connection, so one oversized entry, or one version-2
//! command on a version-1 connection, is refused alone and the others still
//! go.

use std::ops::Range;
use std::time::Duration;

use crate::reply::ttl_ms;
use crate::wire::{Opcode, Request, Shape};

/// A batch of requests for one round trip.
///
/// Run it with [`Connection::execute`](crate::Connection::execute) (or the
/// async client's [`execute`](crate::aio::Client::execute) with feature
/// `tokio`): each entry gets its own [`Value`](crate::Value) or error, in
/// the order queued.
///
/// ```no_run
/// use blink_client::{Config, Connection, Pipeline, Value};
///
/// let mut conn = Connection::connect(&Config::tcp("127.0.0.1:25465"))?;
/// let mut pipeline = Pipeline::new();
/// pipeline.set("a", "1", None).get("a").del("a");
/// let results = conn.execute(&pipeline);
/// assert_eq!(results[1].as_ref().ok(), Some(&Value::Bytes(Some(b"1".to_vec()))));
/// # Ok::<(), blink_client::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Pipeline {
    frames: Vec<u8>,
    entries: Vec<Entry>,
}

/// One queued request: where its frame lies and what the checks need.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) op: Opcode,
    pub(crate) shape: Shape,
    pub(crate) frame: Range<usize>,
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// Queues PING.
    pub fn ping(&mut self) -> &mut Pipeline {
        self.push(Request::Ping)
    }

    /// Queues HELLO asking for `version`.
    pub fn hello(&mut self, version: u8) -> &mut Pipeline {
        self.push(Request::Hello { version })
    }

    /// Queues AUTH with `token`.
    pub fn auth(&mut self, token: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Auth {
            token: token.as_ref(),
        })
    }

    /// Queues GET.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Get { key: key.as_ref() })
    }

    /// Queues SET, with a TTL or (`None`) without one.
    pub fn set(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> &mut Pipeline {
        let ttl_ms = ttl_ms(ttl);
        self.push(Request::Set {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// Queues DEL.
    pub fn del(&mut self, key: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Del { key: key.as_ref() })
    }

    /// Queues EXPIRE: a new TTL, or (`None`) none, making the key persistent.
    pub fn expire(&mut self, key: impl AsRef<[u8]>, ttl: Option<Duration>) -> &mut Pipeline {
        self.push(Request::Expire {
            key: key.as_ref(),
            ttl_ms: ttl_ms(ttl),
        })
    }

    /// Queues TTL.
    pub fn ttl(&mut self, key: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Ttl { key: key.as_ref() })
    }

    /// Queues STATS.
    pub fn stats(&mut self) -> &mut Pipeline {
        self.push(Request::Stats)
    }

    /// Queues ADD (version 2): its [`Value::Stored`](crate::Value::Stored)
    /// is false when the key exists.
    pub fn add(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> &mut Pipeline {
        let ttl_ms = ttl_ms(ttl);
        self.push(Request::Add {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// Queues REPLACE (version 2): its [`Value::Stored`](crate::Value::Stored)
    /// is false when the key is missing.
    pub fn replace(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> &mut Pipeline {
        let ttl_ms = ttl_ms(ttl);
        self.push(Request::Replace {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// Queues INCR by `delta` (version 2): a [`Value::Integer`](crate::Value::Integer).
    pub fn incr(&mut self, key: impl AsRef<[u8]>, delta: i64) -> &mut Pipeline {
        self.push(Request::Incr {
            key: key.as_ref(),
            delta,
        })
    }

    /// Queues APPEND (version 2): a [`Value::Length`](crate::Value::Length).
    pub fn append(&mut self, key: impl AsRef<[u8]>, suffix: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Append {
            key: key.as_ref(),
            suffix: suffix.as_ref(),
        })
    }

    /// Queues FLUSH (version 2).
    pub fn flush(&mut self) -> &mut Pipeline {
        self.push(Request::Flush)
    }

    /// Queues one SCAN step (version 2): a [`Value::Scan`](crate::Value::Scan) page.
    pub fn scan(&mut self, cursor: u64, count: u16, prefix: impl AsRef<[u8]>) -> &mut Pipeline {
        self.push(Request::Scan {
            cursor,
            count,
            prefix: prefix.as_ref(),
        })
    }

    /// The number of queued requests.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the pipeline, keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.frames.clear();
        self.entries.clear();
    }

    fn push(&mut self, request: Request<'_>) -> &mut Pipeline {
        let start = self.frames.len();
        let shape = request.shape();
        // A frame whose sizes no server accepts is never encoded (its length
        // fields could not hold it); the limit check refuses it at run time.
        if shape.key_bytes <= usize::from(u16::MAX) && shape.payload_bytes <= u32::MAX as usize {
            request.encode(&mut self.frames);
        }
        let frame = start..self.frames.len();
        self.entries.push(Entry {
            op: request.opcode(),
            shape,
            frame,
        });
        self
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every frame, back to back.
    pub(crate) fn frames(&self) -> &[u8] {
        &self.frames
    }
}

//! The async client (feature `tokio`): [`Client`], one multiplexed
//! connection shared by every clone, driven by a background task.
//!
//! Each call checks its sizes against the server's limits, encodes its
//! frame, and submits it with a oneshot reply channel to the driver task,
//! which writes every submission waiting at once (auto-pipelining) and
//! matches replies to a FIFO of pending calls. Cancel-safe: dropping a call's
//! future (for example through `tokio::time::timeout`) leaves its FIFO slot
//! in place and its reply is read and discarded, never handed to another
//! call. When the connection fails, every pending call fails with "outcome
//! unknown" and the next call reconnects, with exponential backoff and
//! jitter between failed attempts.
//!
//! Every connection asks for version 2 (`HELLO 2`); the version-2 commands
//! are checked against the version of the current connection's last HELLO,
//! so on a version-1 server they fail locally with
//! [`Error::UnknownCommand`]. A reconnect negotiates afresh.
//!
//! ```no_run
//! # async fn demo() -> blink_client::Result<()> {
//! use std::time::Duration;
//! use blink_client::{Config, aio::Client};
//!
//! let client = Client::connect(Config::tcp("127.0.0.1:25465")).await?;
//! client.set("session:1", "alice", Some(Duration::from_secs(300))).await?;
//! let (a, b) = tokio::join!(client.get("session:1"), client.get("session:2"));
//! assert_eq!(a?, Some(b"alice".to_vec()));
//! assert_eq!(b?, None);
//! # Ok(())
//! # }
//! ```

mod driver;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::error::{Error, ProtocolError, RequestSizes, Result};
use crate::pipeline::Pipeline;
use crate::reply::{ScanPage, ServerInfo, Stats, Ttl, Value, ttl_ms};
use crate::scan::{Next, Walk};
use crate::session::Session;
use crate::wire::Request;
use driver::{Driver, Submission};

/// Submissions waiting for the driver beyond its in-flight slots; a full
/// channel makes callers wait (backpressure rather than an unbounded queue).
const SUBMISSION_QUEUE_DEPTH: usize = 1024;

/// A cloneable handle to one multiplexed connection. `Send + Sync`; clones
/// share the connection. The driver task stops when the last clone drops.
#[derive(Debug, Clone)]
pub struct Client {
    submissions: mpsc::Sender<Submission>,
    shared: Arc<Shared>,
}

/// Counters of an async client's connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientMetrics {
    /// Connect attempts, including the first.
    pub connect_attempts: u64,
    /// Of those, attempts that failed.
    pub connect_failures: u64,
}

/// What the handles and the driver share: the session the limits are
/// checked against (replaced on every reconnect), and the counters.
#[derive(Debug, Default)]
struct Shared {
    session: Mutex<Session>,
    metrics: Metrics,
}

#[derive(Debug, Default)]
struct Metrics {
    connect_attempts: AtomicU64,
    connect_failures: AtomicU64,
}

impl Shared {
    fn lock_session(&self) -> MutexGuard<'_, Session> {
        // A Session is plain data, valid at every unlock.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Client {
    /// Connects (HELLO, and AUTH with the config's token), then starts the
    /// driver task on the current tokio runtime. The first connection's
    /// errors (refused, wrong token...) are returned here.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn connect(config: Config) -> Result<Client> {
        let shared = Arc::new(Shared::default());
        let (submissions, requests) = mpsc::channel(SUBMISSION_QUEUE_DEPTH);
        let driver = Driver::start(config, Arc::clone(&shared), requests).await?;
        tokio::spawn(driver.run());
        Ok(Client {
            submissions,
            shared,
        })
    }

    /// PING.
    pub async fn ping(&self) -> Result<()> {
        self.call(Request::Ping).await?.into_done()
    }

    /// HELLO with `version`; refreshes the limits calls are checked against.
    pub async fn hello(&self, version: u8) -> Result<ServerInfo> {
        match self.call(Request::Hello { version }).await? {
            Value::Hello(info) => Ok(info),
            _ => Err(mismatch("HELLO")),
        }
    }

    /// AUTH with `token`. For a client that reconnects on its own, prefer
    /// [`Config::auth_token`], which every new connection sends.
    pub async fn auth(&self, token: impl AsRef<[u8]>) -> Result<()> {
        self.call(Request::Auth {
            token: token.as_ref(),
        })
        .await?
        .into_done()
    }

    /// GET: the value, or `None` when the key is missing or expired.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        match self.call(Request::Get { key: key.as_ref() }).await? {
            Value::Bytes(value) => Ok(value),
            _ => Err(mismatch("GET")),
        }
    }

    /// SET, with a TTL or (`None`) without one.
    pub async fn set(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let request = Request::Set {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms: ttl_ms(ttl),
        };
        self.call(request).await?.into_done()
    }

    /// DEL: whether a live key was removed.
    pub async fn del(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.call(Request::Del { key: key.as_ref() })
            .await?
            .into_existed()
    }

    /// EXPIRE: a new TTL, or with `None` none. Whether the key exists.
    pub async fn expire(&self, key: impl AsRef<[u8]>, ttl: Option<Duration>) -> Result<bool> {
        let request = Request::Expire {
            key: key.as_ref(),
            ttl_ms: ttl_ms(ttl),
        };
        self.call(request).await?.into_existed()
    }

    /// TTL: `None` for a missing key, else [`Ttl::Persistent`] or the time left.
    pub async fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<Ttl>> {
        match self.call(Request::Ttl { key: key.as_ref() }).await? {
            Value::Ttl(ttl) => Ok(ttl),
            _ => Err(mismatch("TTL")),
        }
    }

    /// STATS.
    pub async fn stats(&self) -> Result<Stats> {
        match self.call(Request::Stats).await? {
            Value::Stats(stats) => Ok(stats),
            _ => Err(mismatch("STATS")),
        }
    }

    /// ADD (version 2): stores `value` only if `key` does not exist.
    /// `Ok(false)` when it does (nothing changed).
    pub async fn add(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let request = Request::Add {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms: ttl_ms(ttl),
        };
        self.call(request).await?.into_stored()
    }

    /// REPLACE (version 2): stores `value` only if `key` exists.
    /// `Ok(false)` when it is missing.
    pub async fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let request = Request::Replace {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms: ttl_ms(ttl),
        };
        self.call(request).await?.into_stored()
    }

    /// INCR (version 2): adds `delta` to the integer under `key` (a missing
    /// key counts as 0) and returns the new value; [`Error::NotInteger`]
    /// when the value is not an integer or the result would overflow.
    pub async fn incr(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        let request = Request::Incr {
            key: key.as_ref(),
            delta,
        };
        match self.call(request).await? {
            Value::Integer(value) => Ok(value),
            _ => Err(mismatch("INCR")),
        }
    }

    /// APPEND (version 2): appends `suffix` to the value under `key` and
    /// returns the new length in bytes.
    pub async fn append(&self, key: impl AsRef<[u8]>, suffix: impl AsRef<[u8]>) -> Result<u64> {
        let request = Request::Append {
            key: key.as_ref(),
            suffix: suffix.as_ref(),
        };
        match self.call(request).await? {
            Value::Length(length) => Ok(length),
            _ => Err(mismatch("APPEND")),
        }
    }

    /// FLUSH (version 2): removes every key.
    pub async fn flush(&self) -> Result<()> {
        self.call(Request::Flush).await?.into_done()
    }

    /// SCAN (version 2): one step of a walk over the keys starting with
    /// `prefix`; start at cursor 0 and send back each returned cursor until
    /// it is 0. [`scan_keys`](Self::scan_keys) does the loop.
    pub async fn scan(
        &self,
        cursor: u64,
        count: u16,
        prefix: impl AsRef<[u8]>,
    ) -> Result<ScanPage> {
        let request = Request::Scan {
            cursor,
            count,
            prefix: prefix.as_ref(),
        };
        match self.call(request).await? {
            Value::Scan { next_cursor, keys } => Ok((next_cursor, keys)),
            _ => Err(mismatch("SCAN")),
        }
    }

    /// Every key starting with `prefix`, a SCAN page (about `count` keys) at
    /// a time, until the cursor comes back 0.
    ///
    /// ```no_run
    /// # async fn demo(client: blink_client::aio::Client) -> blink_client::Result<()> {
    /// let mut keys = client.scan_keys("user:", 100);
    /// while let Some(key) = keys.next_key().await? {
    ///     println!("{}", String::from_utf8_lossy(&key));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn scan_keys(&self, prefix: impl AsRef<[u8]>, count: u16) -> ScanKeys {
        ScanKeys {
            client: self.clone(),
            walk: Walk::new(prefix.as_ref().to_vec(), count),
        }
    }

    /// Runs `pipeline` as one submission: its frames go out together, and
    /// one result comes back per request, in order. Entries over the limits
    /// fail alone, locally, and so do version-2 commands when the
    /// connection is at version 1.
    pub async fn execute(&self, pipeline: &Pipeline) -> Vec<Result<Value>> {
        let entries = pipeline.entries();
        let mut results: Vec<Result<Value>> = Vec::with_capacity(entries.len());
        let mut frames = Vec::with_capacity(pipeline.frames().len());
        let mut calls = Vec::with_capacity(entries.len());
        let mut sent = Vec::with_capacity(entries.len());
        {
            let session = self.shared.lock_session();
            for (index, entry) in entries.iter().enumerate() {
                match session.check(entry.op, entry.shape) {
                    Ok(sizes) => {
                        frames.extend_from_slice(&pipeline.frames()[entry.frame.clone()]);
                        calls.push((entry.op, sizes));
                        sent.push(index);
                        results.push(Err(Error::ConnectionClosed));
                    }
                    Err(e) => results.push(Err(e)),
                }
            }
        }
        if sent.is_empty() {
            return results;
        }
        match self.submit(frames, calls).await {
            Ok(replies) => {
                for (index, reply) in sent.into_iter().zip(replies) {
                    results[index] = reply;
                }
            }
            Err(error) => {
                for index in sent {
                    results[index] = Err(error.clone());
                }
            }
        }
        results
    }

    /// The driver's connection counters.
    pub fn metrics(&self) -> ClientMetrics {
        let metrics = &self.shared.metrics;
        ClientMetrics {
            connect_attempts: metrics.connect_attempts.load(Ordering::Relaxed),
            connect_failures: metrics.connect_failures.load(Ordering::Relaxed),
        }
    }

    async fn call(&self, request: Request<'_>) -> Result<Value> {
        let op = request.opcode();
        let sizes = self.shared.lock_session().check(op, request.shape())?;
        let mut frames = Vec::with_capacity(request.payload_bytes() + crate::wire::HEADER_BYTES);
        request.encode(&mut frames);
        let mut replies = self.submit(frames, vec![(op, sizes)]).await?;
        replies.pop().unwrap_or(Err(Error::ConnectionClosed))
    }

    async fn submit(
        &self,
        frames: Vec<u8>,
        calls: Vec<(crate::wire::Opcode, RequestSizes)>,
    ) -> Result<Vec<Result<Value>>> {
        let (reply_to, replies) = oneshot::channel();
        let submission = Submission {
            frames,
            calls,
            reply_to,
        };
        // Either failure means the driver is gone: nothing was or will be answered.
        self.submissions
            .send(submission)
            .await
            .map_err(|_| Error::ConnectionClosed)?;
        replies.await.map_err(|_| Error::ConnectionClosed)
    }
}

impl Value {
    fn into_done(self) -> Result<()> {
        match self {
            Value::Done => Ok(()),
            _ => Err(mismatch("PING/AUTH/SET")),
        }
    }

    fn into_existed(self) -> Result<bool> {
        match self {
            Value::Existed(existed) => Ok(existed),
            _ => Err(mismatch("DEL/EXPIRE")),
        }
    }

    fn into_stored(self) -> Result<bool> {
        match self {
            Value::Stored(stored) => Ok(stored),
            _ => Err(mismatch("ADD/REPLACE")),
        }
    }
}

/// The keys of a walk on an async [`Client`], from [`Client::scan_keys`]:
/// [`next_key`](Self::next_key) issues SCAN a page at a time, until the
/// cursor comes back 0.
#[derive(Debug)]
pub struct ScanKeys {
    client: Client,
    walk: Walk,
}

impl ScanKeys {
    /// The next key, or `None` once the walk is complete. Every key that
    /// exists for the whole walk comes out exactly once. After an error the
    /// walk is over: further calls return `Ok(None)`.
    pub async fn next_key(&mut self) -> Result<Option<Vec<u8>>> {
        // Pages may be empty while the walk goes on: ask until a key or the end.
        loop {
            match self.walk.next() {
                Next::Key(key) => return Ok(Some(key)),
                Next::End => return Ok(None),
                Next::Page => {
                    let walk = &self.walk;
                    let page = self.client.scan(walk.cursor, walk.count, &walk.prefix);
                    let page = page.await;
                    self.walk.take(page)?;
                }
            }
        }
    }
}

/// The driver read the reply by the request's own opcode, so the variant
/// always matches; this is the typed path's guard all the same.
fn mismatch(command: &'static str) -> Error {
    Error::Protocol(ProtocolError::UnexpectedReply {
        command,
        status: 0,
        body_bytes: 0,
    })
}

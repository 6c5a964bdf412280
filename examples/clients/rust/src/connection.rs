//! [`Connection`]: one blocking connection to a server, and the loop that
//! moves its bytes. Every call writes its frames and reads its replies in
//! one [`Channel::exchange`], which reads whenever the socket is readable
//! and writes whenever it is writable, so a pipeline of any size cannot
//! deadlock on full socket buffers (SPEC §8).
//!
//! Failure policy: a timeout, an I/O error, an invalid frame or a closing
//! status marks the connection broken and shuts the socket. Replies are
//! never read across calls, so a late reply to a timed-out call can never
//! reach the next caller: the next call on a broken connection fails with
//! [`Error::ConnectionClosed`], and a [`Pool`](crate::Pool) replaces it.

use std::io;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result, TimeoutKind};
use crate::pipeline::Pipeline;
use crate::reply::{FromReply, ScanPage, ServerInfo, Stats, Ttl, Value, ttl_ms};
use crate::scan::ScanKeys;
use crate::session::{Handshake, Session};
use crate::stream::Stream;
use crate::wire::{RawReply, ReplyBuffer, Request};

/// A blocking connection: HELLO (and AUTH) done, version and limits known.
///
/// Not `Sync`: one thread uses it at a time. Share connections between
/// threads with a [`Pool`](crate::Pool).
///
/// ```no_run
/// use std::time::Duration;
/// use blink_client::{Config, Connection};
///
/// let mut conn = Connection::connect(&Config::tcp("127.0.0.1:25465"))?;
/// conn.set("greeting", "hello", Some(Duration::from_secs(60)))?;
/// assert_eq!(conn.get("greeting")?, Some(b"hello".to_vec()));
/// assert_eq!(conn.get("missing")?, None);
/// # Ok::<(), blink_client::Error>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    channel: Channel,
    session: Session,
    created_at: Instant,
    last_used_at: Instant,
}

/// The socket, its read buffer, its deadlines, and whether it broke.
#[derive(Debug)]
struct Channel {
    stream: Stream,
    input: ReplyBuffer,
    /// Encoded requests of the call in progress (reused across calls).
    output: Vec<u8>,
    read_timeout: Duration,
    write_timeout: Duration,
    broken: bool,
}

impl Connection {
    /// Connects, sends HELLO (and AUTH when the config has a token) in one
    /// write, and checks the replies, all within the connect timeout.
    pub fn connect(config: &Config) -> Result<Connection> {
        let stream = Stream::connect(&config.address, config.connect_timeout)?;
        let mut channel = Channel {
            stream,
            input: ReplyBuffer::new(),
            output: Vec::new(),
            read_timeout: config.connect_timeout,
            write_timeout: config.connect_timeout,
            broken: false,
        };
        let session = channel
            .handshake(config.auth_token.as_deref())
            .map_err(|e| match e {
                Error::Timeout(_) => Error::Timeout(TimeoutKind::Connect),
                e => e,
            })?;
        channel.read_timeout = config.read_timeout;
        channel.write_timeout = config.write_timeout;
        let now = Instant::now();
        Ok(Connection {
            channel,
            session,
            created_at: now,
            last_used_at: now,
        })
    }

    /// PING: is the server alive?
    pub fn ping(&mut self) -> Result<()> {
        self.call(Request::Ping)
    }

    /// HELLO: negotiates `version` and refreshes the limits this connection
    /// checks requests against. Connecting already did this once, asking
    /// for version 2. The version the reply reports is the connection's
    /// from then on: after `hello(1)`, the version-2 commands fail locally
    /// with [`Error::UnknownCommand`] until a `hello(2)`.
    pub fn hello(&mut self, version: u8) -> Result<ServerInfo> {
        self.call(Request::Hello { version })
    }

    /// AUTH with `token`; the full frame limit applies once it succeeds.
    /// A wrong token is [`Error::AuthFailed`] and closes the connection.
    pub fn auth(&mut self, token: impl AsRef<[u8]>) -> Result<()> {
        self.call(Request::Auth {
            token: token.as_ref(),
        })
    }

    /// GET: the value, or `None` when the key is missing or expired.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.call(Request::Get { key: key.as_ref() })
    }

    /// SET, replacing any previous value and TTL. `ttl: None` stores the
    /// key without a TTL; `Some(ttl)` expires it after `ttl` (at least 1 ms).
    pub fn set(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let ttl_ms = ttl_ms(ttl);
        self.call(Request::Set {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// DEL: whether a live key was removed.
    pub fn del(&mut self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.call(Request::Del { key: key.as_ref() })
    }

    /// EXPIRE: gives the key a new TTL counted from now, or with `None`
    /// clears its TTL. Whether the key exists (EXPIRE never creates one).
    pub fn expire(&mut self, key: impl AsRef<[u8]>, ttl: Option<Duration>) -> Result<bool> {
        self.call(Request::Expire {
            key: key.as_ref(),
            ttl_ms: ttl_ms(ttl),
        })
    }

    /// TTL: `None` for a missing key, else [`Ttl::Persistent`] or the time left.
    pub fn ttl(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Ttl>> {
        self.call(Request::Ttl { key: key.as_ref() })
    }

    /// STATS: the server's counters by name.
    pub fn stats(&mut self) -> Result<Stats> {
        self.call(Request::Stats)
    }

    /// ADD (version 2): stores `value` only if `key` does not exist, with a
    /// TTL or (`None`) without one. `Ok(false)` when the key exists: nothing
    /// changed (EXISTS is an outcome, not an error).
    ///
    /// ```no_run
    /// # let mut conn = blink_client::Connection::connect(&blink_client::Config::tcp("127.0.0.1:25465"))?;
    /// if conn.add("lock:job-7", "worker-3", Some(std::time::Duration::from_secs(30)))? {
    ///     println!("the lock is ours");
    /// }
    /// # Ok::<(), blink_client::Error>(())
    /// ```
    pub fn add(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let ttl_ms = ttl_ms(ttl);
        self.call(Request::Add {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// REPLACE (version 2): stores `value` only if `key` exists, replacing
    /// its value and TTL as SET does. `Ok(false)` when the key is missing.
    pub fn replace(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        let ttl_ms = ttl_ms(ttl);
        self.call(Request::Replace {
            key: key.as_ref(),
            value: value.as_ref(),
            ttl_ms,
        })
    }

    /// INCR (version 2): adds `delta` (negative to decrement) to the decimal
    /// integer stored under `key` and returns the new value. A missing key
    /// counts as 0 and is created without a TTL; an existing key keeps its
    /// TTL. A value that is not an integer, or a result outside the `i64`
    /// range, is [`Error::NotInteger`] and changes nothing.
    ///
    /// ```no_run
    /// # let mut conn = blink_client::Connection::connect(&blink_client::Config::tcp("127.0.0.1:25465"))?;
    /// let views = conn.incr("views:home", 1)?;
    /// assert_eq!(conn.incr("views:home", -1)?, views - 1);
    /// # Ok::<(), blink_client::Error>(())
    /// ```
    pub fn incr(&mut self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64> {
        self.call(Request::Incr {
            key: key.as_ref(),
            delta,
        })
    }

    /// APPEND (version 2): appends `suffix` to the value under `key` (a
    /// missing key is created with `suffix` as its value, without a TTL) and
    /// returns the value's new length in bytes. A result longer than the
    /// server's `max_value_bytes` is [`Error::ValueTooLarge`] and changes
    /// nothing.
    pub fn append(&mut self, key: impl AsRef<[u8]>, suffix: impl AsRef<[u8]>) -> Result<u64> {
        self.call(Request::Append {
            key: key.as_ref(),
            suffix: suffix.as_ref(),
        })
    }

    /// FLUSH (version 2): removes every key.
    pub fn flush(&mut self) -> Result<()> {
        self.call(Request::Flush)
    }

    /// SCAN (version 2): one bounded step of a walk over the keys starting
    /// with `prefix` (empty: every key). Start with `cursor` 0 and send back
    /// each returned cursor until it is 0 again; `count` is a hint of how
    /// many keys a page holds, and a page may hold none while the walk goes
    /// on (SPEC §5.2). [`scan_keys`](Self::scan_keys) does the loop.
    pub fn scan(&mut self, cursor: u64, count: u16, prefix: impl AsRef<[u8]>) -> Result<ScanPage> {
        self.call(Request::Scan {
            cursor,
            count,
            prefix: prefix.as_ref(),
        })
    }

    /// Every key starting with `prefix`, as an iterator that issues SCAN
    /// (pages of about `count` keys) until the cursor comes back 0. Every key
    /// that exists for the whole walk comes out exactly once; keys added or
    /// removed meanwhile may or may not. A failed SCAN is the iterator's
    /// last item.
    ///
    /// ```no_run
    /// # let mut conn = blink_client::Connection::connect(&blink_client::Config::tcp("127.0.0.1:25465"))?;
    /// let users: Vec<Vec<u8>> = conn.scan_keys("user:", 100).collect::<Result<_, _>>()?;
    /// println!("{} users", users.len());
    /// # Ok::<(), blink_client::Error>(())
    /// ```
    pub fn scan_keys(&mut self, prefix: impl AsRef<[u8]>, count: u16) -> ScanKeys<'_> {
        ScanKeys::new(self, prefix.as_ref().to_vec(), count)
    }

    /// Runs every request of `pipeline` in one write (read while writing),
    /// and returns one result per request, in order.
    ///
    /// Entries over the limits fail alone, locally, and are not sent; so do
    /// version-2 commands on a connection at version 1 (checked against the
    /// version before the pipeline runs: a HELLO inside it applies from the
    /// next call on). If the connection fails midway, the entries answered
    /// before keep their results and every later one fails with the
    /// connection's error (outcome unknown).
    pub fn execute(&mut self, pipeline: &Pipeline) -> Vec<Result<Value>> {
        let entries = pipeline.entries();
        let mut results = Vec::with_capacity(entries.len());
        let mut sent = Vec::with_capacity(entries.len());
        let mut output = std::mem::take(&mut self.channel.output);
        output.clear();
        for (index, entry) in entries.iter().enumerate() {
            let checked = self
                .usable()
                .and_then(|()| self.session.check(entry.op, entry.shape));
            match checked {
                Ok(sizes) => {
                    output.extend_from_slice(&pipeline.frames()[entry.frame.clone()]);
                    sent.push((index, entry.op, sizes));
                    results.push(Err(Error::ConnectionClosed));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let session = &mut self.session;
        let mut answered = 0;
        let outcome = self.channel.exchange(&output, sent.len(), |reply| {
            let (index, op, sizes) = sent[answered];
            answered += 1;
            let result = Value::from_reply(op, reply, &sizes).and_then(|value| {
                session.observe(op, reply)?;
                Ok(value)
            });
            let keep = keeps_connection(&result);
            results[index] = result;
            keep
        });
        if let Err(e) = outcome {
            for &(index, ..) in &sent[answered..] {
                results[index] = Err(e.clone());
            }
        }
        self.channel.output = output;
        self.after_call();
        results
    }

    /// What the server reported in the last HELLO.
    pub fn server_info(&self) -> &ServerInfo {
        self.session.info()
    }

    /// True once the connection failed: every further call fails with
    /// [`Error::ConnectionClosed`].
    pub fn is_broken(&self) -> bool {
        self.channel.broken
    }

    /// When the connection was established.
    pub fn created_at(&self) -> Instant {
        self.created_at
    }

    /// When the connection last finished a call.
    pub fn last_used_at(&self) -> Instant {
        self.last_used_at
    }

    /// The non-blocking liveness check a pool runs before reuse: not broken,
    /// and the socket shows neither EOF nor unsolicited bytes (a server
    /// closes an idle connection with ERR_TIMEOUT then EOF).
    pub(crate) fn is_idle_and_open(&self) -> bool {
        !self.channel.broken && self.channel.stream.is_idle_and_open()
    }

    /// Closes the connection now: further calls fail with
    /// [`Error::ConnectionClosed`], and a pool discards it instead of
    /// reusing it (for a caller that no longer trusts its state).
    pub fn close(&mut self) {
        self.channel.break_off();
    }

    fn usable(&self) -> Result<()> {
        if self.channel.broken {
            Err(Error::ConnectionClosed)
        } else {
            Ok(())
        }
    }

    fn call<T: FromReply>(&mut self, request: Request<'_>) -> Result<T> {
        self.usable()?;
        let op = request.opcode();
        let sizes = self.session.check(op, request.shape())?;
        let mut output = std::mem::take(&mut self.channel.output);
        output.clear();
        request.encode(&mut output);
        let session = &mut self.session;
        let mut result = Err(Error::ConnectionClosed);
        let outcome = self.channel.exchange(&output, 1, |reply| {
            result = T::from_reply(op, reply, &sizes).and_then(|value| {
                session.observe(op, reply)?;
                Ok(value)
            });
            keeps_connection(&result)
        });
        self.channel.output = output;
        self.after_call();
        outcome.and(result)
    }

    fn after_call(&mut self) {
        self.channel
            .input
            .set_max_frame_bytes(self.session.max_reply_frame_bytes());
        self.last_used_at = Instant::now();
    }
}

/// False for a result after which the connection cannot go on.
fn keeps_connection<T>(result: &Result<T>) -> bool {
    !matches!(result, Err(e) if e.closes_connection())
}

impl Channel {
    fn handshake(&mut self, token: Option<&[u8]>) -> Result<Session> {
        let handshake = Handshake::new(token);
        let mut session = Session::default();
        let mut result = Ok(());
        let mut index = 0;
        let outcome = self.exchange(&handshake.frames, handshake.replies, |reply| {
            result = Handshake::read_reply(&mut session, index, reply);
            index += 1;
            result.is_ok()
        });
        // A refusal in the HELLO slot explains the close that follows it.
        result.and(outcome)?;
        self.input
            .set_max_frame_bytes(session.max_reply_frame_bytes());
        Ok(session)
    }

    /// Writes all of `output` and hands the next `replies` replies to
    /// `on_reply` in order, reading whenever the socket is readable and
    /// writing whenever it is writable. `on_reply` returns false for a reply
    /// that ends the connection; the exchange then stops and breaks it.
    ///
    /// The write deadline bounds a wait while requests are unwritten, the
    /// read deadline a wait for replies; any progress restarts them. A
    /// failure breaks the connection and is returned for every reply not
    /// yet handed over.
    fn exchange(
        &mut self,
        output: &[u8],
        replies: usize,
        mut on_reply: impl FnMut(RawReply<'_>) -> bool,
    ) -> Result<()> {
        let (mut written, mut answered) = (0, 0);
        let mut readable = false;
        let mut progress_at = Instant::now();
        // A failed write may be the server closing after a final reply
        // (SPEC §7.4): keep reading, so that reply explains the close.
        let mut write_error = None;
        while answered < replies {
            match self.input.next_reply() {
                Ok(Some(reply)) => {
                    answered += 1;
                    if !on_reply(reply) {
                        self.break_off();
                        return Ok(());
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(self.fail(e.into())),
            }
            if written < output.len() {
                match self.stream.write(&output[written..]) {
                    Ok(n) if n > 0 => {
                        written += n;
                        progress_at = Instant::now();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(_) => (written, write_error) = (output.len(), Some(Error::ConnectionClosed)),
                    Err(e) => (written, write_error) = (output.len(), Some(Error::from_io(e))),
                }
            }
            if readable || write_error.is_some() {
                let spare = self.input.spare_mut();
                let room = spare.len();
                match self.stream.read(spare) {
                    Ok(0) => return Err(self.fail(write_error.unwrap_or(Error::ConnectionClosed))),
                    Ok(n) => {
                        self.input.filled(n);
                        progress_at = Instant::now();
                        // A full read may have left more behind: read again.
                        readable = n == room;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.fail(write_error.unwrap_or(Error::from_io(e)))),
                }
            }
            let want_write = written < output.len();
            let (timeout, kind) = if want_write {
                (self.write_timeout, TimeoutKind::Write)
            } else {
                (self.read_timeout, TimeoutKind::Read)
            };
            let Some(left) = timeout
                .checked_sub(progress_at.elapsed())
                .filter(|d| !d.is_zero())
            else {
                return Err(self.fail(Error::Timeout(kind)));
            };
            match self.stream.wait(want_write, left) {
                Ok(ready) => readable = ready.readable,
                Err(e) => return Err(self.fail(Error::io(e))),
            }
        }
        if written < output.len() || write_error.is_some() {
            // Every reply arrived before all requests were written: the
            // server is answering something else, or closing. Nothing can
            // follow safely.
            self.break_off();
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) -> Error {
        self.break_off();
        error
    }

    fn break_off(&mut self) {
        self.broken = true;
        self.stream.shutdown();
        self.input.clear();
    }
}

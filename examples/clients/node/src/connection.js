// One socket to a blink-store server and everything that happens on it: the
// HELLO 2 (+ AUTH) handshake and the version every HELLO reply negotiates
// (version-2 commands on a version-1 connection are refused unsent), the FIFO
// of calls awaiting replies, frames of one tick coalesced into one write and
// paced by 'drain', replies read through the FrameDecoder while writes are
// pending, the idle health-check PING, the stall detector for half-open peers,
// and the close that fails every pending call.
// It never reconnects: the client does.

import net from "node:net";
import { Call } from "./call.js";
import { Command, limitError, replyOutcome, versionError } from "./commands.js";
import {
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
  errorFromReply,
  statusErrorClass,
} from "./errors.js";
import { Fifo } from "./fifo.js";
import {
  FrameDecoder,
  PRE_AUTH_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  Status,
  V2_STATUSES,
  WireFormatError,
  statusName,
} from "./wire.js";

/** Frames queued in one tick are written in pieces of at most this size. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** Closing statuses that answer no request: the server sends them on its own, then closes (SPEC §7.3). */
const UNSOLICITED = new Set([
  Status.ERR_TOO_MANY_CONNECTIONS,
  Status.ERR_TIMEOUT,
  Status.ERR_BUSY,
  Status.ERR_SHUTTING_DOWN,
]);

const noop = () => {};

export class Connection {
  #options;
  #events;
  #metrics;
  #socket;
  #decoder = new FrameDecoder();
  #pending = new Fifo();
  #outgoing = [];
  /** Calls at the tail of #pending whose frames are still in #outgoing. */
  #unflushed = 0;
  #flushScheduled = false;
  #waitingDrain = false;
  #limits = null;
  /** The version of the last HELLO reply; a connection speaks version 1 until one (SPEC §10). */
  #version = 1;
  #preAuth = true;
  #ready = false;
  #closeReason = null;
  #closing = false;
  #closed = false;
  #closedPromise;
  #markClosed;
  #lastActivityAt = performance.now();
  #lastReadAt = 0;
  #waitingSince = 0;
  #stallTimer = null;
  #idleTimer = null;

  /**
   * Opens a connection and completes its handshake. Resolves to the ready
   * connection; rejects with the reason it could not be opened (a
   * ConnectionError, TimeoutError, AuthFailedError, TooManyConnectionsError...).
   *
   * `events.onClose(connection, reason, unsentCalls, broken)` runs once when
   * a ready connection closes; `events.onReplies(connection)` after each read
   * that delivered replies (in-flight slots were freed).
   */
  static open(options, events, metrics) {
    return new Connection(options, events, metrics).#handshake();
  }

  constructor(options, events, metrics) {
    this.#options = options;
    this.#events = events;
    this.#metrics = metrics;
    this.#closedPromise = new Promise((resolve) => (this.#markClosed = resolve));
    const socket = options.path
      ? net.connect({ path: options.path })
      : net.connect({
          host: options.host,
          port: options.port,
          noDelay: true,
          keepAlive: options.keepAliveMs > 0,
          keepAliveInitialDelay: options.keepAliveMs,
        });
    this.#socket = socket;
    socket.on("data", (chunk) => this.#onData(chunk));
    socket.on("drain", () => {
      this.#waitingDrain = false;
      this.#flush();
    });
    socket.on("error", (err) => this.#onSocketError(err));
    socket.on("end", () => this.#fail(new ConnectionClosedError(`${this.address} closed the connection`)));
    socket.on("close", () => {
      this.#fail(new ConnectionClosedError(`the socket to ${this.address} closed`));
      this.#markClosed();
    });
  }

  /** "127.0.0.1:25465" or the Unix socket path. */
  get address() {
    return this.#options.path ?? `${this.#options.host}:${this.#options.port}`;
  }

  /** The limits the server reported in HELLO (SPEC §4). */
  get limits() {
    return this.#limits;
  }

  /** The protocol version the last HELLO reply negotiated (1 before any). */
  get version() {
    return this.#version;
  }

  /** Calls written (or about to be) and not yet answered, including given-up ones. */
  get inFlight() {
    return this.#pending.length;
  }

  get isOpen() {
    return !this.#closed && !this.#closing;
  }

  async #handshake() {
    const { connectTimeoutMs, token } = this.#options;
    const timer = setTimeout(
      () => this.#fail(new TimeoutError(`connecting to ${this.address} timed out after ${connectTimeoutMs}ms`)),
      connectTimeoutMs,
    );
    const hello = new Call(Command.HELLO, undefined, undefined, undefined, PROTOCOL_VERSION);
    this.send(hello);
    const auth = token === undefined ? null : new Call(Command.AUTH, undefined, undefined, undefined, token);
    if (auth !== null) {
      this.send(auth);
      // When HELLO fails first, AUTH is never awaited; its rejection must not
      // surface as an unhandled one (Node's default ends the process).
      auth.promise.catch(noop);
    }
    try {
      // #deliver records the version, and closes the connection on one this client does not speak.
      const info = await hello.promise;
      const { maxFrameBytes, maxKeyBytes, maxValueBytes } = info;
      this.#limits = Object.freeze({ maxFrameBytes, maxKeyBytes, maxValueBytes });
      this.#decoder.maxFrameBytes = maxFrameBytes;
      this.#preAuth = info.authRequired && auth === null;
      if (auth !== null) await auth.promise;
    } catch (err) {
      // The reason the connection closed (a closing status, a timeout, a refused
      // connect) says more than the ConnectionClosedError of the HELLO call.
      this.#fail(err);
      throw this.#closeReason;
    } finally {
      clearTimeout(timer);
    }
    this.#ready = true;
    this.#armIdleCheck();
    return this;
  }

  /**
   * Queues `call` for the next write (the same tick's calls share one write).
   * A call the negotiated version lacks, or too large for the server's
   * limits, is failed at once, unsent. The version is that of the last HELLO
   * reply received: a HELLO still in flight does not change it yet.
   */
  send(call) {
    const unsupported = versionError(call, this.#version);
    if (unsupported !== undefined) {
      call.fail(unsupported);
      return;
    }
    if (this.#limits !== null) {
      const refusal = limitError(
        call,
        this.#limits,
        this.#preAuth ? PRE_AUTH_MAX_FRAME_BYTES : this.#limits.maxFrameBytes,
      );
      if (refusal !== undefined) {
        call.fail(refusal);
        return;
      }
    }
    // After AUTH the server applies the full frame limit; if AUTH fails it
    // closes before reading anything behind it.
    if (call.command === Command.AUTH) this.#preAuth = false;
    const frame = call.command.encode(call);
    call.sent = true;
    if (this.#pending.length === 0) {
      this.#waitingSince = performance.now();
      this.#armStallCheck();
    }
    this.#pending.push(call);
    this.#outgoing.push(frame);
    this.#unflushed++;
    if (!this.#flushScheduled && !this.#waitingDrain) {
      this.#flushScheduled = true;
      process.nextTick(() => this.#flush());
    }
  }

  #flush() {
    this.#flushScheduled = false;
    if (this.#closed) return;
    const frames = this.#outgoing;
    let next = 0;
    while (next < frames.length && !this.#waitingDrain) {
      let end = next + 1;
      let bytes = frames[next].length;
      while (end < frames.length && bytes + frames[end].length <= WRITE_CHUNK_BYTES) bytes += frames[end++].length;
      const data = end - next === 1 ? frames[next] : Buffer.concat(frames.slice(next, end), bytes);
      this.#unflushed -= end - next;
      next = end;
      this.#metrics.writes++;
      if (!this.#socket.write(data)) this.#waitingDrain = true;
    }
    this.#outgoing = next === frames.length ? [] : frames.slice(next);
    this.#lastActivityAt = performance.now();
  }

  #onData(chunk) {
    this.#lastActivityAt = this.#lastReadAt = performance.now();
    this.#decoder.push(chunk);
    let delivered = false;
    try {
      let frame;
      while (!this.#closed && (frame = this.#decoder.next()) !== null) {
        this.#deliver(frame.status, frame.body);
        delivered = true;
      }
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err;
      this.#fail(new ProtocolError(`${err.message} (from ${this.address})`, { cause: err }));
      return;
    }
    if (this.#closed || !delivered) return;
    if (this.#closing && this.#pending.length === 0) this.#socket.end();
    this.#events.onReplies(this);
  }

  #deliver(status, body) {
    const errorClass = statusErrorClass(status);
    const defined = status <= Status.EXISTS || errorClass !== undefined;
    if (!defined || (V2_STATUSES.has(status) && this.#version < 2)) {
      throw new WireFormatError(`reply status ${statusName(status)} is undefined at protocol version ${this.#version}`);
    }
    if (UNSOLICITED.has(status)) {
      // Not the answer to any pending call: every one of them is in doubt.
      this.#fail(errorFromReply(status, body));
      return;
    }
    const call = this.#pending.peek();
    if (call === undefined) throw new WireFormatError(`a ${statusName(status)} reply with no request pending`);
    const outcome = replyOutcome(call.command, status, body);
    if (call.command === Command.HELLO && !(outcome instanceof Error)) this.#negotiated(outcome.version);
    this.#pending.shift();
    if (call.settled) this.#metrics.lateRepliesDiscarded++;
    else if (outcome instanceof Error) call.fail(outcome);
    else call.succeed(outcome);
    if (errorClass?.closesConnection) this.#fail(outcome);
  }

  /** Records a HELLO reply's version; one this client does not speak breaks the connection (SPEC §10). */
  #negotiated(version) {
    if (!SUPPORTED_VERSIONS.includes(version)) {
      throw new WireFormatError(
        `the server negotiated protocol version ${version}; this client speaks ${SUPPORTED_VERSIONS.join(" and ")}`,
      );
    }
    this.#version = version;
  }

  #onSocketError(err) {
    if (!this.#ready) {
      this.#fail(new ConnectionError(`cannot connect to ${this.address}: ${err.message}`, { cause: err }));
    } else {
      this.#fail(new ConnectionClosedError(`socket error on ${this.address}: ${err.message}`, { cause: err }));
    }
  }

  /**
   * Closes the connection at once for `reason`; every pending call that
   * reached the wire fails with a ConnectionClosedError (or `reason` itself
   * when it is one); calls whose frames were never written are handed back
   * to the client through onClose.
   */
  #fail(reason) {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#socket.destroy();
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#idleTimer);
    const unsent = this.#pending.popTail(this.#unflushed);
    for (const call of unsent) call.sent = false;
    this.#outgoing = [];
    this.#unflushed = 0;
    const inDoubt =
      reason instanceof ConnectionClosedError ? reason : new ConnectionClosedError(reason.message, { cause: reason });
    for (const call of this.#pending.drain()) call.fail(inDoubt);
    if (this.#ready) this.#events.onClose(this, reason, unsent, !this.#closing);
  }

  /**
   * Closes gracefully: calls already sent get their replies (each bounded by
   * the stall detector), then the socket is ended. Resolves once it closed.
   */
  close() {
    if (!this.#closed && !this.#closing) {
      this.#closing = true;
      if (this.#pending.length === 0) this.#socket.end();
    }
    return this.#closedPromise;
  }

  // A connection with calls pending that reads nothing for stallTimeoutMs is
  // taken as dead (a stopped server, a half-open TCP peer) and closed.
  #armStallCheck() {
    const { stallTimeoutMs } = this.#options;
    if (stallTimeoutMs > 0 && this.#stallTimer === null) {
      this.#stallTimer = setTimeout(() => this.#checkStall(), stallTimeoutMs);
    }
  }

  #checkStall() {
    this.#stallTimer = null;
    if (this.#closed || this.#pending.length === 0) return;
    const { stallTimeoutMs } = this.#options;
    const quietMs = performance.now() - Math.max(this.#waitingSince, this.#lastReadAt);
    if (quietMs >= stallTimeoutMs) {
      this.#metrics.stalledConnections++;
      this.#fail(
        new TimeoutError(
          `no reply from ${this.address} for ${stallTimeoutMs}ms with ${this.#pending.length} calls pending`,
        ),
      );
    } else {
      this.#stallTimer = setTimeout(() => this.#checkStall(), stallTimeoutMs - quietMs);
    }
  }

  // A connection idle for healthCheckIdleMs sends a PING, which keeps a server
  // idle timeout at bay and lets the stall detector find a dead peer.
  #armIdleCheck(delayMs = this.#options.healthCheckIdleMs) {
    if (this.#options.healthCheckIdleMs > 0) {
      this.#idleTimer = setTimeout(() => this.#checkIdle(), delayMs);
      this.#idleTimer.unref();
    }
  }

  #checkIdle() {
    if (this.#closed || this.#closing) return;
    const { healthCheckIdleMs } = this.#options;
    const idleMs = performance.now() - this.#lastActivityAt;
    if (idleMs >= healthCheckIdleMs && this.#pending.length === 0) {
      this.#metrics.healthChecks++;
      const ping = new Call(Command.PING);
      ping.promise.catch(noop);
      this.send(ping);
      this.#armIdleCheck();
    } else {
      this.#armIdleCheck(Math.max(1, healthCheckIdleMs - idleMs));
    }
  }
}

// BlinkClient: the public API over one multiplexed connection. It owns the
// connection's life (connect, reconnect with backoff, no loop on a wrong
// token), the bounded queue of calls waiting for a connection or an in-flight
// slot, per-call deadlines and abort signals, metrics, and close().
//
// Calls issued in the same tick leave in one write (automatic pipelining);
// at most maxInFlight calls await replies at once.

import { EventEmitter } from "node:events";
import { reconnectDelayMs } from "./backoff.js";
import { Batch } from "./batch.js";
import { Deadline, failAll } from "./call.js";
import { calls } from "./commands.js";
import { Connection } from "./connection.js";
import {
  AuthFailedError,
  BusyError,
  ClientClosedError,
  ConnectionError,
  QueueFullError,
  QueueTimeoutError,
  ShuttingDownError,
  TooManyConnectionsError,
} from "./errors.js";
import { normalizeOptions } from "./options.js";
import { PROTOCOL_VERSION } from "./wire.js";

/** Closing statuses that mean "come back later": they count as a failed attempt for the backoff. */
const BACK_OFF = [TooManyConnectionsError, BusyError, ShuttingDownError];

function newMetrics() {
  return {
    connectAttempts: 0,
    connectFailures: 0,
    connectionsCreated: 0,
    connectionsClosed: 0,
    connectionsBroken: 0,
    stalledConnections: 0,
    healthChecks: 0,
    writes: 0,
    callsTimedOut: 0,
    callsAborted: 0,
    callsResent: 0,
    lateRepliesDiscarded: 0,
    queueFull: 0,
    queueTimeouts: 0,
  };
}

export class BlinkClient extends EventEmitter {
  #options;
  #metrics = newMetrics();
  /** "idle" | "connecting" | "ready" | "reconnecting" | "failed" | "closed" */
  #state = "idle";
  #connection = null;
  #opening = null;
  /** Waiting units (a Call, or a batch's Call array) with their queue timers. */
  #queue = [];
  #failures = 0;
  #lastError = null;
  #reconnectTimer = null;
  #readyWaiters = [];
  #closed = null;

  /** Makes a client; it connects on connect() or on its first call. */
  constructor(options) {
    super();
    this.#options = normalizeOptions(options);
  }

  /** "idle", "connecting", "ready", "reconnecting", "failed" (wrong token) or "closed". */
  get state() {
    return this.#state;
  }

  /** The limits the server reported in HELLO, once connected. */
  get limits() {
    return this.#connection?.limits ?? null;
  }

  /**
   * The protocol version the connection negotiated (2, or 1 with a version-1
   * server, whose connection refuses the version-2 commands unsent), once connected.
   */
  get protocolVersion() {
    return this.#connection?.version ?? null;
  }

  /** A snapshot of the counters, with the calls in flight and queued now. */
  get metrics() {
    return {
      ...this.#metrics,
      callsInFlight: this.#connection?.inFlight ?? 0,
      callsQueued: this.#queue.length,
    };
  }

  /**
   * Resolves once a connection is ready. Rejects with the error of the next
   * failed attempt (the client keeps retrying in the background unless the
   * error is an AuthFailedError), or at once when failed or closed.
   */
  connect() {
    if (this.#state === "ready") return Promise.resolve();
    if (this.#state === "closed") return Promise.reject(new ClientClosedError("the client is closed"));
    if (this.#state === "failed") return Promise.reject(this.#lastError);
    const ready = new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
    if (this.#state === "idle") this.#connectNow();
    return ready;
  }

  ping(options) {
    return this.#run(calls.ping, undefined, undefined, undefined, options);
  }

  /**
   * HELLO: the negotiated version and the limits (SPEC §10). The connection
   * speaks the version of the reply from then on (a reconnect sends HELLO 2 again).
   */
  hello(version = PROTOCOL_VERSION, options) {
    return this.#run(calls.hello, version, undefined, undefined, options);
  }

  /** AUTH on the current connection; a token that succeeds is used for reconnects too. */
  auth(token, options) {
    return this.#run(calls.auth, token, undefined, undefined, options).then(() => {
      this.#options = Object.freeze({ ...this.#options, token });
    });
  }

  /** The value as a Buffer, or null if there is no such key. */
  get(key, options) {
    return this.#run(calls.get, key, undefined, undefined, options);
  }

  /** The value decoded as UTF-8, or null if there is no such key. */
  getString(key, options) {
    return this.#run(calls.getString, key, undefined, undefined, options);
  }

  /** Stores the value; `options.ttlMs` (number or bigint, 0 = none) sets a TTL. */
  set(key, value, options) {
    return this.#run(calls.set, key, value, options?.ttlMs, options);
  }

  /** True if a live key was removed, false if there was none. */
  del(key, options) {
    return this.#run(calls.del, key, undefined, undefined, options);
  }

  /** Sets a TTL counted from now (0 clears it); false if there is no such key. */
  expire(key, ttlMs, options) {
    return this.#run(calls.expire, key, ttlMs, undefined, options);
  }

  /** Remaining milliseconds as a bigint, NO_TTL (-1n) for a key without TTL, null if there is no such key. */
  ttl(key, options) {
    return this.#run(calls.ttl, key, undefined, undefined, options);
  }

  /** The server's counters: a Map of name to bigint. */
  stats(options) {
    return this.#run(calls.stats, undefined, undefined, undefined, options);
  }

  /** v2: stores the value only if the key does not exist: true if stored, false if it exists. */
  add(key, value, options) {
    return this.#run(calls.add, key, value, options?.ttlMs, options);
  }

  /** v2: stores the value only if the key exists: true if stored, false if there is no such key. */
  replace(key, value, options) {
    return this.#run(calls.replace, key, value, options?.ttlMs, options);
  }

  /**
   * v2: adds `delta` (number or bigint, default 1; negative to decrement) to
   * the decimal integer stored under the key (a missing key counts as 0) and
   * resolves to the new value as a bigint. NotIntegerError if the value is not
   * an integer or the result would leave the i64 range.
   */
  incr(key, delta, options) {
    return this.#run(calls.incr, key, delta, undefined, options);
  }

  /** v2: appends to the value (a missing key starts empty) and resolves to its new length in bytes. */
  append(key, suffix, options) {
    return this.#run(calls.append, key, suffix, undefined, options);
  }

  /** v2: removes every key. */
  flush(options) {
    return this.#run(calls.flush, undefined, undefined, undefined, options);
  }

  /**
   * v2: one step of a walk over the keys starting with `options.prefix`
   * (default all): `{ cursor, keys }`, the cursor to pass next as a bigint
   * (0n when the walk is complete) and the keys as Buffers. Start at 0n.
   * `options.count` (default 100) is a hint; a page may hold fewer keys, even
   * none, before the walk ends (SPEC §5.2).
   */
  scan(cursor, options) {
    return this.#run(calls.scan, cursor, options?.count, options?.prefix, options);
  }

  /**
   * v2: a whole walk, as an async iterator of keys (Buffers): SCAN from 0n
   * until the cursor is 0n again. Every key that exists for the whole walk is
   * yielded exactly once (SPEC §5.2). `options` are those of scan().
   */
  async *scanIterator(options) {
    let cursor = 0n;
    do {
      const page = await this.scan(cursor, options);
      cursor = page.cursor;
      yield* page.keys;
    } while (cursor !== 0n);
  }

  /** An explicit pipeline; see Batch. */
  batch() {
    return new Batch((batch, options) => {
      if (batch.length === 0) return;
      this.#watch(batch, options);
      this.#submit(batch);
    });
  }

  /**
   * Stops reconnecting, fails queued calls with ClientClosedError, lets the
   * calls already sent finish, and closes the connection. Idempotent.
   */
  close() {
    if (this.#closed !== null) return this.#closed;
    this.#state = "closed";
    clearTimeout(this.#reconnectTimer);
    const closing = new ClientClosedError("the client was closed");
    this.#failQueued(closing);
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(closing);
    const connection = this.#connection;
    const opening = this.#opening;
    this.#closed = (async () => {
      if (connection !== null) await connection.close();
      else if (opening !== null) await (await opening.catch(() => null))?.close();
      this.emit("close");
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose]() {
    return this.close();
  }

  // -------------------------------------------------------------------------
  // Calls

  #run(factory, a, b, c, options) {
    let call;
    try {
      call = factory(a, b, c);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#watch([call], options);
    this.#submit(call);
    return call.promise;
  }

  #watch(batch, options) {
    new Deadline(batch, options?.timeoutMs ?? this.#options.timeoutMs, options?.signal, this.#metrics);
  }

  /** Sends a unit (a Call or a batch's Call array) now, or queues it. */
  #submit(unit) {
    if (this.#state === "closed") return failUnit(unit, new ClientClosedError("the client is closed"));
    if (this.#state === "failed") return failUnit(unit, this.#lastError);
    const connection = this.#connection;
    if (connection !== null && this.#queue.length === 0 && connection.inFlight < this.#options.maxInFlight) {
      return sendUnit(connection, unit);
    }
    if (connection === null && !this.#options.offlineQueue) {
      // Fail fast, but never stay offline for want of a call: a client that has
      // never connected starts an attempt now (a reconnect after a disconnect is
      // already scheduled by its backoff). Calls fail at once only while an
      // attempt is in progress or during the backoff.
      const started = this.#state === "idle";
      if (started) this.#connectNow();
      const reason = started ? "connecting (attempt started by this call)" : this.#state;
      return failUnit(
        unit,
        new ConnectionError(
          `not connected: ${reason}; nothing was sent${this.#lastError ? `; last error: ${this.#lastError.message}` : ""}`,
          { cause: this.#lastError ?? undefined },
        ),
      );
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      this.#metrics.queueFull++;
      return failUnit(
        unit,
        new QueueFullError(`${this.#queue.length} calls already wait for ${this.#waitingFor()} (maxQueued)`),
      );
    }
    this.#enqueue(unit, false);
    if (this.#state === "idle") this.#connectNow();
  }

  #waitingFor() {
    return this.#connection === null ? `a connection (${this.#state})` : "an in-flight slot (maxInFlight)";
  }

  #enqueue(unit, atFront) {
    const entry = { unit, timer: null };
    const { queueTimeoutMs } = this.#options;
    if (queueTimeoutMs > 0) entry.timer = setTimeout(() => this.#expireQueued(entry), queueTimeoutMs);
    if (atFront) this.#queue.unshift(entry);
    else this.#queue.push(entry);
  }

  #expireQueued(entry) {
    const index = this.#queue.indexOf(entry);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    this.#metrics.queueTimeouts++;
    const last = this.#lastError;
    failUnit(
      entry.unit,
      new QueueTimeoutError(
        `waited ${this.#options.queueTimeoutMs}ms for ${this.#waitingFor()}${last ? `; last error: ${last.message}` : ""}`,
        { cause: last ?? undefined },
      ),
    );
  }

  #failQueued(error) {
    for (const entry of this.#queue.splice(0)) {
      clearTimeout(entry.timer);
      failUnit(entry.unit, error);
    }
  }

  /** Moves queued units onto the connection while it has in-flight slots. */
  #pump() {
    const connection = this.#connection;
    while (
      this.#queue.length > 0 &&
      connection !== null &&
      connection.isOpen &&
      connection.inFlight < this.#options.maxInFlight
    ) {
      const entry = this.#queue.shift();
      clearTimeout(entry.timer);
      sendUnit(connection, entry.unit);
    }
  }

  // -------------------------------------------------------------------------
  // Connection life

  #connectNow() {
    this.#state = "connecting";
    this.#metrics.connectAttempts++;
    const events = {
      onClose: (connection, reason, unsent, broken) => this.#onConnectionClosed(connection, reason, unsent, broken),
      onReplies: () => this.#pump(),
    };
    this.#opening = Connection.open(this.#options, events, this.#metrics);
    this.#opening.then(
      (connection) => this.#onConnected(connection),
      (err) => this.#onConnectFailed(err),
    );
  }

  #onConnected(connection) {
    this.#opening = null;
    if (this.#state === "closed") return; // close() closes it
    this.#state = "ready";
    this.#connection = connection;
    this.#failures = 0;
    this.#lastError = null;
    this.#metrics.connectionsCreated++;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    this.emit("ready");
    this.#pump();
  }

  #onConnectFailed(err) {
    this.#opening = null;
    if (this.#state === "closed") return;
    this.#metrics.connectFailures++;
    this.#failures++;
    this.#lastError = err;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(err);
    this.emit("connectError", err);
    if (err instanceof AuthFailedError) {
      // A configuration error: retrying would only hammer the server.
      this.#state = "failed";
      this.#failQueued(err);
      return;
    }
    this.#scheduleReconnect();
  }

  #onConnectionClosed(connection, reason, unsent, broken) {
    if (connection !== this.#connection) return;
    this.#connection = null;
    this.#metrics.connectionsClosed++;
    if (unsent.length > 0) {
      // Their frames never reached the wire: they go out on the next connection.
      this.#metrics.callsResent += unsent.length;
      if (this.#state === "closed") failAll(unsent, new ClientClosedError("the client was closed"));
      else this.#enqueue(unsent, true);
    }
    if (this.#state === "closed") return;
    this.#lastError = reason;
    if (broken) this.#metrics.connectionsBroken++;
    if (BACK_OFF.some((type) => reason instanceof type)) this.#failures++;
    this.emit("disconnect", reason);
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    this.#state = "reconnecting";
    const delayMs = reconnectDelayMs(this.#failures, this.#options.reconnect);
    this.emit("reconnecting", { failures: this.#failures, delayMs });
    this.#reconnectTimer = setTimeout(() => this.#connectNow(), delayMs);
  }
}

function sendUnit(connection, unit) {
  if (!Array.isArray(unit)) {
    if (!unit.settled) connection.send(unit);
    return;
  }
  for (const call of unit) if (!call.settled) connection.send(call);
}

function failUnit(unit, error) {
  if (Array.isArray(unit)) failAll(unit, error);
  else unit.fail(error);
}

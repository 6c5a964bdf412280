// Hand-written type declarations for blink-client (src/index.js).

import { EventEmitter } from "node:events";

/** A key, value or token: bytes as a Uint8Array (Buffer), or a string written as UTF-8. */
export type Bytes = string | Uint8Array;

export interface ReconnectOptions {
  /** First retry delay; doubles per consecutive failure. Default 50. */
  baseDelayMs?: number;
  /** Cap of the exponential part. Default 2000. */
  maxDelayMs?: number;
  /** Random 0..jitterMs added to each delay. Default 200. */
  jitterMs?: number;
}

export interface ClientOptions {
  /** TCP host. Default "127.0.0.1". */
  host?: string;
  /** TCP port. Default 25465. */
  port?: number;
  /** Unix socket path; when set, host and port are ignored. */
  path?: string;
  /** Shared-secret token, sent with AUTH pipelined behind HELLO at every connect. */
  token?: Bytes;
  /** TCP connect plus HELLO/AUTH handshake. Default 1000. */
  connectTimeoutMs?: number;
  /** Per-call deadline, from the call to its reply, queue time included; 0 for none. Default 2000. */
  timeoutMs?: number;
  /** How long a call may wait for a connection or an in-flight slot. Default 1000. */
  queueTimeoutMs?: number;
  /** A connection with calls pending that reads nothing this long is closed as dead. Default 5000. */
  stallTimeoutMs?: number;
  /** Most calls awaiting replies at once on the connection. Default 1024. */
  maxInFlight?: number;
  /** Most calls (or batches) waiting for a connection or a slot; beyond, QueueFullError. Default 1024. */
  maxQueued?: number;
  /**
   * Queue calls while disconnected (true), or fail them at once with ConnectionError. Default true.
   * With false, a call on a never-connected client starts the connection attempt (and fails at once).
   */
  offlineQueue?: boolean;
  /** PING a connection idle this long; 0 disables. Default 30000. */
  healthCheckIdleMs?: number;
  /** TCP keepalive initial delay; 0 disables. Default 10000. */
  keepAliveMs?: number;
  reconnect?: ReconnectOptions;
}

export interface CallOptions {
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
  /** Aborting rejects the call with the signal's reason; its reply is discarded. */
  signal?: AbortSignal;
}

export interface SetOptions extends CallOptions {
  /** Time to live in milliseconds (number or bigint up to 2^64-1); 0 or absent for none. */
  ttlMs?: number | bigint;
}

export interface Limits {
  readonly maxFrameBytes: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
}

export interface ScanOptions {
  /** Only keys starting with these bytes; default "" (every key). Not a key: no key limit applies. */
  prefix?: Bytes;
  /** How many keys to ask for per step, 0 to 65535 (0 is read as 1); a hint. Default DEFAULT_SCAN_COUNT (100). */
  count?: number;
}

/** One step of a SCAN walk. */
export interface ScanPage {
  /** The cursor to send next; 0n when the walk is complete. */
  readonly cursor: bigint;
  /** This step's keys, in no order; possibly none while the walk goes on. */
  readonly keys: Buffer[];
}

export interface HelloReply extends Limits {
  readonly version: number;
  readonly authRequired: boolean;
}

export interface Metrics {
  connectAttempts: number;
  connectFailures: number;
  connectionsCreated: number;
  connectionsClosed: number;
  connectionsBroken: number;
  stalledConnections: number;
  healthChecks: number;
  writes: number;
  callsTimedOut: number;
  callsAborted: number;
  callsResent: number;
  lateRepliesDiscarded: number;
  queueFull: number;
  queueTimeouts: number;
  callsInFlight: number;
  callsQueued: number;
}

export type ClientState = "idle" | "connecting" | "ready" | "reconnecting" | "failed" | "closed";

/** What ttl() resolves to for a key without TTL. */
export declare const NO_TTL: -1n;

/** The count scan() and scanIterator() ask for when none is given. */
export declare const DEFAULT_SCAN_COUNT: 100;

export declare const DEFAULTS: Readonly<Required<Omit<ClientOptions, "path" | "token">>>;

export declare class BlinkClient extends EventEmitter {
  constructor(options?: ClientOptions);
  readonly state: ClientState;
  readonly limits: Limits | null;
  /** The version the connection negotiated (2, or 1 with a version-1 server), once connected. */
  readonly protocolVersion: number | null;
  readonly metrics: Metrics;
  connect(): Promise<void>;
  ping(options?: CallOptions): Promise<void>;
  hello(version?: number, options?: CallOptions): Promise<HelloReply>;
  auth(token: Bytes, options?: CallOptions): Promise<void>;
  get(key: Bytes, options?: CallOptions): Promise<Buffer | null>;
  getString(key: Bytes, options?: CallOptions): Promise<string | null>;
  set(key: Bytes, value: Bytes, options?: SetOptions): Promise<void>;
  del(key: Bytes, options?: CallOptions): Promise<boolean>;
  expire(key: Bytes, ttlMs: number | bigint, options?: CallOptions): Promise<boolean>;
  /** Remaining milliseconds, NO_TTL for a key without TTL, or null for no such key. */
  ttl(key: Bytes, options?: CallOptions): Promise<bigint | null>;
  stats(options?: CallOptions): Promise<Map<string, bigint>>;
  /** v2: stores only if the key does not exist; false if it exists. */
  add(key: Bytes, value: Bytes, options?: SetOptions): Promise<boolean>;
  /** v2: stores only if the key exists; false if there is no such key. */
  replace(key: Bytes, value: Bytes, options?: SetOptions): Promise<boolean>;
  /** v2: adds delta (default 1; an i64) to the integer under key; the new value. Rejects with NotIntegerError. */
  incr(key: Bytes, delta?: number | bigint, options?: CallOptions): Promise<bigint>;
  /** v2: appends suffix to the value (a missing key starts empty); the value's new length in bytes. */
  append(key: Bytes, suffix: Bytes, options?: CallOptions): Promise<number>;
  /** v2: removes every key. */
  flush(options?: CallOptions): Promise<void>;
  /** v2: one step of a walk; start at 0n, pass each returned cursor back until it is 0n. */
  scan(cursor: bigint | number, options?: ScanOptions & CallOptions): Promise<ScanPage>;
  /** v2: the whole walk, each key that exists throughout yielded exactly once. */
  scanIterator(options?: ScanOptions & CallOptions): AsyncGenerator<Buffer, void, undefined>;
  batch(): Batch;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;

  on(event: "ready" | "close", listener: () => void): this;
  on(event: "disconnect" | "connectError", listener: (reason: Error) => void): this;
  on(event: "reconnecting", listener: (info: { failures: number; delayMs: number }) => void): this;
  once(event: "ready" | "close", listener: () => void): this;
  once(event: "disconnect" | "connectError", listener: (reason: Error) => void): this;
  once(event: "reconnecting", listener: (info: { failures: number; delayMs: number }) => void): this;
}

export type BatchResult = PromiseSettledResult<
  void | boolean | bigint | number | null | string | Buffer | HelloReply | Map<string, bigint> | ScanPage
>;

export declare class Batch {
  readonly length: number;
  ping(): this;
  hello(version?: number): this;
  auth(token: Bytes): this;
  get(key: Bytes): this;
  getString(key: Bytes): this;
  set(key: Bytes, value: Bytes, options?: { ttlMs?: number | bigint }): this;
  del(key: Bytes): this;
  expire(key: Bytes, ttlMs: number | bigint): this;
  ttl(key: Bytes): this;
  stats(): this;
  add(key: Bytes, value: Bytes, options?: { ttlMs?: number | bigint }): this;
  replace(key: Bytes, value: Bytes, options?: { ttlMs?: number | bigint }): this;
  incr(key: Bytes, delta?: number | bigint): this;
  append(key: Bytes, suffix: Bytes): this;
  flush(): this;
  scan(cursor: bigint | number, options?: ScanOptions): this;
  /** Sends every request; resolves to one settled result per request, in order. */
  exec(options?: CallOptions): Promise<BatchResult[]>;
}

/** Makes a client and waits for its first connection; closes it and throws if that fails. */
export declare function connect(options?: ClientOptions): Promise<BlinkClient>;

export declare class BlinkError extends Error {}
export declare class ConnectionError extends BlinkError {}
export declare class ConnectionClosedError extends ConnectionError {
  constructor(reason: string, options?: ErrorOptions);
}
export declare class ProtocolError extends ConnectionClosedError {}
export declare class TimeoutError extends BlinkError {}
export declare class QueueTimeoutError extends TimeoutError {}
export declare class QueueFullError extends BlinkError {}
export declare class ClientClosedError extends BlinkError {}

export declare class StatusError extends BlinkError {
  static readonly status: number;
  static readonly closesConnection: boolean;
  constructor(message: string, options?: ErrorOptions & { local?: boolean });
  /** True when the client refused the call before sending it. */
  readonly local: boolean;
  readonly status: number;
  readonly statusName: string;
}
/** ERR_UNKNOWN_COMMAND, or (local) a version-2 command on a version-1 connection, not sent. */
export declare class UnknownCommandError extends StatusError {}
export declare class MalformedRequestError extends StatusError {}
export declare class FrameTooLargeError extends StatusError {}
export declare class KeyTooLargeError extends StatusError {}
export declare class ValueTooLargeError extends StatusError {}
export declare class ItemTooLargeError extends StatusError {}
export declare class AuthRequiredError extends StatusError {}
export declare class AuthFailedError extends StatusError {}
export declare class UnsupportedVersionError extends StatusError {}
export declare class TooManyConnectionsError extends StatusError {}
export declare class ServerTimeoutError extends StatusError {}
export declare class BusyError extends StatusError {}
export declare class ShuttingDownError extends StatusError {}
/** ERR_NOT_INTEGER: INCR of a value that is not an integer, or an overflowing result. */
export declare class NotIntegerError extends StatusError {}

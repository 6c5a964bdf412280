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

export declare const DEFAULTS: Readonly<Required<Omit<ClientOptions, "path" | "token">>>;

export declare class BlinkClient extends EventEmitter {
  constructor(options?: ClientOptions);
  readonly state: ClientState;
  readonly limits: Limits | null;
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
  void | boolean | bigint | null | string | Buffer | HelloReply | Map<string, bigint>
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

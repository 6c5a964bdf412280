// The commands of protocol versions 1 and 2 as calls: argument checks,
// encoding, the local checks of SPEC §4, §10 and §14 (sizes, and version-2
// commands on a version-1 connection), and what each reply status means as a
// result (NOT_FOUND and EXISTS are values: null or false, never errors).

import { Call } from "./call.js";
import {
  FrameTooLargeError,
  KeyTooLargeError,
  UnknownCommandError,
  ValueTooLargeError,
  errorFromReply,
} from "./errors.js";
import {
  MAX_I64,
  MAX_SCAN_COUNT,
  MAX_U64,
  MIN_I64,
  Opcode,
  Status,
  WireFormatError,
  appendPayloadBytes,
  byteLength,
  encodeAppend,
  encodeAuth,
  encodeExpire,
  encodeFlush,
  encodeHello,
  encodeIncr,
  encodeKeyed,
  encodePing,
  encodeScan,
  encodeStats,
  encodeStore,
  parseHello,
  parseInteger,
  parseLength,
  parseScan,
  parseStats,
  parseTtl,
  scanPayloadBytes,
  setPayloadBytes,
} from "./wire.js";

/** What `ttl()` resolves to for a key that exists and has no TTL. */
export const NO_TTL = -1n;

function empty(name) {
  return (body) => {
    if (body.length !== 0) throw new WireFormatError(`${name} reply has a ${body.length}-byte body, expected none`);
  };
}

function existed(name) {
  const check = empty(name);
  return (body) => {
    check(body);
    return true;
  };
}

/** What `scan()` and `scanIterator()` ask for per step when no count is given: a hint (SPEC §5.2). */
export const DEFAULT_SCAN_COUNT = 100;

/**
 * Each command: `name`, `encode(call)`, `payloadBytes(call)` (the frame
 * length the server checks), `keyed` (has a key), `valued` (has a value the
 * server checks against max_value_bytes), `version` (the protocol version
 * that defines it), `ok(body)` (the result of an OK reply) and, when
 * NOT_FOUND or EXISTS is a normal reply, `notFound` or `exists` (its result).
 */
export const Command = Object.freeze({
  PING: { name: "PING", encode: encodePing, payloadBytes: () => 1, ok: empty("PING") },
  HELLO: {
    name: "HELLO",
    encode: (call) => encodeHello(call.arg),
    payloadBytes: () => 2,
    ok: parseHello,
  },
  AUTH: {
    name: "AUTH",
    encode: (call) => encodeAuth(call.arg),
    payloadBytes: (call) => 1 + byteLength(call.arg),
    ok: empty("AUTH"),
  },
  GET: keyed("GET", Opcode.GET, (body) => body, null),
  GET_STRING: keyed("GET", Opcode.GET, (body) => body.toString("utf8"), null),
  SET: store("SET", Opcode.SET, 1, { ok: empty("SET") }),
  DEL: keyed("DEL", Opcode.DEL, existed("DEL"), false),
  EXPIRE: {
    name: "EXPIRE",
    keyed: true,
    encode: (call) => encodeExpire(call.key, call.ttlMs),
    payloadBytes: (call) => 11 + byteLength(call.key),
    ok: existed("EXPIRE"),
    notFound: false,
  },
  TTL: keyed("TTL", Opcode.TTL, (body) => parseTtl(body) ?? NO_TTL, null),
  STATS: { name: "STATS", encode: encodeStats, payloadBytes: () => 1, ok: parseStats },
  ADD: store("ADD", Opcode.ADD, 2, { ok: existed("ADD"), exists: false }),
  REPLACE: store("REPLACE", Opcode.REPLACE, 2, { ok: existed("REPLACE"), notFound: false }),
  INCR: {
    name: "INCR",
    version: 2,
    keyed: true,
    encode: (call) => encodeIncr(call.key, call.arg),
    payloadBytes: (call) => 11 + byteLength(call.key),
    ok: parseInteger,
  },
  APPEND: {
    name: "APPEND",
    version: 2,
    keyed: true,
    valued: true,
    encode: (call) => encodeAppend(call.key, call.value),
    payloadBytes: (call) => appendPayloadBytes(byteLength(call.key), byteLength(call.value)),
    ok: parseLength,
  },
  FLUSH: { name: "FLUSH", version: 2, encode: encodeFlush, payloadBytes: () => 1, ok: empty("FLUSH") },
  SCAN: {
    name: "SCAN",
    version: 2,
    // The prefix is not a key: no key limit applies to it, only the frame's.
    encode: (call) => encodeScan(call.arg.cursor, call.arg.count, call.arg.prefix),
    payloadBytes: (call) => scanPayloadBytes(byteLength(call.arg.prefix)),
    ok: parseScan,
  },
});

function keyed(name, opcode, ok, notFound) {
  return {
    name,
    keyed: true,
    encode: (call) => encodeKeyed(opcode, call.key),
    payloadBytes: (call) => 3 + byteLength(call.key),
    ok,
    notFound,
  };
}

/** SET, ADD or REPLACE: one layout, one size rule; `outcomes` holds `ok` and `notFound` or `exists`. */
function store(name, opcode, version, outcomes) {
  return {
    name,
    version,
    keyed: true,
    valued: true,
    encode: (call) => encodeStore(opcode, call.key, call.value, call.ttlMs),
    payloadBytes: (call) => setPayloadBytes(byteLength(call.key), byteLength(call.value)),
    ...outcomes,
  };
}

/**
 * The result of a reply to `command`: its value, or the Error of an error
 * status (returned, not thrown). Throws WireFormatError for a reply that makes
 * no sense for the command (the connection is then unusable).
 */
export function replyOutcome(command, status, body) {
  if (status === Status.OK) return command.ok(body);
  if (status === Status.NOT_FOUND) return emptyOutcome(command, "NOT_FOUND", command.notFound, body);
  if (status === Status.EXISTS) return emptyOutcome(command, "EXISTS", command.exists, body);
  return errorFromReply(status, body);
}

function emptyOutcome(command, name, result, body) {
  if (result === undefined) throw new WireFormatError(`${name} is not a reply to ${command.name}`);
  if (body.length !== 0) throw new WireFormatError(`${name} reply has a ${body.length}-byte body, expected none`);
  return result;
}

/**
 * The local refusal of a command the connection's negotiated version does
 * not have (SPEC §10, §14): it would be an unknown command, so it is not sent.
 */
export function versionError(call, version) {
  const needed = call.command.version ?? 1;
  if (version >= needed) return undefined;
  return new UnknownCommandError(
    `${call.command.name} needs protocol version ${needed}; the server negotiated version ${version} (not sent)`,
    { local: true },
  );
}

/**
 * The local refusal of a call too large for the connection's limits (SPEC
 * §4, §14), or undefined. Nothing is sent for a refused call.
 */
export function limitError(call, limits, maxFrameBytes) {
  const { command } = call;
  if (command.keyed) {
    const keyBytes = byteLength(call.key);
    if (keyBytes > limits.maxKeyBytes) {
      return new KeyTooLargeError(`key of ${keyBytes} bytes exceeds the server's max_key_bytes ${limits.maxKeyBytes}`, {
        local: true,
      });
    }
  }
  if (command.valued) {
    const valueBytes = byteLength(call.value);
    if (valueBytes > limits.maxValueBytes) {
      return new ValueTooLargeError(
        `${command === Command.APPEND ? "suffix" : "value"} of ${valueBytes} bytes exceeds the server's max_value_bytes ${limits.maxValueBytes}`,
        { local: true },
      );
    }
  }
  const payloadBytes = command.payloadBytes(call);
  if (payloadBytes > maxFrameBytes) {
    return new FrameTooLargeError(
      `${command.name} frame of ${payloadBytes} bytes exceeds the connection's frame limit ${maxFrameBytes}`,
      { local: true },
    );
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Argument checks: each factory below builds one Call or throws a TypeError or
// RangeError naming the bad argument.

function bytesArg(name, value) {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new TypeError(`${name} must be a string or a Uint8Array, got ${typeof value}`);
}

function ttlArg(name, value) {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n && value <= MAX_U64) return value;
  throw new RangeError(`${name} must be a non-negative integer number or a bigint up to 2^64-1, got ${value}`);
}

function deltaArg(value) {
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "bigint" && value >= MIN_I64 && value <= MAX_I64) return value;
  throw new RangeError(`delta must be an integer number or a bigint from -2^63 to 2^63-1, got ${value}`);
}

function cursorArg(value) {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n && value <= MAX_U64) return value;
  throw new RangeError(`cursor must be 0n or a cursor a SCAN returned (a bigint up to 2^64-1), got ${value}`);
}

function countArg(value) {
  if (Number.isInteger(value) && value >= 0 && value <= MAX_SCAN_COUNT) return value;
  throw new RangeError(`count must be an integer from 0 to ${MAX_SCAN_COUNT}, got ${value}`);
}

function versionArg(value) {
  if (Number.isInteger(value) && value >= 0 && value <= 0xff) return value;
  throw new RangeError(`version must be an integer from 0 to 255, got ${value}`);
}

export const calls = {
  ping: () => new Call(Command.PING),
  hello: (version) => new Call(Command.HELLO, undefined, undefined, undefined, versionArg(version)),
  auth: (token) => new Call(Command.AUTH, undefined, undefined, undefined, bytesArg("token", token)),
  get: (key) => new Call(Command.GET, bytesArg("key", key)),
  getString: (key) => new Call(Command.GET_STRING, bytesArg("key", key)),
  set: (key, value, ttlMs = 0) =>
    new Call(Command.SET, bytesArg("key", key), bytesArg("value", value), ttlArg("ttlMs", ttlMs)),
  del: (key) => new Call(Command.DEL, bytesArg("key", key)),
  expire: (key, ttlMs) => new Call(Command.EXPIRE, bytesArg("key", key), undefined, ttlArg("ttlMs", ttlMs)),
  ttl: (key) => new Call(Command.TTL, bytesArg("key", key)),
  stats: () => new Call(Command.STATS),
  add: (key, value, ttlMs = 0) =>
    new Call(Command.ADD, bytesArg("key", key), bytesArg("value", value), ttlArg("ttlMs", ttlMs)),
  replace: (key, value, ttlMs = 0) =>
    new Call(Command.REPLACE, bytesArg("key", key), bytesArg("value", value), ttlArg("ttlMs", ttlMs)),
  incr: (key, delta = 1n) => new Call(Command.INCR, bytesArg("key", key), undefined, undefined, deltaArg(delta)),
  append: (key, suffix) => new Call(Command.APPEND, bytesArg("key", key), bytesArg("suffix", suffix)),
  flush: () => new Call(Command.FLUSH),
  scan: (cursor = 0n, count = DEFAULT_SCAN_COUNT, prefix = "") =>
    new Call(Command.SCAN, undefined, undefined, undefined, {
      cursor: cursorArg(cursor),
      count: countArg(count),
      prefix: bytesArg("prefix", prefix),
    }),
};

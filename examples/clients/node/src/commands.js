// The commands of protocol v1 as calls: argument checks, encoding, the local
// size checks of SPEC §4 and §14, and what each reply status means as a
// result (NOT_FOUND is a value: null or false, never an error).

import { Call } from "./call.js";
import { FrameTooLargeError, KeyTooLargeError, ValueTooLargeError, errorFromReply } from "./errors.js";
import {
  MAX_U64,
  Opcode,
  Status,
  WireFormatError,
  byteLength,
  encodeAuth,
  encodeExpire,
  encodeHello,
  encodeKeyed,
  encodePing,
  encodeSet,
  encodeStats,
  parseHello,
  parseStats,
  parseTtl,
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

/**
 * Each command: `name`, `encode(call)`, `payloadBytes(call)` (the frame
 * length the server checks), `keyed` (has a key), `ok(body)` (the result of
 * an OK reply) and, when NOT_FOUND is a normal reply, `notFound` (its result).
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
  SET: {
    name: "SET",
    keyed: true,
    encode: (call) => encodeSet(call.key, call.value, call.ttlMs),
    payloadBytes: (call) => setPayloadBytes(byteLength(call.key), byteLength(call.value)),
    ok: empty("SET"),
  },
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

/**
 * The result of a reply to `command`: its value, or the Error of an error
 * status (returned, not thrown). Throws WireFormatError for a reply that makes
 * no sense for the command (the connection is then unusable).
 */
export function replyOutcome(command, status, body) {
  if (status === Status.OK) return command.ok(body);
  if (status === Status.NOT_FOUND) {
    if (command.notFound === undefined) throw new WireFormatError(`NOT_FOUND is not a reply to ${command.name}`);
    return command.notFound;
  }
  return errorFromReply(status, body);
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
  if (command === Command.SET) {
    const valueBytes = byteLength(call.value);
    if (valueBytes > limits.maxValueBytes) {
      return new ValueTooLargeError(
        `value of ${valueBytes} bytes exceeds the server's max_value_bytes ${limits.maxValueBytes}`,
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
};

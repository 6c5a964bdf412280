// The Blink wire format, versions 1 and 2 (protocol/SPEC.md §3, §5, §6), and
// nothing else: request encoding, an incremental reply-frame decoder over
// Buffers, and the parsers of the structured reply bodies (HELLO, TTL, STATS,
// and version 2's INCR, APPEND and SCAN).
//
// Bytes arguments are Uint8Array (Buffer) or string; a string is written as UTF-8.

/** The highest protocol version this client speaks: what it sends in HELLO (SPEC §10). */
export const PROTOCOL_VERSION = 2;
/** The versions this client can use; a HELLO reply with any other closes the connection (SPEC §10). */
export const SUPPORTED_VERSIONS = Object.freeze([1, 2]);
export const HEADER_BYTES = 4;
/** No valid max_frame_bytes exceeds this (SPEC §3.1, §4); replies before HELLO are checked against it. */
export const MAX_FRAME_BYTES_CEILING = 0x1000_0000;
/** The frame limit of a connection that has not authenticated yet (SPEC §11). */
export const PRE_AUTH_MAX_FRAME_BYTES = 4096;
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;
export const MIN_I64 = -(2n ** 63n);
export const MAX_I64 = 2n ** 63n - 1n;
/** SCAN's count is a u16 (SPEC §5). */
export const MAX_SCAN_COUNT = 0xffff;
/** The first byte of every valid frame is below this (SPEC §3.1). */
const FIRST_BYTE_LIMIT = 0x20;
/** The HELLO body of versions 1 and 2 (SPEC §10). */
const HELLO_BODY_BYTES = 14;
/** INCR's value (i64), APPEND's length and SCAN's cursor (u64) (SPEC §6.3). */
const WORD_BYTES = 8;
const KEY_LEN_BYTES = 2;
const HELLO_FLAG_AUTH_REQUIRED = 0x01;

export const Opcode = Object.freeze({
  PING: 0x01,
  HELLO: 0x02,
  AUTH: 0x03,
  GET: 0x10,
  SET: 0x11,
  DEL: 0x12,
  EXPIRE: 0x13,
  TTL: 0x14,
  ADD: 0x15,
  REPLACE: 0x16,
  INCR: 0x17,
  APPEND: 0x18,
  STATS: 0x20,
  FLUSH: 0x21,
  SCAN: 0x22,
});

export const Status = Object.freeze({
  OK: 0x00,
  NOT_FOUND: 0x01,
  EXISTS: 0x02,
  ERR_UNKNOWN_COMMAND: 0x80,
  ERR_MALFORMED: 0x81,
  ERR_FRAME_TOO_LARGE: 0x82,
  ERR_KEY_TOO_LARGE: 0x83,
  ERR_VALUE_TOO_LARGE: 0x84,
  ERR_ITEM_TOO_LARGE: 0x85,
  ERR_AUTH_REQUIRED: 0x86,
  ERR_AUTH_FAILED: 0x87,
  ERR_UNSUPPORTED_VERSION: 0x88,
  ERR_TOO_MANY_CONNECTIONS: 0x89,
  ERR_TIMEOUT: 0x8a,
  ERR_BUSY: 0x8b,
  ERR_SHUTTING_DOWN: 0x8c,
  ERR_NOT_INTEGER: 0x8d,
});

/** The statuses version 2 adds: a server never sends them on a version-1 connection (SPEC §6.2). */
export const V2_STATUSES = new Set([Status.EXISTS, Status.ERR_NOT_INTEGER]);

const STATUS_NAMES = new Map(Object.entries(Status).map(([name, code]) => [code, name]));

/** The SPEC §6.2 name of a status code, or "0x42 (undefined)". */
export function statusName(status) {
  return STATUS_NAMES.get(status) ?? `0x${status.toString(16).padStart(2, "0")} (undefined)`;
}

/** A byte stream or reply body that breaks the wire format. */
export class WireFormatError extends Error {
  get name() {
    return "WireFormatError";
  }
}

// ---------------------------------------------------------------------------
// Requests (SPEC §5)

/** The encoded size of a bytes argument. */
export function byteLength(bytes) {
  return typeof bytes === "string" ? Buffer.byteLength(bytes, "utf8") : bytes.length;
}

function put(frame, bytes, offset) {
  if (typeof bytes === "string") frame.write(bytes, offset, "utf8");
  else frame.set(bytes, offset);
}

/** A frame with room for `payloadBytes` after the header, its length and opcode written. */
function frameOf(opcode, payloadBytes) {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame[HEADER_BYTES] = opcode;
  return frame;
}

/** The payload length of a SET, ADD or REPLACE of these sizes: what the server checks against max_frame_bytes. */
export function setPayloadBytes(keyBytes, valueBytes) {
  return 11 + keyBytes + valueBytes;
}

const PING_FRAME = frameOf(Opcode.PING, 1);
const STATS_FRAME = frameOf(Opcode.STATS, 1);
const FLUSH_FRAME = frameOf(Opcode.FLUSH, 1);

export function encodePing() {
  return PING_FRAME;
}

export function encodeStats() {
  return STATS_FRAME;
}

export function encodeFlush() {
  return FLUSH_FRAME;
}

/** HELLO with the highest version the client speaks (a u8). */
export function encodeHello(version = PROTOCOL_VERSION) {
  const frame = frameOf(Opcode.HELLO, 2);
  frame[5] = version;
  return frame;
}

export function encodeAuth(token) {
  const frame = frameOf(Opcode.AUTH, 1 + byteLength(token));
  put(frame, token, 5);
  return frame;
}

/** GET, DEL or TTL: the opcode and a key. */
export function encodeKeyed(opcode, key) {
  const keyBytes = byteLength(key);
  const frame = frameOf(opcode, 3 + keyBytes);
  frame.writeUInt16BE(keyBytes, 5);
  put(frame, key, 7);
  return frame;
}

/** SET, ADD or REPLACE (one layout); `ttlMs` is a bigint, 0n for no TTL. */
export function encodeStore(opcode, key, value, ttlMs) {
  const keyBytes = byteLength(key);
  const frame = frameOf(opcode, setPayloadBytes(keyBytes, byteLength(value)));
  frame.writeBigUInt64BE(ttlMs, 5);
  frame.writeUInt16BE(keyBytes, 13);
  put(frame, key, 15);
  put(frame, value, 15 + keyBytes);
  return frame;
}

/** SET; `ttlMs` is a bigint, 0n for no TTL. */
export function encodeSet(key, value, ttlMs) {
  return encodeStore(Opcode.SET, key, value, ttlMs);
}

/** EXPIRE; `ttlMs` is a bigint, 0n clears the TTL. */
export function encodeExpire(key, ttlMs) {
  const keyBytes = byteLength(key);
  const frame = frameOf(Opcode.EXPIRE, 11 + keyBytes);
  frame.writeBigUInt64BE(ttlMs, 5);
  frame.writeUInt16BE(keyBytes, 13);
  put(frame, key, 15);
  return frame;
}

/** INCR; `delta` is a bigint in the i64 range, written in two's complement. */
export function encodeIncr(key, delta) {
  const keyBytes = byteLength(key);
  const frame = frameOf(Opcode.INCR, 11 + keyBytes);
  frame.writeBigInt64BE(delta, 5);
  frame.writeUInt16BE(keyBytes, 13);
  put(frame, key, 15);
  return frame;
}

/** The payload length of an APPEND of these sizes. */
export function appendPayloadBytes(keyBytes, suffixBytes) {
  return 3 + keyBytes + suffixBytes;
}

/** APPEND: the key, then the suffix as the rest of the payload. */
export function encodeAppend(key, suffix) {
  const keyBytes = byteLength(key);
  const frame = frameOf(Opcode.APPEND, appendPayloadBytes(keyBytes, byteLength(suffix)));
  frame.writeUInt16BE(keyBytes, 5);
  put(frame, key, 7);
  put(frame, suffix, 7 + keyBytes);
  return frame;
}

/** The payload length of a SCAN with a prefix of this size. */
export function scanPayloadBytes(prefixBytes) {
  return 11 + prefixBytes;
}

/** SCAN; `cursor` is a bigint (u64), `count` a number (u16), the prefix the rest of the payload. */
export function encodeScan(cursor, count, prefix) {
  const frame = frameOf(Opcode.SCAN, scanPayloadBytes(byteLength(prefix)));
  frame.writeBigUInt64BE(cursor, 5);
  frame.writeUInt16BE(count, 13);
  put(frame, prefix, 15);
  return frame;
}

// ---------------------------------------------------------------------------
// Replies (SPEC §3, §6)

/**
 * Splits a reply byte stream into frames, whatever the chunking. Chunks are
 * kept in a list with a read offset into the first, so a frame split across
 * any number of reads is copied once, never re-concatenated. Every returned
 * body is its own copy: no view into a socket chunk outlives the call.
 */
export class FrameDecoder {
  #chunks = [];
  #offset = 0;
  #buffered = 0;

  /** @param {number} maxFrameBytes the longest reply `len` accepted (SPEC §13). */
  constructor(maxFrameBytes = MAX_FRAME_BYTES_CEILING) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** The bytes received and not yet returned as frames. */
  get bufferedBytes() {
    return this.#buffered;
  }

  push(chunk) {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame as `{ status, body }`, or null until more bytes
   * arrive. Throws WireFormatError on an invalid frame, decided from the
   * first byte or the header alone, before any of the body is awaited.
   */
  next() {
    if (this.#buffered === 0) return null;
    const first = this.#chunks[0][this.#offset];
    if (first >= FIRST_BYTE_LIMIT) {
      throw new WireFormatError(
        `reply starts with byte 0x${first.toString(16)}, not a frame length (another protocol, or a lost frame boundary)`,
      );
    }
    if (this.#buffered < HEADER_BYTES) return null;
    const len = this.#peekLength();
    if (len === 0) throw new WireFormatError("reply frame declares a length of 0");
    if (len > this.maxFrameBytes) {
      throw new WireFormatError(`reply frame declares ${len} bytes, above the limit of ${this.maxFrameBytes}`);
    }
    if (this.#buffered < HEADER_BYTES + len) return null;
    this.#skip(HEADER_BYTES);
    const status = this.#chunks[0][this.#offset];
    this.#skip(1);
    return { status, body: this.#take(len - 1) };
  }

  #peekLength() {
    const head = this.#chunks[0];
    if (head.length - this.#offset >= HEADER_BYTES) return head.readUInt32BE(this.#offset);
    let len = 0;
    let chunk = 0;
    let at = this.#offset;
    for (let i = 0; i < HEADER_BYTES; i++) {
      while (at === this.#chunks[chunk].length) {
        chunk++;
        at = 0;
      }
      len = len * 256 + this.#chunks[chunk][at++];
    }
    return len;
  }

  #skip(n) {
    this.#buffered -= n;
    while (n > 0) {
      const head = this.#chunks[0];
      const available = head.length - this.#offset;
      if (n < available) {
        this.#offset += n;
        return;
      }
      n -= available;
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  #take(n) {
    const body = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0];
      const copied = head.copy(body, filled, this.#offset, Math.min(head.length, this.#offset + n - filled));
      filled += copied;
      this.#skip(copied);
    }
    return body;
  }
}

/**
 * The HELLO reply body (SPEC §6.3) as its fields. For a version this client
 * does not speak, only `{ version }`: the connection then closes (SPEC §10).
 */
export function parseHello(body) {
  if (body.length < 2) throw new WireFormatError(`HELLO reply body of ${body.length} bytes`);
  const version = body[0];
  if (!SUPPORTED_VERSIONS.includes(version)) return { version };
  if (body.length !== HELLO_BODY_BYTES) {
    throw new WireFormatError(`HELLO v${version} reply body of ${body.length} bytes, not ${HELLO_BODY_BYTES}`);
  }
  return {
    version,
    authRequired: (body[1] & HELLO_FLAG_AUTH_REQUIRED) !== 0,
    maxFrameBytes: body.readUInt32BE(2),
    maxKeyBytes: body.readUInt32BE(6),
    maxValueBytes: body.readUInt32BE(10),
  };
}

/** The TTL reply body: remaining milliseconds as a bigint, or null for a key without TTL. */
export function parseTtl(body) {
  if (body.length === 0) return null;
  if (body.length !== 8) throw new WireFormatError(`TTL reply body of ${body.length} bytes, not 0 or 8`);
  return body.readBigUInt64BE(0);
}

const STATS_LINE = /^([a-z0-9_]+) (0|[1-9][0-9]*)$/;

/** The STATS reply body (SPEC §12) as a Map of name to bigint. */
export function parseStats(body) {
  const text = body.toString("latin1");
  if (text.length > 0 && !text.endsWith("\n")) throw new WireFormatError("STATS body does not end with a newline");
  const stats = new Map();
  for (const line of text.split("\n").slice(0, -1)) {
    const match = STATS_LINE.exec(line);
    if (match === null) throw new WireFormatError(`STATS line ${JSON.stringify(line)} is not "name value"`);
    const value = BigInt(match[2]);
    if (value > MAX_U64) throw new WireFormatError(`STATS value of ${match[1]} exceeds u64`);
    stats.set(match[1], value);
  }
  return stats;
}

/** INCR's reply body: the new value, a signed 64-bit integer, as a bigint. */
export function parseInteger(body) {
  if (body.length !== WORD_BYTES) throw new WireFormatError(`INCR reply body of ${body.length} bytes, not 8`);
  return body.readBigInt64BE(0);
}

/**
 * APPEND's reply body: the value's new length. The wire carries a u64; a
 * length is bounded by max_value_bytes, itself at most 2^28 (SPEC §4), so it
 * is returned as a Number, and a larger one is a wire-format error.
 */
export function parseLength(body) {
  if (body.length !== WORD_BYTES) throw new WireFormatError(`APPEND reply body of ${body.length} bytes, not 8`);
  const length = body.readBigUInt64BE(0);
  if (length > BigInt(MAX_FRAME_BYTES_CEILING)) {
    throw new WireFormatError(`APPEND reply length ${length} exceeds any value limit`);
  }
  return Number(length);
}

/**
 * SCAN's reply body (SPEC §6.3): `next_cursor` (u64), then `(key_len u16,
 * key)*` filling the body exactly. Returns `{ cursor, keys }`: the cursor as
 * a bigint (0n: the walk is complete), and the keys as Buffers.
 */
export function parseScan(body) {
  if (body.length < WORD_BYTES) throw new WireFormatError(`SCAN reply body of ${body.length} bytes, under 8`);
  const cursor = body.readBigUInt64BE(0);
  const keys = [];
  let at = WORD_BYTES;
  while (at < body.length) {
    if (body.length - at < KEY_LEN_BYTES) throw new WireFormatError(`SCAN reply key length cut at byte ${at}`);
    const keyBytes = body.readUInt16BE(at);
    at += KEY_LEN_BYTES;
    if (body.length - at < keyBytes) {
      throw new WireFormatError(`SCAN reply key of ${keyBytes} bytes runs past the body at byte ${at}`);
    }
    keys.push(body.subarray(at, at + keyBytes)); // views of a body the decoder made for this reply alone
    at += keyBytes;
  }
  return { cursor, keys };
}

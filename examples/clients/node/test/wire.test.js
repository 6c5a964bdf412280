// Unit tests of the wire module against the protocol vectors (v1.json and
// v2.json): every decode_reply case whole, split at every byte boundary and fed
// byte by byte; the encoders against the request outcomes of decode_request and
// decode_stream; the body parsers (HELLO, TTL, STATS, INCR, APPEND, SCAN)
// against encode_reply.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Fifo } from "../src/fifo.js";
import {
  FrameDecoder,
  Opcode,
  WireFormatError,
  encodeAppend,
  encodeAuth,
  encodeExpire,
  encodeFlush,
  encodeHello,
  encodeIncr,
  encodeKeyed,
  encodePing,
  encodeScan,
  encodeSet,
  encodeStats,
  encodeStore,
  parseHello,
  parseInteger,
  parseLength,
  parseScan,
  parseStats,
  parseTtl,
} from "../src/wire.js";
import { VECTORS, VECTOR_FILES, bytesOf, statusCode } from "./helpers/vectors.js";

/** Feeds `pieces` to a decoder; the first frame, "need_more", or "invalid". */
function decodeFirst(pieces, maxFrameBytes) {
  const decoder = new FrameDecoder(maxFrameBytes);
  let total = 0;
  for (const piece of pieces) {
    decoder.push(piece);
    total += piece.length;
    let frame;
    try {
      frame = decoder.next();
    } catch (err) {
      assert.ok(err instanceof WireFormatError, `unexpected ${err}`);
      return { outcome: "invalid" };
    }
    if (frame !== null) return { outcome: "reply", frame, consumed: total - decoder.bufferedBytes };
  }
  return { outcome: "need_more" };
}

function assertOutcome(result, expect, label) {
  assert.equal(result.outcome, expect.outcome, label);
  if (expect.outcome !== "reply") return;
  assert.equal(result.frame.status, expect.status_code, label);
  assert.deepEqual(result.frame.body, bytesOf(expect.body), label);
  assert.equal(result.consumed, expect.frame_len, label);
}

for (const [file, vectors] of Object.entries(VECTOR_FILES)) {
  describe(`decode_reply vectors (${file})`, () => {
    for (const c of vectors.decode_reply) {
      const bytes = bytesOf(c.bytes);
      test(`${c.name}: whole`, () => {
        assertOutcome(decodeFirst([bytes], c.max_frame_bytes), c.expect, c.name);
      });
      test(`${c.name}: split at every byte boundary`, () => {
        for (let at = 0; at <= bytes.length; at++) {
          const pieces = [bytes.subarray(0, at), bytes.subarray(at)];
          assertOutcome(decodeFirst(pieces, c.max_frame_bytes), c.expect, `${c.name} split at ${at}`);
        }
      });
      test(`${c.name}: one byte at a time`, () => {
        const pieces = [...bytes].map((byte) => Buffer.of(byte));
        assertOutcome(decodeFirst(pieces, c.max_frame_bytes), c.expect, c.name);
      });
    }
  });
}

describe("the frame decoder refuses invalid headers early", () => {
  test("an invalid header is refused from the header alone, before any body", () => {
    const decoder = new FrameDecoder(4096);
    decoder.push(Buffer.from("00001001", "hex"));
    assert.throws(() => decoder.next(), WireFormatError);
  });

  test("a foreign first byte is refused before the rest of the header arrives", () => {
    const decoder = new FrameDecoder(4096);
    decoder.push(Buffer.from("2d", "hex"));
    assert.throws(() => decoder.next(), /not a frame length/);
  });
});

describe("FrameDecoder on pipelined streams", () => {
  const frames = [
    Buffer.from("00000003007631", "hex"),
    Buffer.from("0000000101", "hex"),
    Buffer.concat([Buffer.from("0000100100", "hex"), Buffer.alloc(4096, 0x78)]),
    Buffer.from("0000000100", "hex"),
  ];
  const stream = Buffer.concat(frames);

  function decodeAll(pieces) {
    const decoder = new FrameDecoder(8192);
    const out = [];
    for (const piece of pieces) {
      decoder.push(piece);
      let frame;
      while ((frame = decoder.next()) !== null) out.push(frame);
    }
    assert.equal(decoder.bufferedBytes, 0);
    return out;
  }

  function assertFrames(out) {
    assert.deepEqual(
      out.map((f) => [f.status, f.body.length]),
      [
        [0, 2],
        [1, 0],
        [0, 4096],
        [0, 0],
      ],
    );
    assert.deepEqual(out[2].body, Buffer.alloc(4096, 0x78));
  }

  test("every split of a stream of four frames into two reads", () => {
    for (let at = 0; at <= stream.length; at++) assertFrames(decodeAll([stream.subarray(0, at), stream.subarray(at)]));
  });

  test("reads of every size from 1 to 64 bytes", () => {
    for (let size = 1; size <= 64; size++) {
      const pieces = [];
      for (let at = 0; at < stream.length; at += size) pieces.push(stream.subarray(at, at + size));
      assertFrames(decodeAll(pieces));
    }
  });

  test("a returned body is a copy, not a view into the read chunk", () => {
    const chunk = Buffer.from("00000003007631", "hex");
    const decoder = new FrameDecoder();
    decoder.push(chunk);
    const { body } = decoder.next();
    chunk.fill(0);
    assert.deepEqual(body, Buffer.from("v1"));
  });
});

describe("request encoding reproduces the decode_request and decode_stream vectors", () => {
  function encode(request) {
    const key = request.key === undefined ? undefined : bytesOf(request.key);
    switch (request.command) {
      case "PING":
        return encodePing();
      case "STATS":
        return encodeStats();
      case "HELLO":
        return encodeHello(request.version);
      case "AUTH":
        return encodeAuth(bytesOf(request.token));
      case "GET":
        return encodeKeyed(Opcode.GET, key);
      case "DEL":
        return encodeKeyed(Opcode.DEL, key);
      case "TTL":
        return encodeKeyed(Opcode.TTL, key);
      case "SET":
        return encodeSet(key, bytesOf(request.value), BigInt(request.ttl_ms));
      case "EXPIRE":
        return encodeExpire(key, BigInt(request.ttl_ms));
      case "ADD":
      case "REPLACE":
        return encodeStore(Opcode[request.command], key, bytesOf(request.value), BigInt(request.ttl_ms));
      case "INCR":
        return encodeIncr(key, BigInt(request.delta));
      case "APPEND":
        return encodeAppend(key, bytesOf(request.suffix));
      case "FLUSH":
        return encodeFlush();
      case "SCAN":
        return encodeScan(BigInt(request.cursor), request.count, bytesOf(request.prefix));
      default:
        throw new Error(`no encoder for ${request.command}`);
    }
  }

  /** Every request outcome of both files as `{ name, request, bytes }`, the exact bytes of its frame. */
  const cases = [];
  for (const [file, vectors] of Object.entries(VECTOR_FILES)) {
    for (const c of vectors.decode_request) {
      if (c.expect.outcome !== "request") continue;
      const bytes = bytesOf(c.bytes).subarray(0, c.expect.frame_len);
      cases.push({ name: `${file} ${c.name}`, request: c.expect.request, bytes });
    }
    for (const c of vectors.decode_stream) {
      const stream = bytesOf(c.bytes);
      let at = 0;
      for (const [i, outcome] of c.expect.entries()) {
        if (outcome.outcome === "request") {
          const bytes = stream.subarray(at, at + outcome.frame_len);
          cases.push({ name: `${file} ${c.name} frame ${i}`, request: outcome.request, bytes });
        }
        if (outcome.frame_len !== undefined) at += outcome.frame_len;
      }
    }
  }
  test("there are request cases for every command of both versions", () => {
    const commands = new Set(cases.map((c) => c.request.command));
    assert.deepEqual(
      [...commands].sort(),
      ["ADD", "APPEND", "AUTH", "DEL", "EXPIRE", "FLUSH", "GET", "HELLO", "INCR"]
        .concat(["PING", "REPLACE", "SCAN", "SET", "STATS", "TTL"])
        .sort(),
    );
  });
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(encode(c.request), c.bytes);
    });
  }

  test("string keys and values are encoded as UTF-8", () => {
    assert.deepEqual(encodeKeyed(Opcode.GET, "user:1"), Buffer.from("00000009100006757365723a31", "hex"));
    assert.deepEqual(encodeSet("k", "é", 0n), encodeSet(Buffer.from("k"), Buffer.from("é"), 0n));
    assert.deepEqual(encodeScan(0n, 1, "é"), encodeScan(0n, 1, Buffer.from("é")));
  });

  test("INCR's delta is two's complement", () => {
    assert.deepEqual(encodeIncr("n", -1n), Buffer.from("0000000c17ffffffffffffffff00016e", "hex"));
  });
});

/** The single frame of a whole reply. */
function frameOf(bytes) {
  const decoder = new FrameDecoder();
  decoder.push(bytes);
  const frame = decoder.next();
  assert.equal(decoder.bufferedBytes, 0);
  return frame;
}

for (const [file, vectors] of Object.entries(VECTOR_FILES)) {
  describe(`reply bodies parse as the encode_reply vectors say (${file})`, () => {
    for (const c of vectors.encode_reply) {
      test(c.name, () => {
        const { status, body } = frameOf(bytesOf(c.bytes));
        assertReply(c.reply, status, body);
      });
    }
  });
}

function assertReply(reply, status, body) {
  switch (reply.kind) {
    case "status":
      assert.equal(status, statusCode(reply.status));
      assert.deepEqual(body, bytesOf(reply.body));
      break;
    case "error":
      assert.equal(status, statusCode(reply.status));
      assert.ok(body.length > 0);
      break;
    case "hello": {
      const limits = VECTORS.limits[reply.limits];
      assert.deepEqual(parseHello(body), {
        version: reply.version ?? 1,
        authRequired: reply.auth_required,
        maxFrameBytes: limits.max_frame_bytes,
        maxKeyBytes: limits.max_key_bytes,
        maxValueBytes: limits.max_value_bytes,
      });
      break;
    }
    case "ttl":
      assert.equal(parseTtl(body), reply.remaining_ms === null ? null : BigInt(reply.remaining_ms));
      break;
    case "stats":
      assert.deepEqual(parseStats(body), new Map(reply.stats.map(([name, value]) => [name, BigInt(value)])));
      break;
    case "integer":
      assert.equal(status, 0x00);
      assert.equal(parseInteger(body), BigInt(reply.value));
      break;
    case "length":
      assert.equal(status, 0x00);
      assert.equal(parseLength(body), Number(reply.length));
      break;
    case "scan":
      assert.equal(status, 0x00);
      assert.deepEqual(parseScan(body), { cursor: BigInt(reply.next_cursor), keys: reply.keys.map(bytesOf) });
      break;
    default:
      assert.fail(`unknown reply kind ${reply.kind}`);
  }
}

describe("reply bodies of the wrong shape are wire-format errors", () => {
  test("HELLO, TTL and STATS", () => {
    assert.throws(() => parseHello(Buffer.from("0100", "hex")), WireFormatError);
    assert.throws(() => parseHello(Buffer.from("02000000100000000400100000", "hex")), /v2 reply body of 13 bytes/);
    assert.throws(() => parseTtl(Buffer.alloc(3)), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items 3")), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items -3\n")), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items 18446744073709551616\n")), WireFormatError);
  });

  test("INCR and APPEND bodies are exactly 8 bytes; a length beyond any value limit is refused", () => {
    assert.throws(() => parseInteger(Buffer.alloc(0)), WireFormatError);
    assert.throws(() => parseInteger(Buffer.alloc(9)), WireFormatError);
    assert.throws(() => parseLength(Buffer.alloc(7)), WireFormatError);
    assert.equal(parseLength(Buffer.from("0000000010000000", "hex")), 0x1000_0000);
    assert.throws(() => parseLength(Buffer.from("0000000010000001", "hex")), /exceeds any value limit/);
    assert.throws(() => parseLength(Buffer.from("ffffffffffffffff", "hex")), WireFormatError);
    assert.equal(parseInteger(Buffer.from("7fffffffffffffff", "hex")), 2n ** 63n - 1n);
  });

  test("SCAN bodies: a cursor, then keys that fill the body exactly", () => {
    assert.throws(() => parseScan(Buffer.alloc(7)), /under 8/);
    assert.throws(() => parseScan(Buffer.from("0000000000000000 00".replace(/ /g, ""), "hex")), /cut/);
    assert.throws(() => parseScan(Buffer.from("0000000000000000 0003 6b31".replace(/ /g, ""), "hex")), /runs past/);
    assert.deepEqual(parseScan(Buffer.from("ffffffffffffffff 0000 0001 00".replace(/ /g, ""), "hex")), {
      cursor: 2n ** 64n - 1n,
      keys: [Buffer.alloc(0), Buffer.alloc(1)],
    });
  });

  test("decode_reply's scan_reply body is a SCAN page", () => {
    const c = VECTOR_FILES["v2.json"].decode_reply.find((r) => r.name === "scan_reply");
    const { body } = frameOf(bytesOf(c.bytes));
    assert.deepEqual(parseScan(body), { cursor: 7n, keys: [Buffer.from("k1")] });
  });
});

test("Fifo keeps order across compaction", () => {
  const fifo = new Fifo();
  for (let i = 0; i < 5000; i++) fifo.push(i);
  for (let i = 0; i < 3000; i++) assert.equal(fifo.shift(), i);
  for (let i = 5000; i < 6000; i++) fifo.push(i);
  assert.equal(fifo.length, 3000);
  assert.deepEqual(fifo.popTail(2), [5998, 5999]);
  assert.equal(fifo.peek(), 3000);
  assert.deepEqual(fifo.drain().slice(0, 2), [3000, 3001]);
  assert.equal(fifo.length, 0);
  assert.equal(fifo.shift(), undefined);
});

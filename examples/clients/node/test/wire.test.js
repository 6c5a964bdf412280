// Unit tests of the wire module against the protocol vectors (v1.json): every
// decode_reply case whole, split at every byte boundary and fed byte by byte;
// the encoders against decode_request; the body parsers against encode_reply.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Fifo } from "../src/fifo.js";
import {
  FrameDecoder,
  Opcode,
  WireFormatError,
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
} from "../src/wire.js";
import { VECTORS, bytesOf, statusCode } from "./helpers/vectors.js";

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

describe("decode_reply vectors", () => {
  for (const c of VECTORS.decode_reply) {
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

describe("request encoding reproduces the decode_request vectors", () => {
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
      default:
        throw new Error(`no encoder for ${request.command}`);
    }
  }

  const cases = VECTORS.decode_request.filter((c) => c.expect.outcome === "request");
  test("there are request cases for every command", () => {
    const commands = new Set(cases.map((c) => c.expect.request.command));
    assert.deepEqual([...commands].sort(), ["AUTH", "DEL", "EXPIRE", "GET", "HELLO", "PING", "SET", "STATS", "TTL"]);
  });
  for (const c of cases) {
    test(c.name, () => {
      const expected = bytesOf(c.bytes).subarray(0, c.expect.frame_len);
      assert.deepEqual(encode(c.expect.request), expected);
    });
  }

  test("string keys and values are encoded as UTF-8", () => {
    assert.deepEqual(encodeKeyed(Opcode.GET, "user:1"), Buffer.from("00000009100006757365723a31", "hex"));
    assert.deepEqual(encodeSet("k", "é", 0n), encodeSet(Buffer.from("k"), Buffer.from("é"), 0n));
  });
});

describe("reply bodies parse as the encode_reply vectors say", () => {
  function bodyOf(c) {
    const decoder = new FrameDecoder();
    decoder.push(bytesOf(c.bytes));
    const frame = decoder.next();
    assert.equal(decoder.bufferedBytes, 0);
    return frame;
  }

  for (const c of VECTORS.encode_reply) {
    test(c.name, () => {
      const { status, body } = bodyOf(c);
      const { reply } = c;
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
            version: 1,
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
        default:
          assert.fail(`unknown reply kind ${reply.kind}`);
      }
    });
  }

  test("bodies of the wrong shape are wire-format errors", () => {
    assert.throws(() => parseHello(Buffer.from("0100", "hex")), WireFormatError);
    assert.throws(() => parseTtl(Buffer.alloc(3)), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items 3")), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items -3\n")), WireFormatError);
    assert.throws(() => parseStats(Buffer.from("items 18446744073709551616\n")), WireFormatError);
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

// Replays the vector sessions (protocol/vectors/v1.json and v2.json) through
// the public API, by the conformance kit's rules: each session on a fresh server, each
// frame of a step decoded by a small request decoder here and issued as one
// API call (a step of several frames as one batch), each outcome compared
// with the expected reply. Steps the API cannot express are not sent, and the
// count of steps replayed is asserted.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlinkClient, KeyTooLargeError, NO_TTL, StatusError, ValueTooLargeError } from "../src/index.js";
import { statusErrorClass } from "../src/errors.js";
import { startServer } from "./helpers/server.js";
import { VECTORS, VECTOR_FILES, bytesOf, limitFlags, statusCode } from "./helpers/vectors.js";

/** Steps replayed over all sessions of each file; a change to the vectors must update it on purpose. */
const EXPECTED_STEPS_REPLAYED = { "v1.json": 36, "v2.json": 78 };

/**
 * The frames of `bytes` as `{ command, key, value, ttlMs, version, token,
 * delta, cursor, count }` (APPEND's suffix and SCAN's prefix in `value`),
 * or null if any frame is one the API cannot express (unknown opcode,
 * malformed or foreign, a header without its body).
 */
function decodeRequests(bytes) {
  const requests = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] >= 0x20 || bytes.length - at < 4) return null;
    const len = bytes.readUInt32BE(at);
    if (len === 0 || bytes.length - at - 4 < len) return null;
    const payload = bytes.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    const request = decodePayload(payload);
    if (request === null) return null;
    requests.push(request);
  }
  return requests;
}

function decodePayload(payload) {
  const opcode = payload[0];
  const keyAt = (offset) => {
    if (payload.length < offset + 2) return null;
    const keyLen = payload.readUInt16BE(offset);
    if (payload.length < offset + 2 + keyLen) return null;
    return { key: payload.subarray(offset + 2, offset + 2 + keyLen), end: offset + 2 + keyLen };
  };
  switch (opcode) {
    case 0x01:
      return payload.length === 1 ? { command: "PING" } : null;
    case 0x20:
      return payload.length === 1 ? { command: "STATS" } : null;
    case 0x02:
      return payload.length === 2 ? { command: "HELLO", version: payload[1] } : null;
    case 0x03:
      return { command: "AUTH", token: payload.subarray(1) };
    case 0x10:
    case 0x12:
    case 0x14: {
      const field = keyAt(1);
      if (field === null || field.end !== payload.length) return null;
      return { command: { 0x10: "GET", 0x12: "DEL", 0x14: "TTL" }[opcode], key: field.key };
    }
    case 0x11:
    case 0x13:
    case 0x15:
    case 0x16: {
      if (payload.length < 11) return null;
      const ttlMs = payload.readBigUInt64BE(1);
      const field = keyAt(9);
      if (field === null) return null;
      if (opcode === 0x13) return field.end === payload.length ? { command: "EXPIRE", key: field.key, ttlMs } : null;
      const command = { 0x11: "SET", 0x15: "ADD", 0x16: "REPLACE" }[opcode];
      return { command, key: field.key, value: payload.subarray(field.end), ttlMs };
    }
    case 0x17: {
      if (payload.length < 11) return null;
      const field = keyAt(9);
      if (field === null || field.end !== payload.length) return null;
      return { command: "INCR", key: field.key, delta: payload.readBigInt64BE(1) };
    }
    case 0x18: {
      const field = keyAt(1);
      if (field === null) return null;
      return { command: "APPEND", key: field.key, value: payload.subarray(field.end) };
    }
    case 0x21:
      return payload.length === 1 ? { command: "FLUSH" } : null;
    case 0x22:
      if (payload.length < 11) return null;
      return {
        command: "SCAN",
        cursor: payload.readBigUInt64BE(1),
        count: payload.readUInt16BE(9),
        value: payload.subarray(11),
      };
    default:
      return null;
  }
}

/** Adds the request to a Batch, or issues it on the client: the same API either way. */
function issue(target, request) {
  switch (request.command) {
    case "PING":
      return target.ping();
    case "STATS":
      return target.stats();
    case "HELLO":
      return target.hello(request.version);
    case "AUTH":
      return target.auth(request.token);
    case "GET":
      return target.get(request.key);
    case "DEL":
      return target.del(request.key);
    case "TTL":
      return target.ttl(request.key);
    case "SET":
      return target.set(request.key, request.value, { ttlMs: request.ttlMs });
    case "EXPIRE":
      return target.expire(request.key, request.ttlMs);
    case "ADD":
      return target.add(request.key, request.value, { ttlMs: request.ttlMs });
    case "REPLACE":
      return target.replace(request.key, request.value, { ttlMs: request.ttlMs });
    case "INCR":
      return target.incr(request.key, request.delta);
    case "APPEND":
      return target.append(request.key, request.value);
    case "FLUSH":
      return target.flush();
    case "SCAN":
      return target.scan(request.cursor, { count: request.count, prefix: request.value });
  }
  throw new Error(`no API call for ${request.command}`);
}

/** Whether the request's key or value is over the session's limits: the kit says it fails locally. */
function overLimits(request, limits) {
  const valued = ["SET", "ADD", "REPLACE", "APPEND"].includes(request.command);
  return (
    (request.key !== undefined && request.key.length > limits.max_key_bytes) ||
    (valued && request.value.length > limits.max_value_bytes)
  );
}

function assertOutcome(request, outcome, expected, label, limits) {
  const code = statusCode(expected.status);
  if (code >= 0x80) {
    assert.equal(outcome.status, "rejected", `${label}: expected ${expected.status}`);
    assert.ok(outcome.reason instanceof statusErrorClass(code), `${label}: ${outcome.reason}`);
    assert.ok(outcome.reason instanceof StatusError);
    if (outcome.reason instanceof KeyTooLargeError || outcome.reason instanceof ValueTooLargeError) {
      assert.equal(outcome.reason.local, overLimits(request, limits), `${label}: refused before sending iff over`);
    }
    return;
  }
  assert.equal(outcome.status, "fulfilled", `${label}: ${outcome.reason}`);
  const result = outcome.value;
  if (code === 0x01) {
    const absent = ["DEL", "EXPIRE", "REPLACE"].includes(request.command) ? false : null;
    assert.equal(result, absent, `${label}: NOT_FOUND`);
    return;
  }
  if (code === 0x02) {
    assert.equal(request.command, "ADD", `${label}: EXISTS answers ADD only`);
    assert.equal(result, false, `${label}: EXISTS`);
    return;
  }
  const body = expected.body === undefined ? undefined : bytesOf(expected.body);
  switch (request.command) {
    case "GET":
      assert.ok(Buffer.isBuffer(result), label);
      if (body !== undefined) assert.deepEqual(result, body, label);
      if (expected.body_len !== undefined) assert.equal(result.length, expected.body_len, label);
      break;
    case "HELLO":
      assert.deepEqual(
        result,
        {
          version: body[0],
          authRequired: (body[1] & 1) === 1,
          maxFrameBytes: body.readUInt32BE(2),
          maxKeyBytes: body.readUInt32BE(6),
          maxValueBytes: body.readUInt32BE(10),
        },
        label,
      );
      break;
    case "TTL":
      if (body !== undefined && body.length === 0) assert.equal(result, NO_TTL, `${label}: no TTL`);
      else if (body !== undefined) assert.equal(result, body.readBigUInt64BE(0), label);
      else {
        assert.equal(expected.body_len, 8, label);
        assert.equal(typeof result, "bigint", label);
        assert.ok(result >= 0n, label);
      }
      break;
    case "DEL":
    case "EXPIRE":
    case "ADD":
    case "REPLACE":
      assert.equal(result, true, label);
      break;
    case "INCR":
      assert.equal(result, body.readBigInt64BE(0), label);
      break;
    case "APPEND":
      assert.equal(typeof result, "number", label);
      assert.equal(BigInt(result), body.readBigUInt64BE(0), label);
      break;
    case "SCAN":
      // A page depends on the server's index: any result of the right shape (the walk tests check whole walks).
      assert.equal(typeof result.cursor, "bigint", label);
      assert.ok(Array.isArray(result.keys) && result.keys.every((key) => Buffer.isBuffer(key)), label);
      for (const key of result.keys) assert.ok(key.subarray(0, request.value.length).equals(request.value), label);
      break;
    case "STATS":
      assert.ok(result instanceof Map && result.size > 0, label);
      for (const value of result.values()) assert.equal(typeof value, "bigint", label);
      break;
    default:
      assert.equal(result, undefined, label);
  }
}

for (const [file, vectors] of Object.entries(VECTOR_FILES)) {
  describe(`vector sessions replayed through the API (${file})`, () => {
    let replayed = 0;

    for (const session of vectors.sessions) {
      const skip = session.server.cap_bytes !== undefined && "needs a memory cap below the server's 1 MiB minimum";
      test(session.name, { skip }, async () => {
        replayed += await replay(session);
      });
    }

    test("every expressible step was replayed", () => {
      assert.equal(replayed, EXPECTED_STEPS_REPLAYED[file], `steps replayed over all sessions of ${file}`);
    });
  });
}

/** Replays one session on a fresh server; the number of steps it replayed. */
async function replay(session) {
  const { token, limits } = session.server;
  const server = await startServer({
    args: limitFlags(limits),
    token: token === null ? undefined : bytesOf(token).toString("utf8"),
  });
  const client = new BlinkClient(server.tcpOptions);
  const reasons = [];
  client.on("disconnect", (reason) => reasons.push(reason));
  let replayed = 0;
  try {
    await client.connect();
    for (const [index, step] of session.steps.entries()) {
      const requests = decodeRequests(bytesOf(step.send));
      if (requests === null) continue;
      const label = `${session.name} step ${index}`;
      assert.equal(requests.length, step.replies.length, `${label}: one reply per frame`);
      let outcomes;
      if (requests.length === 1) {
        outcomes = await Promise.allSettled([issue(client, requests[0])]);
      } else {
        const batch = client.batch();
        for (const request of requests) issue(batch, request);
        outcomes = await batch.exec();
      }
      const limitSet = VECTORS.limits[limits];
      requests.forEach((request, i) => assertOutcome(request, outcomes[i], step.replies[i], `${label}.${i}`, limitSet));
      const hello = outcomes.findLast((o, i) => requests[i].command === "HELLO" && o.status === "fulfilled");
      if (hello !== undefined) assert.equal(client.protocolVersion, hello.value.version, `${label}: version recorded`);
      if (step.then === "closed") {
        assert.equal(client.metrics.connectionsClosed, 1, `${label}: the connection was dropped`);
        assert.ok(reasons[0] instanceof statusErrorClass(statusCode(step.replies.at(-1).status)), `${reasons[0]}`);
      } else {
        assert.equal(client.metrics.connectionsClosed, 0, `${label}: the connection stays open`);
      }
      replayed++;
    }
  } finally {
    await client.close();
    await server.stop();
  }
  return replayed;
}

// Replays the vector sessions (protocol/vectors/v1.json) through the public
// API, by the conformance kit's rules: each session on a fresh server, each
// frame of a step decoded by a small request decoder here and issued as one
// API call (a step of several frames as one batch), each outcome compared
// with the expected reply. Steps the API cannot express are not sent, and the
// count of steps replayed is asserted.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlinkClient, KeyTooLargeError, NO_TTL, StatusError, ValueTooLargeError } from "../src/index.js";
import { statusErrorClass } from "../src/errors.js";
import { startServer } from "./helpers/server.js";
import { VECTORS, bytesOf, limitFlags, statusCode } from "./helpers/vectors.js";

/** Steps replayed over all sessions; a change to the vectors must update it on purpose. */
const EXPECTED_STEPS_REPLAYED = 36;

/**
 * The frames of `bytes` as `{ command, key, value, ttlMs, version, token }`,
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
    case 0x13: {
      if (payload.length < 11) return null;
      const ttlMs = payload.readBigUInt64BE(1);
      const field = keyAt(9);
      if (field === null) return null;
      if (opcode === 0x13) return field.end === payload.length ? { command: "EXPIRE", key: field.key, ttlMs } : null;
      return { command: "SET", key: field.key, value: payload.subarray(field.end), ttlMs };
    }
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
  }
  throw new Error(`no API call for ${request.command}`);
}

function assertOutcome(request, outcome, expected, label) {
  const code = statusCode(expected.status);
  if (code >= 0x80) {
    assert.equal(outcome.status, "rejected", `${label}: expected ${expected.status}`);
    assert.ok(outcome.reason instanceof statusErrorClass(code), `${label}: ${outcome.reason}`);
    assert.ok(outcome.reason instanceof StatusError);
    if (outcome.reason instanceof KeyTooLargeError || outcome.reason instanceof ValueTooLargeError) {
      assert.equal(outcome.reason.local, true, `${label}: refused before sending`);
    }
    return;
  }
  assert.equal(outcome.status, "fulfilled", `${label}: ${outcome.reason}`);
  const result = outcome.value;
  if (code === 0x01) {
    const absent = request.command === "DEL" || request.command === "EXPIRE" ? false : null;
    assert.equal(result, absent, `${label}: NOT_FOUND`);
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
      assert.equal(result, true, label);
      break;
    case "STATS":
      assert.ok(result instanceof Map && result.size > 0, label);
      for (const value of result.values()) assert.equal(typeof value, "bigint", label);
      break;
    default:
      assert.equal(result, undefined, label);
  }
}

describe("vector sessions replayed through the API", () => {
  let replayed = 0;

  for (const session of VECTORS.sessions) {
    const skip = session.server.cap_bytes !== undefined && "needs a memory cap below the server's 1 MiB minimum";
    test(session.name, { skip }, async () => {
      const { token, limits } = session.server;
      const server = await startServer({
        args: limitFlags(limits),
        token: token === null ? undefined : bytesOf(token).toString("utf8"),
      });
      const client = new BlinkClient(server.tcpOptions);
      const reasons = [];
      client.on("disconnect", (reason) => reasons.push(reason));
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
          requests.forEach((request, i) => assertOutcome(request, outcomes[i], step.replies[i], `${label}.${i}`));
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
    });
  }

  test("every expressible step was replayed", () => {
    assert.equal(replayed, EXPECTED_STEPS_REPLAYED, "steps replayed over all sessions");
  });
});

// The error classes against SPEC §6.2 and §13, driven by the encode_reply
// error vectors (v1.json and v2.json): one class per status, the right "connection after
// it", and the outcome-unknown family for everything that drops a connection.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BlinkError,
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  QueueTimeoutError,
  StatusError,
  TimeoutError,
} from "../src/index.js";
import { errorFromReply, statusErrorClass } from "../src/errors.js";
import { FrameDecoder } from "../src/wire.js";
import { VECTOR_FILES, bytesOf, statusCode } from "./helpers/vectors.js";

/** SPEC §6.2: the statuses after which the server closes the connection. */
const CLOSING = new Set([
  "ERR_MALFORMED",
  "ERR_FRAME_TOO_LARGE",
  "ERR_AUTH_FAILED",
  "ERR_TOO_MANY_CONNECTIONS",
  "ERR_TIMEOUT",
  "ERR_BUSY",
  "ERR_SHUTTING_DOWN",
]);

const errorCases = Object.values(VECTOR_FILES).flatMap((v) => v.encode_reply.filter((c) => c.reply.kind === "error"));

test("every error status of the vectors has its own class", () => {
  const classes = new Set(errorCases.map((c) => statusErrorClass(statusCode(c.reply.status))));
  assert.equal(classes.size, errorCases.length);
  assert.equal(errorCases.length, 14, "13 in version 1, ERR_NOT_INTEGER in version 2");
});

for (const c of errorCases) {
  test(`${c.reply.status}: class, code, message and connection after it`, () => {
    const decoder = new FrameDecoder();
    decoder.push(bytesOf(c.bytes));
    const { status, body } = decoder.next();
    const err = errorFromReply(status, body);
    assert.ok(err instanceof StatusError && err instanceof BlinkError);
    assert.equal(err.status, statusCode(c.reply.status));
    assert.equal(err.statusName, c.reply.status);
    assert.equal(err.name, err.constructor.name);
    assert.equal(err.local, false);
    assert.ok(err.message.startsWith(`${c.reply.status}: ${body.toString()}`), err.message);
    assert.equal(err.constructor.closesConnection, CLOSING.has(c.reply.status), "connection after it");
  });
}

test("errors that drop a connection are all 'connection closed, outcome unknown'", () => {
  const cause = new Error("boom");
  const closed = new ConnectionClosedError("the server went away", { cause });
  assert.ok(closed instanceof ConnectionError);
  assert.equal(closed.message, "connection closed, outcome unknown: the server went away");
  assert.equal(closed.cause, cause);
  const protocol = new ProtocolError("zero length");
  assert.ok(protocol instanceof ConnectionClosedError);
  assert.match(protocol.message, /outcome unknown: protocol error: zero length/);
  assert.ok(new QueueTimeoutError("waited") instanceof TimeoutError);
});

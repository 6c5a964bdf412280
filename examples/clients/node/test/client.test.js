// Integration tests of the public API against a real blink-store: both
// transports, every command, binary safety, TTLs as bigints, STATS, batches,
// automatic pipelining and its in-flight bound, timeouts and aborts (no call
// ever gets another call's reply), the queue bounds, AUTH, unsolicited
// closing statuses, health checks, and close().

import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  AuthRequiredError,
  BlinkClient,
  BusyError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionError,
  FrameTooLargeError,
  ItemTooLargeError,
  KeyTooLargeError,
  NO_TTL,
  ProtocolError,
  QueueFullError,
  ServerTimeoutError,
  ShuttingDownError,
  TimeoutError,
  UnsupportedVersionError,
  connect,
} from "../src/index.js";
import { HELLO_OPCODE, helloReply, reply, startFakePeer } from "./helpers/fake-peer.js";
import { startServer, waitFor } from "./helpers/server.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connected client, disposed of when test `t` ends (Node 20 has no `await using` syntax). */
async function open(t, options) {
  const client = await connect(options);
  t.after(() => client[Symbol.asyncDispose]());
  return client;
}

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

describe("commands over both transports", () => {
  for (const transport of ["tcp", "unix"]) {
    test(`every command over ${transport}`, async (t) => {
      const client = await open(t, transport === "tcp" ? server.tcpOptions : { path: server.path });
      const key = `every:${transport}`;
      assert.equal(await client.ping(), undefined);
      assert.deepEqual(await client.hello(), {
        version: 2,
        authRequired: false,
        maxFrameBytes: 1052672,
        maxKeyBytes: 1024,
        maxValueBytes: 1048576,
      });
      assert.deepEqual(client.limits, { maxFrameBytes: 1052672, maxKeyBytes: 1024, maxValueBytes: 1048576 });
      assert.equal(await client.auth("anything"), undefined, "a server without a token accepts any AUTH");
      assert.equal(await client.get(key), null);
      assert.equal(await client.set(key, "v1"), undefined);
      assert.deepEqual(await client.get(key), Buffer.from("v1"));
      assert.equal(await client.getString(key), "v1");
      assert.equal(await client.ttl(key), NO_TTL);
      assert.equal(await client.expire(key, 60_000), true);
      const remaining = await client.ttl(key);
      assert.ok(typeof remaining === "bigint" && remaining > 59_000n && remaining <= 60_000n, `${remaining}`);
      assert.equal(await client.expire(key, 0), true);
      assert.equal(await client.ttl(key), NO_TTL, "EXPIRE 0 clears the TTL");
      assert.equal(await client.del(key), true);
      assert.equal(await client.del(key), false);
      assert.equal(await client.expire(key, 1000), false);
      assert.equal(await client.ttl(key), null);
      const stats = await client.stats();
      assert.ok(stats instanceof Map);
      assert.equal(typeof stats.get("cmd_get"), "bigint");
      assert.ok(stats.get("cmd_get") >= 2n);
    });
  }
});

describe("values", () => {
  let client;
  before(async () => {
    client = await connect(server.tcpOptions);
  });
  after(() => client.close());

  test("keys and values are binary-safe, including empty ones", async () => {
    const key = Buffer.from([0x00, 0x0a, 0xff, 0x0d]);
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await client.set(key, value);
    assert.deepEqual(await client.get(key), value);
    await client.set(new Uint8Array(0), new Uint8Array(0));
    assert.deepEqual(await client.get(Buffer.alloc(0)), Buffer.alloc(0));
    assert.equal(await client.getString(""), "");
  });

  test("strings are UTF-8", async () => {
    await client.set("clé:ünï", "värde ✓ 🚀");
    assert.equal(await client.getString(Buffer.from("clé:ünï", "utf8")), "värde ✓ 🚀");
  });

  test("TTLs are bigints over the full u64 range", async () => {
    await client.set("ttl:max", "x", { ttlMs: 0xffff_ffff_ffff_ffffn });
    const remaining = await client.ttl("ttl:max");
    assert.equal(typeof remaining, "bigint");
    assert.ok(remaining > 2n ** 63n, `${remaining} is read as an unsigned 64-bit integer`);
    await client.set("ttl:short", "x", { ttlMs: 50 });
    await waitFor(async () => (await client.get("ttl:short")) === null, { what: "the key to expire" });
    assert.equal(await client.ttl("ttl:short"), null);
    await client.set("ttl:max", "y");
    assert.equal(await client.ttl("ttl:max"), NO_TTL, "SET without a TTL makes a key persistent");
  });

  test("bad arguments reject with TypeError or RangeError before anything is sent", async () => {
    const writes = client.metrics.writes;
    await assert.rejects(client.get(42), TypeError);
    await assert.rejects(client.set("k", { not: "bytes" }), TypeError);
    await assert.rejects(client.set("k", "v", { ttlMs: -1 }), RangeError);
    await assert.rejects(client.expire("k", 2n ** 64n), RangeError);
    await assert.rejects(client.expire("k", 1.5), RangeError);
    await assert.rejects(client.hello(256), RangeError);
    assert.throws(() => client.batch().get(null), TypeError);
    assert.equal(client.metrics.writes, writes);
  });

  test("HELLO 0 is refused by the server and the connection stays", async () => {
    await assert.rejects(client.hello(0), UnsupportedVersionError);
    assert.equal(await client.ping(), undefined);
  });

  test("oversized keys, values and frames are refused locally, keeping the connection", async () => {
    const key = await client.get("k".repeat(1025)).catch((e) => e);
    assert.ok(key instanceof KeyTooLargeError && key.local, `${key}`);
    assert.equal(key.statusName, "ERR_KEY_TOO_LARGE");
    const created = client.metrics.connectionsCreated;
    await client.set("k".repeat(1024), Buffer.alloc(1048576));
    assert.equal((await client.get("k".repeat(1024))).length, 1048576, "a maximal key with a maximal value fits");
    assert.equal(client.metrics.connectionsCreated, created);
  });
});

describe("pipelining", () => {
  test("a batch answers in order, each request on its own", async (t) => {
    const client = await open(t, server.tcpOptions);
    const batch = client
      .batch()
      .set("b:1", "one")
      .get("b:1")
      .getString("b:1")
      .get("b:missing")
      .get("k".repeat(2000))
      .del("b:1")
      .ttl("b:1")
      .ping();
    assert.equal(batch.length, 8);
    const results = await batch.exec();
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"],
    );
    assert.deepEqual(results[1].value, Buffer.from("one"));
    assert.equal(results[2].value, "one");
    assert.equal(results[3].value, null);
    assert.ok(results[4].reason instanceof KeyTooLargeError);
    assert.equal(results[5].value, true);
    assert.equal(results[6].value, null);
    assert.throws(() => batch.exec(), /already executed/);
    assert.deepEqual(await client.batch().exec(), []);
  });

  test("calls issued in the same tick leave in one write", async (t) => {
    const client = await open(t, server.tcpOptions);
    await client.set("auto", "pipelined");
    const writes = client.metrics.writes;
    const values = await Promise.all(Array.from({ length: 200 }, () => client.getString("auto")));
    assert.ok(values.every((v) => v === "pipelined"));
    assert.equal(client.metrics.writes - writes, 1);
  });

  test("at most maxInFlight calls await replies; the rest queue, bounded by maxQueued", async (t) => {
    const client = await open(t, { ...server.tcpOptions, maxInFlight: 4, maxQueued: 10 });
    let peak = 0;
    const calls = [];
    for (let i = 0; i < 14; i++) {
      calls.push(client.set(`q${i}`, `${i}`));
      peak = Math.max(peak, client.metrics.callsInFlight);
    }
    assert.equal(client.metrics.callsInFlight, 4);
    assert.equal(client.metrics.callsQueued, 10);
    const refused = await client.ping().catch((e) => e);
    assert.ok(refused instanceof QueueFullError, `${refused}`);
    assert.equal(client.metrics.queueFull, 1);
    await Promise.all(calls);
    assert.equal(peak, 4);
    assert.deepEqual(
      await Promise.all(Array.from({ length: 14 }, (_, i) => client.getString(`q${i}`))),
      Array.from({ length: 14 }, (_, i) => `${i}`),
    );
  });
});

describe("timeouts and aborts", () => {
  test("an aborted call rejects with the signal's reason and its reply is dropped", async (t) => {
    const client = await open(t, server.tcpOptions);
    await assert.rejects(client.ping({ signal: AbortSignal.abort() }), { name: "AbortError" });
    await client.set("abort:a", "a");
    await client.set("abort:b", "b");
    const controller = new AbortController();
    const aborted = client.getString("abort:a", { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { name: "AbortError" });
    assert.equal(await client.getString("abort:b"), "b");
    assert.equal(client.metrics.callsAborted, 2);
    assert.equal(client.metrics.lateRepliesDiscarded, 1);
  });

  test("no caller ever receives another call's reply, whatever times out or aborts", async (t) => {
    const own = await startServer();
    const client = await open(t, { ...own.tcpOptions, stallTimeoutMs: 10_000 });
    try {
      const KEYS = 50;
      await Promise.all(Array.from({ length: KEYS }, (_, i) => client.set(`own:${i}`, `value ${i}`)));
      let answered = 0;
      let gaveUp = 0;
      for (let round = 0; round < 6; round++) {
        if (round % 2 === 1) own.pause();
        const calls = Array.from({ length: 300 }, (_, n) => {
          const i = (n * 7 + round) % KEYS;
          const controller = new AbortController();
          if (n % 5 === 0) setTimeout(() => controller.abort(), n % 30);
          const timeoutMs = n % 3 === 0 ? 1 + (n % 40) : 2000;
          return client.getString(`own:${i}`, { timeoutMs, signal: controller.signal }).then(
            (value) => {
              assert.equal(value, `value ${i}`, `call for own:${i} got another call's reply`);
              answered++;
            },
            (err) => {
              assert.ok(err instanceof TimeoutError || err.name === "AbortError", `${err}`);
              gaveUp++;
            },
          );
        });
        if (round % 2 === 1) setTimeout(() => own.resume(), 60);
        await Promise.all(calls);
      }
      assert.ok(answered > 0 && gaveUp > 0, `${answered} answered, ${gaveUp} gave up`);
      assert.equal(client.metrics.connectionsCreated, 1, "kept in sync on one connection");
      for (let i = 0; i < KEYS; i++) assert.equal(await client.getString(`own:${i}`), `value ${i}`);
    } finally {
      own.resume();
      await own.stop();
    }
  });

  test("a batch timeout fails its unanswered calls and keeps their slots", async (t) => {
    const own = await startServer();
    const client = await open(t, { ...own.tcpOptions, stallTimeoutMs: 10_000 });
    try {
      await client.set("slot", "kept");
      own.pause();
      const batch = client.batch().get("slot").get("slot").exec({ timeoutMs: 100 });
      const results = await batch;
      assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof TimeoutError));
      assert.match(results[0].reason.message, /GET timed out after 100ms, in flight/);
      own.resume();
      assert.equal(await client.getString("slot"), "kept");
      assert.equal(client.metrics.lateRepliesDiscarded, 2);
    } finally {
      own.resume();
      await own.stop();
    }
  });
});

describe("authentication", () => {
  test("a refused connect with a token fails the connect and leaves no unhandled rejection", async () => {
    const closed = net.createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address();
    closed.close();
    await once(closed, "close");
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const err = await connect({ host: "127.0.0.1", port, token: "s3cret" }).catch((e) => e);
      assert.ok(err instanceof ConnectionError, `${err}`);
      // Unhandled rejections are reported once the microtask queue drains.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, [], "the AUTH call's rejection is handled");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("HELLO and AUTH are pipelined at connect; the full frame limit applies after AUTH", async (t) => {
    const own = await startServer({ token: "s3cret" });
    try {
      const client = await open(t, { ...own.tcpOptions, token: "s3cret" });
      assert.equal(client.metrics.writes, 1, "HELLO and AUTH went out in one write");
      await client.set("k", Buffer.alloc(8192));
      assert.equal((await client.get("k")).length, 8192);

      const anonymous = await open(t, own.tcpOptions);
      await assert.rejects(anonymous.get("k"), AuthRequiredError);
      const big = await anonymous.set("k", Buffer.alloc(5000)).catch((e) => e);
      assert.ok(big instanceof FrameTooLargeError && big.local, "the pre-auth frame limit is checked locally");
      await anonymous.auth("s3cret");
      assert.equal((await anonymous.get("k")).length, 8192);
    } finally {
      await own.stop();
    }
  });
});

describe("server-side rejections", () => {
  // The real server cannot reach ERR_ITEM_TOO_LARGE (its memory cap is at
  // least twice its frame limit), so a fake peer sends it.
  test("ERR_ITEM_TOO_LARGE is reported and keeps the connection", async (t) => {
    const peer = await startFakePeer((socket, payload) => {
      if (payload[0] === HELLO_OPCODE) socket.write(helloReply());
      else if (payload[0] === 0x11) socket.write(reply(0x85, Buffer.from("item larger than the memory cap")));
      else socket.write(reply(0x00));
    });
    t.after(() => peer.close());
    const client = await open(t, { port: peer.port });
    const err = await client.set("k", "v").catch((e) => e);
    assert.ok(err instanceof ItemTooLargeError && !err.local, `${err}`);
    assert.match(err.message, /ERR_ITEM_TOO_LARGE: item larger than the memory cap/);
    assert.equal(await client.ping(), undefined);
    assert.equal(client.metrics.connectionsClosed, 0);
  });
});

describe("closing statuses and reconnects", () => {
  for (const [name, status, type] of [
    ["ERR_BUSY", 0x8b, BusyError],
    ["ERR_TIMEOUT", 0x8a, ServerTimeoutError],
    ["ERR_SHUTTING_DOWN", 0x8c, ShuttingDownError],
  ]) {
    test(`an unsolicited ${name} fails every pending call as outcome unknown, then the client reconnects`, async () => {
      let connection = 0;
      const peer = await startFakePeer((socket, payload, index) => {
        if (index === 0) connection++;
        if (payload[0] === HELLO_OPCODE) socket.write(helloReply());
        else if (connection === 1 && index === 3) socket.end(reply(status, Buffer.from("go away")));
        else if (connection > 1) socket.write(reply(0x00));
      });
      const client = await connect({ port: peer.port, reconnect: { baseDelayMs: 10, maxDelayMs: 50, jitterMs: 10 } });
      try {
        const pending = [client.ping(), client.ping(), client.ping()];
        const outcomes = await Promise.allSettled(pending);
        for (const outcome of outcomes) {
          assert.ok(outcome.reason instanceof ConnectionClosedError, `${outcome.reason}`);
          assert.ok(outcome.reason.cause instanceof type, `${outcome.reason.cause}`);
        }
        await waitFor(() => client.state === "ready", { what: "the reconnect" });
        assert.equal(await client.ping(), undefined);
        assert.equal(client.metrics.connectionsBroken, 1);
      } finally {
        await client.close();
        await peer.close();
      }
    });
  }

  test("calls whose frames were never written go out on the next connection", async (t) => {
    // The first connection stops reading, so the client's writes back up
    // behind 'drain'; then it closes with ERR_BUSY.
    let connection = 0;
    const peer = await startFakePeer((socket, payload, index) => {
      if (index === 0) connection++;
      if (payload[0] === HELLO_OPCODE) {
        socket.write(helloReply({ maxFrameBytes: 1 << 20, maxValueBytes: 1 << 20 }));
      } else if (connection === 1 && index === 1) {
        socket.pause();
        setTimeout(() => socket.end(reply(0x8b, Buffer.from("output cap"))), 200);
      } else if (connection > 1) {
        socket.write(reply(0x00));
      }
    });
    t.after(() => peer.close());
    const client = await open(t, { port: peer.port, timeoutMs: 10_000, reconnect: { baseDelayMs: 10, jitterMs: 0 } });
    const CALLS = 40;
    const value = Buffer.alloc(256 * 1024);
    const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, (_, i) => client.set(`big${i}`, value)));
    const resent = outcomes.filter((o) => o.status === "fulfilled").length;
    const inDoubt = outcomes.filter((o) => o.reason instanceof ConnectionClosedError).length;
    assert.equal(resent + inDoubt, CALLS);
    assert.ok(inDoubt >= 1 && resent >= 1, `${inDoubt} in doubt, ${resent} resent`);
    assert.equal(client.metrics.callsResent, resent);
  });

  test("a status undefined in v1 is a protocol error that closes the connection", async (t) => {
    const peer = await startFakePeer((socket, payload) => {
      socket.write(payload[0] === HELLO_OPCODE ? helloReply() : reply(0x90));
    });
    try {
      const client = await open(t, { port: peer.port });
      await assert.rejects(client.ping(), ProtocolError);
      assert.equal(client.metrics.connectionsClosed, 1);
    } finally {
      await peer.close();
    }
  });

  test("a server that negotiates a version this client does not speak is refused", async () => {
    const peer = await startFakePeer((socket) => socket.write(reply(0x00, Buffer.from([3, 0]))));
    try {
      await assert.rejects(connect({ port: peer.port }), /negotiated protocol version 3; this client speaks 1 and 2/);
    } finally {
      await peer.close();
    }
  });

  test("calls made while disconnected wait in the offline queue and go out once connected", async () => {
    const own = await startServer();
    const client = new BlinkClient(own.tcpOptions);
    try {
      assert.equal(client.state, "idle");
      const calls = [client.set("offline", "queued"), client.getString("offline")];
      assert.equal(client.metrics.callsQueued, 2);
      assert.deepEqual(await Promise.all(calls), [undefined, "queued"]);
      assert.equal(client.metrics.connectionsCreated, 1);
    } finally {
      await client.close();
      await own.stop();
    }
  });

  test("a refused connect is a ConnectionError", async () => {
    const peer = await startFakePeer();
    const { port } = peer;
    await peer.close();
    await assert.rejects(connect({ port }), ConnectionError);
  });
});

describe("fail-fast mode (offlineQueue: false)", () => {
  test("a client never connected starts connecting on its first call and succeeds once ready", async () => {
    const client = new BlinkClient({ ...server.tcpOptions, offlineQueue: false });
    try {
      assert.equal(client.state, "idle");
      const started = performance.now();
      const first = await client.set("failfast:k", "v").then(
        () => "ok",
        (err) => err,
      );
      assert.ok(performance.now() - started < 500, "the first call waited instead of failing fast");
      if (first !== "ok") {
        assert.ok(first instanceof ConnectionError, `first call: ${first}`);
        assert.match(first.message, /attempt started by this call/);
        assert.ok(["connecting", "ready"].includes(client.state), client.state);
        await waitFor(() => client.state === "ready", { what: "the attempt the call started" });
        await client.set("failfast:k", "v");
      }
      assert.equal(await client.getString("failfast:k"), "v");
      assert.equal(client.metrics.connectAttempts, 1, "one attempt, not one per call");
      assert.equal(client.metrics.connectionsCreated, 1);
    } finally {
      await client.close();
    }
  });

  test("calls made while that attempt is in progress fail fast and do not start another", async () => {
    const client = new BlinkClient({ path: server.path, offlineQueue: false });
    try {
      const results = await Promise.allSettled([client.ping(), client.ping(), client.ping()]);
      for (const result of results) {
        if (result.status === "rejected") assert.ok(result.reason instanceof ConnectionError, `${result.reason}`);
      }
      await waitFor(() => client.state === "ready", { what: "the connection" });
      assert.equal(await client.ping(), undefined);
      assert.equal(client.metrics.connectAttempts, 1);
    } finally {
      await client.close();
    }
  });

  test("against a dead port every call fails fast, the attempts back off and nothing hangs", async () => {
    const peer = await startFakePeer();
    const { port } = peer;
    await peer.close();
    const client = new BlinkClient({
      port,
      offlineQueue: false,
      reconnect: { baseDelayMs: 200, maxDelayMs: 200, jitterMs: 0 },
    });
    try {
      const started = performance.now();
      await assert.rejects(client.get("k"), ConnectionError);
      await waitFor(() => client.metrics.connectFailures >= 1, { what: "the refused attempt" });
      assert.equal(client.state, "reconnecting");
      await assert.rejects(client.get("k"), (err) => {
        assert.ok(err instanceof ConnectionError, `${err}`);
        assert.match(err.message, /reconnecting/);
        assert.ok(err.cause instanceof ConnectionError, "the last connect error is the cause");
        return true;
      });
      assert.ok(performance.now() - started < 500, "fail-fast calls took too long");
      assert.ok(client.metrics.connectAttempts <= 2, `${client.metrics.connectAttempts} attempts`);
      assert.equal(client.metrics.callsQueued, 0, "nothing queued in fail-fast mode");
    } finally {
      await client.close();
    }
  });
});

describe("health checks", () => {
  test("an idle connection is kept alive by PING past the server's idle timeout", async (t) => {
    const own = await startServer({ args: ["--idle-timeout-ms", "300"] });
    try {
      const client = await open(t, { ...own.tcpOptions, healthCheckIdleMs: 100 });
      // Stay idle for three server idle timeouts: a duration is what is under test.
      await sleep(900);
      assert.ok(client.metrics.healthChecks >= 3, `${client.metrics.healthChecks} health checks`);
      assert.equal(await client.ping(), undefined);
      assert.equal(client.metrics.connectionsCreated, 1);
      assert.equal((await client.stats()).get("closed_idle"), 0n);
    } finally {
      await own.stop();
    }
  });
});

describe("close", () => {
  test("close() lets sent calls finish, fails later ones, and is idempotent", async () => {
    const client = await connect(server.tcpOptions);
    const inFlight = client.set("close:k", "v");
    const closed = client.close();
    assert.equal(closed, client.close());
    await inFlight;
    await closed;
    assert.equal(client.state, "closed");
    await assert.rejects(client.ping(), ClientClosedError);
    await assert.rejects(client.connect(), ClientClosedError);
    assert.equal(client.metrics.connectionsBroken, 0);
  });

  test("Symbol.asyncDispose (what `await using` calls) closes the client", async () => {
    const client = await connect({ path: server.path });
    const closed = once(client, "close");
    assert.equal(await client.ping(), undefined);
    await client[Symbol.asyncDispose]();
    await closed;
    assert.equal(client.state, "closed");
  });
});

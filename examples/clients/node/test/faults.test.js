// The conformance kit's fault cases (examples/clients/conformance/faults.json),
// one test per case named after its id, against real servers and in-process
// fake peers (version_1_server among them). BlinkClient is one multiplexed
// connection: for the "pooled" cases, that connection with its reconnect logic
// plays the pool's role.

import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, test } from "node:test";
import {
  AuthFailedError,
  BlinkClient,
  ConnectionClosedError,
  ConnectionError,
  KeyTooLargeError,
  ProtocolError,
  QueueTimeoutError,
  StatusError,
  TimeoutError,
  TooManyConnectionsError,
  UnknownCommandError,
  ValueTooLargeError,
  connect,
} from "../src/index.js";
import { HELLO_OPCODE, helloReply, reply, startFakePeer } from "./helpers/fake-peer.js";
import { startServer, waitFor } from "./helpers/server.js";
import { limitFlags } from "./helpers/vectors.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body` with a server and a client connected to it, closing both after. */
async function withServer(serverOptions, clientOptions, body) {
  const server = await startServer(serverOptions);
  const client = await connect({ ...server.tcpOptions, ...clientOptions });
  try {
    await body(server, client);
  } finally {
    await client.close();
    await server.stop();
  }
}

/** Settles within `ms` or fails the test: proves that nothing hangs. */
async function settledWithin(ms, promises) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`calls still pending after ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe("server_killed_mid_pipeline", () => {
  const CALLS = 1000;
  const value = (i) => Buffer.alloc(32 * 1024, i % 251);

  for (const mode of ["batch", "concurrent calls"]) {
    test(`server_killed_mid_pipeline: ${CALLS} ${mode}, SIGKILL before all replies arrive`, async () => {
      const first = await startServer();
      const client = await connect({ ...first.tcpOptions, timeoutMs: 5000 });
      let second;
      try {
        const load = client.batch();
        for (let i = 0; i < CALLS; i++) load.set(`k${i}`, value(i));
        assert.ok((await load.exec()).every((r) => r.status === "fulfilled"));

        let gets;
        if (mode === "batch") {
          const batch = client.batch();
          for (let i = 0; i < CALLS; i++) batch.get(`k${i}`);
          const results = batch.exec();
          gets = Array.from({ length: CALLS }, (_, i) => results.then((all) => settledValue(all[i])));
        } else {
          gets = Array.from({ length: CALLS }, (_, i) => client.get(`k${i}`));
        }
        // Kill once the first replies are in: on a settled call, or for the
        // batch (which settles as a whole) when its in-flight count drops.
        await Promise.race([Promise.race(gets), whenSomeAnswered(client, CALLS)]);
        first.process.kill("SIGKILL");
        const outcomes = await settledWithin(5000, gets);

        let answered = 0;
        outcomes.forEach((outcome, i) => {
          if (outcome.status === "fulfilled") {
            answered++;
            assert.deepEqual(outcome.value, value(i), `call ${i} got another call's value`);
          } else {
            assert.ok(outcome.reason instanceof ConnectionClosedError, `call ${i}: ${outcome.reason}`);
            assert.match(outcome.reason.message, /connection closed, outcome unknown/);
          }
        });
        assert.ok(answered >= 1 && answered < CALLS, `${answered} of ${CALLS} answered: the kill came mid-pipeline`);

        await first.stop();
        second = await startServer({ tcp: `${first.host}:${first.port}` });
        await waitFor(() => client.state === "ready", { what: "the client to reconnect" });
        assert.equal(await client.get("k0"), null, "a new, empty server answers on a new connection");
        assert.equal(client.metrics.connectionsCreated, 2);
      } finally {
        await client.close();
        await first.stop();
        await second?.stop();
      }
    });
  }

  async function whenSomeAnswered(client, calls) {
    while (client.metrics.callsInFlight >= calls) await new Promise(setImmediate);
  }

  function settledValue(result) {
    if (result.status === "fulfilled") return result.value;
    throw result.reason;
  }
});

describe("server_restarted", () => {
  for (const transport of ["tcp", "unix"]) {
    test(`server_restarted: calls fail while it is down, back off, then succeed on the same client (${transport})`, async () => {
      const first = await startServer();
      const address = transport === "tcp" ? first.tcpOptions : { path: first.path };
      const client = await connect({ ...address, timeoutMs: 500, queueTimeoutMs: 200 });
      const failFast = await connect({ ...address, offlineQueue: false });
      let second;
      try {
        await client.set("k", "v");
        await first.stop("SIGKILL", { keepFiles: true });
        const attemptsBefore = client.metrics.connectAttempts;
        const outageStart = performance.now();
        while (performance.now() - outageStart < 1000) {
          const started = performance.now();
          const err = await client.get("k").then(
            () => assert.fail("a call succeeded with the server down"),
            (e) => e,
          );
          assert.ok(
            err instanceof ConnectionClosedError ||
              (err instanceof QueueTimeoutError && err.cause instanceof ConnectionError),
            `while down: ${err}`,
          );
          assert.ok(performance.now() - started < 1500, "a call hung past its timeout");
          await assert.rejects(failFast.get("k"), ConnectionError);
          await sleep(50);
        }
        const attempts = client.metrics.connectAttempts - attemptsBefore;
        assert.ok(attempts >= 2 && attempts < 20, `${attempts} connect attempts over a one-second outage`);

        second = await startServer({ tcp: `${first.host}:${first.port}`, unixPath: first.path });
        const value = await waitFor(
          () =>
            client.set("k", "back").then(
              () => client.getString("k"),
              () => null,
            ),
          { what: "a call to succeed after the restart", intervalMs: 50 },
        );
        assert.equal(value, "back");
        await waitFor(() => failFast.state === "ready", { what: "the fail-fast client to reconnect" });
        assert.equal(await failFast.getString("k"), "back");
      } finally {
        await client.close();
        await failFast.close();
        await second?.stop();
        await first.stop();
      }
    });
  }
});

describe("accepts_and_never_answers", () => {
  test("accepts_and_never_answers: connecting fails with TimeoutError and the socket is closed", async () => {
    const peer = await startFakePeer();
    try {
      const started = performance.now();
      const err = await connect({ port: peer.port, connectTimeoutMs: 200 }).catch((e) => e);
      const elapsedMs = performance.now() - started;
      assert.ok(err instanceof TimeoutError, `${err}`);
      assert.ok(elapsedMs >= 190 && elapsedMs < 2000, `took ${elapsedMs}ms`);
      assert.equal(peer.connections, 1);
      await waitFor(() => peer.openSockets === 0, { what: "the client to close its socket" });
    } finally {
      await peer.close();
    }
  });

  test("accepts_and_never_answers: a call times out; the stalled connection is closed, not reused", async () => {
    const peer = await startFakePeer((socket, payload) => {
      if (payload[0] === HELLO_OPCODE) socket.write(helloReply());
    });
    const client = new BlinkClient({ port: peer.port, timeoutMs: 200, stallTimeoutMs: 400 });
    try {
      await client.connect();
      const started = performance.now();
      await assert.rejects(client.ping(), TimeoutError);
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs >= 190 && elapsedMs < 2000, `took ${elapsedMs}ms`);
      const [reason] = await once(client, "disconnect");
      assert.ok(reason instanceof TimeoutError, `closed for ${reason}`);
      await waitFor(() => peer.connections === 2 && client.state === "ready", { what: "a new connection" });
      assert.equal(client.metrics.stalledConnections, 1);
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

describe("malformed_reply", () => {
  for (const [name, bytes] of [
    ["a zero length", Buffer.from("00000000", "hex")],
    ["a first byte of 0x20 or more", Buffer.from("-ERR\r\n")],
  ]) {
    test(`malformed_reply: ${name} fails the call with ProtocolError and replaces the connection`, async () => {
      let connection = 0;
      const peer = await startFakePeer((socket, payload, index) => {
        if (index === 0) connection++;
        if (payload[0] === HELLO_OPCODE) socket.write(helloReply());
        else socket.write(connection === 1 ? bytes : reply(0x00));
      });
      const client = await connect({ port: peer.port });
      try {
        const disconnected = once(client, "disconnect");
        const err = await client.ping().catch((e) => e);
        assert.ok(err instanceof ProtocolError, `${err}`);
        assert.ok(err instanceof ConnectionClosedError, "a protocol error leaves the outcome unknown");
        await disconnected;
        await waitFor(() => peer.openSockets === 1 && peer.connections === 2, { what: "the broken socket closed" });
        assert.equal(await client.ping(), undefined, "the next call uses a new connection");
        assert.equal(client.metrics.connectionsBroken, 1);
      } finally {
        await client.close();
        await peer.close();
      }
    });
  }
});

describe("oversized_reply", () => {
  test("oversized_reply: a header above HELLO's max_frame_bytes fails the call at once and closes", async () => {
    const peer = await startFakePeer((socket, payload) => {
      if (payload[0] === HELLO_OPCODE) socket.write(helloReply({ maxFrameBytes: 4096 }));
      else socket.write(Buffer.from("00001001", "hex"));
    });
    const client = await connect({ port: peer.port, timeoutMs: 5000 });
    try {
      const started = performance.now();
      const err = await client.ping().catch((e) => e);
      assert.ok(err instanceof ProtocolError, `${err}`);
      assert.match(err.message, /4097 bytes, above the limit of 4096/);
      assert.ok(performance.now() - started < 1000, "decided from the header, without waiting for a body");
      await waitFor(() => peer.openSockets === 0 || peer.connections > 1, { what: "the connection closed" });
      assert.equal(client.metrics.connectionsClosed, 1);
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

describe("too_many_connections", () => {
  test("too_many_connections: the second client gets TooManyConnectionsError, the first keeps working", async () => {
    await withServer({ args: ["--max-connections", "1"] }, {}, async (server, first) => {
      const err = await connect(server.tcpOptions).catch((e) => e);
      assert.ok(err instanceof TooManyConnectionsError, `${err}`);
      assert.ok(err instanceof StatusError && !(err instanceof AuthFailedError) && !(err instanceof ProtocolError));
      assert.equal(TooManyConnectionsError.closesConnection, true);
      assert.equal(await first.ping(), undefined);
      await first.set("k", "v");
      assert.equal(await first.getString("k"), "v");
    });
  });
});

describe("wrong_token", () => {
  test("wrong_token: connecting fails with AuthFailedError and the client does not reconnect in a loop", async () => {
    const server = await startServer({ token: "s3cret" });
    const admin = await connect({ ...server.tcpOptions, token: "s3cret" });
    const client = new BlinkClient({ ...server.tcpOptions, token: "wrong" });
    try {
      const before = (await admin.stats()).get("connections_total");
      await assert.rejects(connect({ ...server.tcpOptions, token: "wrong" }), AuthFailedError);
      await assert.rejects(client.connect(), AuthFailedError);
      assert.equal(client.state, "failed");
      await assert.rejects(client.get("k"), AuthFailedError);
      await assert.rejects(client.ping(), AuthFailedError);
      // Time for a reconnect loop to show itself, if there were one.
      await sleep(500);
      const calls = 4;
      const grown = (await admin.stats()).get("connections_total") - before;
      assert.ok(grown <= BigInt(calls), `connections_total grew by ${grown} over ${calls} calls`);
      assert.equal(client.metrics.connectAttempts, 1);
    } finally {
      await client.close();
      await admin.close();
      await server.stop();
    }
  });
});

describe("limits_enforced_locally", () => {
  test("limits_enforced_locally: oversized keys and values are refused before anything is written", async () => {
    await withServer({ args: limitFlags("small") }, {}, async (server, client) => {
      const observer = await connect(server.tcpOptions);
      try {
        const bytesIn = async () => (await observer.stats()).get("bytes_in");
        const baseline = -(await bytesIn()) + (await bytesIn()); // one STATS request
        const before = await bytesIn();
        const writesBefore = client.metrics.writes;

        const refusals = await Promise.allSettled([
          client.set("kkkkk", "v"),
          client.get("kkkkk"),
          client.set("kkkk", "vvvvvvvvv"),
        ]);
        assert.ok(refusals[0].reason instanceof KeyTooLargeError && refusals[0].reason.local);
        assert.ok(refusals[1].reason instanceof KeyTooLargeError && refusals[1].reason.local);
        assert.ok(refusals[2].reason instanceof ValueTooLargeError && refusals[2].reason.local);
        assert.equal(client.metrics.writes, writesBefore, "nothing was written");
        assert.equal((await bytesIn()) - before, baseline, "the server received none of those frames");

        await client.set("kkkk", "vvvvvvvv");
        assert.equal(await client.getString("kkkk"), "vvvvvvvv", "the same connection serves a valid call");
        assert.equal(client.metrics.connectionsCreated, 1);
      } finally {
        await observer.close();
      }
    });
  });
});

describe("timed_out_call_keeps_its_reply", () => {
  test("timed_out_call_keeps_its_reply: the late reply is read and dropped in its slot", async () => {
    await withServer({}, { stallTimeoutMs: 10_000 }, async (server, client) => {
      await client.set("a", "value of a");
      await client.set("b", "value of b");
      server.pause();
      try {
        await assert.rejects(client.getString("a", { timeoutMs: 200 }), TimeoutError);
      } finally {
        server.resume();
      }
      assert.equal(await client.getString("b"), "value of b");
      assert.equal(client.metrics.lateRepliesDiscarded, 1);
      assert.equal(client.metrics.connectionsCreated, 1, "the same connection, kept in sync");
    });
  });

  test("timed_out_call_keeps_its_reply: or a stalled connection is closed and GET b goes over a new one", async () => {
    await withServer({}, { stallTimeoutMs: 300 }, async (server, client) => {
      await client.set("a", "value of a");
      await client.set("b", "value of b");
      const disconnected = once(client, "disconnect");
      server.pause();
      try {
        await assert.rejects(client.getString("a", { timeoutMs: 200 }), TimeoutError);
        const [reason] = await disconnected;
        assert.ok(reason instanceof TimeoutError, `${reason}`);
      } finally {
        server.resume();
      }
      assert.equal(await client.getString("b"), "value of b");
      assert.equal(client.metrics.lateRepliesDiscarded, 0);
      assert.equal(client.metrics.connectionsCreated, 2);
    });
  });
});

describe("idle_connection_closed_by_server", () => {
  test("idle_connection_closed_by_server: the closed idle connection is replaced and the next call succeeds", async () => {
    await withServer({ args: ["--idle-timeout-ms", "200"] }, { healthCheckIdleMs: 0 }, async (server, client) => {
      await client.set("k", "v");
      const observer = await connect({ ...server.tcpOptions, healthCheckIdleMs: 50 });
      try {
        await waitFor(async () => (await observer.stats()).get("closed_idle") >= 1n, {
          what: "the server to close the idle connection",
          intervalMs: 20,
        });
        assert.equal(await client.getString("k"), "v");
        assert.equal(client.metrics.connectionsCreated, 2);
        assert.equal(observer.metrics.connectionsCreated, 1, "a health-checked connection is never idle-closed");
      } finally {
        await observer.close();
      }
    });
  });
});

describe("pool_exhaustion", () => {
  test("pool_exhaustion: with maxInFlight 2 held, a third call fails after queueTimeoutMs; a freed slot serves at once", async () => {
    // The in-flight bound plays the pool of size 2, queueTimeoutMs its acquire timeout.
    const held = [];
    const peer = await startFakePeer((socket, payload) => {
      if (payload[0] === HELLO_OPCODE) socket.write(helloReply());
      else held.push(() => socket.write(reply(0x00)));
    });
    const client = await connect({ port: peer.port, maxInFlight: 2, queueTimeoutMs: 200, timeoutMs: 5000 });
    try {
      const first = client.ping();
      const second = client.ping();
      await waitFor(() => held.length === 2, { what: "two calls in flight" });
      const started = performance.now();
      const err = await client.ping().catch((e) => e);
      const waitedMs = performance.now() - started;
      assert.ok(err instanceof QueueTimeoutError, `${err}`);
      assert.match(err.message, /in-flight slot/);
      assert.ok(waitedMs >= 190 && waitedMs < 2500, `failed after ${waitedMs}ms`);
      assert.equal(client.metrics.queueTimeouts, 1);

      held.shift()();
      await first;
      const next = client.ping();
      const queuedAt = performance.now();
      await waitFor(() => held.length === 2, { what: "the next call to take the freed slot" });
      assert.ok(performance.now() - queuedAt < 150, "the freed slot was handed over at once");
      for (const release of held.splice(0)) release();
      await Promise.all([second, next]);
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

describe("shared_by_64_workers", () => {
  test("shared_by_64_workers: 64 concurrent workers on one client never see each other's replies", async () => {
    await withServer({}, {}, async (server, client) => {
      const WORKERS = 64;
      const OPS = 200;
      let checked = 0;
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, worker) => {
          for (let op = 0; op < OPS; op += 2) {
            const key = `w${worker}:${op % 10}`;
            const value = `${worker}/${op}/${Math.random()}`;
            await client.set(key, value);
            assert.equal(await client.getString(key), value, `worker ${worker} op ${op}`);
            checked++;
          }
        }),
      );
      assert.equal(checked, (WORKERS * OPS) / 2);
    });
  });
});

describe("large_pipeline_does_not_deadlock", () => {
  test("large_pipeline_does_not_deadlock: 20,000 GETs of 16 KiB in one batch all arrive", async () => {
    await withServer({}, { timeoutMs: 120_000, stallTimeoutMs: 30_000 }, async (server, client) => {
      const value = Buffer.alloc(16 * 1024);
      for (let i = 0; i < value.length; i++) value[i] = i % 253;
      await client.set("big", value);
      const batch = client.batch();
      for (let i = 0; i < 20_000; i++) batch.get("big");
      const writesBefore = client.metrics.writes;
      const results = await batch.exec();
      assert.equal(results.length, 20_000);
      for (const result of results) {
        assert.equal(result.status, "fulfilled");
        assert.ok(result.value.equals(value));
      }
      assert.ok(client.metrics.writes - writesBefore > 1, "the batch went out in pieces paced by the socket");
    });
  });
});

describe("version_1_server", () => {
  test("version_1_server: GET works; the version-2 commands fail with UnknownCommandError unsent; the connection stays", async () => {
    const GET_OPCODE = 0x10;
    const recorded = [];
    const peer = await startFakePeer((socket, payload) => {
      // The kit's HELLO reply of a version-1 server: 01 00 00101000 00000400 00100000.
      if (payload[0] === HELLO_OPCODE) socket.write(reply(0x00, Buffer.from("0100001010000000040000100000", "hex")));
      else if (payload[0] === GET_OPCODE) socket.write(reply(0x01));
      else recorded.push(Buffer.from(payload));
    });
    const client = await connect({ port: peer.port, timeoutMs: 2000 });
    try {
      assert.equal(client.protocolVersion, 1);
      assert.equal(await client.get("k"), null);
      const calls = {
        add: () => client.add("k", "v"),
        replace: () => client.replace("k", "v"),
        incr: () => client.incr("k", 1),
        append: () => client.append("k", "v"),
        flush: () => client.flush(),
        scan: () => client.scan(0n, { prefix: "k" }),
        scanIterator: () => client.scanIterator().next(),
      };
      for (const [name, call] of Object.entries(calls)) {
        const err = await call().catch((e) => e);
        assert.ok(err instanceof UnknownCommandError, `${name}: ${err}`);
        assert.equal(err.local, true, `${name}: refused before sending`);
        assert.equal(err.statusName, "ERR_UNKNOWN_COMMAND");
      }
      const batch = await client.batch().add("k", "v").get("k").scan(0n).exec();
      assert.deepEqual(
        batch.map((r) => (r.status === "fulfilled" ? r.value : r.reason.constructor.name)),
        ["UnknownCommandError", null, "UnknownCommandError"],
      );
      assert.equal(await client.get("k"), null, "the connection stays usable");
      assert.deepEqual(recorded, [], "the fake server received no version-2 frame");
      assert.equal(peer.connections, 1);
      assert.equal(client.metrics.connectionsClosed, 0);
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

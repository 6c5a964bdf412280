// Integration tests of the version-2 commands against a real blink-store:
// ADD, REPLACE, INCR, APPEND, FLUSH and SCAN through the client and batches,
// their local checks, the version each HELLO reply negotiates, whole SCAN
// walks (the conformance kit's "SCAN walks"), and the replies a client must
// refuse (fake peers).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DEFAULT_SCAN_COUNT,
  FrameTooLargeError,
  KeyTooLargeError,
  NO_TTL,
  NotIntegerError,
  ProtocolError,
  UnknownCommandError,
  ValueTooLargeError,
  connect,
} from "../src/index.js";
import { HELLO_OPCODE, helloReply, reply, startFakePeer } from "./helpers/fake-peer.js";
import { startServer } from "./helpers/server.js";
import { limitFlags } from "./helpers/vectors.js";

const MAX_I64 = 2n ** 63n - 1n;
const MIN_I64 = -(2n ** 63n);

/** A connected client, closed when test `t` ends. */
async function open(t, options) {
  const client = await connect(options);
  t.after(() => client.close());
  return client;
}

let server;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

describe("version 2 commands", () => {
  test("connect negotiates version 2 with a version-2 server", async (t) => {
    const client = await open(t, server.tcpOptions);
    assert.equal(client.protocolVersion, 2);
    const stats = await client.stats();
    assert.equal(stats.get("protocol_version"), 2n);
  });

  for (const transport of ["tcp", "unix"]) {
    test(`ADD and REPLACE store conditionally, with a TTL as SET does (${transport})`, async (t) => {
      const client = await open(t, transport === "tcp" ? server.tcpOptions : { path: server.path });
      const key = `cond:${transport}`;
      assert.equal(await client.replace(key, "nothing to replace"), false);
      assert.equal(await client.get(key), null, "REPLACE of a missing key stores nothing");
      assert.equal(await client.add(key, "first", { ttlMs: 60_000 }), true);
      assert.equal(await client.add(key, "second"), false, "EXISTS is a value, not an error");
      assert.equal(await client.getString(key), "first");
      const remaining = await client.ttl(key);
      assert.ok(remaining > 59_000n && remaining <= 60_000n, `${remaining}`);
      assert.equal(await client.replace(key, Buffer.from([0, 255])), true);
      assert.deepEqual(await client.get(key), Buffer.from([0, 255]));
      assert.equal(await client.ttl(key), NO_TTL, "REPLACE without a TTL makes the key persistent, as SET does");
      await client.del(key);
    });
  }

  test("INCR counts in the signed 64-bit range and refuses what is not an integer", async (t) => {
    const client = await open(t, server.tcpOptions);
    assert.equal(await client.incr("counter"), 1n, "a missing key counts as 0; the delta defaults to 1");
    assert.equal(await client.incr("counter", 41), 42n);
    assert.equal(await client.incr("counter", -50n), -8n);
    assert.equal(await client.getString("counter"), "-8", "stored as decimal ASCII");
    await client.set("counter", String(MAX_I64 - 1n));
    assert.equal(await client.incr("counter"), MAX_I64);
    const overflow = await client.incr("counter").catch((e) => e);
    assert.ok(overflow instanceof NotIntegerError && !overflow.local, `${overflow}`);
    assert.equal(overflow.statusName, "ERR_NOT_INTEGER");
    assert.equal(await client.incr("counter", MIN_I64), -1n, "two's complement both ways");
    await client.set("text", "12a");
    await assert.rejects(client.incr("text"), NotIntegerError);
    assert.equal(await client.getString("text"), "12a", "nothing changed");
    assert.equal(client.metrics.connectionsClosed, 0, "ERR_NOT_INTEGER keeps the connection");
  });

  test("APPEND builds a value and resolves to its length as a Number", async (t) => {
    const client = await open(t, server.tcpOptions);
    await client.del("log");
    assert.equal(await client.append("log", "ab"), 2);
    assert.equal(await client.append("log", Buffer.from([0, 0x0a])), 4);
    assert.equal(await client.append("log", ""), 4);
    assert.deepEqual(await client.get("log"), Buffer.from([0x61, 0x62, 0, 0x0a]));
  });

  test("a batch carries every version-2 command, each settled on its own", async (t) => {
    const client = await open(t, server.tcpOptions);
    await client.del("batch:n");
    const results = await client
      .batch()
      .incr("batch:n", 2)
      .append("batch:n", "x")
      .incr("batch:n")
      .add("batch:n", "y")
      .replace("batch:n", "7")
      .scan(0n, { prefix: "batch:", count: 1000 })
      .exec();
    assert.deepEqual(
      results.slice(0, 5).map((r) => r.value ?? r.reason.constructor.name),
      [2n, 2, "NotIntegerError", false, true],
    );
    assert.equal(results[5].status, "fulfilled");
    assert.equal(typeof results[5].value.cursor, "bigint");
  });

  test("bad arguments reject with TypeError or RangeError before anything is sent", async (t) => {
    const client = await open(t, server.tcpOptions);
    const writes = client.metrics.writes;
    await assert.rejects(client.incr("k", 2n ** 63n), RangeError);
    await assert.rejects(client.incr("k", MIN_I64 - 1n), RangeError);
    await assert.rejects(client.incr("k", 1.5), RangeError);
    await assert.rejects(client.append("k", 7), TypeError);
    await assert.rejects(client.add("k", "v", { ttlMs: -1 }), RangeError);
    await assert.rejects(client.scan(-1n), RangeError);
    await assert.rejects(client.scan(2n ** 64n), RangeError);
    await assert.rejects(client.scan(0n, { count: 65536 }), RangeError);
    await assert.rejects(client.scan(0n, { prefix: 1 }), TypeError);
    assert.throws(() => client.batch().scan(0n, { count: -1 }), RangeError);
    assert.equal(client.metrics.writes, writes);
  });

  test("HELLO 1 makes the connection version 1: the version-2 commands are refused unsent until HELLO 2", async (t) => {
    const client = await open(t, server.tcpOptions);
    assert.equal((await client.hello(1)).version, 1);
    assert.equal(client.protocolVersion, 1);
    const writes = client.metrics.writes;
    for (const call of [client.flush(), client.incr("k"), client.scan(0n), client.add("k", "v")]) {
      const err = await call.catch((e) => e);
      assert.ok(err instanceof UnknownCommandError && err.local, `${err}`);
    }
    assert.equal(client.metrics.writes, writes, "nothing was written");
    assert.equal((await client.hello(255)).version, 2, "a version-2 server answers any version above 2 with 2");
    assert.equal(client.protocolVersion, 2);
    assert.equal(typeof (await client.incr("hello:n")), "bigint");
  });
});

describe("local size checks of the version-2 commands", () => {
  let small;
  before(async () => {
    small = await startServer({ args: limitFlags("small") });
  });
  after(() => small.stop());

  test("keys, values and suffixes over the HELLO limits are refused before sending; prefixes are not keys", async (t) => {
    const client = await open(t, small.tcpOptions);
    const writes = client.metrics.writes;
    const refusals = [
      [client.add("kkkkk", "v"), KeyTooLargeError],
      [client.replace("k", "123456789"), ValueTooLargeError],
      [client.incr("kkkkk"), KeyTooLargeError],
      [client.append("k", "123456789"), ValueTooLargeError],
      [client.scan(0n, { prefix: "p".repeat(4096) }), FrameTooLargeError],
    ];
    for (const [call, type] of refusals) {
      const err = await call.catch((e) => e);
      assert.ok(err instanceof type && err.local, `${err}`);
    }
    assert.equal(client.metrics.writes, writes);
    assert.deepEqual((await client.scan(0n, { prefix: "longer than a key" })).keys, []);
    assert.equal(await client.append("k", "12345678"), 8);
    const grown = await client.append("k", "9").catch((e) => e);
    assert.ok(grown instanceof ValueTooLargeError && !grown.local, "the result's length is the server's check");
    assert.equal(client.metrics.connectionsClosed, 0);
  });
});

describe("SCAN walks", () => {
  const UNDER_A = 3000;
  const UNDER_B = 2000;
  let own;
  let client;

  before(async () => {
    own = await startServer();
    client = await connect(own.tcpOptions);
    for (const [prefix, count] of [
      ["walk:a:", UNDER_A],
      ["walk:b:", UNDER_B],
    ]) {
      const batch = client.batch();
      for (let i = 0; i < count; i++) batch.set(`${prefix}${i}`, "v");
      for (const result of await batch.exec()) assert.equal(result.status, "fulfilled");
    }
    await client.set("walk:", "the bare prefix of both");
  });
  after(async () => {
    await client.close();
    await own.stop();
  });

  /** Asserts that `keys` are exactly `prefix` 0..count-1, each once. */
  function assertExactly(keys, prefix, count) {
    const names = keys.map((key) => key.toString());
    const unique = new Set(names);
    assert.equal(unique.size, names.length, "no key returned twice");
    assert.deepEqual([...unique].sort(), Array.from({ length: count }, (_, i) => `${prefix}${i}`).sort());
  }

  test("scanIterator walks one prefix with a small count: exactly its keys, each once", async () => {
    const keys = [];
    for await (const key of client.scanIterator({ prefix: "walk:a:", count: 7 })) keys.push(key);
    assertExactly(keys, "walk:a:", UNDER_A);
  });

  test("scan() in a loop until the cursor is 0n walks the other prefix in many steps", async () => {
    const keys = [];
    let steps = 0;
    let cursor = 0n;
    do {
      const page = await client.scan(cursor, { prefix: "walk:b:", count: 5 });
      cursor = page.cursor;
      keys.push(...page.keys);
      steps++;
    } while (cursor !== 0n);
    assertExactly(keys, "walk:b:", UNDER_B);
    assert.ok(steps > 10, `${steps} steps: the count bounds each step`);
  });

  test("a walk without a prefix returns every key, with the default count", async () => {
    assert.equal(DEFAULT_SCAN_COUNT, 100);
    let total = 0;
    for await (const key of client.scanIterator()) total += key.toString().startsWith("walk:") ? 1 : 0;
    assert.equal(total, UNDER_A + UNDER_B + 1);
  });

  test("FLUSH empties the store: a walk then finds nothing", async () => {
    await client.flush();
    const keys = [];
    for await (const key of client.scanIterator({ count: 1000 })) keys.push(key);
    assert.deepEqual(keys, []);
    const stats = await client.stats();
    assert.equal(stats.get("items"), 0n);
    assert.equal(stats.get("evictions"), 0n, "FLUSH removals are not evictions");
  });
});

describe("replies a version-2 client refuses", () => {
  /** A fake server answering HELLO with `hello` and every other request with `answer`. */
  async function fake(t, answer, hello = helloReply()) {
    const peer = await startFakePeer((socket, payload) => socket.write(payload[0] === HELLO_OPCODE ? hello : answer));
    t.after(() => peer.close());
    return open(t, { port: peer.port });
  }

  test("EXISTS to a command other than ADD is a protocol error", async (t) => {
    const client = await fake(t, reply(0x02));
    await assert.rejects(client.get("k"), ProtocolError);
  });

  test("ERR_NOT_INTEGER on a version-1 connection is a status that version does not define", async (t) => {
    const client = await fake(t, reply(0x8d, Buffer.from("no")), helloReply({ version: 1 }));
    await assert.rejects(client.ping(), /ERR_NOT_INTEGER is undefined at protocol version 1/);
  });

  test("a SCAN body whose keys do not fill it exactly is a protocol error", async (t) => {
    const client = await fake(t, reply(0x00, Buffer.from("00000000000000000005616263", "hex")));
    await assert.rejects(client.scan(0n), /runs past the body/);
  });

  test("an INCR body that is not 8 bytes is a protocol error", async (t) => {
    const client = await fake(t, reply(0x00, Buffer.from("2a", "hex")));
    await assert.rejects(client.incr("n"), ProtocolError);
  });
});

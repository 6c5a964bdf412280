// node-redis (`createClient` at its defaults: HELLO 3, CLIENT SETINFO and its other
// handshake commands) against the target: commands, errors, pipelined batches without
// MULTI, TCP or Unix socket. Usage: node node-redis.mjs tcp|unix
import { createClient } from "redis";
import { assert, check, finish, target } from "./check.mjs";

const transport = process.argv[2] ?? "tcp";
const { host, port, path } = target(transport);
const client = createClient({
  socket: path ? { path, reconnectStrategy: false } : { host, port, reconnectStrategy: false },
});
client.on("error", () => {}); // surfaced through the failing command instead

await check(`node-redis ${transport}: connect (default handshake)`, async () => {
  await client.connect();
  assert.equal(client.isReady, true);
});

await check(`node-redis ${transport}: commands`, async () => {
  await client.flushAll();
  assert.equal(await client.ping(), "PONG");
  assert.equal(await client.set("k", "v"), "OK");
  assert.equal(await client.get("k"), "v");
  assert.equal(await client.get("missing"), null);
  assert.equal(await client.set("k", "w", { condition: "NX" }), null);
  assert.equal(await client.set("t", "v", { expiration: { type: "EX", value: 100 } }), "OK");
  const ttl = await client.ttl("t");
  assert.ok(ttl > 95 && ttl <= 100, `TTL ${ttl}`);
  assert.equal(await client.incr("n"), 1);
  assert.equal(await client.decrBy("n", 3), -2);
  assert.deepEqual(await client.mGet(["k", "n", "missing"]), ["v", "-2", null]);
  assert.equal(await client.exists(["k", "k", "z"]), 2);
  assert.equal(await client.del(["k", "z"]), 1);
  assert.equal(await client.getEx("t", { type: "PERSIST" }), "v");
  assert.equal(await client.ttl("t"), -1);
  assert.equal(await client.strLen("t"), 1);
  assert.equal(await client.dbSize(), 2);
  assert.equal(await client.sendCommand(["CLIENT", "SETNAME", "nr"]), "OK");
  assert.equal(await client.sendCommand(["CLIENT", "GETNAME"]), "nr");
});

await check(`node-redis ${transport}: errors keep Redis's texts`, async () => {
  await client.set("s", "abc");
  await assert.rejects(client.incr("s"), {
    message: "ERR value is not an integer or out of range",
  });
  await assert.rejects(client.sendCommand(["GET"]), {
    message: "ERR wrong number of arguments for 'get' command",
  });
  assert.equal(await client.ping(), "PONG");
});

await check(`node-redis ${transport}: concurrent commands pipelined, no MULTI`, async () => {
  const replies = await Promise.all(
    Array.from({ length: 300 }, (_, n) =>
      client.set(`p${n}`, String(n)).then(() => client.get(`p${n}`)),
    ),
  );
  replies.forEach((reply, n) => assert.equal(reply, String(n)));
  const batch = await client.multi().set("b1", "1").incr("b1").get("b1").execAsPipeline();
  assert.deepEqual(batch, ["OK", 2, "2"]);
});

await check(`node-redis ${transport}: scanIterator`, async () => {
  await client.flushAll();
  await client.mSet(Object.fromEntries(Array.from({ length: 30 }, (_, n) => [`s:${n}`, "x"])));
  const keys = new Set();
  for await (const batch of client.scanIterator({ MATCH: "s:*", COUNT: 5 })) {
    for (const key of batch) keys.add(key);
  }
  assert.equal(keys.size, 30);
});

await check(`node-redis ${transport}: RESP2 (RESP: 2)`, async () => {
  const socket = path
    ? { path, reconnectStrategy: false }
    : { host, port, reconnectStrategy: false };
  const resp2 = createClient({ socket, RESP: 2 });
  resp2.on("error", () => {});
  await resp2.connect();
  try {
    assert.equal(await resp2.set("r2", "v"), "OK");
    assert.equal(await resp2.get("r2"), "v");
    assert.equal(await resp2.get("missing"), null);
    assert.deepEqual(await resp2.mGet(["r2", "missing"]), ["v", null]);
  } finally {
    await resp2.close().catch(() => resp2.destroy());
  }
});

await client.close().catch(() => client.destroy());
finish(`node-redis ${transport}`);

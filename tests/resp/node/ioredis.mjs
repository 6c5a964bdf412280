// ioredis at its default settings (ready check, its HELLO / CLIENT SETINFO handshake,
// offline queue) against the target: commands, errors, a pipeline, TCP or Unix socket.
// Usage: node ioredis.mjs tcp|unix
import { Redis } from "ioredis";
import { assert, check, finish, target } from "./check.mjs";

const transport = process.argv[2] ?? "tcp";
const redis = new Redis({ ...target(transport), maxRetriesPerRequest: 1, lazyConnect: true });
redis.on("error", () => {}); // surfaced through the failing command instead

await check(`ioredis ${transport}: connect and ready check (INFO loading:0)`, async () => {
  await redis.connect();
  assert.equal(redis.status, "ready");
});

await check(`ioredis ${transport}: commands`, async () => {
  await redis.flushall();
  assert.equal(await redis.ping(), "PONG");
  assert.equal(await redis.set("k", "v"), "OK");
  assert.equal(await redis.get("k"), "v");
  assert.equal(await redis.get("missing"), null);
  assert.equal(await redis.set("k", "w", "NX"), null);
  assert.equal(await redis.set("t", "v", "EX", 100), "OK");
  const ttl = await redis.ttl("t");
  assert.ok(ttl > 95 && ttl <= 100, `TTL ${ttl}`);
  assert.equal(await redis.incr("n"), 1);
  assert.equal(await redis.incrby("n", 41), 42);
  assert.equal(await redis.append("k", "xy"), 3);
  assert.deepEqual(await redis.mget("k", "n", "missing"), ["vxy", "42", null]);
  assert.equal(await redis.mset("a", "1", "b", "2"), "OK");
  assert.equal(await redis.exists("a", "a", "z"), 2);
  assert.equal(await redis.del("a", "b", "z"), 2);
  assert.equal(await redis.expire("k", 100, "NX"), 1);
  assert.equal(await redis.persist("k"), 1);
  assert.equal(await redis.ttl("k"), -1);
  assert.equal(await redis.getdel("k"), "vxy");
  assert.equal(await redis.type("n"), "string");
  assert.equal(await redis.dbsize(), 2);
  const buffer = Buffer.from([0, 13, 10, 255]);
  assert.equal(await redis.set(Buffer.from("bin\r\n"), buffer), "OK");
  assert.deepEqual(await redis.getBuffer(Buffer.from("bin\r\n")), buffer);
});

await check(`ioredis ${transport}: errors keep Redis's texts`, async () => {
  await redis.set("s", "abc");
  await assert.rejects(redis.incr("s"), { message: "ERR value is not an integer or out of range" });
  await assert.rejects(redis.call("FOO", "a", "b"), {
    message: "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ",
  });
  assert.equal(await redis.ping(), "PONG");
});

await check(`ioredis ${transport}: pipeline of 500 commands`, async () => {
  const pipeline = redis.pipeline();
  for (let n = 0; n < 250; n += 1) pipeline.set(`p${n}`, String(n)).get(`p${n}`);
  const results = await pipeline.exec();
  assert.equal(results.length, 500);
  for (const [error] of results) assert.equal(error, null);
  assert.deepEqual(results[499], [null, "249"]);
});

await check(`ioredis ${transport}: SCAN stream`, async () => {
  await redis.flushall();
  await redis.mset(...Array.from({ length: 40 }, (_, n) => [`s:${n}`, "x"]).flat());
  const keys = new Set();
  for await (const batch of redis.scanStream({ match: "s:*", count: 7 })) {
    for (const key of batch) keys.add(key);
  }
  assert.equal(keys.size, 40);
});

await check(`ioredis ${transport}: RESP2 (protocol: 2)`, async () => {
  const resp2 = new Redis({ ...target(transport), protocol: 2, maxRetriesPerRequest: 1 });
  resp2.on("error", () => {});
  try {
    assert.equal(await resp2.set("r2", "v", "EX", 100), "OK");
    assert.equal(await resp2.get("r2"), "v");
    assert.equal(await resp2.get("missing"), null);
    assert.deepEqual(await resp2.mget("r2", "missing"), ["v", null]);
  } finally {
    resp2.disconnect();
  }
});

redis.disconnect();
finish(`ioredis ${transport}`);

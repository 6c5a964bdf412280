// A tour of blink-client against a running blink-store. Run it with
//   node quickstart.js [host:port | /path/to/blink.sock]
// (default 127.0.0.1:25465; a token, if any, in BLINK_AUTH_TOKEN).
// README.md shows the parts between the ANCHOR lines as they are
// (test/quickstart.test.js checks it).

import { KeyTooLargeError, NO_TTL, NotIntegerError, connect } from "./src/index.js";

const target = process.argv[2] ?? "127.0.0.1:25465";
const address = target.includes("/")
  ? { path: target }
  : { host: target.slice(0, target.lastIndexOf(":")), port: Number(target.slice(target.lastIndexOf(":") + 1)) };

const client = await connect({ ...address, token: process.env.BLINK_AUTH_TOKEN, timeoutMs: 1000 });
try {
  console.log("limits:", client.limits);

  // Strings are UTF-8; Buffers are stored byte for byte.
  await client.set("greeting", "hello, blink");
  console.log("greeting:", await client.getString("greeting"));
  await client.set(Buffer.from([0x00, 0xff]), Buffer.from([0x0a, 0x00]));
  console.log("binary:", await client.get(Buffer.from([0x00, 0xff])));

  // Not found is a value, never an error.
  console.log("missing:", await client.get("no such key"), "deleted:", await client.del("no such key"));

  // TTLs are milliseconds; ttl() returns a bigint, NO_TTL, or null.
  await client.set("session", "token", { ttlMs: 60_000 });
  console.log("session ttl (ms):", await client.ttl("session"));
  await client.expire("session", 0);
  console.log("persistent now:", (await client.ttl("session")) === NO_TTL);

  // An explicit pipeline: one write, replies in order, each settled on its own.
  const batch = client.batch();
  for (let i = 0; i < 3; i++) batch.set(`item:${i}`, `value ${i}`).getString(`item:${i}`);
  const results = await batch.exec();
  console.log(
    "batch:",
    results.filter((_, i) => i % 2 === 1).map((r) => r.value),
  );

  // Automatic pipelining: calls made in the same tick share one write.
  const values = await Promise.all([0, 1, 2].map((i) => client.getString(`item:${i}`)));
  console.log("auto-pipelined:", values);

  // Errors are typed; a local refusal keeps the connection.
  try {
    await client.set("k".repeat(client.limits.maxKeyBytes + 1), "v");
  } catch (err) {
    if (!(err instanceof KeyTooLargeError)) throw err;
    console.log("refused locally:", err.statusName, err.local);
  }
  // ANCHOR: version2
  // Protocol version 2. With a version-1 server, client.protocolVersion is 1
  // and these calls fail with UnknownCommandError (local: true), unsent.
  console.log("protocol version:", client.protocolVersion);
  await client.del("lock:report");
  const locked = await client.add("lock:report", "worker 1", { ttlMs: 10_000 });
  console.log("locked:", locked, "again:", await client.add("lock:report", "worker 2"));
  const renewed = await client.replace("lock:report", "worker 1", { ttlMs: 10_000 });
  console.log("renewed:", renewed, "missing:", await client.replace("no such key", "x"));

  await client.set("visits", "41");
  console.log("visits:", await client.incr("visits"), await client.incr("visits", -2)); // bigints
  try {
    await client.incr("greeting");
  } catch (err) {
    if (!(err instanceof NotIntegerError)) throw err;
    console.log("not a counter:", err.statusName);
  }
  await client.set("log", "start;");
  console.log("log length:", await client.append("log", "next;")); // a number

  // SCAN walks the keys in bounded steps; scanIterator runs the whole walk.
  const items = [];
  for await (const key of client.scanIterator({ prefix: "item:", count: 100 })) items.push(key.toString());
  console.log("items:", items.sort());
  // ANCHOR_END: version2

  // Each call takes a deadline and an AbortSignal; a TimeoutError or an
  // abort never leaves its reply to be read by another call.
  const controller = new AbortController();
  console.log("with a deadline:", await client.getString("greeting", { timeoutMs: 250, signal: controller.signal }));

  const stats = await client.stats();
  console.log("items:", stats.get("items"), "hits:", stats.get("hits"));
  console.log("metrics:", client.metrics.connectionsCreated, "connection,", client.metrics.writes, "writes");
} finally {
  await client.close();
}

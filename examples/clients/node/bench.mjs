// Throughput of blink-client against blink-store, beside ioredis against
// redis-server, in the same run: sequential round trips on one connection
// (GET of a 100-byte value), explicit pipelines (batches of 100 GETs), and
// automatic pipelining (100 concurrent GETs). Both servers are pinned to CPU
// 1 with taskset. Prints a markdown table. Not a test: run it by hand,
//   node bench.mjs [seconds per measurement, default 2]
// with BLINK_STORE_BIN set or target/release/blink-store built.

import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { createInterface } from "node:readline";
import Redis from "ioredis";
import { connect } from "./src/index.js";
import { startServer } from "./test/helpers/server.js";

const SECONDS = Number(process.argv[2] ?? 2);
const WARMUP_SECONDS = 0.5;
const BATCH = 100;
const VALUE = Buffer.alloc(100, 0x61);
const KEY = "bench:key";
const SERVER_CPU = 1;

/** Operations per second of `round` (which performs `opsPerRound` operations), after a warm-up. */
async function rate(round, opsPerRound) {
  for (const deadline = performance.now() + WARMUP_SECONDS * 1000; performance.now() < deadline;) await round();
  let ops = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  while (performance.now() < deadline) {
    await round();
    ops += opsPerRound;
  }
  return ops / ((performance.now() - started) / 1000);
}

async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

function ensureRedisServer() {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    if (process.getuid?.() !== 0) throw new Error("redis-server is missing: apt-get install -y redis-server");
    execFileSync("apt-get", ["install", "-y", "redis-server"], { stdio: "inherit" });
  }
}

async function startRedis() {
  ensureRedisServer();
  const port = await freePort();
  const child = spawn(
    "taskset",
    [
      "-c",
      String(SERVER_CPU),
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) if (line.includes("Ready to accept connections")) break;
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

async function benchBlink() {
  const server = await startServer({ cpu: SERVER_CPU });
  const client = await connect({ ...server.tcpOptions, timeoutMs: 10_000 });
  try {
    await client.set(KEY, VALUE);
    const sequential = await rate(() => client.get(KEY), 1);
    const pipelined = await rate(() => {
      const batch = client.batch();
      for (let i = 0; i < BATCH; i++) batch.get(KEY);
      return batch.exec();
    }, BATCH);
    const auto = await rate(() => Promise.all(Array.from({ length: BATCH }, () => client.get(KEY))), BATCH);
    return { sequential, pipelined, auto };
  } finally {
    await client.close();
    await server.stop();
  }
}

async function benchIoredis() {
  const server = await startRedis();
  const client = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
  const auto = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true, enableAutoPipelining: true });
  try {
    await client.connect();
    await auto.connect();
    await client.set(KEY, VALUE);
    const sequential = await rate(() => client.getBuffer(KEY), 1);
    const pipelined = await rate(() => {
      const pipeline = client.pipeline();
      for (let i = 0; i < BATCH; i++) pipeline.getBuffer(KEY);
      return pipeline.exec();
    }, BATCH);
    const autoRate = await rate(() => Promise.all(Array.from({ length: BATCH }, () => auto.getBuffer(KEY))), BATCH);
    return { sequential, pipelined, auto: autoRate };
  } finally {
    client.disconnect();
    auto.disconnect();
    await server.stop();
  }
}

const format = (n) => Math.round(n).toLocaleString("en-US");
const rows = [
  ["blink-client", "blink-store", await benchBlink()],
  ["ioredis", "redis-server", await benchIoredis()],
];
console.log(`Node ${process.version}, ${SECONDS} s per cell, 100-byte values, servers pinned to CPU ${SERVER_CPU}\n`);
console.log(
  "| client | server | sequential GETs/s | pipelined GETs/s (batches of 100) | auto-pipelined GETs/s (100 concurrent) |",
);
console.log("|---|---|---:|---:|---:|");
for (const [client, server, r] of rows) {
  console.log(`| ${client} | ${server} | ${format(r.sequential)} | ${format(r.pipelined)} | ${format(r.auto)} |`);
}

// Type-checks index.d.ts against typical use (tsc --noEmit; never run).

import {
  BlinkClient,
  BusyError,
  ConnectionClosedError,
  KeyTooLargeError,
  NO_TTL,
  NotIntegerError,
  UnknownCommandError,
  connect,
  type BatchResult,
  type HelloReply,
  type Limits,
  type Metrics,
  type ScanPage,
} from "blink-client";

export async function usage(): Promise<void> {
  await using client = await connect({ host: "127.0.0.1", port: 25465, timeoutMs: 500, token: "s3cret" });
  const limits: Limits | null = client.limits;
  const hello: HelloReply = await client.hello();
  const value: Buffer | null = await client.get(Buffer.from([0, 1]));
  const text: string | null = await client.getString("k");
  await client.set("k", new Uint8Array([1, 2]), { ttlMs: 10n, signal: AbortSignal.timeout(100) });
  const removed: boolean = await client.del("k");
  const extended: boolean = await client.expire("k", 1000);
  const ttl: bigint | null = await client.ttl("k");
  const persistent: boolean = ttl === NO_TTL;
  const stats: Map<string, bigint> = await client.stats();
  const results: BatchResult[] = await client.batch().set("a", "1").get("a").del("a").exec({ timeoutMs: 100 });
  const metrics: Metrics = client.metrics;
  const version: number | null = client.protocolVersion;
  const added: boolean = await client.add("n", "1", { ttlMs: 1000 });
  const replaced: boolean = await client.replace("n", "2");
  const counter: bigint = await client.incr("n", -2n);
  const bumped: bigint = await client.incr("n");
  const length: number = await client.append("log", Buffer.from("line\n"));
  await client.flush({ timeoutMs: 100 });
  const page: ScanPage = await client.scan(0n, { prefix: "user:", count: 50 });
  const next: bigint = page.cursor;
  for await (const key of client.scanIterator({ prefix: "user:" })) void key.length;
  await client.batch().add("a", "1").replace("a", "2").incr("c", 5).append("a", "3").scan(0n).flush().exec();
  try {
    await client.incr("log");
  } catch (err) {
    if (err instanceof NotIntegerError || err instanceof UnknownCommandError) void err.local;
  }
  client.on("disconnect", (reason: Error) => void reason.message);
  client.on("reconnecting", ({ delayMs }) => void delayMs.toFixed());
  try {
    await client.ping();
  } catch (err) {
    if (err instanceof KeyTooLargeError) void err.local;
    if (err instanceof ConnectionClosedError && err.cause instanceof BusyError) void err.cause.statusName;
  }
  const lazy = new BlinkClient({ path: "/tmp/blink.sock", maxInFlight: 64, reconnect: { maxDelayMs: 5000 } });
  await lazy.connect();
  await lazy.close();
  void [limits, hello, value, text, removed, extended, persistent, stats, results, metrics];
  void [version, added, replaced, counter, bumped, length, next];
}

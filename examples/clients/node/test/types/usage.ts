// Type-checks index.d.ts against typical use (tsc --noEmit; never run).

import {
  BlinkClient,
  BusyError,
  ConnectionClosedError,
  KeyTooLargeError,
  NO_TTL,
  connect,
  type BatchResult,
  type HelloReply,
  type Limits,
  type Metrics,
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
}

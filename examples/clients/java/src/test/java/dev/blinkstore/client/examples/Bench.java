package dev.blinkstore.client.examples;

import dev.blinkstore.client.BlinkConnection;
import dev.blinkstore.client.BlinkPool;
import dev.blinkstore.client.Command;
import dev.blinkstore.client.ConnectionConfig;
import dev.blinkstore.client.Endpoint;
import dev.blinkstore.client.Pipeline;
import dev.blinkstore.client.PoolConfig;
import dev.blinkstore.client.PooledConnection;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client's benchmark (not a test): {@code Bench <host:port | unix:/path> [seconds]}, run by
 * bench.sh against a server pinned to one core. Prints a Markdown table: 100-byte GET/SET 90:10
 * through a pool of 8 from 1, 8 and 64 threads (ops/s and p99 latency), pipelined GETs on one
 * connection in batches of 100, and the pool's borrow+return cost at 8 threads.
 */
public final class Bench {
    private static final int KEYS = 1000;
    private static final int VALUE_BYTES = 100;
    private static final int POOL_SIZE = 8;
    private static final int BATCH = 100;
    private static final Duration WARM_UP = Duration.ofSeconds(1);

    private Bench() {}

    /** What one worker thread did in the measured window. */
    private record Run(long operations, long[] latenciesNanos, long cpuNanos) {}

    /** One worker's loop; returns the latencies it recorded, if any. */
    private interface Worker {
        Run run(AtomicBoolean measuring, AtomicBoolean stop);
    }

    public static void main(String[] args) throws Exception {
        Endpoint endpoint = Endpoint.parse(args[0]);
        Duration measure = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 3);
        ConnectionConfig config = ConnectionConfig.builder(endpoint).build();
        PoolConfig poolConfig = PoolConfig.builder().maxConnections(POOL_SIZE).minIdle(POOL_SIZE)
                .borrowTimeout(Duration.ofSeconds(10)).build();
        byte[] value = new byte[VALUE_BYTES];
        Arrays.fill(value, (byte) 'v');
        System.out.println("| workload | ops/s | p99 latency |");
        System.out.println("|---|---:|---:|");
        try (BlinkPool pool = BlinkPool.create(config, poolConfig)) {
            for (int k = 0; k < KEYS; k++) {
                pool.set(key(k), value);
            }
            for (int threads : new int[] {1, 8, 64}) {
                Run[] runs = measure(threads, measure, (measuring, stop) -> getSet(pool, value, measuring, stop));
                System.out.printf("| GET/SET 90:10 through a pool of %d, %d thread%s | %s | %s |%n", POOL_SIZE, threads,
                        threads == 1 ? "" : "s", rate(runs, measure), p99(runs));
            }
            Run[] borrows = measure(8, measure, (measuring, stop) -> borrowReturn(pool, measuring, stop));
            long pairs = Arrays.stream(borrows).mapToLong(Run::operations).sum();
            long cpu = Arrays.stream(borrows).mapToLong(Run::cpuNanos).sum();
            System.out.printf("| pool borrow+return, 8 threads, no call | %s | CPU %.2f µs per pair |%n",
                    rate(borrows, measure), cpu / 1000.0 / pairs);
        }
        try (BlinkConnection connection = BlinkConnection.open(config)) {
            Run[] runs = measure(1, measure, (measuring, stop) -> pipelined(connection, measuring, stop));
            System.out.printf("| pipelined GETs, one connection, batches of %d | %s | %s per batch |%n", BATCH,
                    rate(runs, measure), p99(runs));
        }
    }

    private static byte[] key(int k) {
        return ("bench:" + k).getBytes();
    }

    /** Runs {@code threads} workers: a warm-up, then the measured window. */
    private static Run[] measure(int threads, Duration window, Worker worker) throws Exception {
        AtomicBoolean measuring = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        Run[] runs = new Run[threads];
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int index = t;
            workers[t] = new Thread(() -> runs[index] = worker.run(measuring, stop), "bench worker " + t);
            workers[t].start();
        }
        Thread.sleep(WARM_UP.toMillis());
        measuring.set(true);
        Thread.sleep(window.toMillis());
        stop.set(true);
        for (Thread thread : workers) {
            thread.join();
        }
        return runs;
    }

    private static Run getSet(BlinkPool pool, byte[] value, AtomicBoolean measuring, AtomicBoolean stop) {
        LatencyLog log = new LatencyLog();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
            byte[] key = key(random.nextInt(KEYS));
            long start = System.nanoTime();
            if (random.nextInt(10) == 0) {
                pool.set(key, value);
            } else {
                pool.get(key);
            }
            log.record(measuring, System.nanoTime() - start);
        }
        return log.run(0);
    }

    private static Run borrowReturn(BlinkPool pool, AtomicBoolean measuring, AtomicBoolean stop) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long pairs = 0;
        long cpuStart = 0;
        boolean counting = false;
        while (!stop.get()) {
            if (!counting && measuring.get()) {
                counting = true;
                cpuStart = cpu.getCurrentThreadCpuTime();
            }
            PooledConnection connection = pool.borrow();
            connection.close();
            pairs += counting ? 1 : 0;
        }
        return new Run(pairs, new long[0], cpu.getCurrentThreadCpuTime() - cpuStart);
    }

    private static Run pipelined(BlinkConnection connection, AtomicBoolean measuring, AtomicBoolean stop) {
        LatencyLog log = new LatencyLog();
        long operations = 0;
        while (!stop.get()) {
            Pipeline pipeline = new Pipeline();
            for (int i = 0; i < BATCH; i++) {
                pipeline.add(Command.get(key(i)));
            }
            long start = System.nanoTime();
            connection.execute(pipeline);
            operations += log.record(measuring, System.nanoTime() - start) ? BATCH : 0;
        }
        return log.run(operations);
    }

    /** Latencies of the measured window, in a growable array. */
    private static final class LatencyLog {
        private long[] nanos = new long[1 << 16];
        private int count;

        boolean record(AtomicBoolean measuring, long latencyNanos) {
            if (!measuring.get()) {
                return false;
            }
            if (count == nanos.length) {
                nanos = Arrays.copyOf(nanos, count * 2);
            }
            nanos[count++] = latencyNanos;
            return true;
        }

        /** The run, counting {@code operations}, or one per latency when 0. */
        Run run(long operations) {
            return new Run(operations == 0 ? count : operations, Arrays.copyOf(nanos, count), 0);
        }
    }

    private static String rate(Run[] runs, Duration window) {
        long operations = Arrays.stream(runs).mapToLong(Run::operations).sum();
        return String.format("%,d", Math.round(operations / (window.toNanos() / 1e9)));
    }

    private static String p99(Run[] runs) {
        long[] all = Arrays.stream(runs).flatMapToLong(run -> Arrays.stream(run.latenciesNanos())).sorted().toArray();
        return all.length == 0 ? "—" : String.format("%.0f µs", all[(int) (all.length * 0.99)] / 1000.0);
    }
}

package dev.blinkstore.client;

import static dev.blinkstore.client.FaultsTest.eventually;
import static dev.blinkstore.client.FaultsTest.quickPool;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The pool under load and over its lifecycle, against real servers. */
class PoolTest {
    private static final int WORKERS = 64;
    private static final int OPERATIONS_PER_WORKER = 10_000;

    /**
     * 64 threads × 10,000 mixed operations through 8 connections: each thread keeps a model of
     * its own keys and checks every reply against it, so a lost or crossed reply fails.
     */
    @Test
    void sixtyFourThreadsShareEightConnectionsWithoutCrossedReplies() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(),
                        PoolConfig.builder().maxConnections(8).borrowTimeout(Duration.ofSeconds(10)).build())) {
            ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
            long start = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                int worker = w;
                done.add(workers.submit(() -> mixedOperations(pool, worker)));
            }
            for (Future<?> future : done) {
                future.get(120, TimeUnit.SECONDS);
            }
            workers.shutdown();
            long elapsedMs = FaultsTest.millisSince(start);
            PoolMetrics metrics = pool.metrics();
            System.out.printf("%d threads x %d operations through 8 connections: %d ms (%.0f ops/s), mean borrow wait %s%n",
                    WORKERS, OPERATIONS_PER_WORKER, elapsedMs, WORKERS * OPERATIONS_PER_WORKER * 1000.0 / elapsedMs,
                    metrics.borrowWaitMean());
            assertEquals((long) WORKERS * OPERATIONS_PER_WORKER, metrics.borrows(), "one borrow per call");
            assertEquals(0, metrics.active());
            assertTrue(metrics.total() <= 8 && metrics.created() <= 8, metrics.toString());
            assertTrue(server.stat("connections_current") <= 9);
            assertEquals(Optional.empty(), pool.get("no such key"));
        }
    }

    private static Void mixedOperations(BlinkPool pool, int worker) {
        Map<String, String> model = new HashMap<>();
        for (int i = 0; i < OPERATIONS_PER_WORKER; i++) {
            String key = "w" + worker + ":" + (i % 37);
            switch (i % 10) {
                case 0, 1, 2 -> {
                    String value = "value " + worker + "/" + i;
                    pool.set(key, value);
                    model.put(key, value);
                }
                case 3, 4, 5, 6, 7 -> assertEquals(Optional.ofNullable(model.get(key)), pool.get(key), key);
                case 8 -> assertEquals(model.remove(key) != null, pool.del(key), key);
                default -> assertEquals(model.containsKey(key), pool.ttl(key).isPresent(), key);
            }
        }
        return null;
    }

    /**
     * The server killed and restarted while 16 threads use the pool: calls fail while it is
     * down, succeed again after, and no connection leaks (the server's connections_current, and
     * this process's open file descriptors once the pool is closed).
     */
    @Test
    void serverKilledAndRestartedUnderLoad() throws Exception {
        BlinkServer server = BlinkServer.start();
        BlinkServer restarted = null;
        long fdsBefore = openFileDescriptors();
        BlinkPool pool = BlinkPool.create(server.tcpConfig().readTimeout(Duration.ofMillis(500)).build(),
                quickPool().minIdle(2).reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(300)).build());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong successes = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        ExecutorService workers = Executors.newFixedThreadPool(16);
        try {
            for (int w = 0; w < 16; w++) {
                int worker = w;
                workers.submit(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        String key = "w" + worker;
                        String value = "v" + worker + "/" + i;
                        try {
                            pool.set(key, value);
                            Optional<String> read = pool.get(key);
                            if (read.isPresent() && !read.get().equals(value)) {
                                unexpected.add(new AssertionError(key + " read " + read.get() + ", wrote " + value));
                            }
                            successes.incrementAndGet();
                        } catch (BlinkException e) {
                            failures.incrementAndGet();
                        } catch (RuntimeException | Error e) {
                            unexpected.add(e);
                        }
                    }
                });
            }
            eventually(Duration.ofSeconds(10), "load before the kill", () -> successes.get() > 500);
            server.kill();
            eventually(Duration.ofSeconds(10), "errors while the server is down", () -> failures.get() > 16);
            restarted = BlinkServer.restart(server);
            long successesAtRestart = successes.get();
            eventually(Duration.ofSeconds(20), "load after the restart", () -> successes.get() > successesAtRestart + 500);
            stop.set(true);
            workers.shutdown();
            assertTrue(workers.awaitTermination(10, TimeUnit.SECONDS));
            assertEquals(List.of(), unexpected);

            PoolMetrics metrics = pool.metrics();
            assertTrue(metrics.total() <= 8, metrics.toString());
            assertEquals(metrics.total() + 1, restarted.stat("connections_current"), "the server sees exactly the pool's connections");
            pool.close();
            BlinkServer observed = restarted;
            eventually(Duration.ofSeconds(5), "the server seeing every pooled connection closed",
                    () -> observed.stat("connections_current") == 1);
            eventually(Duration.ofSeconds(5), "this process's descriptors back to " + fdsBefore,
                    () -> openFileDescriptors() == fdsBefore);
        } finally {
            stop.set(true);
            workers.shutdownNow();
            pool.close();
            server.close();
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    private static long openFileDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aLeakIsLoggedWithTheBorrowersStack() throws Exception {
        Logger logger = Logger.getLogger(BlinkPool.class.getName());
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(capture);
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(),
                        quickPool().leakDetectionThreshold(Duration.ofMillis(100)).housekeepingInterval(Duration.ofMillis(20)).build())) {
            PooledConnection leaked = forgetfulBorrower(pool);
            eventually(Duration.ofSeconds(5), "a leak warning", () -> records.stream().anyMatch(r -> r.getLevel() == Level.WARNING));
            LogRecord warning = records.stream().filter(r -> r.getLevel() == Level.WARNING).findFirst().orElseThrow();
            assertTrue(warning.getMessage().contains("possible connection leak"), warning.getMessage());
            assertTrue(Stream.of(warning.getThrown().getStackTrace()).anyMatch(frame -> frame.getMethodName().equals("forgetfulBorrower")),
                    "the borrower's stack is logged");
            assertEquals(1, records.stream().filter(r -> r.getLevel() == Level.WARNING).count(), "reported once");
            leaked.close();
            assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.INFO && r.getMessage().contains("returned")));
        } finally {
            logger.removeHandler(capture);
        }
    }

    private static PooledConnection forgetfulBorrower(BlinkPool pool) {
        PooledConnection connection = pool.borrow();
        connection.ping();
        return connection;
    }

    @Test
    void warmConnectionsAreKeptAliveAndSurplusIsRetired() throws Exception {
        try (BlinkServer server = BlinkServer.start("--idle-timeout-ms", "1000");
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().minIdle(2).maxConnections(4)
                        .pingAfterIdle(Duration.ofMillis(100)).maxIdleTime(Duration.ofMillis(300)).build())) {
            eventually(Duration.ofSeconds(5), "two warm connections", () -> pool.metrics().idle() == 2);
            List<PooledConnection> held = List.of(pool.borrow(), pool.borrow(), pool.borrow(), pool.borrow());
            held.forEach(PooledConnection::close);
            assertEquals(4, pool.metrics().idle());
            // Keepalive PINGs every ~100 ms are not use: the two surplus connections still
            // retire once unused for 300 ms. (Open connections, not idle ones: those dip while
            // the housekeeper PINGs them.)
            eventually(Duration.ofSeconds(5), "the surplus retired", () -> pool.metrics().destroyed() == 2);
            assertEquals(2, pool.metrics().total());
            long created = pool.metrics().created();
            long pingsBefore = server.stat("cmd_ping");
            Thread.sleep(2_000); // past the server's idle timeout: only the keepalive PINGs save them
            assertEquals(0, server.stat("closed_idle"), "warm connections were kept alive");
            assertTrue(server.stat("cmd_ping") > pingsBefore, "kept alive by PINGs");
            assertEquals(2, pool.metrics().total(), "the warm pair, past maxIdleTime, is not surplus");
            pool.ping();
            assertEquals(created, pool.metrics().created(), "a borrow reuses a kept-alive connection");
        }
    }

    @Test
    void connectionsRetireAfterTheirLifetime() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(),
                        quickPool().maxLifetime(Duration.ofMillis(200)).build())) {
            pool.ping();
            eventually(Duration.ofSeconds(5), "the housekeeper retiring it", () -> pool.metrics().destroyed() == 1);
            pool.ping();
            assertEquals(2, pool.metrics().created());
        }
    }

    @Test
    void aConnectionReturnedAtAnotherVersionIsClosedNotReused() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().build())) {
            try (PooledConnection connection = pool.borrow()) {
                assertEquals(1, connection.call(Command.hello(1)).version());
            }
            assertEquals(0, pool.metrics().total(), "closed on return");
            assertEquals(1, pool.metrics().destroyed());
            try (PooledConnection connection = pool.borrow()) {
                assertEquals(2, connection.version());
                assertEquals(1, connection.incr("n", 1));
            }
            assertEquals(2, pool.metrics().created());
            assertEquals(1, pool.metrics().idle(), "a connection at the pool's version is kept");
        }
    }

    @Test
    void aReturnedLeaseCannotBeUsedOrReturnedTwice() throws Exception {
        try (BlinkServer server = BlinkServer.start()) {
            BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().build());
            PooledConnection connection = pool.borrow();
            connection.close();
            connection.close();
            assertEquals(1, pool.metrics().idle());
            assertThrows(IllegalStateException.class, connection::ping);
            pool.close();
            assertThrows(IllegalStateException.class, pool::borrow);
            assertEquals(0, pool.metrics().total());
        }
    }

    @Test
    void metricsCountBorrowsAndWaits() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().maxConnections(1).build())) {
            PooledConnection held = pool.borrow();
            ExecutorService executor = Executors.newSingleThreadExecutor();
            Future<?> waiter = executor.submit(pool::ping);
            eventually(Duration.ofSeconds(5), "a waiting borrower", () -> pool.metrics().waiting() == 1);
            Thread.sleep(50);
            held.close();
            waiter.get(5, TimeUnit.SECONDS);
            executor.shutdown();
            PoolMetrics metrics = pool.metrics();
            assertEquals(2, metrics.borrows());
            assertEquals(0, metrics.waiting());
            assertTrue(metrics.borrowWaitMax().toMillis() >= 50, metrics.toString());
            assertEquals(1, metrics.created());
            assertEquals(1, metrics.connectAttempts());
        }
    }

    @Test
    void aConnectionIdlePastPingAfterIdleAnswersPingBeforeReuse() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool()
                        .pingAfterIdle(Duration.ofMillis(100)).housekeepingInterval(Duration.ofMinutes(1)).build())) {
            pool.set("k", "v");
            long pingsBefore = server.stat("cmd_ping");
            pool.get("k");
            assertEquals(pingsBefore, server.stat("cmd_ping"), "no PING for a connection just used");
            Thread.sleep(200); // idle past pingAfterIdle
            assertEquals(Optional.of("v"), pool.get("k"));
            assertEquals(pingsBefore + 1, server.stat("cmd_ping"), "validated with one PING");
            assertEquals(1, pool.metrics().created());
        }
    }

    @Test
    void aServerThatPushesBackDelaysTheNextConnect() throws Exception {
        try (BlinkServer server = BlinkServer.start("--max-connections", "1");
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool()
                        .reconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(2)).build())) {
            BlinkConnection holder = BlinkConnection.open(server.tcpConfig().build()); // takes the only slot
            assertThrows(ServerUnavailableException.class, pool::ping);
            ConnectFailedException backingOff = assertThrows(ConnectFailedException.class, pool::ping);
            assertTrue(backingOff.getCause() instanceof ServerUnavailableException, backingOff.toString());
            assertEquals(1, pool.metrics().connectAttempts(), "the second call did not connect");
            holder.close();
            eventually(Duration.ofSeconds(10), "a connect once the backoff is over", () -> FaultsTest.succeeds(pool::ping));
        }
    }
}

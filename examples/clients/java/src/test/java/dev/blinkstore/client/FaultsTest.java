package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The conformance kit's fault cases (examples/clients/conformance/faults.json), one test per
 * case, named after its id: real servers the tests start, and fake peers in-process.
 */
class FaultsTest {
    /** Waits for a condition instead of sleeping for a guess. */
    static void eventually(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    static PoolConfig.Builder quickPool() {
        return PoolConfig.builder().minIdle(0).housekeepingInterval(Duration.ofMillis(50));
    }

    static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    @Test
    void testServerKilledMidPipeline() throws Exception {
        BlinkServer server = BlinkServer.start();
        try (BlinkPool pool = BlinkPool.create(server.tcpConfig().readTimeout(Duration.ofSeconds(2)).build(),
                quickPool().build())) {
            byte[] value = new byte[256 * 1024]; // 1,000 replies: 256 MiB, far beyond any buffer
            Arrays.fill(value, (byte) 'v');
            pool.set("k".getBytes(), value);
            Pipeline pipeline = new Pipeline();
            List<Response<Optional<byte[]>>> gets = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                gets.add(pipeline.add(Command.get("k".getBytes())));
            }
            long start = System.nanoTime();
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> pool.execute(pipeline));
            eventually(Duration.ofSeconds(10), "the first replies", () -> server.stat("bytes_out") > 8 << 20);
            server.kill();
            run.get(10, TimeUnit.SECONDS);
            assertTrue(millisSince(start) < 8_000, "no call hangs past its read timeout");
            int answered = 0;
            int failed = 0;
            for (Response<Optional<byte[]>> get : gets) {
                if (get.error().isPresent()) {
                    assertInstanceOf(ConnectionClosedException.class, get.error().get());
                    failed++;
                } else {
                    assertEquals(0, failed, "an answer after a failure");
                    assertArrayEquals(value, get.get().orElseThrow());
                    answered++;
                }
            }
            assertTrue(answered > 0 && failed > 0, answered + " answered, " + failed + " failed: not mid-pipeline");

            long created = pool.metrics().created();
            try (BlinkServer restarted = BlinkServer.restart(server)) {
                eventually(Duration.ofSeconds(10), "a call after the restart", () -> succeeds(pool::ping));
                assertTrue(pool.metrics().created() > created, "served by a new connection");
                assertTrue(restarted.stat("connections_current") >= 2, "the pool's connection is on the new server");
            }
        } finally {
            server.close();
        }
    }

    static boolean succeeds(Runnable call) {
        try {
            call.run();
            return true;
        } catch (BlinkException e) {
            return false;
        }
    }

    @Test
    void testServerRestarted() throws Exception {
        for (boolean unix : new boolean[] {false, true}) {
            BlinkServer server = BlinkServer.start();
            ConnectionConfig.Builder config = unix ? server.unixConfig() : server.tcpConfig();
            try (BlinkPool pool = BlinkPool.create(config.readTimeout(Duration.ofMillis(500)).build(),
                    quickPool().minIdle(1).build())) {
                pool.set("k", "before");
                server.kill();
                long attemptsBefore = pool.metrics().connectAttempts();
                long outageEnd = System.nanoTime() + Duration.ofSeconds(1).toNanos();
                while (System.nanoTime() < outageEnd) {
                    long start = System.nanoTime();
                    assertThrows(BlinkException.class, () -> pool.get("k"), "a call while the server is down");
                    assertTrue(millisSince(start) < 2_000, "a call hung while the server was down");
                    Thread.sleep(10);
                }
                long attempts = pool.metrics().connectAttempts() - attemptsBefore;
                assertTrue(attempts < 20, attempts + " connect attempts over a one-second outage: no backoff");

                try (BlinkServer restarted = BlinkServer.restart(server)) {
                    eventually(Duration.ofSeconds(10), "a call on the restarted server", () -> succeeds(() -> pool.set("k", "after")));
                    assertEquals(Optional.of("after"), pool.get("k"));
                    assertEquals(server.tcp, restarted.tcp, "the same address");
                }
            } finally {
                server.close();
            }
        }
    }

    @Test
    void testAcceptsAndNeverAnswers() throws Exception {
        try (FakePeer peer = FakePeer.start((p, socket, index) -> p.awaitClientClose(socket));
                BlinkPool pool = BlinkPool.create(ConnectionConfig.builder(peer.endpoint())
                        .readTimeout(Duration.ofMillis(200)).build(), quickPool().build())) {
            long start = System.nanoTime();
            BlinkTimeoutException timeout = assertThrows(BlinkTimeoutException.class, pool::ping);
            long elapsed = millisSince(start);
            assertTrue(elapsed >= 200 && elapsed < 2_000, "failed after " + elapsed + " ms: " + timeout);
            assertTrue(peer.clientClosedWithin(Duration.ofSeconds(1)), "the timed-out connection was closed");
            assertEquals(0, pool.metrics().total(), "nothing kept");
        }
    }

    @Test
    void testMalformedReply() throws Exception {
        for (byte[] bad : List.of(new byte[] {0, 0, 0, 0}, "-ERR\r\n".getBytes())) {
            try (FakePeer peer = FakePeer.start((p, socket, index) -> {
                        FakePeer.answerHello(socket, 4096, 1024);
                        if (index == 0) {
                            FakePeer.readFrame(socket);
                            socket.getOutputStream().write(bad);
                            p.awaitClientClose(socket);
                        } else {
                            p.serveOk(socket);
                        }
                    });
                    BlinkPool pool = BlinkPool.create(ConnectionConfig.builder(peer.endpoint()).build(), quickPool().build())) {
                assertThrows(ProtocolException.class, pool::ping);
                assertTrue(peer.clientClosedWithin(Duration.ofSeconds(1)), "the connection was closed");
                pool.ping();
                assertEquals(2, peer.accepts(), "the next call used a new connection");
            }
        }
    }

    @Test
    void testOversizedReply() throws Exception {
        try (FakePeer peer = FakePeer.start((p, socket, index) -> {
                    FakePeer.answerHello(socket, 4096, 1024);
                    FakePeer.readFrame(socket);
                    socket.getOutputStream().write(new byte[] {0, 0, 0x10, 0x01}); // 4097 bytes declared, none sent
                    p.awaitClientClose(socket);
                });
                BlinkConnection connection = BlinkConnection.open(ConnectionConfig.builder(peer.endpoint())
                        .readTimeout(Duration.ofSeconds(5)).build())) {
            long start = System.nanoTime();
            assertThrows(ProtocolException.class, connection::ping);
            assertTrue(millisSince(start) < 1_000, "decided from the header, without waiting for the body");
            assertFalse(connection.isOpen());
            assertTrue(peer.clientClosedWithin(Duration.ofSeconds(1)));
        }
    }

    @Test
    void testTooManyConnections() throws Exception {
        try (BlinkServer server = BlinkServer.start("--max-connections", "1");
                BlinkConnection first = BlinkConnection.open(server.tcpConfig().build())) {
            ServerUnavailableException refused = assertThrows(ServerUnavailableException.class,
                    () -> BlinkConnection.open(server.tcpConfig().build()).close());
            assertEquals(Optional.of(Status.ERR_TOO_MANY_CONNECTIONS), refused.status());
            first.ping();
        }
    }

    @Test
    void testWrongToken() throws Exception {
        try (BlinkServer server = BlinkServer.startWithToken("s3cret");
                BlinkConnection good = BlinkConnection.open(server.tcpConfig().build())) {
            long before = good.stats().get("connections_total");
            int calls = 5;
            try (BlinkPool pool = BlinkPool.create(server.tcpConfig().token("wrong").build(),
                    PoolConfig.builder().minIdle(2).housekeepingInterval(Duration.ofMillis(20)).build())) {
                for (int i = 0; i < calls; i++) {
                    BlinkException error = assertThrows(BlinkException.class, pool::ping);
                    boolean authFailed = error instanceof AuthFailedException
                            || error instanceof ConnectFailedException && error.getCause() instanceof AuthFailedException;
                    assertTrue(authFailed, "an auth failure, got " + error);
                    Thread.sleep(50); // housekeeping turns pass: none may reconnect
                }
            }
            long grown = good.stats().get("connections_total") - before;
            assertTrue(grown <= calls, "connections_total grew by " + grown + " over " + calls + " calls");
        }
    }

    @Test
    void testLimitsEnforcedLocally() throws Exception {
        try (BlinkServer server = BlinkServer.start("--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8");
                BlinkConnection observer = BlinkConnection.open(server.tcpConfig().build());
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            assertEquals(new Limits(4096, 4, 8), connection.limits());
            long before = observer.stats().get("bytes_in");
            KeyTooLargeException key = assertThrows(KeyTooLargeException.class, () -> connection.set("12345", "v"));
            assertTrue(key.refusedLocally());
            assertThrows(KeyTooLargeException.class, () -> connection.get("12345"));
            ValueTooLargeException value = assertThrows(ValueTooLargeException.class, () -> connection.set("k", "123456789"));
            assertTrue(value.refusedLocally());
            long grown = observer.stats().get("bytes_in") - before;
            assertEquals(5, grown, "only the observer's STATS frame reached the server");
            connection.set("k", "12345678");
            assertEquals(Optional.of("12345678"), connection.get("k"));
        }
    }

    @Test
    void testTimedOutCallKeepsItsReply() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().readTimeout(Duration.ofMillis(300)).build(),
                        quickPool().maxConnections(1).build())) {
            pool.set("a", "value of a");
            pool.set("b", "value of b");
            server.pause();
            try {
                assertThrows(BlinkTimeoutException.class, () -> pool.get("a"));
            } finally {
                server.resume();
            }
            assertEquals(Optional.of("value of b"), pool.get("b"));
            assertEquals(2, pool.metrics().created(), "the timed-out connection was closed and replaced");
        }
    }

    @Test
    void testIdleConnectionClosedByServer() throws Exception {
        try (BlinkServer server = BlinkServer.start("--idle-timeout-ms", "200");
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().build())) {
            pool.set("k", "v");
            eventually(Duration.ofSeconds(10), "the server closing the idle connection", () -> server.stat("closed_idle") >= 1);
            assertEquals(Optional.of("v"), pool.get("k"));
            assertEquals(2, pool.metrics().created(), "the dead connection was replaced");
        }
    }

    @Test
    void testPoolExhaustion() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(),
                        quickPool().maxConnections(2).borrowTimeout(Duration.ofMillis(200)).build())) {
            PooledConnection first = pool.borrow();
            try (PooledConnection second = pool.borrow()) {
                long start = System.nanoTime();
                PoolExhaustedException exhausted = assertThrows(PoolExhaustedException.class, pool::borrow);
                long elapsed = millisSince(start);
                assertTrue(elapsed >= 200 && elapsed < 2_000, "failed after " + elapsed + " ms: " + exhausted.getMessage());
                assertEquals(1, pool.metrics().borrowTimeouts());
                second.ping();
            }
            long start = System.nanoTime();
            try (PooledConnection third = pool.borrow()) {
                assertTrue(millisSince(start) < 150, "a returned connection is handed out at once");
                third.ping();
            }
            first.close();
        }
    }

    @Test
    void testSharedBy64Workers() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), PoolConfig.builder().build())) {
            ExecutorService workers = Executors.newFixedThreadPool(64);
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 64; w++) {
                int worker = w;
                done.add(workers.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        String key = "w" + worker + ":" + i;
                        String value = "value " + worker + "/" + i;
                        pool.set(key, value);
                        assertEquals(Optional.of(value), pool.get(key), key);
                    }
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get(60, TimeUnit.SECONDS);
            }
            workers.shutdown();
            assertTrue(pool.metrics().total() <= 8);
        }
    }

    @Test
    void testLargePipelineDoesNotDeadlock() throws Exception {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), quickPool().build())) {
            byte[] value = new byte[16 * 1024];
            Arrays.fill(value, (byte) 'x');
            pool.set("big".getBytes(), value);
            Pipeline pipeline = new Pipeline();
            List<Response<Optional<byte[]>>> gets = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                gets.add(pipeline.add(Command.get("big".getBytes())));
            }
            pool.execute(pipeline);
            for (Response<Optional<byte[]>> get : gets) {
                assertArrayEquals(value, get.get().orElseThrow());
            }
        }
    }

    @Test
    void testVersion1Server() throws Exception {
        List<byte[]> recorded = new CopyOnWriteArrayList<>();
        List<byte[]> hellos = new CopyOnWriteArrayList<>();
        try (FakePeer peer = FakePeer.start((p, socket, index) -> {
                    hellos.add(FakePeer.readFrame(socket));
                    socket.getOutputStream().write(FakePeer.helloReply(0x101000, 0x100000)); // version 1
                    while (true) {
                        byte[] frame = FakePeer.readFrame(socket);
                        if (frame[0] == Wire.GET) {
                            socket.getOutputStream().write(new byte[] {0, 0, 0, 1, (byte) Status.NOT_FOUND.code()});
                        } else {
                            recorded.add(frame);
                            socket.getOutputStream().write(new byte[] {0, 0, 0, 1, (byte) Status.ERR_UNKNOWN_COMMAND.code()});
                        }
                    }
                });
                BlinkConnection connection = BlinkConnection.open(ConnectionConfig.builder(peer.endpoint())
                        .readTimeout(Duration.ofSeconds(2)).build());
                BlinkPool pool = BlinkPool.create(ConnectionConfig.builder(peer.endpoint()).build(), quickPool().build())) {
            assertEquals(1, connection.version(), "the version the server answered");
            assertEquals(Optional.empty(), connection.get("k"));
            List<Runnable> version2Calls = List.of(
                    () -> connection.add("k", "v"),
                    () -> connection.add("k", "v", Ttl.ofMillis(1000)),
                    () -> connection.replace("k", "v"),
                    () -> connection.incr("k", 1),
                    () -> connection.append("k", "v"),
                    connection::flush,
                    () -> connection.scan(0, 10, ""),
                    () -> connection.scanKeys("").iterator().hasNext(),
                    () -> pool.incr("k", 1));
            for (Runnable call : version2Calls) {
                UnknownCommandException refused = assertThrows(UnknownCommandException.class, call::run);
                assertTrue(refused.refusedLocally(), "refused without sending: " + refused.getMessage());
                assertTrue(connection.isOpen());
            }
            Pipeline pipeline = new Pipeline();
            Response<Boolean> add = pipeline.add(Command.add("k", "v"));
            Response<Optional<String>> get = pipeline.add(Command.get("k"));
            connection.execute(pipeline);
            assertInstanceOf(UnknownCommandException.class, add.error().orElseThrow(), "refused within a pipeline");
            assertEquals(Optional.empty(), get.get(), "the rest of the pipeline runs");
            assertEquals(Optional.empty(), connection.get("k"), "the connection stays usable");
            assertEquals(Optional.empty(), pool.get("k"));
            assertEquals(List.of(), recorded, "frames the fake received besides HELLO and GET");
            assertEquals(2, hellos.size(), "the connection's and the pool's");
            for (byte[] hello : hellos) {
                assertArrayEquals(new byte[] {Wire.HELLO, 2}, hello, "the client asks for version 2");
            }
        }
    }
}

package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** One connection against real servers and fake peers: every command, AUTH, timeouts, pipelines. */
class ConnectionTest {
    /** Every byte value, in a key and in a value. */
    private static byte[] everyByte() {
        byte[] bytes = new byte[256];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        return bytes;
    }

    @Test
    void everyCommandOverTcpAndUnixIsBinarySafe() {
        try (BlinkServer server = BlinkServer.start()) {
            for (ConnectionConfig config : List.of(server.tcpConfig().build(), server.unixConfig().build())) {
                try (BlinkConnection connection = BlinkConnection.open(config)) {
                    byte[] key = everyByte();
                    byte[] value = everyByte();
                    connection.ping();
                    assertEquals(new Limits(1_052_672, 1024, 1_048_576), connection.hello().limits());
                    assertEquals(Optional.empty(), connection.get(key));
                    connection.set(key, value);
                    assertArrayEquals(value, connection.get(key).orElseThrow());
                    assertEquals(Optional.of(Ttl.persistent()), connection.ttl(key));
                    assertTrue(connection.expire(key, Ttl.of(Duration.ofMinutes(1))));
                    assertInstanceOf(Ttl.Millis.class, connection.ttl(key).orElseThrow());
                    assertTrue(connection.del(key));
                    assertFalse(connection.del(key));
                    assertFalse(connection.expire(key, Ttl.persistent()), "EXPIRE never creates a key");
                    assertEquals(Optional.empty(), connection.ttl(key));
                    connection.set(new byte[0], new byte[0]);
                    assertArrayEquals(new byte[0], connection.get(new byte[0]).orElseThrow());
                    Map<String, Long> stats = connection.stats();
                    assertTrue(stats.get("cmd_set") >= 1, stats.toString());
                    connection.auth("any token: the server has none");
                }
            }
        }
    }

    @Test
    void ttlsRoundTripAsUnsigned64BitMilliseconds() {
        try (BlinkServer server = BlinkServer.start();
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            connection.set("k", "v", Ttl.of(Duration.ofSeconds(30)));
            long left = ((Ttl.Millis) connection.ttl("k").orElseThrow()).unsignedMillis();
            assertTrue(left > 25_000 && left <= 30_000, "left " + left);
            connection.set("k", "v", Ttl.ofMillis(-1L)); // 2^64 - 1 ms
            Ttl.Millis huge = (Ttl.Millis) connection.ttl("k").orElseThrow();
            assertTrue(Long.compareUnsigned(huge.unsignedMillis(), Long.MAX_VALUE) > 0, huge.toString());
            assertTrue(huge.toDuration().toDays() > 200_000_000_000L);
            connection.set("k", "v");
            assertEquals(Optional.of(Ttl.persistent()), connection.ttl("k"), "a SET without TTL makes it persistent");
            assertTrue(connection.expire("k", Ttl.ofMillis(1)));
            connection.set("other", "x"); // a round trip later, the key is past its deadline
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (connection.get("k").isPresent()) {
                assertTrue(System.nanoTime() < deadline, "the key never expired");
            }
        }
    }

    @Test
    void authWithTheRightTokenAndWithout() {
        try (BlinkServer server = BlinkServer.startWithToken("s3cret")) {
            try (BlinkConnection authed = BlinkConnection.open(server.tcpConfig().build())) {
                authed.set("k", "v");
                assertFalse(authed.hello().authRequired());
            }
            try (BlinkConnection anonymous = BlinkConnection.open(server.tcpConfig().token((String) null).build())) {
                assertTrue(anonymous.hello().authRequired());
                assertThrows(AuthRequiredException.class, () -> anonymous.get("k"));
                ValueTooLargeException preAuth = assertThrows(ValueTooLargeException.class,
                        () -> anonymous.set("k", "x".repeat(5000)));
                assertTrue(preAuth.refusedLocally(), "the 4096-byte pre-auth frame limit is checked locally");
                assertTrue(anonymous.isOpen());
                anonymous.auth("s3cret");
                assertEquals(Optional.of("v"), anonymous.get("k"));
                anonymous.set("k", "x".repeat(5000));
            }
        }
    }

    @Test
    void helloAndAuthArePipelinedAtConnect() throws Exception {
        try (FakePeer peer = FakePeer.start((p, socket, index) -> {
                    FakePeer.readFrame(socket); // HELLO
                    byte[] auth = FakePeer.readFrame(socket); // read before answering HELLO: pipelined
                    assertEquals(Wire.AUTH, auth[0]);
                    byte[] hello = FakePeer.helloReply(4096, 8);
                    hello[6] = 1; // AUTH required
                    socket.getOutputStream().write(hello);
                    socket.getOutputStream().write(new byte[] {0, 0, 0, 1, 0});
                    p.serveOk(socket);
                });
                BlinkConnection connection = BlinkConnection.open(ConnectionConfig.builder(peer.endpoint())
                        .token("t").readTimeout(Duration.ofSeconds(2)).build())) {
            assertEquals(new Limits(4096, 1024, 8), connection.limits());
            connection.ping();
        }
    }

    @Test
    void aWriteThatMakesNoProgressTimesOut() throws Exception {
        CountDownLatch testDone = new CountDownLatch(1);
        try (FakePeer peer = FakePeer.start((p, socket, index) -> {
                    FakePeer.answerHello(socket, Wire.FRAME_BYTES_CEILING, Wire.FRAME_BYTES_CEILING);
                    try {
                        testDone.await(); // never reads again
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                BlinkConnection connection = BlinkConnection.open(ConnectionConfig.builder(peer.endpoint())
                        .writeTimeout(Duration.ofMillis(300)).readTimeout(Duration.ofSeconds(30)).build())) {
            Pipeline pipeline = new Pipeline();
            byte[] value = new byte[1 << 20];
            List<Response<Void>> sets = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                sets.add(pipeline.add(Command.set("k".getBytes(), value)));
            }
            long start = System.nanoTime();
            connection.execute(pipeline);
            long elapsed = FaultsTest.millisSince(start);
            assertTrue(elapsed >= 300 && elapsed < 5_000, "timed out after " + elapsed + " ms");
            BlinkException error = sets.get(0).error().orElseThrow();
            assertInstanceOf(BlinkTimeoutException.class, error);
            assertTrue(error.getMessage().contains("write timeout"), error.getMessage());
            assertFalse(connection.isOpen());
            assertInstanceOf(ConnectionClosedException.class, assertThrows(BlinkException.class, connection::ping));
        } finally {
            testDone.countDown();
        }
    }

    @Test
    void aPipelineRefusesAnOversizedCommandAlone() {
        try (BlinkServer server = BlinkServer.start("--max-key-bytes", "4", "--max-value-bytes", "8");
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            Pipeline pipeline = new Pipeline();
            Response<Void> set = pipeline.add(Command.set("k", "v"));
            Response<Void> tooLong = pipeline.add(Command.set("12345", "v"));
            Response<Optional<String>> get = pipeline.add(Command.get("k"));
            Response<Boolean> del = pipeline.add(Command.del("nope"));
            assertThrows(IllegalStateException.class, get::get, "not executed yet");
            connection.execute(pipeline);
            set.get();
            assertInstanceOf(KeyTooLargeException.class, tooLong.error().orElseThrow());
            assertEquals(Optional.of("v"), get.get());
            assertFalse(del.get());
            assertThrows(IllegalStateException.class, () -> connection.execute(pipeline), "a pipeline runs once");
        }
    }

    @Test
    void callsAfterCloseFailWithoutSending() {
        try (BlinkServer server = BlinkServer.start()) {
            BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build());
            connection.close();
            ConnectionClosedException closed = assertThrows(ConnectionClosedException.class, () -> connection.get("k"));
            assertTrue(closed.getMessage().contains("not sent"), closed.getMessage());
        }
    }

    @Test
    void aRefusedConnectIsAConnectFailure() {
        BlinkServer server = BlinkServer.start();
        ConnectionConfig config = server.tcpConfig().build();
        server.kill();
        server.close();
        assertThrows(ConnectFailedException.class, () -> BlinkConnection.open(config));
    }

    @Test
    void version2CommandsOnARealServer() {
        try (BlinkServer server = BlinkServer.start();
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            assertEquals(2, connection.version(), "HELLO 2 at connect");
            assertTrue(connection.add("k", "first"));
            assertFalse(connection.add("k", "second"), "ADD of an existing key: false, unchanged");
            assertEquals(Optional.of("first"), connection.get("k"));
            assertTrue(connection.replace("k", "third", Ttl.of(Duration.ofMinutes(1))));
            assertInstanceOf(Ttl.Millis.class, connection.ttl("k").orElseThrow(), "REPLACE sets the TTL as SET does");
            assertFalse(connection.replace("missing", "v"), "REPLACE of a missing key: false, not created");
            assertEquals(Optional.empty(), connection.get("missing"));
            assertEquals(-5, connection.incr("n", -5), "a missing key counts from 0");
            assertEquals(Long.MAX_VALUE - 5, connection.incr("n", Long.MAX_VALUE));
            assertEquals(Long.MAX_VALUE, connection.incr("n", 5));
            NotIntegerException overflow = assertThrows(NotIntegerException.class, () -> connection.incr("n", 1));
            assertEquals(Optional.of(Status.ERR_NOT_INTEGER), overflow.status());
            assertThrows(NotIntegerException.class, () -> connection.incr("k", 1), "\"third\" is no integer");
            assertEquals(Optional.of(Long.toString(Long.MAX_VALUE)), connection.get("n"), "nothing changed");
            assertEquals(3, connection.append("s".getBytes(), new byte[] {0, 1, 2}));
            assertEquals(5, connection.append("s", "ab"));
            assertArrayEquals(new byte[] {0, 1, 2, 'a', 'b'}, connection.get("s".getBytes()).orElseThrow());
            connection.flush();
            assertEquals(Optional.empty(), connection.get("k"));
            assertTrue(connection.scan(0, 10, "").keys().isEmpty(), "FLUSH removed every key");
            assertTrue(connection.isOpen());
        }
    }

    @Test
    void helloChoosesTheVersionTheConnectionSpeaks() {
        try (BlinkServer server = BlinkServer.start();
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            assertEquals(1, connection.hello(1).version());
            assertEquals(1, connection.version());
            UnknownCommandException refused = assertThrows(UnknownCommandException.class, () -> connection.incr("n", 1));
            assertTrue(refused.refusedLocally(), "not sent at version 1");
            assertEquals(Optional.empty(), connection.get("n"));

            // HELLO 2 pipelined with version-2 commands (SPEC §10): they are sent behind it.
            Pipeline pipeline = new Pipeline();
            Response<HelloReply> hello = pipeline.add(Command.hello(2));
            Response<Long> incr = pipeline.add(Command.incr("n", 1));
            connection.execute(pipeline);
            assertEquals(2, hello.get().version());
            assertEquals(1L, incr.get());
            assertEquals(2, connection.version());

            // HELLO 1 in a pipeline: the commands behind it are refused, those before it ran.
            pipeline = new Pipeline();
            Response<Long> before = pipeline.add(Command.incr("n", 1));
            pipeline.add(Command.hello(1));
            Response<Long> after = pipeline.add(Command.incr("n", 1));
            connection.execute(pipeline);
            assertEquals(2L, before.get());
            assertTrue(((UnknownCommandException) after.error().orElseThrow()).refusedLocally());
            assertEquals(2, connection.hello().version(), "hello() asks for version 2 again");
            assertThrows(IllegalArgumentException.class, () -> connection.hello(3));
        }
    }

    @Test
    void version2LimitsAreCheckedLocally() {
        try (BlinkServer server = BlinkServer.start("--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8");
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            for (Runnable call : List.<Runnable>of(() -> connection.add("12345", "v"), () -> connection.replace("12345", "v"),
                    () -> connection.incr("12345", 1), () -> connection.append("12345", "v"))) {
                assertTrue(assertThrows(KeyTooLargeException.class, call::run).refusedLocally());
            }
            for (Runnable call : List.<Runnable>of(() -> connection.add("k", "123456789"),
                    () -> connection.replace("k", "123456789"), () -> connection.append("k", "123456789"))) {
                assertTrue(assertThrows(ValueTooLargeException.class, call::run).refusedLocally());
            }
            assertEquals(8, connection.append("k", "12345678"));
            ValueTooLargeException grown = assertThrows(ValueTooLargeException.class, () -> connection.append("k", "9"));
            assertFalse(grown.refusedLocally(), "the result's length is the server's to check");
            assertEquals(List.of(), connection.scan(0, 10, "a prefix longer than a key").keys(), "a prefix is no key");
            assertTrue(connection.isOpen());
        }
    }
}

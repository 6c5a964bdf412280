package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The wire module ({@link Wire}) and reply decoding ({@link Command}, {@link Status}) against
 * protocol/vectors/v1.json and v2.json: every decode_reply case through the incremental decoder,
 * every valid decode_request case re-encoded through the command factories, every rejected one
 * refused before sending where the client can tell, and every encode_reply case decoded into its
 * result (SCAN pages through the SCAN body reader).
 */
class WireTest {
    /** The exception each error status maps to (SPEC §13), as the sessions expect it. */
    static Class<? extends BlinkException> errorClass(String status) {
        return switch (status) {
            case "ERR_UNKNOWN_COMMAND" -> UnknownCommandException.class;
            case "ERR_KEY_TOO_LARGE" -> KeyTooLargeException.class;
            case "ERR_VALUE_TOO_LARGE" -> ValueTooLargeException.class;
            case "ERR_ITEM_TOO_LARGE" -> ItemTooLargeException.class;
            case "ERR_AUTH_REQUIRED" -> AuthRequiredException.class;
            case "ERR_AUTH_FAILED" -> AuthFailedException.class;
            case "ERR_NOT_INTEGER" -> NotIntegerException.class;
            case "ERR_MALFORMED", "ERR_FRAME_TOO_LARGE", "ERR_UNSUPPORTED_VERSION" -> ProtocolException.class;
            case "ERR_TOO_MANY_CONNECTIONS", "ERR_TIMEOUT", "ERR_BUSY", "ERR_SHUTTING_DOWN" ->
                    ServerUnavailableException.class;
            default -> throw new IllegalArgumentException("not an error status: " + status);
        };
    }

    /** One dynamic test per case of {@code section} in both vector files, named "file: case". */
    private static Stream<DynamicTest> eachCase(String section, BiConsumer<Vectors, Map<String, Object>> test) {
        return Vectors.ALL.stream().flatMap(vectors -> vectors.section(section).stream()
                .map(c -> DynamicTest.dynamicTest(vectors.file + ": " + c.get("name"), () -> test.accept(vectors, c))));
    }

    @TestFactory
    Stream<DynamicTest> decodeReplyVectors() {
        return eachCase("decode_reply", (vectors, c) -> {
            byte[] bytes = Vectors.bytes(c.get("bytes"));
            int max = Vectors.integer(c.get("max_frame_bytes"));
            Map<String, Object> expect = Vectors.map(c.get("expect"));
            ByteBuffer in = ByteBuffer.wrap(bytes);
            switch ((String) expect.get("outcome")) {
                case "need_more" -> {
                    assertNull(Wire.decodeReply(in, max));
                    assertEquals(0, in.position(), "nothing consumed");
                }
                case "invalid" -> assertThrows(ProtocolException.class, () -> Wire.decodeReply(in, max));
                case "reply" -> {
                    int frameLen = Vectors.integer(expect.get("frame_len"));
                    assertIncomplete(bytes, frameLen, max);
                    Reply reply = Wire.decodeReply(in, max);
                    assertNotNull(reply);
                    assertEquals(Vectors.integer(expect.get("status_code")), reply.status());
                    assertArrayEquals(Vectors.bytes(expect.get("body")), reply.body());
                    assertEquals(frameLen, in.position(), "frame_len consumed");
                }
                default -> throw new IllegalArgumentException("outcome " + expect.get("outcome"));
            }
        });
    }

    /** Every strict prefix of a frame decodes as incomplete, consuming nothing. */
    private static void assertIncomplete(byte[] bytes, int frameLen, int max) {
        for (int n = 0; n < frameLen; n += Math.max(1, frameLen / 64)) {
            ByteBuffer prefix = ByteBuffer.wrap(bytes, 0, n);
            assertNull(Wire.decodeReply(prefix, max), "prefix of " + n + " bytes");
            assertEquals(0, prefix.position());
        }
    }

    @TestFactory
    Stream<DynamicTest> decodeRequestVectorsReencode() {
        return eachCase("decode_request", (vectors, c) -> {
            Map<String, Object> expect = Vectors.map(c.get("expect"));
            if (!"request".equals(expect.get("outcome"))) {
                return;
            }
            byte[] bytes = Vectors.bytes(c.get("bytes"));
            int frameLen = Vectors.integer(expect.get("frame_len"));
            Wire.Request request = request(Vectors.map(expect.get("request")));
            assertEquals(frameLen, request.frameBytes());
            ByteBuffer out = ByteBuffer.allocate(request.frameBytes());
            Wire.encode(request, out);
            assertArrayEquals(Arrays.copyOf(bytes, frameLen), out.array());
        });
    }

    /**
     * The client's own check before sending agrees with the server's decoder: a valid request is
     * not refused under the case's limits and version, and one the server rejects for its key or
     * value size, or as unknown at the connection's version, is refused locally with that error.
     */
    @TestFactory
    Stream<DynamicTest> decodeRequestVectorsAgreeWithTheLocalChecks() {
        return eachCase("decode_request", (vectors, c) -> {
            Map<String, Object> expect = Vectors.map(c.get("expect"));
            String outcome = (String) expect.get("outcome");
            List<RequestFrames.Frame> frames = RequestFrames.decode(Vectors.bytes(c.get("bytes")));
            boolean oneFrame = frames != null && frames.size() == 1;
            if (!oneFrame || !("request".equals(outcome) || "rejected".equals(outcome))) {
                return; // not expressible through the API, or fatal: the server's tests
            }
            Map<String, Object> set = vectors.limits((String) c.get("limits"));
            Limits limits = new Limits(Vectors.integer(set.get("max_frame_bytes")),
                    Vectors.integer(set.get("max_key_bytes")), Vectors.integer(set.get("max_value_bytes")));
            int version = c.containsKey("version") ? Vectors.integer(c.get("version")) : vectors.protocolVersion();
            RequestRefusedException refusal = BlinkConnection.refusal(frames.get(0).command().request(), limits, false, version);
            if ("request".equals(outcome)) {
                assertNull(refusal, "a valid request refused locally");
            } else {
                assertInstanceOf(errorClass((String) expect.get("status")), refusal);
                assertTrue(refusal.refusedLocally());
            }
        });
    }

    /** The request of a vector, built through the public command factories where they reach. */
    private static Wire.Request request(Map<String, Object> fields) {
        byte[] key = fields.containsKey("key") ? Vectors.bytes(fields.get("key")) : null;
        long ttlMs = fields.containsKey("ttl_ms") ? Long.parseUnsignedLong((String) fields.get("ttl_ms")) : 0;
        Ttl ttl = ttlMs == 0 ? Ttl.persistent() : Ttl.ofMillis(ttlMs);
        byte[] value = fields.containsKey("value") ? Vectors.bytes(fields.get("value")) : null;
        return switch ((String) fields.get("command")) {
            case "PING" -> Command.ping().request();
            case "HELLO" -> hello(Vectors.integer(fields.get("version")));
            case "AUTH" -> auth(Vectors.bytes(fields.get("token")));
            case "GET" -> Command.get(key).request();
            case "SET" -> Command.set(key, value, ttl).request();
            case "DEL" -> Command.del(key).request();
            case "EXPIRE" -> Command.expire(key, ttl).request();
            case "TTL" -> Command.ttl(key).request();
            case "STATS" -> Command.stats().request();
            case "ADD" -> Command.add(key, value, ttl).request();
            case "REPLACE" -> Command.replace(key, value, ttl).request();
            case "INCR" -> Command.incr(key, Long.parseLong((String) fields.get("delta"))).request();
            case "APPEND" -> Command.append(key, Vectors.bytes(fields.get("suffix"))).request();
            case "FLUSH" -> Command.flush().request();
            case "SCAN" -> Command.scan(Long.parseUnsignedLong((String) fields.get("cursor")),
                    Vectors.integer(fields.get("count")), Vectors.bytes(fields.get("prefix"))).request();
            default -> throw new IllegalArgumentException("command " + fields.get("command"));
        };
    }

    /** HELLO through the API for the versions it speaks (1, 2); others (0, 255) it refuses: built by hand. */
    private static Wire.Request hello(int version) {
        if (version >= 1 && version <= Wire.PROTOCOL_VERSION) {
            return Command.hello(version).request();
        }
        assertThrows(IllegalArgumentException.class, () -> Command.hello(version));
        return new Wire.Request(Wire.HELLO, 0, null, new byte[] {(byte) version});
    }

    /**
     * AUTH through the API, except a token longer than any server token can be (SPEC §11), which
     * the API refuses: that frame is built by hand.
     */
    private static Wire.Request auth(byte[] token) {
        if (token.length <= ConnectionConfig.MAX_TOKEN_BYTES) {
            return Command.auth(token).request();
        }
        assertThrows(IllegalArgumentException.class, () -> Command.auth(token));
        return new Wire.Request(Wire.AUTH, 0, null, token);
    }

    @TestFactory
    Stream<DynamicTest> encodeReplyVectorsDecodeToResults() {
        return eachCase("encode_reply", (vectors, c) -> {
            ByteBuffer in = ByteBuffer.wrap(Vectors.bytes(c.get("bytes")));
            Reply reply = Wire.decodeReply(in, Wire.FRAME_BYTES_CEILING);
            assertNotNull(reply);
            assertEquals(in.limit(), in.position());
            Map<String, Object> expected = Vectors.map(c.get("reply"));
            switch ((String) expected.get("kind")) {
                case "status" -> {
                    assertEquals(Status.valueOf((String) expected.get("status")).code(), reply.status());
                    assertArrayEquals(Vectors.bytes(expected.get("body")), reply.body());
                }
                case "error" -> {
                    String status = (String) expected.get("status");
                    BlinkException error = assertThrows(BlinkException.class, () -> Command.ping().decode(reply));
                    assertInstanceOf(errorClass(status), error);
                    assertEquals(Optional.of(Status.valueOf(status)), error.status());
                }
                case "hello" -> {
                    HelloReply hello = Command.hello().decode(reply);
                    Map<String, Object> limits = vectors.limits((String) expected.get("limits"));
                    int version = expected.containsKey("version") ? Vectors.integer(expected.get("version")) : 1;
                    assertEquals(new HelloReply(version, (Boolean) expected.get("auth_required"),
                            new Limits(Vectors.integer(limits.get("max_frame_bytes")),
                                    Vectors.integer(limits.get("max_key_bytes")),
                                    Vectors.integer(limits.get("max_value_bytes")))), hello);
                }
                case "integer" -> assertEquals(Long.parseLong((String) expected.get("value")),
                        Command.incr("k", 1).decode(reply));
                case "length" -> assertEquals(Long.parseUnsignedLong((String) expected.get("length")),
                        Command.append("k", "v").decode(reply));
                case "scan" -> {
                    ScanPage page = Command.scan(0, 10, "").decode(reply);
                    assertEquals(expected.get("next_cursor"), Long.toUnsignedString(page.nextCursor()));
                    List<String> keys = new ArrayList<>();
                    page.keys().forEach(key -> keys.add(HexFormat.of().formatHex(key)));
                    assertEquals(((List<?>) expected.get("keys")).stream()
                            .map(key -> HexFormat.of().formatHex(Vectors.bytes(key))).toList(), keys);
                }
                case "ttl" -> {
                    Object remaining = expected.get("remaining_ms");
                    Ttl ttl = remaining == null ? Ttl.persistent() : Ttl.ofMillis(Long.parseUnsignedLong((String) remaining));
                    assertEquals(Optional.of(ttl), Command.ttl("k").decode(reply));
                }
                case "stats" -> {
                    List<List<String>> pairs = new ArrayList<>();
                    Command.stats().decode(reply).forEach((name, value) ->
                            pairs.add(List.of(name, Long.toUnsignedString(value))));
                    assertEquals(expected.get("stats"), pairs);
                }
                default -> throw new IllegalArgumentException("kind " + expected.get("kind"));
            }
        });
    }

    @Test
    void notFoundIsAResultWhereTheKeyMayBeMissing() {
        Reply notFound = new Reply(Status.NOT_FOUND.code(), new byte[0]);
        assertEquals(Optional.empty(), Command.get("k").decode(notFound));
        assertEquals(false, Command.del("k").decode(notFound));
        assertEquals(false, Command.expire("k", Ttl.persistent()).decode(notFound));
        assertEquals(Optional.empty(), Command.ttl("k").decode(notFound));
        assertEquals(false, Command.replace("k", "v").decode(notFound));
        assertThrows(ProtocolException.class, () -> Command.ping().decode(notFound));
        assertThrows(ProtocolException.class, () -> Command.add("k", "v").decode(notFound), "ADD never gets NOT_FOUND");
        assertThrows(ProtocolException.class, () -> Command.incr("k", 1).decode(notFound), "INCR counts from 0");
    }

    @Test
    void existsIsAResultOfAddOnly() {
        Reply exists = new Reply(Status.EXISTS.code(), new byte[0]);
        assertEquals(false, Command.add("k", "v").decode(exists));
        assertEquals(true, Command.add("k", "v").decode(new Reply(0, new byte[0])));
        assertThrows(ProtocolException.class, () -> Command.replace("k", "v").decode(exists));
        assertThrows(ProtocolException.class, () -> Command.set("k", "v").decode(exists));
        assertThrows(ProtocolException.class, () -> Command.get("k").decode(exists));
    }

    @Test
    void badVersion2BodiesAreProtocolErrors() {
        assertThrows(ProtocolException.class, () -> Command.incr("k", 1).decode(new Reply(0, new byte[7])));
        assertThrows(ProtocolException.class, () -> Command.append("k", "v").decode(new Reply(0, new byte[9])));
        assertThrows(ProtocolException.class, () -> Command.flush().decode(new Reply(0, new byte[1])));
        assertThrows(ProtocolException.class, () -> Command.add("k", "v").decode(new Reply(0, new byte[1])));
        ScanPage empty = Command.scan(0, 1, "").decode(new Reply(0, new byte[8]));
        assertTrue(empty.isLast() && empty.keys().isEmpty());
        for (String body : List.of("", "00000000000000", "0000000000000000 00", "0000000000000000 0002 61",
                "0000000000000000 0000 ffff")) {
            byte[] bytes = HexFormat.of().parseHex(body.replace(" ", ""));
            assertThrows(ProtocolException.class, () -> Command.scan(0, 1, "").decode(new Reply(0, bytes)), body);
        }
        BlinkException notInteger = assertThrows(NotIntegerException.class,
                () -> Command.incr("k", 1).decode(new Reply(Status.ERR_NOT_INTEGER.code(), "no".getBytes())));
        assertTrue(notInteger instanceof RequestRefusedException, "not an integer keeps the connection");
    }

    @Test
    void version2CommandsCheckTheirArguments() {
        assertThrows(IllegalArgumentException.class, () -> Command.scan(0, -1, ""));
        assertThrows(IllegalArgumentException.class, () -> Command.scan(0, 65_536, ""));
        assertEquals(65_535, Command.scan(-1L, 65_535, "").request().count());
        assertThrows(IllegalArgumentException.class, () -> Command.hello(0));
        assertThrows(IllegalArgumentException.class, () -> Command.hello(3));
        assertThrows(NullPointerException.class, () -> Command.append("k".getBytes(), null));
        assertThrows(NullPointerException.class, () -> Command.scan(0, 1, (byte[]) null));
    }

    @Test
    void version2CommandsAreRefusedLocallyAtVersion1() {
        Limits limits = new Limits(4096, 4, 8);
        for (Command<?> command : List.of(Command.add("k", "v"), Command.replace("k", "v"), Command.incr("k", 1),
                Command.append("k", "v"), Command.flush(), Command.scan(0, 1, ""))) {
            RequestRefusedException refusal = BlinkConnection.refusal(command.request(), limits, false, 1);
            assertInstanceOf(UnknownCommandException.class, refusal);
            assertTrue(refusal.refusedLocally());
            assertNull(BlinkConnection.refusal(command.request(), limits, false, 2));
        }
        assertNull(BlinkConnection.refusal(Command.get("k").request(), limits, false, 1), "version-1 commands stay");
        assertNull(BlinkConnection.refusal(Command.scan(0, 1, "longer than a key").request(), limits, false, 2),
                "a SCAN prefix is not held to max_key_bytes");
        assertInstanceOf(ValueTooLargeException.class,
                BlinkConnection.refusal(Command.append("k", "123456789").request(), limits, false, 2));
        assertInstanceOf(KeyTooLargeException.class,
                BlinkConnection.refusal(Command.incr("12345", 1).request(), limits, false, 2));
    }

    @Test
    void unknownStatusesAndBadBodiesAreProtocolErrors() {
        assertThrows(ProtocolException.class, () -> Command.get("k").decode(new Reply(0x42, new byte[0])));
        assertThrows(ProtocolException.class, () -> Command.get("k").decode(new Reply(0xFF, new byte[0])));
        assertThrows(ProtocolException.class, () -> Command.ttl("k").decode(new Reply(0, new byte[3])));
        assertThrows(ProtocolException.class, () -> Command.set("k", "v").decode(new Reply(0, new byte[1])));
        assertThrows(ProtocolException.class, () -> Command.stats().decode(new Reply(0, "items 1".getBytes())));
        assertThrows(ProtocolException.class, () -> Command.stats().decode(new Reply(0, "items x\n".getBytes())));
        for (int version : new int[] {0, 3}) {
            byte[] hello = FakePeer.helloReply(4096, 8);
            hello[5] = (byte) version;
            assertThrows(ProtocolException.class, () -> Command.hello().decode(Wire.decodeReply(ByteBuffer.wrap(hello), 4096)),
                    "a version this client does not speak: " + version);
        }
    }

    @Test
    void everyDefinedStatusHasItsClass() {
        for (Status status : Status.values()) {
            if (status != Status.OK && status != Status.NOT_FOUND && status != Status.EXISTS) {
                BlinkException error = Status.toException(new Reply(status.code(), "m".getBytes()));
                assertInstanceOf(errorClass(status.name()), error, status.name());
                assertEquals(Optional.of(status), error.status());
            }
        }
    }

    @Test
    void ttlsAreUnsignedMillisecondsAndNeverAMagicZero() {
        assertThrows(IllegalArgumentException.class, () -> Ttl.ofMillis(0));
        assertThrows(IllegalArgumentException.class, () -> Ttl.of(java.time.Duration.ZERO));
        assertEquals(Ttl.ofMillis(2), Ttl.of(java.time.Duration.ofNanos(1_000_001)), "rounds up");
        assertEquals(Ttl.ofMillis(-1L), Ttl.of(java.time.Duration.ofSeconds(Long.MAX_VALUE)), "saturates");
        Ttl.Millis max = (Ttl.Millis) Ttl.ofMillis(-1L);
        assertEquals(java.time.Duration.ofSeconds(18_446_744_073_709_551L, 615_000_000L), max.toDuration());
        assertTrue(max.toString().contains("18446744073709551615"));
    }

    @Test
    void endpointsParse() {
        assertEquals(Endpoint.tcp("127.0.0.1", 25465), Endpoint.parse("127.0.0.1:25465"));
        assertEquals(Endpoint.tcp("::1", 7), Endpoint.parse("[::1]:7"));
        assertEquals(Endpoint.unix(java.nio.file.Path.of("/tmp/b.sock")), Endpoint.parse("unix:/tmp/b.sock"));
        assertThrows(IllegalArgumentException.class, () -> Endpoint.parse("nohost"));
    }
}

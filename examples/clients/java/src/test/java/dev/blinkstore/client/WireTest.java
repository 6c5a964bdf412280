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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The wire module ({@link Wire}) and reply decoding ({@link Command}, {@link Status}) against
 * protocol/vectors/v1.json: every decode_reply case through the incremental decoder, every
 * valid decode_request case re-encoded, every encode_reply case decoded into its result.
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
            case "ERR_MALFORMED", "ERR_FRAME_TOO_LARGE", "ERR_UNSUPPORTED_VERSION" -> ProtocolException.class;
            case "ERR_TOO_MANY_CONNECTIONS", "ERR_TIMEOUT", "ERR_BUSY", "ERR_SHUTTING_DOWN" ->
                    ServerUnavailableException.class;
            default -> throw new IllegalArgumentException("not an error status: " + status);
        };
    }

    @TestFactory
    Stream<DynamicTest> decodeReplyVectors() {
        return Vectors.section("decode_reply").stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
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
        }));
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
        return Vectors.section("decode_request").stream()
                .filter(c -> "request".equals(Vectors.map(c.get("expect")).get("outcome")))
                .map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
                    Map<String, Object> expect = Vectors.map(c.get("expect"));
                    byte[] bytes = Vectors.bytes(c.get("bytes"));
                    int frameLen = Vectors.integer(expect.get("frame_len"));
                    Wire.Request request = request(Vectors.map(expect.get("request")));
                    assertEquals(frameLen, request.frameBytes());
                    ByteBuffer out = ByteBuffer.allocate(request.frameBytes());
                    Wire.encode(request, out);
                    assertArrayEquals(java.util.Arrays.copyOf(bytes, frameLen), out.array());
                }));
    }

    /** The request of a vector, built through the public command factories where they reach. */
    private static Wire.Request request(Map<String, Object> fields) {
        byte[] key = fields.containsKey("key") ? Vectors.bytes(fields.get("key")) : null;
        long ttlMs = fields.containsKey("ttl_ms") ? Long.parseUnsignedLong((String) fields.get("ttl_ms")) : 0;
        Ttl ttl = ttlMs == 0 ? Ttl.persistent() : Ttl.ofMillis(ttlMs);
        return switch ((String) fields.get("command")) {
            case "PING" -> Command.ping().request();
            case "HELLO" -> Vectors.integer(fields.get("version")) == 1 ? Command.hello().request()
                    : new Wire.Request(Wire.HELLO, 0, null, new byte[] {(byte) Vectors.integer(fields.get("version"))});
            case "AUTH" -> auth(Vectors.bytes(fields.get("token")));
            case "GET" -> Command.get(key).request();
            case "SET" -> Command.set(key, Vectors.bytes(fields.get("value")), ttl).request();
            case "DEL" -> Command.del(key).request();
            case "EXPIRE" -> Command.expire(key, ttl).request();
            case "TTL" -> Command.ttl(key).request();
            case "STATS" -> Command.stats().request();
            default -> throw new IllegalArgumentException("command " + fields.get("command"));
        };
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
        return Vectors.section("encode_reply").stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
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
                    Map<String, Object> limits = Vectors.limits((String) expected.get("limits"));
                    assertEquals(new HelloReply(1, (Boolean) expected.get("auth_required"),
                            new Limits(Vectors.integer(limits.get("max_frame_bytes")),
                                    Vectors.integer(limits.get("max_key_bytes")),
                                    Vectors.integer(limits.get("max_value_bytes")))), hello);
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
        }));
    }

    @Test
    void notFoundIsAResultWhereTheKeyMayBeMissing() {
        Reply notFound = new Reply(Status.NOT_FOUND.code(), new byte[0]);
        assertEquals(Optional.empty(), Command.get("k").decode(notFound));
        assertEquals(false, Command.del("k").decode(notFound));
        assertEquals(false, Command.expire("k", Ttl.persistent()).decode(notFound));
        assertEquals(Optional.empty(), Command.ttl("k").decode(notFound));
        assertThrows(ProtocolException.class, () -> Command.ping().decode(notFound));
    }

    @Test
    void unknownStatusesAndBadBodiesAreProtocolErrors() {
        assertThrows(ProtocolException.class, () -> Command.get("k").decode(new Reply(0x42, new byte[0])));
        assertThrows(ProtocolException.class, () -> Command.get("k").decode(new Reply(0xFF, new byte[0])));
        assertThrows(ProtocolException.class, () -> Command.ttl("k").decode(new Reply(0, new byte[3])));
        assertThrows(ProtocolException.class, () -> Command.set("k", "v").decode(new Reply(0, new byte[1])));
        assertThrows(ProtocolException.class, () -> Command.stats().decode(new Reply(0, "items 1".getBytes())));
        assertThrows(ProtocolException.class, () -> Command.stats().decode(new Reply(0, "items x\n".getBytes())));
        byte[] helloV2 = FakePeer.helloReply(4096, 8);
        helloV2[5] = 2;
        assertThrows(ProtocolException.class, () -> Command.hello().decode(Wire.decodeReply(ByteBuffer.wrap(helloV2), 4096)));
    }

    @Test
    void everyDefinedStatusHasItsClass() {
        for (Status status : Status.values()) {
            if (status != Status.OK && status != Status.NOT_FOUND) {
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

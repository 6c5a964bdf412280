package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The sessions of protocol/vectors/v1.json replayed through the public API against a fresh
 * server each (the conformance kit's rules): each frame of a step becomes one API call, the
 * frames of a multi-frame step one pipeline; steps the API cannot express are not sent, and the
 * number of steps replayed is asserted.
 */
class SessionsTest {
    /**
     * Steps replayed: every_command 20, pipelined_replies_in_request_order 1,
     * rejections_keep_the_connection 3 (not the unknown opcode nor HELLO 0), auth_flow 8,
     * auth_failure_closes 1, auth_without_a_server_token_succeeds 1. The others send frames the
     * API cannot express (malformed, foreign, a bare header) or need a memory cap below the
     * server's minimum.
     */
    private static final int STEPS_REPLAYED = 35;

    /** One request frame of a step, decoded by the test's own §5 decoder. */
    private record Frame(byte opcode, long ttlMs, byte[] key, byte[] tail) {
        Ttl ttl() {
            return ttlMs == 0 ? Ttl.persistent() : Ttl.ofMillis(ttlMs);
        }

        /** The frame as a command, for pipelined steps. */
        Command<?> command() {
            return switch (opcode) {
                case Wire.PING -> Command.ping();
                case Wire.HELLO -> Command.hello();
                case Wire.AUTH -> Command.auth(tail);
                case Wire.GET -> Command.get(key);
                case Wire.SET -> ttlMs == 0 ? Command.set(key, tail) : Command.set(key, tail, ttl());
                case Wire.DEL -> Command.del(key);
                case Wire.EXPIRE -> Command.expire(key, ttl());
                case Wire.TTL -> Command.ttl(key);
                default -> Command.stats();
            };
        }

        /** The frame as a direct API call, for single-frame steps. */
        Function<BlinkConnection, Object> call() {
            return switch (opcode) {
                case Wire.PING -> c -> done(c::ping);
                case Wire.HELLO -> BlinkConnection::hello;
                case Wire.AUTH -> c -> done(() -> c.auth(tail));
                case Wire.GET -> c -> c.get(key);
                case Wire.SET -> c -> done(() -> {
                    if (ttlMs == 0) {
                        c.set(key, tail);
                    } else {
                        c.set(key, tail, ttl());
                    }
                });
                case Wire.DEL -> c -> c.del(key);
                case Wire.EXPIRE -> c -> c.expire(key, ttl());
                case Wire.TTL -> c -> c.ttl(key);
                default -> BlinkConnection::stats;
            };
        }

        private static Object done(Runnable call) {
            call.run();
            return null;
        }
    }

    @Test
    void replaysTheVectorSessionsThroughTheApi() {
        int replayed = 0;
        for (Map<String, Object> session : Vectors.section("sessions")) {
            Map<String, Object> server = Vectors.map(session.get("server"));
            if (server.containsKey("cap_bytes")) {
                continue; // a memory cap below the server's minimum: the server's own tests cover it
            }
            try (BlinkServer blink = start(server);
                    BlinkConnection connection = BlinkConnection.open(
                            ConnectionConfig.builder(blink.tcp).build())) {
                int step = 0;
                for (Map<String, Object> s : Vectors.list(session.get("steps"))) {
                    String where = session.get("name") + " step " + step++;
                    List<Frame> frames = frames(Vectors.bytes(s.get("send")));
                    if (frames != null) {
                        replay(connection, frames, Vectors.list(s.get("replies")), where);
                        assertEquals("open".equals(s.get("then")), connection.isOpen(), where + ": then " + s.get("then"));
                        replayed++;
                    }
                }
            }
        }
        assertEquals(STEPS_REPLAYED, replayed, "steps replayed");
    }

    private static BlinkServer start(Map<String, Object> server) {
        List<String> flags = new ArrayList<>();
        Map<String, Object> limits = Vectors.limits((String) server.get("limits"));
        for (String limit : List.of("max_frame_bytes", "max_key_bytes", "max_value_bytes")) {
            flags.add("--" + limit.replace('_', '-'));
            flags.add(limits.get(limit).toString());
        }
        String[] args = flags.toArray(new String[0]);
        Object token = server.get("token");
        return token == null ? BlinkServer.start(args)
                : BlinkServer.startWithToken(new String(Vectors.bytes(token), StandardCharsets.UTF_8), args);
    }

    private static void replay(BlinkConnection connection, List<Frame> frames, List<Map<String, Object>> replies,
            String where) {
        assertEquals(replies.size(), frames.size(), where + ": one reply per frame");
        List<Object> outcomes = new ArrayList<>();
        if (frames.size() == 1) {
            try {
                outcomes.add(frames.get(0).call().apply(connection));
            } catch (BlinkException e) {
                outcomes.add(e);
            }
        } else {
            Pipeline pipeline = new Pipeline();
            List<Response<?>> responses = new ArrayList<>();
            frames.forEach(frame -> responses.add(pipeline.add(frame.command())));
            connection.execute(pipeline);
            for (Response<?> response : responses) {
                outcomes.add(response.error().isPresent() ? response.error().get() : response.get());
            }
        }
        for (int i = 0; i < frames.size(); i++) {
            check(frames.get(i), outcomes.get(i), replies.get(i), where + " frame " + i);
        }
    }

    /** Compares one call's outcome with the reply the vectors expect. */
    private static void check(Frame frame, Object outcome, Map<String, Object> reply, String where) {
        String status = (String) reply.get("status");
        byte[] body = reply.containsKey("body") ? Vectors.bytes(reply.get("body")) : null;
        switch (status) {
            case "OK" -> checkOk(frame, outcome, body, reply.get("body_len"), where);
            case "NOT_FOUND" -> assertEquals(frame.opcode() == Wire.DEL || frame.opcode() == Wire.EXPIRE
                    ? Boolean.FALSE : Optional.empty(), outcome, where);
            default -> {
                assertInstanceOf(WireTest.errorClass(status), outcome, where);
                if (outcome instanceof KeyTooLargeException || outcome instanceof ValueTooLargeException) {
                    assertTrue(((RequestRefusedException) outcome).refusedLocally(), where + ": refused before sending");
                }
            }
        }
    }

    private static void checkOk(Frame frame, Object outcome, byte[] body, Object bodyLen, String where) {
        if (outcome instanceof BlinkException e) {
            fail(where + ": expected OK, got " + e);
        }
        switch (frame.opcode()) {
            case Wire.GET -> assertArrayEquals(body, ((Optional<?>) outcome).map(byte[].class::cast).orElseThrow(), where);
            case Wire.HELLO -> assertEquals(Command.hello().decode(new Reply(0, body)), outcome, where);
            case Wire.DEL, Wire.EXPIRE -> assertEquals(Boolean.TRUE, outcome, where);
            case Wire.STATS -> assertTrue(((Map<?, ?>) outcome).containsKey("items"), where);
            case Wire.TTL -> {
                Ttl ttl = ((Optional<?>) outcome).map(Ttl.class::cast).orElseThrow();
                if (body != null && body.length == 0) {
                    assertEquals(Ttl.persistent(), ttl, where);
                } else {
                    assertInstanceOf(Ttl.Millis.class, ttl, where);
                    assertEquals(8L, bodyLen != null ? bodyLen : (long) body.length, where);
                    if (body != null) {
                        assertEquals(Ttl.ofMillis(ByteBuffer.wrap(body).getLong()), ttl, where);
                    }
                }
            }
            default -> assertNull(outcome, where); // PING, AUTH, SET
        }
    }

    /** The frames of {@code bytes} (SPEC §5), or null when the API cannot express one of them. */
    private static List<Frame> frames(byte[] bytes) {
        List<Frame> frames = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        while (in.hasRemaining()) {
            if ((in.get(in.position()) & 0xFF) >= 0x20 || in.remaining() < 4) {
                return null;
            }
            int len = in.getInt();
            if (len == 0 || in.remaining() < len) {
                return null;
            }
            byte[] payload = new byte[len];
            in.get(payload);
            Frame frame = frame(ByteBuffer.wrap(payload));
            if (frame == null) {
                return null;
            }
            frames.add(frame);
        }
        return frames;
    }

    private static Frame frame(ByteBuffer payload) {
        byte opcode = payload.get();
        long ttlMs = 0;
        byte[] key = null;
        switch (opcode) {
            case Wire.PING, Wire.STATS -> {
                return payload.hasRemaining() ? null : new Frame(opcode, 0, null, new byte[0]);
            }
            case Wire.HELLO -> {
                boolean versionOne = payload.remaining() == 1 && payload.get() == Wire.PROTOCOL_VERSION;
                return versionOne ? new Frame(opcode, 0, null, new byte[] {1}) : null;
            }
            case Wire.AUTH -> {
                return new Frame(opcode, 0, null, rest(payload));
            }
            case Wire.SET, Wire.EXPIRE -> {
                if (payload.remaining() < 8) {
                    return null;
                }
                ttlMs = payload.getLong();
            }
            case Wire.GET, Wire.DEL, Wire.TTL -> {
                // a key follows
            }
            default -> {
                return null; // an unknown opcode: the server's test
            }
        }
        if (payload.remaining() < 2) {
            return null;
        }
        int keyLen = Short.toUnsignedInt(payload.getShort());
        if (payload.remaining() < keyLen) {
            return null;
        }
        key = Arrays.copyOfRange(payload.array(), payload.position(), payload.position() + keyLen);
        payload.position(payload.position() + keyLen);
        byte[] tail = rest(payload);
        boolean exact = opcode == Wire.SET || tail.length == 0;
        return exact ? new Frame(opcode, ttlMs, key, tail) : null;
    }

    private static byte[] rest(ByteBuffer payload) {
        byte[] rest = new byte[payload.remaining()];
        payload.get(rest);
        return rest;
    }
}

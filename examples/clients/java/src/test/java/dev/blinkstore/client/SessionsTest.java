package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.blinkstore.client.RequestFrames.Frame;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The sessions of protocol/vectors/v1.json and v2.json replayed through the public API against a
 * fresh server each (the conformance kit's rules): each frame of a step becomes one API call, the
 * frames of a multi-frame step one pipeline; steps the API cannot express are not sent, and the
 * number of steps replayed from each file is asserted.
 */
class SessionsTest {
    /**
     * Steps replayed from v1.json: every_command 20, pipelined_replies_in_request_order 1,
     * rejections_keep_the_connection 3 (not the unknown opcode nor HELLO 0), auth_flow 8,
     * auth_failure_closes 1, auth_without_a_server_token_succeeds 1. The others send frames the
     * API cannot express (malformed, foreign, a bare header) or need a memory cap below the
     * server's minimum.
     */
    private static final int V1_STEPS_REPLAYED = 35;
    /**
     * Steps replayed from v2.json: every step of every session (add_and_replace 14,
     * incr_counts_and_refuses 15, incr_and_append_keep_the_ttl 7, append_builds_a_value 8,
     * append_holds_to_the_value_limit 6, flush_empties_the_store 6, scan_answers_in_pages 4,
     * pipelined_v2_commands 2, v2_commands_need_auth 7) except HELLO 255 in
     * v2_commands_need_hello_2 (8 of 9): the API asks only for versions it speaks.
     */
    private static final int V2_STEPS_REPLAYED = 77;

    @Test
    void replaysTheV1SessionsThroughTheApi() {
        assertEquals(V1_STEPS_REPLAYED, replayAll(Vectors.V1), "v1.json steps replayed");
    }

    @Test
    void replaysTheV2SessionsThroughTheApi() {
        assertEquals(V2_STEPS_REPLAYED, replayAll(Vectors.V2), "v2.json steps replayed");
    }

    private static int replayAll(Vectors vectors) {
        int replayed = 0;
        for (Map<String, Object> session : vectors.section("sessions")) {
            Map<String, Object> server = Vectors.map(session.get("server"));
            if (server.containsKey("cap_bytes")) {
                continue; // a memory cap below the server's minimum: the server's own tests cover it
            }
            Map<String, Object> limits = vectors.limits((String) server.get("limits"));
            try (BlinkServer blink = start(server, limits);
                    BlinkConnection connection = BlinkConnection.open(
                            ConnectionConfig.builder(blink.tcp).build())) {
                int step = 0;
                for (Map<String, Object> s : Vectors.list(session.get("steps"))) {
                    String where = vectors.file + " " + session.get("name") + " step " + step++;
                    List<Frame> frames = RequestFrames.decode(Vectors.bytes(s.get("send")));
                    if (frames != null) {
                        replay(connection, frames, Vectors.list(s.get("replies")), limits, where);
                        assertEquals("open".equals(s.get("then")), connection.isOpen(), where + ": then " + s.get("then"));
                        replayed++;
                    }
                }
            }
        }
        return replayed;
    }

    private static BlinkServer start(Map<String, Object> server, Map<String, Object> limits) {
        List<String> flags = new ArrayList<>();
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
            Map<String, Object> limits, String where) {
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
            check(frames.get(i), outcomes.get(i), replies.get(i), limits, where + " frame " + i);
        }
    }

    /** Compares one call's outcome with the reply the vectors expect. */
    private static void check(Frame frame, Object outcome, Map<String, Object> reply, Map<String, Object> limits,
            String where) {
        String status = (String) reply.get("status");
        byte[] body = reply.containsKey("body") ? Vectors.bytes(reply.get("body")) : null;
        switch (status) {
            case "OK" -> checkOk(frame, outcome, body, reply.get("body_len"), where);
            case "NOT_FOUND" -> assertEquals(switch (frame.opcode()) {
                case Wire.DEL, Wire.EXPIRE, Wire.REPLACE -> Boolean.FALSE;
                default -> Optional.empty();
            }, outcome, where);
            case "EXISTS" -> {
                assertEquals(Wire.ADD, frame.opcode(), where + ": EXISTS answers ADD only");
                assertEquals(Boolean.FALSE, outcome, where);
            }
            default -> {
                assertInstanceOf(WireTest.errorClass(status), outcome, where);
                if (outcome instanceof KeyTooLargeException || outcome instanceof ValueTooLargeException) {
                    assertEquals(overLimits(frame, limits), ((RequestRefusedException) outcome).refusedLocally(),
                            where + ": refused before sending exactly when the frame is over the limits");
                }
            }
        }
    }

    /** Whether the frame's key or value is over the session's limits (what the client checks before sending). */
    private static boolean overLimits(Frame frame, Map<String, Object> limits) {
        boolean value = frame.opcode() == Wire.SET || frame.opcode() == Wire.ADD || frame.opcode() == Wire.REPLACE
                || frame.opcode() == Wire.APPEND;
        return frame.key() != null && frame.key().length > Vectors.integer(limits.get("max_key_bytes"))
                || value && frame.tail().length > Vectors.integer(limits.get("max_value_bytes"));
    }

    private static void checkOk(Frame frame, Object outcome, byte[] body, Object bodyLen, String where) {
        if (outcome instanceof BlinkException e) {
            fail(where + ": expected OK, got " + e);
        }
        switch (frame.opcode()) {
            case Wire.GET -> assertArrayEquals(body, ((Optional<?>) outcome).map(byte[].class::cast).orElseThrow(), where);
            case Wire.HELLO -> assertEquals(Command.hello().decode(new Reply(0, body)), outcome, where);
            case Wire.DEL, Wire.EXPIRE, Wire.ADD, Wire.REPLACE -> assertEquals(Boolean.TRUE, outcome, where);
            case Wire.STATS -> assertTrue(((Map<?, ?>) outcome).containsKey("items"), where);
            case Wire.INCR, Wire.APPEND -> assertEquals(ByteBuffer.wrap(body).getLong(), (long) (Long) outcome, where);
            case Wire.SCAN -> {
                // The page depends on the server's index: any page of the right shape.
                ScanPage page = (ScanPage) outcome;
                for (byte[] key : page.keys()) {
                    assertTrue(startsWith(key, frame.tail()), where + ": a key without the prefix");
                }
            }
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
            default -> assertNull(outcome, where); // PING, AUTH, SET, FLUSH
        }
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }
}

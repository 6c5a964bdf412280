package dev.blinkstore.client;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The tests' own small request decoder (SPEC §5 layouts, versions 1 and 2), written apart from
 * {@link Wire} so the vectors check the client's encoder against an independent reading. A frame
 * the public API cannot express (an unknown opcode, a malformed frame, a bare header, a HELLO
 * version or an AUTH token the API refuses) decodes to {@code null}: the kit leaves those to the server's tests.
 */
final class RequestFrames {
    private RequestFrames() {}

    /**
     * One request frame.
     *
     * @param opcode the opcode
     * @param number ttl_ms, delta or cursor; 0 where the layout has none
     * @param key the key, or null
     * @param count SCAN's count
     * @param tail version, token, value, suffix or prefix
     */
    record Frame(byte opcode, long number, byte[] key, int count, byte[] tail) {
        Ttl ttl() {
            return number == 0 ? Ttl.persistent() : Ttl.ofMillis(number);
        }

        /** The frame as a command, for pipelines. */
        Command<?> command() {
            return switch (opcode) {
                case Wire.PING -> Command.ping();
                case Wire.HELLO -> Command.hello(tail[0]);
                case Wire.AUTH -> Command.auth(tail);
                case Wire.GET -> Command.get(key);
                case Wire.SET -> number == 0 ? Command.set(key, tail) : Command.set(key, tail, ttl());
                case Wire.DEL -> Command.del(key);
                case Wire.EXPIRE -> Command.expire(key, ttl());
                case Wire.TTL -> Command.ttl(key);
                case Wire.STATS -> Command.stats();
                case Wire.ADD -> number == 0 ? Command.add(key, tail) : Command.add(key, tail, ttl());
                case Wire.REPLACE -> number == 0 ? Command.replace(key, tail) : Command.replace(key, tail, ttl());
                case Wire.INCR -> Command.incr(key, number);
                case Wire.APPEND -> Command.append(key, tail);
                case Wire.FLUSH -> Command.flush();
                case Wire.SCAN -> Command.scan(number, count, tail);
                default -> throw new IllegalStateException("opcode " + opcode);
            };
        }

        /** The frame as a direct call of the connection's API, for single-frame steps. */
        Function<BlinkConnection, Object> call() {
            return switch (opcode) {
                case Wire.PING -> c -> done(c::ping);
                case Wire.HELLO -> c -> c.hello(tail[0]);
                case Wire.AUTH -> c -> done(() -> c.auth(tail));
                case Wire.GET -> c -> c.get(key);
                case Wire.SET -> c -> done(() -> {
                    if (number == 0) {
                        c.set(key, tail);
                    } else {
                        c.set(key, tail, ttl());
                    }
                });
                case Wire.DEL -> c -> c.del(key);
                case Wire.EXPIRE -> c -> c.expire(key, ttl());
                case Wire.TTL -> c -> c.ttl(key);
                case Wire.STATS -> BlinkConnection::stats;
                case Wire.ADD -> c -> number == 0 ? c.add(key, tail) : c.add(key, tail, ttl());
                case Wire.REPLACE -> c -> number == 0 ? c.replace(key, tail) : c.replace(key, tail, ttl());
                case Wire.INCR -> c -> c.incr(key, number);
                case Wire.APPEND -> c -> c.append(key, tail);
                case Wire.FLUSH -> c -> done(c::flush);
                case Wire.SCAN -> c -> c.scan(number, count, tail);
                default -> throw new IllegalStateException("opcode " + opcode);
            };
        }

        private static Object done(Runnable call) {
            call.run();
            return null;
        }
    }

    /** The frames of {@code bytes}, or null when the API cannot express one of them. */
    static List<Frame> decode(byte[] bytes) {
        List<Frame> frames = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(bytes);
        while (in.hasRemaining()) {
            if ((in.get(in.position()) & 0xFF) >= 0x20 || in.remaining() < 4) {
                return null;
            }
            int len = in.getInt();
            if (len <= 0 || in.remaining() < len) {
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
        long number = 0;
        switch (opcode) {
            case Wire.PING, Wire.STATS, Wire.FLUSH -> {
                return payload.hasRemaining() ? null : new Frame(opcode, 0, null, 0, new byte[0]);
            }
            case Wire.HELLO -> {
                int version = payload.remaining() == 1 ? payload.get() : -1;
                boolean spoken = version >= 1 && version <= Wire.PROTOCOL_VERSION;
                return spoken ? new Frame(opcode, 0, null, 0, new byte[] {(byte) version}) : null;
            }
            case Wire.AUTH -> {
                byte[] token = rest(payload);
                return token.length <= ConnectionConfig.MAX_TOKEN_BYTES ? new Frame(opcode, 0, null, 0, token) : null;
            }
            case Wire.SCAN -> {
                if (payload.remaining() < 10) {
                    return null;
                }
                long cursor = payload.getLong();
                return new Frame(opcode, cursor, null, Short.toUnsignedInt(payload.getShort()), rest(payload));
            }
            case Wire.SET, Wire.EXPIRE, Wire.ADD, Wire.REPLACE, Wire.INCR -> {
                if (payload.remaining() < 8) {
                    return null;
                }
                number = payload.getLong();
            }
            case Wire.GET, Wire.DEL, Wire.TTL, Wire.APPEND -> {
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
        byte[] key = Arrays.copyOfRange(payload.array(), payload.position(), payload.position() + keyLen);
        payload.position(payload.position() + keyLen);
        byte[] tail = rest(payload);
        boolean hasTail = opcode == Wire.SET || opcode == Wire.ADD || opcode == Wire.REPLACE || opcode == Wire.APPEND;
        return hasTail || tail.length == 0 ? new Frame(opcode, number, key, 0, tail) : null;
    }

    private static byte[] rest(ByteBuffer payload) {
        byte[] rest = new byte[payload.remaining()];
        payload.get(rest);
        return rest;
    }
}

package dev.blinkstore.client;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The Blink wire format, versions 1 and 2 (protocol/SPEC.md §3, §5, §6): encoding requests,
 * decoding reply frames incrementally, and reading the bodies that are more than one number (the
 * SCAN page). Nothing else in the client knows a byte offset.
 *
 * <pre>
 * request:  | len: u32 | opcode: u8 | [number: u64] | [key_len: u16 | key] | [count: u16] | tail |
 * reply:    | len: u32 | status: u8 | body                                                      |
 *             4          1            len - 1
 * SCAN body:           | next_cursor: u64 | (key_len: u16 | key)*  filling the body exactly      |
 * </pre>
 *
 * <p>{@code number} is SET's, ADD's, REPLACE's and EXPIRE's {@code ttl_ms}, INCR's {@code delta}
 * (two's complement) or SCAN's {@code cursor}; the key is present for GET, SET, DEL, EXPIRE, TTL,
 * ADD, REPLACE, INCR and APPEND; {@code count} for SCAN only; the tail is the HELLO version byte,
 * the AUTH token, the SET/ADD/REPLACE value, the APPEND suffix or the SCAN prefix. A reply's first
 * byte is checked before the rest of its header arrives, and its length before its body arrives
 * (SPEC §3.1, §13), so an invalid or oversized frame is refused without buffering it.
 */
final class Wire {
    /** Bytes of the length prefix of every frame. */
    static final int HEADER_BYTES = 4;
    /** The highest {@code max_frame_bytes} any server may report (SPEC §4). */
    static final int FRAME_BYTES_CEILING = 0x1000_0000;
    /** The request frame limit of a connection that must still AUTH (SPEC §11). */
    static final int PRE_AUTH_FRAME_BYTES = 4096;
    /** The highest protocol version this client speaks: what its HELLO carries (SPEC §10). */
    static final int PROTOCOL_VERSION = 2;
    /** The first version with ADD, REPLACE, INCR, APPEND, FLUSH and SCAN. */
    static final int VERSION_2 = 2;
    /** Bytes of INCR's and APPEND's OK body: one i64 or u64. */
    static final int NUMBER_BODY_BYTES = 8;
    /** A valid frame's first byte is below this (SPEC §3.1). */
    private static final int FIRST_BYTE_LIMIT = 0x20;

    static final byte PING = 0x01;
    static final byte HELLO = 0x02;
    static final byte AUTH = 0x03;
    static final byte GET = 0x10;
    static final byte SET = 0x11;
    static final byte DEL = 0x12;
    static final byte EXPIRE = 0x13;
    static final byte TTL = 0x14;
    static final byte ADD = 0x15;
    static final byte REPLACE = 0x16;
    static final byte INCR = 0x17;
    static final byte APPEND = 0x18;
    static final byte STATS = 0x20;
    static final byte FLUSH = 0x21;
    static final byte SCAN = 0x22;

    private Wire() {}

    /**
     * One request's fields, in wire order.
     *
     * @param opcode the SPEC §5 opcode
     * @param number the u64/i64 field (ttl_ms, delta or cursor), written only where the layout has it
     * @param key the key, or {@code null} for commands without one
     * @param count SCAN's page size hint, 0 to 65535, written for SCAN only
     * @param tail the bytes at the end (version, token, value, suffix or prefix), possibly empty
     */
    record Request(byte opcode, long number, byte[] key, int count, byte[] tail) {
        Request {
            Objects.requireNonNull(tail, "tail");
            if (count < 0 || count > 0xFFFF) {
                throw new IllegalArgumentException("count " + count + " is not a u16");
            }
        }

        /** A request without a SCAN count. */
        Request(byte opcode, long number, byte[] key, byte[] tail) {
            this(opcode, number, key, 0, tail);
        }

        /** The payload length: everything after the 4-byte header. */
        int payloadBytes() {
            return 1 + (hasNumber(opcode) ? 8 : 0) + (key == null ? 0 : 2 + key.length)
                    + (opcode == SCAN ? 2 : 0) + tail.length;
        }

        /** The whole frame length, header included. */
        int frameBytes() {
            return HEADER_BYTES + payloadBytes();
        }

        /** Whether the tail is a stored value (SET, ADD, REPLACE) or a suffix (APPEND): {@code max_value_bytes} bounds it. */
        boolean tailIsValue() {
            return opcode == SET || opcode == ADD || opcode == REPLACE || opcode == APPEND;
        }

        /** The lowest protocol version that has this command. */
        int sinceVersion() {
            return switch (opcode) {
                case ADD, REPLACE, INCR, APPEND, FLUSH, SCAN -> VERSION_2;
                default -> 1;
            };
        }
    }

    private static boolean hasNumber(byte opcode) {
        return switch (opcode) {
            case SET, EXPIRE, ADD, REPLACE, INCR, SCAN -> true;
            default -> false;
        };
    }

    /** Appends the frame of {@code request} to {@code out}, which has room for it. */
    static void encode(Request request, ByteBuffer out) {
        out.putInt(request.payloadBytes()).put(request.opcode());
        if (hasNumber(request.opcode())) {
            out.putLong(request.number());
        }
        if (request.key() != null) {
            out.putShort((short) request.key().length).put(request.key());
        }
        if (request.opcode() == SCAN) {
            out.putShort((short) request.count());
        }
        out.put(request.tail());
    }

    /**
     * Decodes the reply frame at {@code in}'s position.
     *
     * @param in the received bytes between position and limit
     * @param maxFrameBytes the largest reply length accepted
     * @return the reply, with the position advanced past it; or {@code null} when the frame is
     *     incomplete, with the position unchanged
     * @throws ProtocolException when the bytes cannot be a valid reply frame
     */
    static Reply decodeReply(ByteBuffer in, int maxFrameBytes) {
        int start = in.position();
        int available = in.remaining();
        if (available == 0) {
            return null;
        }
        int first = in.get(start) & 0xFF;
        if (first >= FIRST_BYTE_LIMIT) {
            throw new ProtocolException(String.format(
                    "reply starts with byte 0x%02x: not a Blink frame (lost frame boundary?)", first));
        }
        if (available < HEADER_BYTES) {
            return null;
        }
        long len = Integer.toUnsignedLong(in.getInt(start));
        if (len == 0) {
            throw new ProtocolException("reply frame of length 0");
        }
        if (len > maxFrameBytes) {
            throw new ProtocolException(
                    "reply frame of " + len + " bytes exceeds the server's max_frame_bytes " + maxFrameBytes);
        }
        if (available < HEADER_BYTES + len) {
            return null;
        }
        int status = in.get(start + HEADER_BYTES) & 0xFF;
        byte[] body = new byte[(int) len - 1];
        in.get(start + HEADER_BYTES + 1, body);
        in.position(start + HEADER_BYTES + (int) len);
        return new Reply(status, body);
    }

    /**
     * Reads an OK body that is one 8-byte number: INCR's i64 value or APPEND's u64 length.
     *
     * @throws ProtocolException when the body is not 8 bytes
     */
    static long decodeNumberBody(byte[] body, String command) {
        if (body.length != NUMBER_BODY_BYTES) {
            throw new ProtocolException(command + " reply body of " + body.length + " bytes, want " + NUMBER_BODY_BYTES);
        }
        return ByteBuffer.wrap(body).getLong();
    }

    /**
     * Reads SCAN's OK body (SPEC §6.3): the next cursor, then each key behind its u16 length,
     * filling the body exactly.
     *
     * @throws ProtocolException when the body is shorter than the cursor or a key overruns it
     */
    static ScanPage decodeScanBody(byte[] body) {
        if (body.length < 8) {
            throw new ProtocolException("SCAN reply body of " + body.length + " bytes, shorter than its cursor");
        }
        ByteBuffer in = ByteBuffer.wrap(body);
        long nextCursor = in.getLong();
        List<byte[]> keys = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 2) {
                throw new ProtocolException("SCAN reply body ends inside a key length");
            }
            int keyLen = Short.toUnsignedInt(in.getShort());
            if (in.remaining() < keyLen) {
                throw new ProtocolException("SCAN reply key of " + keyLen + " bytes overruns the body by "
                        + (keyLen - in.remaining()));
            }
            byte[] key = new byte[keyLen];
            in.get(key);
            keys.add(key);
        }
        return new ScanPage(nextCursor, Collections.unmodifiableList(keys));
    }
}

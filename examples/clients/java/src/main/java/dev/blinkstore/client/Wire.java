package dev.blinkstore.client;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The Blink v1 wire format (protocol/SPEC.md §3, §5, §6): encoding requests and decoding reply
 * frames incrementally. Nothing else in the client knows a byte offset.
 *
 * <pre>
 * request:  | len: u32 | opcode: u8 | [ttl_ms: u64] | [key_len: u16 | key] | tail       |
 * reply:    | len: u32 | status: u8 | body                                               |
 *             4          1            len - 1
 * </pre>
 *
 * <p>{@code ttl_ms} is present for SET and EXPIRE, the key for GET, SET, DEL, EXPIRE and TTL;
 * the tail is the HELLO version byte, the AUTH token or the SET value. A reply's first byte is
 * checked before the rest of its header arrives, and its length before its body arrives
 * (SPEC §3.1, §13), so an invalid or oversized frame is refused without buffering it.
 */
final class Wire {
    /** Bytes of the length prefix of every frame. */
    static final int HEADER_BYTES = 4;
    /** The highest {@code max_frame_bytes} any v1 server may report (SPEC §4). */
    static final int FRAME_BYTES_CEILING = 0x1000_0000;
    /** The request frame limit of a connection that must still AUTH (SPEC §11). */
    static final int PRE_AUTH_FRAME_BYTES = 4096;
    /** The protocol version this client speaks. */
    static final int PROTOCOL_VERSION = 1;
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
    static final byte STATS = 0x20;

    private Wire() {}

    /**
     * One request's fields, in wire order.
     *
     * @param opcode the SPEC §5 opcode
     * @param ttlMs the unsigned TTL, written for SET and EXPIRE only
     * @param key the key, or {@code null} for commands without one
     * @param tail the bytes after the key (version, token or value), possibly empty
     */
    record Request(byte opcode, long ttlMs, byte[] key, byte[] tail) {
        Request {
            Objects.requireNonNull(tail, "tail");
        }

        /** The payload length: everything after the 4-byte header. */
        int payloadBytes() {
            return 1 + (hasTtl(opcode) ? 8 : 0) + (key == null ? 0 : 2 + key.length) + tail.length;
        }

        /** The whole frame length, header included. */
        int frameBytes() {
            return HEADER_BYTES + payloadBytes();
        }
    }

    private static boolean hasTtl(byte opcode) {
        return opcode == SET || opcode == EXPIRE;
    }

    /** Appends the frame of {@code request} to {@code out}, which has room for it. */
    static void encode(Request request, ByteBuffer out) {
        out.putInt(request.payloadBytes()).put(request.opcode());
        if (hasTtl(request.opcode())) {
            out.putLong(request.ttlMs());
        }
        if (request.key() != null) {
            out.putShort((short) request.key().length).put(request.key());
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
}

package dev.blinkstore.client;

import java.nio.ByteBuffer;

/**
 * The server's answer to HELLO (SPEC §6.3, §10): the negotiated version, whether this
 * connection must still AUTH, and the limits that apply after authentication.
 *
 * @param version the negotiated protocol version: 1 (the server has no version-2 commands) or 2
 * @param authRequired whether this connection must still send AUTH
 * @param limits the server's limits
 */
public record HelloReply(int version, boolean authRequired, Limits limits) {
    /** Bytes of the HELLO body of versions 1 and 2: version, flags, three u32 limits (later versions may append). */
    private static final int BODY_BYTES = 14;
    private static final int FLAG_AUTH_REQUIRED = 0x01;

    /**
     * Parses a HELLO OK body; a version this client does not speak (0, or above 2) or a short body
     * is a protocol error, which closes the connection (SPEC §10).
     */
    static HelloReply parse(byte[] body) {
        if (body.length < BODY_BYTES) {
            throw new ProtocolException("HELLO reply body of " + body.length + " bytes, want " + BODY_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(body);
        int version = in.get() & 0xFF;
        if (version < 1 || version > Wire.PROTOCOL_VERSION) {
            throw new ProtocolException("the server negotiated protocol version " + version
                    + "; this client speaks 1 to " + Wire.PROTOCOL_VERSION);
        }
        boolean authRequired = (in.get() & FLAG_AUTH_REQUIRED) != 0;
        Limits limits = new Limits(limit(in, "max_frame_bytes"), limit(in, "max_key_bytes"), limit(in, "max_value_bytes"));
        return new HelloReply(version, authRequired, limits);
    }

    private static int limit(ByteBuffer in, String name) {
        long value = Integer.toUnsignedLong(in.getInt());
        if (value > Wire.FRAME_BYTES_CEILING) {
            throw new ProtocolException("HELLO reports " + name + " " + value + ", above the protocol's ceiling");
        }
        return (int) value;
    }
}

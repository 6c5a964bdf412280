package dev.blinkstore.client;

/**
 * The server's size limits as HELLO reports them (SPEC §4), in bytes. The client checks every
 * key and value against them before sending.
 *
 * @param maxFrameBytes largest request payload, and largest reply
 * @param maxKeyBytes largest key
 * @param maxValueBytes largest SET, ADD or REPLACE value and APPEND suffix (and APPEND result)
 */
public record Limits(int maxFrameBytes, int maxKeyBytes, int maxValueBytes) {
    /** The widest limits SPEC §4 allows: what a client assumes before HELLO answers. */
    static final Limits CEILING = new Limits(Wire.FRAME_BYTES_CEILING, 65_535, Wire.FRAME_BYTES_CEILING);
}

package dev.blinkstore.client;

/**
 * A SET, ADD or REPLACE value or an APPEND suffix longer than the server accepts: {@code
 * max_value_bytes}, or what is left of the frame limit after the key (SPEC §4), refused before
 * sending or by the server (SPEC §13 ERR_VALUE_TOO_LARGE). The server also sends it for an APPEND
 * whose result would exceed {@code max_value_bytes}, and for a SCAN page that cannot fit a reply.
 */
public final class ValueTooLargeException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    ValueTooLargeException(String message, Status status) {
        super(message, status);
    }
}

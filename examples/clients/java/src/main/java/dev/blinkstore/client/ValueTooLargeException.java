package dev.blinkstore.client;

/** A SET value longer than the server accepts: {@code max_value_bytes}, or what is left of the frame limit after the key (SPEC §4), refused before sending or by the server (SPEC §13 ERR_VALUE_TOO_LARGE). */
public final class ValueTooLargeException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    ValueTooLargeException(String message, Status status) {
        super(message, status);
    }
}

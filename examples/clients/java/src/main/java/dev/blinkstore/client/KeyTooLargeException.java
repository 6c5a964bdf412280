package dev.blinkstore.client;

/** A key longer than the server's {@code max_key_bytes}, refused before sending (the limits HELLO reported) or by the server (SPEC §13 ERR_KEY_TOO_LARGE). */
public final class KeyTooLargeException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    KeyTooLargeException(String message, Status status) {
        super(message, status);
    }
}

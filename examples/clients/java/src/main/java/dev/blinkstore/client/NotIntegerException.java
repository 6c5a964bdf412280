package dev.blinkstore.client;

/**
 * INCR of a value that is not a decimal integer in the signed 64-bit range (SPEC §5.1), or whose
 * result would leave that range (SPEC §13 ERR_NOT_INTEGER). Nothing changed; the connection stays
 * usable.
 */
public final class NotIntegerException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    NotIntegerException(String message) {
        super(message, Status.ERR_NOT_INTEGER);
    }
}

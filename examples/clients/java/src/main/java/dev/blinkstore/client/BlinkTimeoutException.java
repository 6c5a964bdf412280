package dev.blinkstore.client;

/**
 * A connect, write or reply took longer than its configured timeout. The connection was closed
 * at once, so a late reply can never be read by a later call.
 */
public final class BlinkTimeoutException extends ConnectionLostException {
    private static final long serialVersionUID = 1L;

    BlinkTimeoutException(String message) {
        super(message, null, null);
    }
}

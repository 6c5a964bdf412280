package dev.blinkstore.client;

/**
 * The server refused the token (SPEC §13 ERR_AUTH_FAILED) and closed the connection. This is a
 * configuration error: a pool does not reconnect in a loop after it.
 */
public final class AuthFailedException extends BlinkException {
    private static final long serialVersionUID = 1L;

    AuthFailedException(String message) {
        super(message, Status.ERR_AUTH_FAILED, null);
    }
}

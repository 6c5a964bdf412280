package dev.blinkstore.client;

/** The server has a token and this connection has not authenticated (SPEC §13 ERR_AUTH_REQUIRED): configure the token. */
public final class AuthRequiredException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    AuthRequiredException(String message) {
        super(message, Status.ERR_AUTH_REQUIRED);
    }
}

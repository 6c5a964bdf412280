package dev.blinkstore.client;

/**
 * The connection is closed: every request still waiting for its reply fails with this, and
 * may or may not have run on the server (SPEC §8). Retry only what is safe to repeat. The
 * connection is never reused.
 */
public abstract sealed class ConnectionLostException extends BlinkException
        permits ConnectionClosedException, ServerUnavailableException, BlinkTimeoutException,
                ProtocolException {
    private static final long serialVersionUID = 1L;

    ConnectionLostException(String message, Status status, Throwable cause) {
        super(message, status, cause);
    }
}

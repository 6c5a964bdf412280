package dev.blinkstore.client;

/**
 * The server closed the connection with a status that says "back off, then reconnect"
 * (SPEC §13): ERR_TOO_MANY_CONNECTIONS, ERR_BUSY, ERR_SHUTTING_DOWN, or its own ERR_TIMEOUT.
 * Retryable after a backoff; a pool delays its next connect accordingly.
 */
public final class ServerUnavailableException extends ConnectionLostException {
    private static final long serialVersionUID = 1L;

    ServerUnavailableException(String message, Status status) {
        super(message, status, null);
    }
}

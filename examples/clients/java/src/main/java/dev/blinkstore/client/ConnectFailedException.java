package dev.blinkstore.client;

/**
 * No connection could be opened: the endpoint refused or was unreachable, or a pool is waiting
 * out its reconnect backoff after earlier failures (the cause is the last one). Nothing was
 * sent, so the call is safe to retry.
 */
public final class ConnectFailedException extends BlinkException {
    private static final long serialVersionUID = 1L;

    ConnectFailedException(String message, Throwable cause) {
        super(message, null, cause);
    }
}

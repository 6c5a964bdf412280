package dev.blinkstore.client;

/**
 * The connection closed before the reply arrived: the peer closed it, an I/O error broke it,
 * an earlier reply on it closed it, or the caller closed it. The outcome of the request is
 * unknown. The cause, when present, is what closed it.
 */
public final class ConnectionClosedException extends ConnectionLostException {
    private static final long serialVersionUID = 1L;

    ConnectionClosedException(String message, Throwable cause) {
        super(message, null, cause);
    }
}

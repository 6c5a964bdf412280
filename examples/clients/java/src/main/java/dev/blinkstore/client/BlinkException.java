package dev.blinkstore.client;

import java.util.Optional;

/**
 * Every failure this client reports, sealed so callers can match on SPEC §13's classes:
 *
 * <ul>
 *   <li>{@link RequestRefusedException}: the request was refused, locally before sending or by
 *       the server; it did not run, and the connection stays usable.
 *   <li>{@link ConnectionLostException}: the connection is gone (closed, timed out, protocol
 *       error, server pushing back); a request in flight may or may not have run.
 *   <li>{@link AuthFailedException}: the token is wrong, a configuration error.
 *   <li>{@link ConnectFailedException}: no connection could be opened, nothing was sent.
 *   <li>{@link PoolExhaustedException}: no pooled connection became free in time.
 * </ul>
 *
 * <p>"Not found" is never an exception: it is an empty {@code Optional} or {@code false}.
 */
public abstract sealed class BlinkException extends RuntimeException
        permits RequestRefusedException, ConnectionLostException, AuthFailedException,
                ConnectFailedException, PoolExhaustedException {
    private static final long serialVersionUID = 1L;

    /** The server's status behind this error; {@code null} when it arose in the client. */
    private final Status status;

    BlinkException(String message, Status status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The reply status that caused this error, or empty when the client decided it. */
    public Optional<Status> status() {
        return Optional.ofNullable(status);
    }
}

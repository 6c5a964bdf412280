package dev.blinkstore.client;

/**
 * A command this server does not support (SPEC §13 ERR_UNKNOWN_COMMAND), or a version-2 command on
 * a connection that negotiated version 1, refused before sending ({@link #refusedLocally()}: SPEC
 * §10, §14). The connection stays usable.
 */
public final class UnknownCommandException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    UnknownCommandException(String message, Status status) {
        super(message, status);
    }
}

package dev.blinkstore.client;

/** A command this server does not support (SPEC §13 ERR_UNKNOWN_COMMAND); the connection stays usable. */
public final class UnknownCommandException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    UnknownCommandException(String message) {
        super(message, Status.ERR_UNKNOWN_COMMAND);
    }
}

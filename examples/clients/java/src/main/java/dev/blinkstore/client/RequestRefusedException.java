package dev.blinkstore.client;

/**
 * A request that did not run and that retrying unchanged cannot fix; the connection stays
 * usable (SPEC §13: key, value or item too large, unknown command, AUTH required, not an
 * integer).
 */
public abstract sealed class RequestRefusedException extends BlinkException
        permits KeyTooLargeException, ValueTooLargeException, ItemTooLargeException,
                UnknownCommandException, AuthRequiredException, NotIntegerException {
    private static final long serialVersionUID = 1L;

    RequestRefusedException(String message, Status status) {
        super(message, status, null);
    }

    /** True when the client refused the request before sending anything. */
    public boolean refusedLocally() {
        return status().isEmpty();
    }
}

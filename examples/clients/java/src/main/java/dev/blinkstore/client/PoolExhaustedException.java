package dev.blinkstore.client;

/**
 * Every pooled connection stayed in use for the whole borrow timeout (or the waiting thread was
 * interrupted). Nothing was sent. The message carries the pool's metrics at that moment.
 */
public final class PoolExhaustedException extends BlinkException {
    private static final long serialVersionUID = 1L;

    PoolExhaustedException(String message) {
        super(message, null, null);
    }
}

package dev.blinkstore.client;

/**
 * A pooled connection and the times the pool judges it by: when it must retire (its lifetime,
 * jittered), when a borrower last used it (its idle time, which retires surplus connections) and
 * when the server last answered on it (its silence, which decides a PING). A keepalive PING
 * ends the silence but not the idleness, so a kept-alive surplus connection still retires. The
 * two times are written only under the pool's lock or by the one thread that holds the entry.
 * It also keeps the protocol version the pool negotiated, which every borrower may expect.
 */
final class PoolEntry {
    private final BlinkConnection connection;
    private final long retireAtNanos;
    private final int openedAtVersion;
    private long lastUsedNanos;
    private long lastHeardNanos;

    PoolEntry(BlinkConnection connection, long createdNanos, long lifetimeNanos) {
        this.connection = connection;
        this.retireAtNanos = createdNanos + lifetimeNanos;
        this.openedAtVersion = connection.version();
        this.lastUsedNanos = createdNanos;
        this.lastHeardNanos = createdNanos;
    }

    BlinkConnection connection() {
        return connection;
    }

    boolean pastLifetime(long nowNanos) {
        return nowNanos - retireAtNanos >= 0;
    }

    /** Whether it still speaks the version it was opened with (a borrower may send HELLO). */
    boolean atOpenedVersion() {
        return connection.version() == openedAtVersion;
    }

    long idleNanos(long nowNanos) {
        return nowNanos - lastUsedNanos;
    }

    long silentNanos(long nowNanos) {
        return nowNanos - lastHeardNanos;
    }

    /** A borrower gave it back: used, and heard from as far as the pool knows. */
    void markUsed(long nowNanos) {
        lastUsedNanos = nowNanos;
        lastHeardNanos = nowNanos;
    }

    /** The server answered a PING on it: alive, but not used. */
    void markHeard(long nowNanos) {
        lastHeardNanos = nowNanos;
    }
}

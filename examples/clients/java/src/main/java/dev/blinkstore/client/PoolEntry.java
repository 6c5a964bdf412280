package dev.blinkstore.client;

/**
 * A pooled connection and the times the pool judges it by: when it must retire (its lifetime,
 * jittered) and when it was last used (its idle time). {@code lastUsedNanos} is written only
 * under the pool's lock or by the one thread that holds the entry.
 */
final class PoolEntry {
    private final BlinkConnection connection;
    private final long retireAtNanos;
    private long lastUsedNanos;

    PoolEntry(BlinkConnection connection, long createdNanos, long lifetimeNanos) {
        this.connection = connection;
        this.retireAtNanos = createdNanos + lifetimeNanos;
        this.lastUsedNanos = createdNanos;
    }

    BlinkConnection connection() {
        return connection;
    }

    boolean pastLifetime(long nowNanos) {
        return nowNanos - retireAtNanos >= 0;
    }

    long idleNanos(long nowNanos) {
        return nowNanos - lastUsedNanos;
    }

    void markUsed(long nowNanos) {
        lastUsedNanos = nowNanos;
    }
}

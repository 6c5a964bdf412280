package dev.blinkstore.client;

import java.time.Duration;
import java.util.Optional;

/**
 * The pool's settings, each named by what it protects against (in the manner of HikariCP).
 * Build with {@link #builder()}; the README's pooling guide says how to size them.
 *
 * @param maxConnections the most connections open at once, idle or in use: bounds the load on
 *     the server and the sockets used
 * @param minIdle connections kept open and idle, ready for a burst: spares callers the connect
 *     latency (at most {@code maxConnections})
 * @param borrowTimeout the longest a borrower waits for a free connection before
 *     {@link PoolExhaustedException}: never wait forever
 * @param pingAfterIdle an idle connection nothing was heard on for this long is checked with
 *     PING before reuse and kept alive by the housekeeper: a connection that died silently while
 *     idle, and the server's {@code --idle-timeout-ms} (keep it below)
 * @param maxIdleTime idle connections beyond {@code minIdle} that no borrower used for this long
 *     are closed (keepalive PINGs are not use): a pool that grew for a burst shrinks again
 * @param maxLifetime every connection is retired after this long (minus up to 2.5% jitter, so
 *     they do not all reconnect at once): stale routes, servers replaced behind an address
 * @param leakDetectionThreshold a connection borrowed longer than this is logged with the
 *     borrower's stack: code that forgets to close what it borrowed (empty: off)
 * @param reconnectBackoffMin the first wait after a failed connect, doubling per failure:
 *     reconnect storms against a server that is down or pushing back
 * @param reconnectBackoffMax the cap of that wait, and the wait after a wrong token
 * @param housekeepingInterval how often idle connections are retired, kept alive, topped up to
 *     {@code minIdle}, and leaks reported
 */
public record PoolConfig(
        int maxConnections,
        int minIdle,
        Duration borrowTimeout,
        Duration pingAfterIdle,
        Duration maxIdleTime,
        Duration maxLifetime,
        Optional<Duration> leakDetectionThreshold,
        Duration reconnectBackoffMin,
        Duration reconnectBackoffMax,
        Duration housekeepingInterval) {
    /** Validates the settings against each other. */
    public PoolConfig {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, got " + maxConnections);
        }
        if (minIdle < 0 || minIdle > maxConnections) {
            throw new IllegalArgumentException("minIdle must be in [0, maxConnections], got " + minIdle);
        }
        ConnectionConfig.requirePositive(borrowTimeout, "borrowTimeout");
        ConnectionConfig.requirePositive(pingAfterIdle, "pingAfterIdle");
        ConnectionConfig.requirePositive(maxIdleTime, "maxIdleTime");
        ConnectionConfig.requirePositive(maxLifetime, "maxLifetime");
        leakDetectionThreshold.ifPresent(t -> ConnectionConfig.requirePositive(t, "leakDetectionThreshold"));
        ConnectionConfig.requirePositive(reconnectBackoffMin, "reconnectBackoffMin");
        ConnectionConfig.requirePositive(reconnectBackoffMax, "reconnectBackoffMax");
        if (reconnectBackoffMax.compareTo(reconnectBackoffMin) < 0) {
            throw new IllegalArgumentException("reconnectBackoffMax is below reconnectBackoffMin");
        }
        ConnectionConfig.requirePositive(housekeepingInterval, "housekeepingInterval");
    }

    /**
     * A builder with defaults: 8 connections, 2 warm, borrow timeout 2 s, PING after 30 s idle,
     * max idle time 10 min, max lifetime 30 min, no leak detection, reconnect backoff 50 ms
     * doubling to 2 s, housekeeping every 5 s.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link PoolConfig}; every setter documents itself on the record component. */
    public static final class Builder {
        private int maxConnections = 8;
        private int minIdle = 2;
        private Duration borrowTimeout = Duration.ofSeconds(2);
        private Duration pingAfterIdle = Duration.ofSeconds(30);
        private Duration maxIdleTime = Duration.ofMinutes(10);
        private Duration maxLifetime = Duration.ofMinutes(30);
        private Duration leakDetectionThreshold;
        private Duration reconnectBackoffMin = Duration.ofMillis(50);
        private Duration reconnectBackoffMax = Duration.ofSeconds(2);
        private Duration housekeepingInterval = Duration.ofSeconds(5);

        private Builder() {}

        /** See {@link PoolConfig#maxConnections()}. */
        public Builder maxConnections(int value) {
            maxConnections = value;
            return this;
        }

        /** See {@link PoolConfig#minIdle()}. */
        public Builder minIdle(int value) {
            minIdle = value;
            return this;
        }

        /** See {@link PoolConfig#borrowTimeout()}. */
        public Builder borrowTimeout(Duration value) {
            borrowTimeout = value;
            return this;
        }

        /** See {@link PoolConfig#pingAfterIdle()}. */
        public Builder pingAfterIdle(Duration value) {
            pingAfterIdle = value;
            return this;
        }

        /** See {@link PoolConfig#maxIdleTime()}. */
        public Builder maxIdleTime(Duration value) {
            maxIdleTime = value;
            return this;
        }

        /** See {@link PoolConfig#maxLifetime()}. */
        public Builder maxLifetime(Duration value) {
            maxLifetime = value;
            return this;
        }

        /** See {@link PoolConfig#leakDetectionThreshold()}. */
        public Builder leakDetectionThreshold(Duration value) {
            leakDetectionThreshold = value;
            return this;
        }

        /** See {@link PoolConfig#reconnectBackoffMin()} and {@link PoolConfig#reconnectBackoffMax()}. */
        public Builder reconnectBackoff(Duration min, Duration max) {
            reconnectBackoffMin = min;
            reconnectBackoffMax = max;
            return this;
        }

        /** See {@link PoolConfig#housekeepingInterval()}. */
        public Builder housekeepingInterval(Duration value) {
            housekeepingInterval = value;
            return this;
        }

        /** The validated configuration. */
        public PoolConfig build() {
            return new PoolConfig(maxConnections, minIdle, borrowTimeout, pingAfterIdle, maxIdleTime, maxLifetime,
                    Optional.ofNullable(leakDetectionThreshold), reconnectBackoffMin, reconnectBackoffMax,
                    housekeepingInterval);
        }
    }
}

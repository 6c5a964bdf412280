package dev.blinkstore.client;

import java.time.Duration;

/**
 * A key's time to live: {@link Persistent} (no TTL) or {@link Millis} (expires after that many
 * milliseconds). Used to give a TTL (SET, EXPIRE) and to read one back (TTL). The protocol's
 * TTLs are unsigned 64-bit milliseconds (SPEC §9), so {@link Millis} holds an unsigned
 * {@code long}; on the wire, 0 means "no TTL", which is why {@code Millis} never holds 0.
 */
public sealed interface Ttl permits Ttl.Persistent, Ttl.Millis {
    /** No TTL: the key lives until deleted or evicted. */
    static Ttl persistent() {
        return Persistent.INSTANCE;
    }

    /**
     * A TTL of {@code unsignedMillis} milliseconds, read as unsigned: {@code -1L} is
     * 2<sup>64</sup> − 1, "practically never" (SPEC §9).
     *
     * @throws IllegalArgumentException for 0, which is not a TTL (use {@link #persistent()})
     */
    static Ttl ofMillis(long unsignedMillis) {
        return new Millis(unsignedMillis);
    }

    /**
     * A TTL of {@code duration}, rounded up to whole milliseconds (saturating at the largest).
     *
     * @throws IllegalArgumentException when it is zero or negative
     */
    static Ttl of(Duration duration) {
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("a TTL must be positive, got " + duration);
        }
        try {
            return new Millis(duration.plusNanos(999_999).toMillis());
        } catch (ArithmeticException beyondSignedMillis) {
            return new Millis(-1L); // saturate, as the server does (SPEC §9)
        }
    }

    /** No TTL. */
    record Persistent() implements Ttl {
        private static final Persistent INSTANCE = new Persistent();
    }

    /**
     * A TTL, or the time left of one.
     *
     * @param unsignedMillis milliseconds as an unsigned 64-bit integer, never 0
     */
    record Millis(long unsignedMillis) implements Ttl {
        /** Validates that the TTL is not 0. */
        public Millis {
            if (unsignedMillis == 0) {
                throw new IllegalArgumentException("a TTL of 0 ms means no TTL: use Ttl.persistent()");
            }
        }

        /** The same span as a {@code Duration}; every unsigned 64-bit count of milliseconds fits. */
        public Duration toDuration() {
            long seconds = Long.divideUnsigned(unsignedMillis, 1000);
            long millis = Long.remainderUnsigned(unsignedMillis, 1000);
            return Duration.ofSeconds(seconds, millis * 1_000_000);
        }

        @Override
        public String toString() {
            return "Millis[" + Long.toUnsignedString(unsignedMillis) + " ms]";
        }
    }
}

package dev.blinkstore.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When the pool may connect again after failures (CLIENTS.md, "reconnect storms"): after the
 * n-th consecutive failure it waits {@code min · 2^(n-1)}, capped at {@code max}, plus 0–200 ms
 * of jitter; meanwhile connects fail fast, and once the wait is over a single probe goes out
 * while the others keep failing fast. A wrong token waits the cap at once and stops the warm-up
 * until a connect succeeds: a configuration error is never a reconnect loop. Thread-safe.
 */
final class ReconnectBackoff {
    /** Spreads the reconnects of many clients that failed at the same moment. */
    private static final long JITTER_MAX_NANOS = Duration.ofMillis(200).toNanos();
    /** Doublings beyond this would overflow; the cap applies long before. */
    private static final int MAX_DOUBLINGS = 30;

    private final long minNanos;
    private final long maxNanos;
    private int failures;
    private long nextAttemptNanos;
    private boolean probing;
    private boolean authFailed;
    private BlinkException lastFailure;

    ReconnectBackoff(Duration min, Duration max) {
        this.minNanos = min.toNanos();
        this.maxNanos = max.toNanos();
    }

    /**
     * Admits one connect attempt; the caller reports it with {@link #succeeded()} or
     * {@link #failed(BlinkException)}.
     *
     * @throws ConnectFailedException while backing off, or while another probe is out
     */
    synchronized void beginAttempt() {
        if (failures == 0) {
            return;
        }
        long waitNanos = nextAttemptNanos - System.nanoTime();
        if (probing || waitNanos > 0) {
            String when = probing ? "another attempt is in progress" : "next attempt in " + Duration.ofNanos(waitNanos).toMillis() + " ms";
            throw new ConnectFailedException("not connecting after " + failures + " consecutive failures (" + when
                    + "); last: " + lastFailure.getMessage(), lastFailure);
        }
        probing = true;
    }

    synchronized void succeeded() {
        failures = 0;
        probing = false;
        authFailed = false;
        lastFailure = null;
    }

    /** Records a failed connect, or a server that pushed back on a connection in use. */
    synchronized void failed(BlinkException failure) {
        failures++;
        probing = false;
        authFailed = failure instanceof AuthFailedException;
        lastFailure = failure;
        long delay = authFailed ? maxNanos : Math.min(maxNanos, minNanos << Math.min(failures - 1, MAX_DOUBLINGS));
        nextAttemptNanos = System.nanoTime() + delay + ThreadLocalRandom.current().nextLong(JITTER_MAX_NANOS + 1);
    }

    /** Whether the background warm-up may connect now. */
    synchronized boolean mayWarm() {
        return failures == 0 || (!authFailed && !probing && System.nanoTime() - nextAttemptNanos >= 0);
    }
}

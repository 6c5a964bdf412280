package dev.blinkstore.client;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds borrowed connections that were not returned within the leak detection threshold and
 * logs each once, at WARNING on the {@code dev.blinkstore.client.BlinkPool} logger, with the
 * borrower's stack (HikariCP's {@code leakDetectionThreshold}). The stack is captured at borrow
 * time only while detection is on. Thread-safe.
 */
final class LeakDetector {
    private static final Logger LOG = Logger.getLogger(BlinkPool.class.getName());

    /** One borrow being watched. */
    static final class Lease {
        private final long borrowedNanos = System.nanoTime();
        private final Throwable borrowSite;
        private volatile boolean reported;

        private Lease(String thread) {
            borrowSite = new Throwable("connection borrowed here, by thread " + thread);
        }
    }

    private final long thresholdNanos;
    private final Set<Lease> leases = ConcurrentHashMap.newKeySet();

    /** A detector with {@code threshold}, or one that watches nothing when it is empty. */
    LeakDetector(Optional<Duration> threshold) {
        this.thresholdNanos = threshold.map(Duration::toNanos).orElse(0L);
    }

    /** Starts watching a borrow; {@code null} when detection is off. */
    Lease borrowed() {
        if (thresholdNanos == 0) {
            return null;
        }
        Lease lease = new Lease(Thread.currentThread().getName());
        leases.add(lease);
        return lease;
    }

    /** Stops watching a borrow once its connection is back. */
    void returned(Lease lease) {
        if (lease == null) {
            return;
        }
        leases.remove(lease);
        if (lease.reported) {
            LOG.info(() -> "a connection reported as a possible leak was returned after "
                    + Duration.ofNanos(System.nanoTime() - lease.borrowedNanos).toMillis() + " ms");
        }
    }

    /** Logs every borrow older than the threshold that was not reported yet. */
    void report() {
        long now = System.nanoTime();
        for (Lease lease : leases) {
            long heldNanos = now - lease.borrowedNanos;
            if (!lease.reported && heldNanos > thresholdNanos) {
                lease.reported = true;
                LOG.log(Level.WARNING, "possible connection leak: borrowed " + Duration.ofNanos(heldNanos).toMillis()
                        + " ms ago and not returned (leakDetectionThreshold " + Duration.ofNanos(thresholdNanos).toMillis()
                        + " ms); close it with try-with-resources", lease.borrowSite);
            }
        }
    }
}

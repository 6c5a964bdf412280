package dev.blinkstore.client;

import java.time.Duration;

/**
 * A snapshot of a {@link BlinkPool}: its connections now, and its counters since it was
 * created.
 *
 * @param active connections borrowed now
 * @param idle connections idle in the pool now
 * @param waiting borrowers waiting for a connection now
 * @param total connections open now, including ones being opened or checked
 * @param created connections opened
 * @param destroyed connections closed: broken, retired, failed validation, or at close
 * @param borrows borrows that got a connection
 * @param borrowTimeouts borrows that failed with {@link PoolExhaustedException}
 * @param connectAttempts connects tried (HELLO and AUTH included)
 * @param connectFailures connects that failed
 * @param borrowWaitTotal the time successful borrows took, summed
 * @param borrowWaitMax the longest a successful borrow took
 */
public record PoolMetrics(
        int active,
        int idle,
        int waiting,
        int total,
        long created,
        long destroyed,
        long borrows,
        long borrowTimeouts,
        long connectAttempts,
        long connectFailures,
        Duration borrowWaitTotal,
        Duration borrowWaitMax) {
    /** The mean time a successful borrow took. */
    public Duration borrowWaitMean() {
        return borrows == 0 ? Duration.ZERO : borrowWaitTotal.dividedBy(borrows);
    }
}

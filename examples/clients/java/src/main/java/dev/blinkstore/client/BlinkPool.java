package dev.blinkstore.client;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A thread-safe, bounded pool of {@link BlinkConnection}s, in the manner of JedisPool and
 * HikariCP. It owns every connection it opened and decides when each is handed out, kept,
 * checked or closed:
 *
 * <ul>
 *   <li>at most {@code maxConnections} open, idle or borrowed; a borrow waits at most
 *       {@code borrowTimeout}, then fails with {@link PoolExhaustedException};
 *   <li>before reuse, an idle connection must be within its lifetime, pass a non-blocking
 *       liveness read, and answer PING if nothing was heard on it for {@code pingAfterIdle};
 *   <li>a connection that broke while borrowed, or that a borrower took to another protocol
 *       version with HELLO, is closed on return, never reused;
 *   <li>a housekeeper thread retires old connections and surplus ones unused for
 *       {@code maxIdleTime} (its keepalive PINGs are not use), PINGs the others to keep them
 *       alive, opens connections up to {@code minIdle}, and reports leaks;
 *   <li>connects back off exponentially with jitter after failures ({@link ReconnectBackoff}).
 * </ul>
 *
 * <p>Borrow with try-with-resources, or call the {@link BlinkCommands} methods on the pool
 * itself, which borrow for one call. Calls are not retried: a call that fails with a
 * {@link ConnectionLostException} may or may not have run, and only the caller knows whether
 * it is safe to repeat.
 *
 * <pre>{@code
 * try (BlinkPool pool = BlinkPool.create(connectionConfig, PoolConfig.builder().build())) {
 *     pool.set("k", "v");
 *     try (PooledConnection connection = pool.borrow()) {
 *         connection.get("k");
 *     }
 * }
 * }</pre>
 */
public final class BlinkPool implements BlinkCommands, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BlinkPool.class.getName());
    /** Lifetimes are shortened by up to this fraction so connections do not all retire at once. */
    private static final double LIFETIME_JITTER = 0.025;

    private final ConnectionConfig connectionConfig;
    private final PoolConfig config;
    private final ReconnectBackoff backoff;
    private final LeakDetector leaks;
    private final ScheduledExecutorService housekeeper;

    /**
     * Guards the fields below. Fairness comes from the waiter queue, not the lock: a connection
     * or a free slot goes straight to the longest waiter, and newcomers queue behind waiters,
     * so the lock itself can be the cheaper unfair kind.
     */
    private final ReentrantLock lock = new ReentrantLock();
    /** Idle connections, the most recently used last; never non-empty while borrowers wait. */
    private final ArrayDeque<PoolEntry> idle = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** Idle + leased + connections being opened or checked. */
    private int total;
    private int leased;
    private boolean closed;

    /** A borrower waiting in line, and what it was handed: a connection or room to open one. */
    private static final class Waiter {
        private final Condition wake;
        private PoolEntry entry;
        private boolean mayOpen;

        private Waiter(Condition wake) {
            this.wake = wake;
        }
    }

    private final LongAdder created = new LongAdder();
    private final LongAdder destroyed = new LongAdder();
    private final LongAdder borrows = new LongAdder();
    private final LongAdder borrowTimeouts = new LongAdder();
    private final LongAdder connectAttempts = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final LongAdder borrowWaitNanos = new LongAdder();
    private final AtomicLong borrowWaitMaxNanos = new AtomicLong();

    private BlinkPool(ConnectionConfig connectionConfig, PoolConfig config) {
        this.connectionConfig = connectionConfig;
        this.config = config;
        this.backoff = new ReconnectBackoff(config.reconnectBackoffMin(), config.reconnectBackoffMax());
        this.leaks = new LeakDetector(config.leakDetectionThreshold());
        this.housekeeper = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "blink-pool-housekeeper " + connectionConfig.endpoint());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * A pool for the server of {@code connectionConfig}. It connects in the background (up to
     * {@code minIdle}); a server that is down makes borrows fail, not this.
     */
    public static BlinkPool create(ConnectionConfig connectionConfig, PoolConfig config) {
        BlinkPool pool = new BlinkPool(connectionConfig, config);
        long intervalNanos = config.housekeepingInterval().toNanos();
        pool.housekeeper.scheduleWithFixedDelay(pool::housekeep, 0, intervalNanos, TimeUnit.NANOSECONDS);
        return pool;
    }

    /**
     * Borrows a connection: an idle one that passes its checks, or a new one.
     *
     * @throws PoolExhaustedException when none is free within the borrow timeout
     * @throws ConnectFailedException and the other connect errors of
     *     {@link BlinkConnection#open(ConnectionConfig)} when a new one cannot be opened
     * @throws IllegalStateException when the pool is closed
     */
    public PooledConnection borrow() {
        long start = System.nanoTime();
        long deadline = start + config.borrowTimeout().toNanos();
        while (true) {
            PoolEntry entry = takeIdleOrReserve(deadline);
            if (entry == null) {
                entry = openReserved();
            } else if (!stillUsable(entry)) {
                discard(entry, true);
                continue;
            }
            recordBorrow(System.nanoTime() - start);
            return new PooledConnection(this, entry, leaks.borrowed());
        }
    }

    @Override
    public <T> T call(Command<T> command) {
        try (PooledConnection connection = borrow()) {
            return connection.call(command);
        }
    }

    @Override
    public void execute(Pipeline pipeline) {
        try (PooledConnection connection = borrow()) {
            connection.execute(pipeline);
        }
    }

    /** The pool's connections now and its counters so far. */
    public PoolMetrics metrics() {
        lock.lock();
        try {
            return new PoolMetrics(leased, idle.size(), waiters.size(), total, created.sum(), destroyed.sum(), borrows.sum(),
                    borrowTimeouts.sum(), connectAttempts.sum(), connectFailures.sum(),
                    Duration.ofNanos(borrowWaitNanos.sum()), Duration.ofNanos(borrowWaitMaxNanos.get()));
        } finally {
            lock.unlock();
        }
    }

    /**
     * An idle entry (counted as leased), or {@code null} when the caller reserved room to open
     * one; waits in line for either until {@code deadline}.
     */
    private PoolEntry takeIdleOrReserve(long deadline) {
        lock.lock();
        Waiter waiter = null;
        try {
            if (closed) {
                throw new IllegalStateException("the pool is closed");
            }
            if (waiters.isEmpty()) {
                PoolEntry entry = idle.pollLast();
                if (entry != null || total < config.maxConnections()) {
                    total += entry == null ? 1 : 0;
                    leased++;
                    return entry;
                }
            }
            waiter = new Waiter(lock.newCondition());
            waiters.addLast(waiter);
            while (true) {
                if (waiter.entry != null || waiter.mayOpen) {
                    return waiter.entry; // the giver counted it as leased
                }
                if (closed) {
                    throw new IllegalStateException("the pool is closed");
                }
                long leftNanos = deadline - System.nanoTime();
                if (leftNanos <= 0) {
                    borrowTimeouts.increment();
                    throw new PoolExhaustedException("no connection became free within " + config.borrowTimeout().toMillis()
                            + " ms: all " + total + " of maxConnections " + config.maxConnections() + " are borrowed ("
                            + waiters.size() + " borrowers waiting)");
                }
                waiter.wake.awaitNanos(leftNanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            giveUp(waiter);
            throw new PoolExhaustedException("interrupted while waiting for a connection");
        } finally {
            if (waiter != null) {
                waiters.remove(waiter);
            }
            lock.unlock();
        }
    }

    /** Passes on what an interrupted waiter was handed. Called with the lock held. */
    private void giveUp(Waiter waiter) {
        waiters.remove(waiter);
        leased -= waiter.entry != null || waiter.mayOpen ? 1 : 0;
        if (waiter.entry != null) {
            offer(waiter.entry);
        } else if (waiter.mayOpen) {
            total--;
            offerRoom();
        }
    }

    /** Hands an idle entry to the longest waiter, or adds it to the idle list. Lock held. */
    private void offer(PoolEntry entry) {
        Waiter waiter = waiters.pollFirst();
        if (waiter == null) {
            idle.addLast(entry);
            return;
        }
        waiter.entry = entry;
        leased++;
        waiter.wake.signal();
    }

    /** Hands room for a new connection to the longest waiter, if there is room. Lock held. */
    private void offerRoom() {
        if (total < config.maxConnections() && !waiters.isEmpty()) {
            Waiter waiter = waiters.pollFirst();
            waiter.mayOpen = true;
            total++;
            leased++;
            waiter.wake.signal();
        }
    }

    /** Opens a connection into a reserved, leased slot; frees the slot if that fails. */
    private PoolEntry openReserved() {
        try {
            return connect();
        } catch (RuntimeException e) {
            release(true);
            throw e;
        }
    }

    private PoolEntry connect() {
        backoff.beginAttempt();
        connectAttempts.increment();
        try {
            BlinkConnection connection = BlinkConnection.open(connectionConfig);
            backoff.succeeded();
            created.increment();
            long lifetimeNanos = config.maxLifetime().toNanos();
            long jitterNanos = (long) (lifetimeNanos * LIFETIME_JITTER * ThreadLocalRandom.current().nextDouble());
            return new PoolEntry(connection, System.nanoTime(), lifetimeNanos - jitterNanos);
        } catch (BlinkException e) {
            connectFailures.increment();
            backoff.failed(e);
            throw e;
        }
    }

    /**
     * The checks before reuse: lifetime, liveness, and PING after a long silence. Idle time is
     * not one: it only shrinks the pool (the housekeeper's job), and a borrower is better served
     * by a connection that answers PING than by a new one.
     */
    private boolean stillUsable(PoolEntry entry) {
        long now = System.nanoTime();
        if (entry.pastLifetime(now) || !entry.connection().isIdleAndOpen()) {
            return false;
        }
        return entry.silentNanos(now) < config.pingAfterIdle().toNanos() || answersPing(entry);
    }

    private static boolean answersPing(PoolEntry entry) {
        try {
            entry.connection().ping();
            entry.markHeard(System.nanoTime());
            return true;
        } catch (BlinkException e) {
            LOG.log(Level.FINE, "an idle connection failed its PING", e);
            return false;
        }
    }

    /**
     * Takes back a borrowed entry: idle again if still usable and at the version it was opened
     * with, closed otherwise.
     */
    void giveBack(PoolEntry entry, LeakDetector.Lease lease) {
        leaks.returned(lease);
        BlinkConnection connection = entry.connection();
        connection.closeCause()
                .filter(cause -> cause instanceof ServerUnavailableException || cause instanceof AuthFailedException)
                .ifPresent(backoff::failed);
        boolean keep;
        lock.lock();
        try {
            leased--;
            keep = connection.isOpen() && !closed && entry.atOpenedVersion();
            if (keep) {
                entry.markUsed(System.nanoTime());
                offer(entry);
            } else {
                total--;
                offerRoom();
            }
        } finally {
            lock.unlock();
        }
        if (!keep) {
            destroy(entry);
        }
    }

    /** Closes an entry taken out of the pool (borrowed, or being checked). */
    private void discard(PoolEntry entry, boolean wasLeased) {
        release(wasLeased);
        destroy(entry);
    }

    private void release(boolean wasLeased) {
        lock.lock();
        try {
            total--;
            leased -= wasLeased ? 1 : 0;
            offerRoom();
        } finally {
            lock.unlock();
        }
    }

    private void destroy(PoolEntry entry) {
        entry.connection().close();
        destroyed.increment();
        requestFill();
    }

    private void recordBorrow(long waitNanos) {
        borrows.increment();
        borrowWaitNanos.add(waitNanos);
        borrowWaitMaxNanos.accumulateAndGet(waitNanos, Math::max);
    }

    private void requestFill() {
        try {
            housekeeper.execute(this::fill);
        } catch (RejectedExecutionException closing) {
            // the pool is closing: nothing to refill
        }
    }

    /** One housekeeping turn; never throws, so the schedule keeps running. */
    private void housekeep() {
        try {
            List<PoolEntry> toPing = new ArrayList<>();
            for (PoolEntry entry : takeRetiredAndStale(toPing)) {
                destroy(entry);
            }
            for (PoolEntry entry : toPing) {
                if (entry.connection().isIdleAndOpen() && answersPing(entry)) {
                    putBack(entry, false);
                } else {
                    discard(entry, false);
                }
            }
            leaks.report();
            fill();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "pool housekeeping failed", e);
        }
    }

    /**
     * Removes from the idle list the entries past their lifetime and the surplus unused for
     * {@code maxIdleTime} (returned, to close), and those silent for {@code pingAfterIdle} (into
     * {@code toPing}, still counted in {@code total}).
     */
    private List<PoolEntry> takeRetiredAndStale(List<PoolEntry> toPing) {
        List<PoolEntry> retired = new ArrayList<>();
        long now = System.nanoTime();
        lock.lock();
        try {
            int idleLeft = idle.size(); // the idle connections not retired, including those to PING
            for (Iterator<PoolEntry> it = idle.iterator(); it.hasNext(); ) { // oldest first
                PoolEntry entry = it.next();
                boolean surplus = idleLeft > config.minIdle()
                        && entry.idleNanos(now) >= config.maxIdleTime().toNanos();
                if (entry.pastLifetime(now) || surplus) {
                    it.remove();
                    idleLeft--;
                    total--;
                    retired.add(entry);
                } else if (entry.silentNanos(now) >= config.pingAfterIdle().toNanos()) {
                    it.remove();
                    toPing.add(entry);
                }
            }
            return retired;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns an entry the housekeeper checked or opened to the idle list: a checked one behind
     * the more recently used ones, a new one in front. Closes it if the pool closed meanwhile.
     */
    private void putBack(PoolEntry entry, boolean inFront) {
        lock.lock();
        try {
            if (!closed) {
                if (inFront || !waiters.isEmpty()) {
                    offer(entry);
                } else {
                    idle.addFirst(entry);
                }
                return;
            }
            total--;
        } finally {
            lock.unlock();
        }
        destroy(entry);
    }

    /** Opens connections until {@code minIdle} are idle; stops at the first failure. */
    private void fill() {
        while (reserveWarm()) {
            PoolEntry entry;
            try {
                entry = connect();
            } catch (BlinkException e) {
                release(false);
                LOG.log(Level.FINE, "warming a pool connection failed", e);
                return;
            }
            entry.markUsed(System.nanoTime());
            putBack(entry, true);
        }
    }

    private boolean reserveWarm() {
        lock.lock();
        try {
            if (closed || idle.size() >= config.minIdle() || total >= config.maxConnections() || !backoff.mayWarm()) {
                return false;
            }
            total++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the idle connections and stops the housekeeper; borrowed connections are closed as
     * they come back, and borrows fail with {@link IllegalStateException}.
     */
    @Override
    public void close() {
        List<PoolEntry> drained;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            drained = new ArrayList<>(idle);
            idle.clear();
            total -= drained.size();
            waiters.forEach(waiter -> waiter.wake.signal());
        } finally {
            lock.unlock();
        }
        housekeeper.shutdownNow();
        drained.forEach(this::destroy);
        try {
            housekeeper.awaitTermination(connectionConfig.connectTimeout().plus(connectionConfig.readTimeout()).toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

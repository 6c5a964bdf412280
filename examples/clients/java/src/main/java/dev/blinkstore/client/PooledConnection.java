package dev.blinkstore.client;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A connection borrowed from a {@link BlinkPool}: use it from one thread, then close it to give
 * it back, with try-with-resources. A connection that broke while borrowed, or that the borrower
 * took to another protocol version ({@code call(Command.hello(1))}), is closed on return, never
 * handed out again. Using it after {@link #close()} throws {@link IllegalStateException}.
 *
 * <pre>{@code
 * try (PooledConnection connection = pool.borrow()) {
 *     connection.set("k", "v");
 *     connection.get("k");
 * }
 * }</pre>
 */
public final class PooledConnection implements BlinkCommands, AutoCloseable {
    private final BlinkPool pool;
    private final PoolEntry entry;
    private final LeakDetector.Lease lease;
    private final AtomicBoolean returned = new AtomicBoolean();

    PooledConnection(BlinkPool pool, PoolEntry entry, LeakDetector.Lease lease) {
        this.pool = pool;
        this.entry = entry;
        this.lease = lease;
    }

    @Override
    public <T> T call(Command<T> command) {
        return connection().call(command);
    }

    @Override
    public void execute(Pipeline pipeline) {
        connection().execute(pipeline);
    }

    /** HELLO on this connection. */
    public HelloReply hello() {
        return connection().hello();
    }

    /** The protocol version this connection negotiated: 2, or 1 with a version-1 server. */
    public int version() {
        return connection().version();
    }

    /** The limits the server reported on this connection. */
    public Limits limits() {
        return connection().limits();
    }

    /** Whether the connection is still usable (false after a connection error). */
    public boolean isOpen() {
        return !returned.get() && entry.connection().isOpen();
    }

    private BlinkConnection connection() {
        if (returned.get()) {
            throw new IllegalStateException("this connection was already returned to the pool");
        }
        return entry.connection();
    }

    /** Gives the connection back to the pool; further calls on this object fail. Idempotent. */
    @Override
    public void close() {
        if (returned.compareAndSet(false, true)) {
            pool.giveBack(entry, lease);
        }
    }
}

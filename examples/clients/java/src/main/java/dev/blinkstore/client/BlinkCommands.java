package dev.blinkstore.client;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The data commands, on anything that can run a {@link Command}: a {@link BlinkConnection}, a
 * {@link PooledConnection}, or a {@link BlinkPool} (which borrows a connection per call). Keys
 * and values are {@code byte[]} and binary-safe; the {@code String} overloads use UTF-8. A
 * missing key is an empty {@code Optional} or {@code false}, never an exception; so is an ADD
 * that found the key. The version-2 commands (ADD, REPLACE, INCR, APPEND, FLUSH, SCAN) fail with
 * an {@link UnknownCommandException}, before sending, on a connection to a version-1 server.
 */
public interface BlinkCommands {
    /** The SCAN count {@link #scanKeys(String)} asks for: a page of a few KiB, a round trip per 100 keys. */
    int SCAN_COUNT_DEFAULT = 100;

    /**
     * Sends one command and returns its result.
     *
     * @throws BlinkException as SPEC §13 says for the reply, or when the connection fails
     */
    <T> T call(Command<T> command);

    /** Sends every command of {@code pipeline} at once; each outcome is in its {@link Response}. */
    void execute(Pipeline pipeline);

    /** PING. */
    default void ping() {
        call(Command.ping());
    }

    /** GET: the value, or empty when the key is missing or expired. */
    default Optional<byte[]> get(byte[] key) {
        return call(Command.get(key));
    }

    /** GET with a UTF-8 key and value. */
    default Optional<String> get(String key) {
        return call(Command.get(key));
    }

    /** SET without a TTL. */
    default void set(byte[] key, byte[] value) {
        call(Command.set(key, value));
    }

    /** SET with a TTL. */
    default void set(byte[] key, byte[] value, Ttl ttl) {
        call(Command.set(key, value, ttl));
    }

    /** SET of UTF-8 strings without a TTL. */
    default void set(String key, String value) {
        call(Command.set(key, value));
    }

    /** SET of UTF-8 strings with a TTL. */
    default void set(String key, String value, Ttl ttl) {
        call(Command.set(key, value, ttl));
    }

    /** DEL: true if a live key was removed. */
    default boolean del(byte[] key) {
        return call(Command.del(key));
    }

    /** DEL with a UTF-8 key. */
    default boolean del(String key) {
        return call(Command.del(key));
    }

    /** EXPIRE: a new TTL from now, or {@link Ttl#persistent()}; false if the key is missing. */
    default boolean expire(byte[] key, Ttl ttl) {
        return call(Command.expire(key, ttl));
    }

    /** EXPIRE with a UTF-8 key. */
    default boolean expire(String key, Ttl ttl) {
        return call(Command.expire(key, ttl));
    }

    /** TTL: the time left, {@link Ttl.Persistent}, or empty when the key is missing. */
    default Optional<Ttl> ttl(byte[] key) {
        return call(Command.ttl(key));
    }

    /** TTL with a UTF-8 key. */
    default Optional<Ttl> ttl(String key) {
        return call(Command.ttl(key));
    }

    /** STATS: the server's counters (SPEC §12), unsigned. */
    default Map<String, Long> stats() {
        return call(Command.stats());
    }

    /** ADD without a TTL: stores only if the key does not exist; false if it does (EXISTS). */
    default boolean add(byte[] key, byte[] value) {
        return call(Command.add(key, value));
    }

    /** ADD with a TTL: stores only if the key does not exist; false if it does (EXISTS). */
    default boolean add(byte[] key, byte[] value, Ttl ttl) {
        return call(Command.add(key, value, ttl));
    }

    /** ADD of UTF-8 strings without a TTL. */
    default boolean add(String key, String value) {
        return call(Command.add(key, value));
    }

    /** ADD of UTF-8 strings with a TTL. */
    default boolean add(String key, String value, Ttl ttl) {
        return call(Command.add(key, value, ttl));
    }

    /** REPLACE without a TTL: stores only if the key exists (value and TTL, as SET); false if it does not. */
    default boolean replace(byte[] key, byte[] value) {
        return call(Command.replace(key, value));
    }

    /** REPLACE with a TTL: stores only if the key exists; false if it does not. */
    default boolean replace(byte[] key, byte[] value, Ttl ttl) {
        return call(Command.replace(key, value, ttl));
    }

    /** REPLACE of UTF-8 strings without a TTL. */
    default boolean replace(String key, String value) {
        return call(Command.replace(key, value));
    }

    /** REPLACE of UTF-8 strings with a TTL. */
    default boolean replace(String key, String value, Ttl ttl) {
        return call(Command.replace(key, value, ttl));
    }

    /**
     * INCR: adds {@code delta} to the integer under the key (a missing key counts as 0) and returns
     * the new value; {@link NotIntegerException} when the value is not an integer or would overflow.
     */
    default long incr(byte[] key, long delta) {
        return call(Command.incr(key, delta));
    }

    /** INCR with a UTF-8 key. */
    default long incr(String key, long delta) {
        return call(Command.incr(key, delta));
    }

    /** APPEND: appends {@code suffix} (a missing key starts empty) and returns the value's new length. */
    default long append(byte[] key, byte[] suffix) {
        return call(Command.append(key, suffix));
    }

    /** APPEND of UTF-8 strings. */
    default long append(String key, String suffix) {
        return call(Command.append(key, suffix));
    }

    /** FLUSH: removes every key. */
    default void flush() {
        call(Command.flush());
    }

    /**
     * SCAN: one page of a walk over the keys starting with {@code prefix}; start with cursor 0 and
     * pass each page's {@link ScanPage#nextCursor()} until it is 0. {@link #scanKeys(byte[], int)}
     * walks for you.
     */
    default ScanPage scan(long cursor, int count, byte[] prefix) {
        return call(Command.scan(cursor, count, prefix));
    }

    /** SCAN with a UTF-8 prefix. */
    default ScanPage scan(long cursor, int count, String prefix) {
        return call(Command.scan(cursor, count, prefix));
    }

    /**
     * Every key starting with {@code prefix} (empty: every key), fetched lazily a SCAN page of
     * about {@code count} keys at a time; each {@code iterator()} starts a new walk. A key that
     * exists for the whole walk is returned exactly once; one added or removed meanwhile may or may
     * not be (SPEC §5.2). On a pool each page borrows a connection of its own (cursors are valid
     * across connections). Failures surface from {@code hasNext()} as {@link BlinkException}s.
     *
     * <pre>{@code
     * for (byte[] key : pool.scanKeys("user:".getBytes(UTF_8), 500)) { ... }
     * }</pre>
     */
    default Iterable<byte[]> scanKeys(byte[] prefix, int count) {
        Objects.requireNonNull(prefix, "prefix");
        Command.checkScanCount(count); // now, not at the first hasNext()
        return () -> new KeyWalk(this, prefix, count);
    }

    /** {@link #scanKeys(byte[], int)} with a UTF-8 prefix and keys, {@link #SCAN_COUNT_DEFAULT} per page. */
    default Iterable<String> scanKeys(String prefix) {
        Iterable<byte[]> keys = scanKeys(prefix.getBytes(StandardCharsets.UTF_8), SCAN_COUNT_DEFAULT);
        return () -> new Iterator<String>() {
            private final Iterator<byte[]> walk = keys.iterator();

            @Override
            public boolean hasNext() {
                return walk.hasNext();
            }

            @Override
            public String next() {
                return new String(walk.next(), StandardCharsets.UTF_8);
            }
        };
    }
}

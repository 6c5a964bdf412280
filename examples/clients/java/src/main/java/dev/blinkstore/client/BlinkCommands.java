package dev.blinkstore.client;

import java.util.Map;
import java.util.Optional;

/**
 * The data commands, on anything that can run a {@link Command}: a {@link BlinkConnection}, a
 * {@link PooledConnection}, or a {@link BlinkPool} (which borrows a connection per call). Keys
 * and values are {@code byte[]} and binary-safe; the {@code String} overloads use UTF-8. A
 * missing key is an empty {@code Optional} or {@code false}, never an exception.
 */
public interface BlinkCommands {
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
}

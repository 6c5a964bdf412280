package dev.blinkstore.client;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One request and how to read its reply (SPEC §5, §6.3): the factories below are the whole
 * command set of protocol v1. Pass a command to {@link BlinkCommands#call(Command)} or add it to
 * a {@link Pipeline}. Keys and values are used as given, not copied: do not change the arrays
 * until the call has returned.
 *
 * @param <T> the result: {@code Optional} or {@code Boolean} where the key may be missing,
 *     {@code Void} for commands that only succeed or fail
 */
public final class Command<T> {
    private static final byte[] NONE = {};

    private final Wire.Request request;
    private final Function<byte[], T> onOk;
    /** The result for NOT_FOUND, or {@code null} when NOT_FOUND is no valid answer. */
    private final Supplier<T> onNotFound;

    private Command(Wire.Request request, Function<byte[], T> onOk, Supplier<T> onNotFound) {
        this.request = request;
        this.onOk = onOk;
        this.onNotFound = onNotFound;
    }

    /** PING: is the server alive. */
    public static Command<Void> ping() {
        return new Command<>(request(Wire.PING, 0, null, NONE), Command::emptyBody, null);
    }

    /** HELLO 1: the protocol version and the server's limits. */
    public static Command<HelloReply> hello() {
        byte[] version = {(byte) Wire.PROTOCOL_VERSION};
        return new Command<>(request(Wire.HELLO, 0, null, version), HelloReply::parse, null);
    }

    /**
     * AUTH with {@code token}.
     *
     * @throws IllegalArgumentException when the token cannot fit the pre-auth frame limit
     */
    public static Command<Void> auth(byte[] token) {
        if (token.length > ConnectionConfig.MAX_TOKEN_BYTES) {
            throw new IllegalArgumentException("token of " + token.length + " bytes; at most "
                    + ConnectionConfig.MAX_TOKEN_BYTES);
        }
        return new Command<>(request(Wire.AUTH, 0, null, token), Command::emptyBody, null);
    }

    /** GET: the value, or empty when the key is missing or expired. */
    public static Command<Optional<byte[]>> get(byte[] key) {
        return new Command<>(request(Wire.GET, 0, key, NONE), Optional::of, Optional::empty);
    }

    /** GET with a UTF-8 key, reading the value as UTF-8. */
    public static Command<Optional<String>> get(String key) {
        return get(utf8(key)).map(value -> value.map(Command::string));
    }

    /** SET without a TTL: the key becomes persistent, replacing any value and TTL. */
    public static Command<Void> set(byte[] key, byte[] value) {
        return set(key, value, Ttl.persistent());
    }

    /** SET with a TTL (or {@link Ttl#persistent()}), replacing any value and TTL. */
    public static Command<Void> set(byte[] key, byte[] value, Ttl ttl) {
        return new Command<>(request(Wire.SET, wireMillis(ttl), key, Objects.requireNonNull(value, "value")),
                Command::emptyBody, null);
    }

    /** SET of UTF-8 strings without a TTL. */
    public static Command<Void> set(String key, String value) {
        return set(utf8(key), utf8(value));
    }

    /** SET of UTF-8 strings with a TTL. */
    public static Command<Void> set(String key, String value, Ttl ttl) {
        return set(utf8(key), utf8(value), ttl);
    }

    /** DEL: true if a live key was removed, false if there was none. */
    public static Command<Boolean> del(byte[] key) {
        return new Command<>(request(Wire.DEL, 0, key, NONE), Command::isTrue, () -> false);
    }

    /** DEL with a UTF-8 key. */
    public static Command<Boolean> del(String key) {
        return del(utf8(key));
    }

    /**
     * EXPIRE: give the key a new TTL counted from now, or make it persistent with
     * {@link Ttl#persistent()}; false if the key does not exist (EXPIRE never creates one).
     */
    public static Command<Boolean> expire(byte[] key, Ttl ttl) {
        return new Command<>(request(Wire.EXPIRE, wireMillis(ttl), key, NONE), Command::isTrue, () -> false);
    }

    /** EXPIRE with a UTF-8 key. */
    public static Command<Boolean> expire(String key, Ttl ttl) {
        return expire(utf8(key), ttl);
    }

    /** TTL: the time left ({@link Ttl.Millis}), {@link Ttl.Persistent}, or empty when missing. */
    public static Command<Optional<Ttl>> ttl(byte[] key) {
        return new Command<>(request(Wire.TTL, 0, key, NONE), Command::remaining, Optional::empty);
    }

    /** TTL with a UTF-8 key. */
    public static Command<Optional<Ttl>> ttl(String key) {
        return ttl(utf8(key));
    }

    /** STATS: the server's counters by name (SPEC §12); values are unsigned. */
    public static Command<Map<String, Long>> stats() {
        return new Command<>(request(Wire.STATS, 0, null, NONE), Command::parseStats, null);
    }

    /** The request's fields, for encoding and the local limit checks. */
    Wire.Request request() {
        return request;
    }

    /** Reads the reply to this command; an error status throws its SPEC §13 exception. */
    T decode(Reply reply) {
        if (reply.status() == Status.OK.code()) {
            return onOk.apply(reply.body());
        }
        if (reply.status() == Status.NOT_FOUND.code() && onNotFound != null) {
            return onNotFound.get();
        }
        throw Status.toException(reply);
    }

    private <U> Command<U> map(Function<? super T, ? extends U> mapper) {
        Supplier<U> notFound = onNotFound == null ? null : () -> mapper.apply(onNotFound.get());
        return new Command<>(request, body -> mapper.apply(onOk.apply(body)), notFound);
    }

    private static Wire.Request request(byte opcode, long ttlMs, byte[] key, byte[] tail) {
        return new Wire.Request(opcode, ttlMs, key, tail);
    }

    private static long wireMillis(Ttl ttl) {
        return Objects.requireNonNull(ttl, "ttl") instanceof Ttl.Millis millis ? millis.unsignedMillis() : 0;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Void emptyBody(byte[] body) {
        if (body.length != 0) {
            throw new ProtocolException("expected an empty OK body, got " + body.length + " bytes");
        }
        return null;
    }

    private static Boolean isTrue(byte[] body) {
        emptyBody(body);
        return true;
    }

    private static Optional<Ttl> remaining(byte[] body) {
        return switch (body.length) {
            case 0 -> Optional.of(Ttl.persistent());
            case 8 -> Optional.of(Ttl.ofMillis(ByteBuffer.wrap(body).getLong()));
            default -> throw new ProtocolException("TTL reply body of " + body.length + " bytes, want 0 or 8");
        };
    }

    private static Map<String, Long> parseStats(byte[] body) {
        String text = new String(body, StandardCharsets.US_ASCII);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new ProtocolException("STATS body does not end with a newline");
        }
        Map<String, Long> stats = new LinkedHashMap<>();
        for (String line : text.isEmpty() ? new String[0] : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue; // the one after the final newline
            }
            int space = line.indexOf(' ');
            try {
                stats.put(line.substring(0, space), Long.parseUnsignedLong(line.substring(space + 1)));
            } catch (IndexOutOfBoundsException | NumberFormatException e) {
                throw new ProtocolException("STATS line is not \"name value\": " + line);
            }
        }
        return Collections.unmodifiableMap(stats);
    }
}

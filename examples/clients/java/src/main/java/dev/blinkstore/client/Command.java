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
 * command set of protocol version 2 (ADD, REPLACE, INCR, APPEND, FLUSH and SCAN need a connection
 * that negotiated it; on one at version 1 they fail with an {@link UnknownCommandException}
 * before sending). Pass a command to {@link BlinkCommands#call(Command)} or add it to a {@link
 * Pipeline}. Keys and values are used as given, not copied: do not change the arrays until the
 * call has returned.
 *
 * @param <T> the result: {@code Optional} or {@code Boolean} where the key may be missing (or, for
 *     ADD, present), {@code Long} for INCR and APPEND, {@code Void} for commands that only
 *     succeed or fail
 */
public final class Command<T> {
    /** The largest SCAN count: the field is a u16. */
    public static final int MAX_SCAN_COUNT = 0xFFFF;

    private static final byte[] NONE = {};

    private final Wire.Request request;
    private final Function<byte[], T> onOk;
    /** The one non-OK outcome this command can get (NOT_FOUND or EXISTS), or {@code null}. */
    private final Status outcome;
    /** The result for {@link #outcome}. */
    private final Supplier<T> onOutcome;

    private Command(Wire.Request request, Function<byte[], T> onOk, Status outcome, Supplier<T> onOutcome) {
        this.request = request;
        this.onOk = onOk;
        this.outcome = outcome;
        this.onOutcome = onOutcome;
    }

    /** A command whose only answers are OK and errors. */
    private Command(Wire.Request request, Function<byte[], T> onOk) {
        this(request, onOk, null, null);
    }

    /** A command that may also get NOT_FOUND. */
    private Command(Wire.Request request, Function<byte[], T> onOk, Supplier<T> onNotFound) {
        this(request, onOk, Status.NOT_FOUND, onNotFound);
    }

    /** PING: is the server alive. */
    public static Command<Void> ping() {
        return new Command<>(request(Wire.PING, 0, null, NONE), Command::emptyBody);
    }

    /** HELLO 2: the negotiated protocol version (1 from a version-1 server) and the server's limits. */
    public static Command<HelloReply> hello() {
        return hello(Wire.PROTOCOL_VERSION);
    }

    /**
     * HELLO with {@code version}: 1 makes the connection speak version 1 (no ADD, REPLACE, INCR,
     * APPEND, FLUSH, SCAN), 2 asks for version 2 again (SPEC §10).
     *
     * @throws IllegalArgumentException when this client does not speak {@code version}
     */
    public static Command<HelloReply> hello(int version) {
        if (version < 1 || version > Wire.PROTOCOL_VERSION) {
            throw new IllegalArgumentException("protocol version " + version + "; this client speaks 1 to "
                    + Wire.PROTOCOL_VERSION);
        }
        return new Command<>(request(Wire.HELLO, 0, null, new byte[] {(byte) version}), HelloReply::parse);
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
        return new Command<>(request(Wire.AUTH, 0, null, token), Command::emptyBody);
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
                Command::emptyBody);
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
        return new Command<>(request(Wire.STATS, 0, null, NONE), Command::parseStats);
    }

    /** ADD without a TTL (v2): stores only if the key does not exist; false (EXISTS) if it does. */
    public static Command<Boolean> add(byte[] key, byte[] value) {
        return add(key, value, Ttl.persistent());
    }

    /** ADD with a TTL (v2): stores only if the key does not exist; false (EXISTS) if it does. */
    public static Command<Boolean> add(byte[] key, byte[] value, Ttl ttl) {
        return new Command<>(request(Wire.ADD, wireMillis(ttl), key, Objects.requireNonNull(value, "value")),
                Command::isTrue, Status.EXISTS, () -> false);
    }

    /** ADD of UTF-8 strings without a TTL. */
    public static Command<Boolean> add(String key, String value) {
        return add(utf8(key), utf8(value));
    }

    /** ADD of UTF-8 strings with a TTL. */
    public static Command<Boolean> add(String key, String value, Ttl ttl) {
        return add(utf8(key), utf8(value), ttl);
    }

    /**
     * REPLACE without a TTL (v2): stores only if the key exists, replacing its value and TTL as SET
     * does; false (NOT_FOUND) if it does not exist.
     */
    public static Command<Boolean> replace(byte[] key, byte[] value) {
        return replace(key, value, Ttl.persistent());
    }

    /** REPLACE with a TTL (v2): stores only if the key exists; false (NOT_FOUND) if it does not. */
    public static Command<Boolean> replace(byte[] key, byte[] value, Ttl ttl) {
        return new Command<>(request(Wire.REPLACE, wireMillis(ttl), key, Objects.requireNonNull(value, "value")),
                Command::isTrue, () -> false);
    }

    /** REPLACE of UTF-8 strings without a TTL. */
    public static Command<Boolean> replace(String key, String value) {
        return replace(utf8(key), utf8(value));
    }

    /** REPLACE of UTF-8 strings with a TTL. */
    public static Command<Boolean> replace(String key, String value, Ttl ttl) {
        return replace(utf8(key), utf8(value), ttl);
    }

    /**
     * INCR (v2): adds {@code delta} (negative to decrement) to the decimal integer stored under the
     * key and returns the new value; a missing key counts as 0 and is created without a TTL, an
     * existing one keeps its TTL. A value that is not an integer, or a result outside the signed
     * 64-bit range, fails with {@link NotIntegerException} and changes nothing (SPEC §5.1).
     */
    public static Command<Long> incr(byte[] key, long delta) {
        return new Command<>(request(Wire.INCR, delta, key, NONE), body -> Wire.decodeNumberBody(body, "INCR"));
    }

    /** INCR with a UTF-8 key. */
    public static Command<Long> incr(String key, long delta) {
        return incr(utf8(key), delta);
    }

    /**
     * APPEND (v2): appends {@code suffix} to the value under the key and returns the value's new
     * length; a missing key is created with the suffix as its value and no TTL. A result longer
     * than {@code max_value_bytes} fails with {@link ValueTooLargeException} and changes nothing.
     */
    public static Command<Long> append(byte[] key, byte[] suffix) {
        return new Command<>(request(Wire.APPEND, 0, key, Objects.requireNonNull(suffix, "suffix")),
                body -> Wire.decodeNumberBody(body, "APPEND"));
    }

    /** APPEND of UTF-8 strings. */
    public static Command<Long> append(String key, String suffix) {
        return append(utf8(key), utf8(suffix));
    }

    /** FLUSH (v2): removes every key (not counted as evictions). */
    public static Command<Void> flush() {
        return new Command<>(request(Wire.FLUSH, 0, null, NONE), Command::emptyBody);
    }

    /**
     * SCAN (v2): one bounded step of a walk over the keys starting with {@code prefix} (empty: every
     * key). Start with cursor 0 and send each page's {@link ScanPage#nextCursor()} until it is 0;
     * {@link BlinkCommands#scanKeys(byte[], int)} does that for you (SPEC §5.2).
     *
     * @param cursor 0, or a cursor a page returned (unsigned)
     * @param count how many keys to aim for, 0 to 65535 (0 is read as 1): a hint, not a bound
     * @throws IllegalArgumentException when {@code count} is not a u16
     */
    public static Command<ScanPage> scan(long cursor, int count, byte[] prefix) {
        checkScanCount(count);
        return new Command<>(new Wire.Request(Wire.SCAN, cursor, null, count, Objects.requireNonNull(prefix, "prefix")),
                Wire::decodeScanBody);
    }

    /** Refuses a SCAN count that is not a u16. */
    static void checkScanCount(int count) {
        if (count < 0 || count > MAX_SCAN_COUNT) {
            throw new IllegalArgumentException("SCAN count " + count + "; it is 0 to " + MAX_SCAN_COUNT);
        }
    }

    /** SCAN with a UTF-8 prefix. */
    public static Command<ScanPage> scan(long cursor, int count, String prefix) {
        return scan(cursor, count, utf8(prefix));
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
        if (outcome != null && reply.status() == outcome.code()) {
            return onOutcome.get();
        }
        throw Status.toException(reply);
    }

    private <U> Command<U> map(Function<? super T, ? extends U> mapper) {
        Supplier<U> other = onOutcome == null ? null : () -> mapper.apply(onOutcome.get());
        return new Command<>(request, body -> mapper.apply(onOk.apply(body)), outcome, other);
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

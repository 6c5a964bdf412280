package dev.blinkstore.client;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * One SCAN reply (SPEC §5.2, §6.3): the keys of one bounded step of a walk and the cursor to send
 * next. A page may hold fewer keys than asked for, even none, while the walk goes on; the walk is
 * complete when {@link #nextCursor()} is 0. The cursor is an unsigned 64-bit number held in a
 * {@code long}: print it with {@link Long#toUnsignedString(long)}, send back only 0 or a cursor a
 * page returned. To walk every key, use {@link BlinkCommands#scanKeys(byte[], int)} instead.
 *
 * @param nextCursor the cursor for the next SCAN, unsigned; 0 when the walk is complete
 * @param keys the keys of this page, in no particular order (unmodifiable)
 */
public record ScanPage(long nextCursor, List<byte[]> keys) {
    public ScanPage {
        Objects.requireNonNull(keys, "keys");
    }

    /** Whether this page ends the walk (its cursor is 0). */
    public boolean isLast() {
        return nextCursor == 0;
    }

    /** The keys read as UTF-8. */
    public List<String> keysAsStrings() {
        return keys.stream().map(key -> new String(key, StandardCharsets.UTF_8)).toList();
    }

    @Override
    public String toString() {
        return "ScanPage[nextCursor=" + Long.toUnsignedString(nextCursor) + ", keys=" + keysAsStrings() + "]";
    }
}

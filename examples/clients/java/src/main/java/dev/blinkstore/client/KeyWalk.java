package dev.blinkstore.client;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One walk over the keys with a prefix (SPEC §5.2): SCAN from cursor 0, one page at a time, as
 * the caller iterates, until a page returns cursor 0. Pages may be empty while the walk goes on;
 * {@link #hasNext()} fetches until it has a key or the walk is complete. Not thread-safe.
 */
final class KeyWalk implements Iterator<byte[]> {
    private final BlinkCommands commands;
    private final byte[] prefix;
    private final int count;
    private List<byte[]> page = List.of();
    private int index;
    /** The cursor for the next SCAN (unsigned); meaningless once {@link #done}. */
    private long cursor;
    private boolean done;

    KeyWalk(BlinkCommands commands, byte[] prefix, int count) {
        this.commands = commands;
        this.prefix = prefix;
        this.count = count;
    }

    @Override
    public boolean hasNext() {
        while (index == page.size() && !done) {
            ScanPage next = commands.scan(cursor, count, prefix);
            page = next.keys();
            index = 0;
            cursor = next.nextCursor();
            done = next.isLast();
        }
        return index < page.size();
    }

    @Override
    public byte[] next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the walk is complete");
        }
        return page.get(index++);
    }
}

package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * SCAN walks against a real server (the conformance kit's "SCAN walks"): thousands of keys under
 * two prefixes, one prefix walked with a small count, every key returned exactly once.
 */
class ScanTest {
    private static final int A_KEYS = 3000;
    private static final int B_KEYS = 2000;

    /** Writes {@code a:0 .. a:2999} and {@code b:0 .. b:1999} in one pipeline; returns the a keys. */
    private static Set<String> writeKeys(BlinkCommands commands) {
        Pipeline pipeline = new Pipeline();
        List<Response<Void>> sets = new ArrayList<>();
        Set<String> aKeys = new HashSet<>();
        for (int i = 0; i < A_KEYS; i++) {
            aKeys.add("a:" + i);
            sets.add(pipeline.add(Command.set("a:" + i, "v")));
        }
        for (int i = 0; i < B_KEYS; i++) {
            sets.add(pipeline.add(Command.set("b:" + i, "v")));
        }
        commands.execute(pipeline);
        sets.forEach(Response::get);
        return aKeys;
    }

    /** Asserts that {@code walked} holds exactly {@code expected}, each once. */
    private static void assertExactlyOnce(Set<String> expected, List<String> walked) {
        assertEquals(expected.size(), walked.size(), "keys walked (a duplicate or a miss)");
        assertEquals(expected, new HashSet<>(walked));
    }

    @Test
    void scanKeysWalksOnePrefixExactlyOnce() {
        try (BlinkServer server = BlinkServer.start();
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            Set<String> aKeys = writeKeys(connection);
            List<String> walked = new ArrayList<>();
            for (byte[] key : connection.scanKeys("a:".getBytes(), 7)) {
                walked.add(new String(key));
            }
            assertExactlyOnce(aKeys, walked);

            List<String> everything = new ArrayList<>();
            connection.scanKeys("").forEach(everything::add);
            assertEquals(A_KEYS + B_KEYS, new HashSet<>(everything).size());
            assertEquals(A_KEYS + B_KEYS, everything.size());
        }
    }

    @Test
    void aPageLoopOverThePoolWalksExactlyOnce() {
        try (BlinkServer server = BlinkServer.start();
                BlinkPool pool = BlinkPool.create(server.tcpConfig().build(), FaultsTest.quickPool().build())) {
            Set<String> aKeys = writeKeys(pool);
            List<String> walked = new ArrayList<>();
            long cursor = 0;
            int pages = 0;
            do {
                ScanPage page = pool.scan(cursor, 10, "a:"); // each page may use another connection
                walked.addAll(page.keysAsStrings());
                cursor = page.nextCursor();
                pages++;
            } while (cursor != 0);
            assertExactlyOnce(aKeys, walked);
            assertTrue(pages > 10, pages + " pages: the count was not small");

            List<String> iterated = new ArrayList<>();
            pool.scanKeys("a:").forEach(iterated::add);
            assertExactlyOnce(aKeys, iterated);
        }
    }

    @Test
    void eachIteratorIsANewWalk() {
        try (BlinkServer server = BlinkServer.start();
                BlinkConnection connection = BlinkConnection.open(server.tcpConfig().build())) {
            connection.set("p:1", "v");
            Iterable<String> keys = connection.scanKeys("p:");
            Iterator<String> first = keys.iterator();
            assertEquals("p:1", first.next());
            assertFalse(first.hasNext());
            assertThrows(NoSuchElementException.class, first::next);
            assertEquals("p:1", keys.iterator().next(), "a second walk starts from cursor 0");
            assertFalse(connection.scanKeys("q:").iterator().hasNext(), "no key under the prefix");
            assertThrows(IllegalArgumentException.class, () -> connection.scanKeys(new byte[0], 70_000));
        }
    }
}

package dev.blinkstore.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blinkstore.client.examples.Quickstart;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The quickstart example against real servers (TCP, Unix, with a token), and the README's copy of it. */
class QuickstartTest {
    private static final Path CLIENT = Vectors.ROOT.resolve("examples/clients/java");
    private static final Pattern SNIPPET = Pattern.compile("// snippet:([a-z0-9-]+)\\n(.*?)\\n\\s*// end", Pattern.DOTALL);

    @Test
    void runsOverTcpAndUnixAndWithAToken() {
        try (BlinkServer server = BlinkServer.start(); BlinkServer guarded = BlinkServer.startWithToken("s3cret")) {
            for (String output : List.of(quickstart(server.tcp, null), quickstart(server.unix, null),
                    quickstart(guarded.tcp, "s3cret"))) {
                assertTrue(output.contains("greeting = hello\\0world"), output);
                assertTrue(output.contains("no such key: false"), output);
                assertTrue(output.contains("deleted: true, again: false"), output);
                assertTrue(output.contains("session expires in about 29 s") || output.contains("about 30 s"), output);
                assertTrue(output.contains("session ttl: Persistent[]"), output);
                assertTrue(output.contains("pipelined GET: value 2"), output);
                assertTrue(output.contains("lock taken"), output);
                assertTrue(output.contains("replaced a missing key: false"), output);
                assertTrue(output.contains("visits: 1, then 0"), output);
                assertTrue(output.contains("not an integer: ERR_NOT_INTEGER"), output);
                for (int i = 0; i < 3; i++) {
                    assertTrue(output.contains("scanned item:" + i + "\n"), output);
                }
                assertTrue(output.contains("refused before sending: true"), output);
                assertTrue(output.contains("server limits: Limits[maxFrameBytes=1052672"), output);
            }
        }
    }

    private static String quickstart(Endpoint endpoint, String token) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            Quickstart.run(endpoint, token, out);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theReadmeShowsTheQuickstartAsItIs() throws IOException {
        String source = Files.readString(CLIENT.resolve("src/test/java/dev/blinkstore/client/examples/Quickstart.java"));
        String readme = Files.readString(CLIENT.resolve("README.md"));
        List<String> names = new ArrayList<>();
        for (Matcher m = SNIPPET.matcher(source); m.find(); ) {
            names.add(m.group(1));
            String snippet = dedent(m.group(2));
            assertTrue(readme.contains("```java\n" + snippet + "\n```"), "README lacks the snippet " + m.group(1) + ":\n" + snippet);
        }
        assertEquals(List.of("connect", "metrics", "connection", "get-and-set", "ttls", "pipeline", "version-2", "errors"),
                names);
    }

    /** The lines without their common leading spaces. */
    private static String dedent(String block) {
        List<String> lines = block.lines().toList();
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return String.join("\n", lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList());
    }
}

package dev.blinkstore.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real blink-store process for one test: {@code $BLINK_STORE_BIN} (else the repository's
 * target/release/blink-store), on {@code 127.0.0.1:0} and a socket in a temporary directory
 * unless told otherwise, ready once it printed its {@code ready ...} line (the conformance
 * kit's rule: read it, never sleep). Closing it sends SIGTERM and waits.
 */
final class BlinkServer implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("^ready tcp ([^,]+):(\\d+), unix (.+)$");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);

    final Endpoint.Tcp tcp;
    final Endpoint.Unix unix;
    private final Process process;
    private final Path dir;
    private final String token;

    private BlinkServer(Process process, Path dir, Endpoint.Tcp tcp, Endpoint.Unix unix, String token) {
        this.process = process;
        this.dir = dir;
        this.tcp = tcp;
        this.unix = unix;
        this.token = token;
    }

    /** A server with these extra flags. */
    static BlinkServer start(String... flags) {
        return start(null, null, null, flags);
    }

    /** A server with a token (BLINK_AUTH_TOKEN) and these extra flags. */
    static BlinkServer startWithToken(String token, String... flags) {
        return start(null, null, token, flags);
    }

    /** A new server on the addresses of {@code previous}, which must be stopped. */
    static BlinkServer restart(BlinkServer previous, String... flags) {
        return start(previous.tcp, previous.unix, previous.token, flags);
    }

    private static BlinkServer start(Endpoint.Tcp tcp, Endpoint.Unix unix, String token, String... flags) {
        try {
            Path dir = Files.createTempDirectory("blink-java-");
            Path socket = unix != null ? unix.path() : dir.resolve("blink.sock");
            List<String> command = new ArrayList<>(List.of(binary().toString(),
                    "--tcp", tcp != null ? tcp.toString() : "127.0.0.1:0", "--unix-socket", socket.toString()));
            command.addAll(List.of(flags));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(dir.resolve("stderr").toFile());
            Map<String, String> env = builder.environment();
            env.remove("BLINK_AUTH_TOKEN");
            if (token != null) {
                env.put("BLINK_AUTH_TOKEN", token);
            }
            Process process = builder.start();
            Matcher ready = READY.matcher(readyLine(process, dir));
            if (!ready.matches()) {
                throw new IllegalStateException("unexpected ready line: " + ready);
            }
            return new BlinkServer(process, dir, new Endpoint.Tcp(ready.group(1), Integer.parseInt(ready.group(2))),
                    new Endpoint.Unix(Path.of(ready.group(3))), token);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path binary() {
        String bin = System.getenv("BLINK_STORE_BIN");
        return bin != null && !bin.isEmpty() ? Path.of(bin) : Vectors.ROOT.resolve("target/release/blink-store");
    }

    /** The first stdout line, read by a thread that then drains stdout so the server never blocks. */
    private static String readyLine(Process process, Path dir) throws IOException {
        CompletableFuture<String> first = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                first.complete(out.readLine());
                while (out.readLine() != null) {
                    // drain
                }
            } catch (IOException e) {
                first.completeExceptionally(e);
            }
        }, "blink-store stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            String line = first.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (line == null) {
                throw new IllegalStateException("blink-store exited before it was ready: "
                        + Files.readString(dir.resolve("stderr")));
            }
            return line;
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException("blink-store did not become ready: " + e, e);
        }
    }

    /** A connection configuration for the TCP endpoint (with the server's token, if any). */
    ConnectionConfig.Builder tcpConfig() {
        return config(tcp);
    }

    /** A connection configuration for the Unix socket (with the server's token, if any). */
    ConnectionConfig.Builder unixConfig() {
        return config(unix);
    }

    private ConnectionConfig.Builder config(Endpoint endpoint) {
        return ConnectionConfig.builder(endpoint).token(token);
    }

    /** One STATS counter, read on a connection of its own. */
    long stat(String name) {
        try (BlinkConnection connection = BlinkConnection.open(tcpConfig().build())) {
            return connection.stats().get(name);
        }
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL, and wait until the process is gone. */
    void kill() {
        process.destroyForcibly();
        waitFor();
    }

    /** SIGSTOP: the server stops answering without closing anything (half-open for clients). */
    void pause() {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            int status = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
            if (status != 0) {
                throw new IllegalStateException("kill -" + name + " exited " + status);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void waitFor() {
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("blink-store did not exit");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGTERM (SIGCONT first, in case it is paused), wait, and remove the temporary directory. */
    @Override
    public void close() {
        if (process.isAlive()) {
            resume();
            process.destroy();
            waitFor();
        }
        try (var files = Files.walk(dir)) {
            files.sorted((a, b) -> b.compareTo(a)).forEach(path -> path.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory; the system cleans it eventually
        }
    }
}

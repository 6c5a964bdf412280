package dev.blinkstore.client.examples;

import dev.blinkstore.client.BlinkConnection;
import dev.blinkstore.client.BlinkPool;
import dev.blinkstore.client.Command;
import dev.blinkstore.client.ConnectionConfig;
import dev.blinkstore.client.ConnectionLostException;
import dev.blinkstore.client.Endpoint;
import dev.blinkstore.client.KeyTooLargeException;
import dev.blinkstore.client.NotIntegerException;
import dev.blinkstore.client.Pipeline;
import dev.blinkstore.client.PoolConfig;
import dev.blinkstore.client.PoolExhaustedException;
import dev.blinkstore.client.PoolMetrics;
import dev.blinkstore.client.PooledConnection;
import dev.blinkstore.client.Response;
import dev.blinkstore.client.Ttl;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The README's quickstart, runnable: {@code Quickstart <host:port | unix:/path>}, with the token
 * (if the server has one) in {@code BLINK_AUTH_TOKEN}. The tests run it against a real server
 * and check that every snippet between {@code // snippet:NAME} and {@code // end} is on the
 * README page as it is here.
 */
public final class Quickstart {
    private Quickstart() {}

    public static void main(String[] args) {
        run(Endpoint.parse(args[0]), System.getenv("BLINK_AUTH_TOKEN"), System.out);
    }

    /** Runs every section against {@code endpoint}, printing to {@code out}. */
    public static void run(Endpoint endpoint, String token, PrintStream out) {
        // snippet:connect
        ConnectionConfig config = ConnectionConfig.builder(endpoint) // Endpoint.tcp(...) or Endpoint.unix(...)
                .token(token) // AUTH at connect, pipelined with HELLO; null for none
                .readTimeout(Duration.ofSeconds(1))
                .build();
        PoolConfig poolConfig = PoolConfig.builder()
                .maxConnections(8)
                .borrowTimeout(Duration.ofMillis(500))
                .build();
        try (BlinkPool pool = BlinkPool.create(config, poolConfig)) {
            // end
            getAndSet(pool, out);
            ttls(pool, out);
            pipelines(pool, out);
            version2(pool, out);
            errors(pool, out);
            // snippet:metrics
            PoolMetrics metrics = pool.metrics();
            out.printf("pool: %d open, %d idle, %d borrows, mean wait %d us%n", metrics.total(), metrics.idle(),
                    metrics.borrows(), metrics.borrowWaitMean().toNanos() / 1000);
            // end
        }
        // snippet:connection
        try (BlinkConnection connection = BlinkConnection.open(config)) {
            out.println("server limits: " + connection.limits());
        }
        // end
    }

    private static void getAndSet(BlinkPool pool, PrintStream out) {
        // snippet:get-and-set
        pool.set("greeting".getBytes(StandardCharsets.UTF_8), "hello\0world".getBytes(StandardCharsets.UTF_8));
        Optional<String> greeting = pool.get("greeting"); // String overloads use UTF-8
        out.println("greeting = " + greeting.orElse("(missing)").replace("\0", "\\0"));
        out.println("no such key: " + pool.get("no such key").isPresent()); // a miss is not an error
        out.println("deleted: " + pool.del("greeting") + ", again: " + pool.del("greeting"));
        // end
    }

    private static void ttls(BlinkPool pool, PrintStream out) {
        // snippet:ttls
        pool.set("session", "token-123", Ttl.of(Duration.ofSeconds(30)));
        if (pool.ttl("session").orElseThrow() instanceof Ttl.Millis left) {
            out.println("session expires in about " + left.toDuration().toSeconds() + " s");
        }
        pool.expire("session", Ttl.persistent()); // no TTL any more
        out.println("session ttl: " + pool.ttl("session").orElseThrow());
        // end
    }

    private static void pipelines(BlinkPool pool, PrintStream out) {
        // snippet:pipeline
        Pipeline pipeline = new Pipeline();
        List<Response<Optional<String>>> gets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            pipeline.add(Command.set("item:" + i, "value " + i, Ttl.of(Duration.ofMinutes(1))));
            gets.add(pipeline.add(Command.get("item:" + i)));
        }
        pool.execute(pipeline); // one write, replies read while writing, in order
        for (Response<Optional<String>> get : gets) {
            out.println("pipelined GET: " + get.get().orElseThrow());
        }
        // end
    }

    private static void version2(BlinkPool pool, PrintStream out) {
        // snippet:version-2
        if (pool.add("lock:report", "worker-1", Ttl.of(Duration.ofSeconds(10)))) { // only if absent
            out.println("lock taken");
            pool.del("lock:report");
        }
        out.println("replaced a missing key: " + pool.replace("no such key", "v")); // only if present
        long visits = pool.incr("visits", 1); // a missing key counts from 0
        out.println("visits: " + visits + ", then " + pool.incr("visits", -1));
        out.println("log length: " + pool.append("log", "started;")); // the new length
        try {
            pool.incr("session", 1); // "token-123" is no integer
        } catch (NotIntegerException e) {
            out.println("not an integer: " + e.status().orElseThrow());
        }
        for (String key : pool.scanKeys("item:")) { // every key under the prefix, each once, page by page
            out.println("scanned " + key);
        }
        // end
    }

    private static void errors(BlinkPool pool, PrintStream out) {
        // snippet:errors
        try (PooledConnection connection = pool.borrow()) {
            connection.set("k".repeat(2000), "v"); // keys are at most 1 KiB by default
        } catch (KeyTooLargeException e) {
            out.println("refused before sending: " + e.refusedLocally());
        } catch (ConnectionLostException e) {
            out.println("connection lost: the SET may or may not have happened: " + e.getMessage());
        } catch (PoolExhaustedException e) {
            out.println("every connection stayed busy: " + e.getMessage());
        }
        // end
    }
}

package dev.blinkstore.client;

import java.util.ArrayList;
import java.util.List;

/**
 * Commands sent together on one connection, in order, without waiting for replies (SPEC §8).
 * The connection reads replies while it writes, so a pipeline of any size cannot deadlock on
 * full socket buffers. Each command gets its own {@link Response}; a command refused locally
 * (too large) is not sent and fails alone. A pipeline runs once.
 *
 * <pre>{@code
 * Pipeline pipeline = new Pipeline();
 * Response<Optional<String>> a = pipeline.add(Command.get("a"));
 * Response<Boolean> gone = pipeline.add(Command.del("b"));
 * pool.execute(pipeline);
 * }</pre>
 */
public final class Pipeline {
    private final List<Entry<?>> entries = new ArrayList<>();
    private boolean executed;

    /** A command and the response it fills. */
    record Entry<T>(Command<T> command, Response<T> response) {
        /** Completes the response from {@code reply} and returns the result. */
        T deliver(Reply reply) {
            T result = command.decode(reply);
            response.complete(result);
            return result;
        }

        void fail(BlinkException failure) {
            response.fail(failure);
        }
    }

    /** Queues {@code command}; its outcome is in the returned response once executed. */
    public <T> Response<T> add(Command<T> command) {
        if (executed) {
            throw new IllegalStateException("this pipeline has already been executed");
        }
        Response<T> response = new Response<>();
        entries.add(new Entry<>(command, response));
        return response;
    }

    /** The number of commands queued. */
    public int size() {
        return entries.size();
    }

    /** The entries, once: a pipeline is executed at most once. */
    List<Entry<?>> take() {
        if (executed) {
            throw new IllegalStateException("this pipeline has already been executed");
        }
        executed = true;
        return entries;
    }
}

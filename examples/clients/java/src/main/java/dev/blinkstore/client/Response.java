package dev.blinkstore.client;

import java.util.Optional;

/**
 * The outcome of one command of a {@link Pipeline}, set when the pipeline is executed: its
 * result or its exception. Not thread-safe: read it on the thread that executed the pipeline,
 * or after handing it over safely.
 *
 * @param <T> the command's result type
 */
public final class Response<T> {
    private boolean done;
    private T value;
    private BlinkException error;

    Response() {}

    /**
     * The command's result.
     *
     * @throws BlinkException the command's failure
     * @throws IllegalStateException when the pipeline has not been executed yet
     */
    public T get() {
        if (!done) {
            throw new IllegalStateException("the pipeline has not been executed yet");
        }
        if (error != null) {
            throw error;
        }
        return value;
    }

    /** Whether the command has an outcome. */
    public boolean isDone() {
        return done;
    }

    /** The command's failure, if it failed. */
    public Optional<BlinkException> error() {
        return Optional.ofNullable(error);
    }

    void complete(T result) {
        value = result;
        done = true;
    }

    void fail(BlinkException failure) {
        error = failure;
        done = true;
    }
}

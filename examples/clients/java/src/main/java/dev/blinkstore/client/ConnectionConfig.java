package dev.blinkstore.client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to open and drive one connection: the endpoint, the AUTH token, and the timeouts that
 * bound every wait on the socket. Immutable; build with {@link #builder(Endpoint)}.
 */
public final class ConnectionConfig {
    /** Tokens travel in one AUTH frame within the 4 096-byte pre-auth limit (SPEC §11). */
    static final int MAX_TOKEN_BYTES = Wire.PRE_AUTH_FRAME_BYTES - 1;

    private final Endpoint endpoint;
    private final byte[] token;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final Duration writeTimeout;

    private ConnectionConfig(Builder builder) {
        endpoint = Objects.requireNonNull(builder.endpoint, "endpoint");
        token = builder.token;
        if (token != null && token.length > MAX_TOKEN_BYTES) {
            throw new IllegalArgumentException("token of " + token.length + " bytes; at most " + MAX_TOKEN_BYTES);
        }
        connectTimeout = requirePositive(builder.connectTimeout, "connectTimeout");
        readTimeout = requirePositive(builder.readTimeout, "readTimeout");
        writeTimeout = requirePositive(builder.writeTimeout, "writeTimeout");
    }

    static Duration requirePositive(Duration duration, String name) {
        if (duration == null || duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + duration);
        }
        return duration;
    }

    /** A builder with defaults: connect timeout 1 s, read and write timeouts 3 s, no token. */
    public static Builder builder(Endpoint endpoint) {
        return new Builder(endpoint);
    }

    /** Where the server listens. */
    public Endpoint endpoint() {
        return endpoint;
    }

    /** The shared secret sent with AUTH at connect, if the server has one. */
    public Optional<byte[]> token() {
        return Optional.ofNullable(token).map(byte[]::clone);
    }

    /** Bounds opening the socket: an unreachable or overloaded host. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * Bounds the wait for each reply to arrive in full: a hung or stopped server, half-open TCP.
     * When it fires the connection is closed, so the late reply can never reach another call.
     */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** Bounds writing each request frame in full: a server that stopped reading. */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    @Override
    public String toString() {
        return "ConnectionConfig[" + endpoint + ", token " + (token != null ? "set" : "unset") + ", connect "
                + connectTimeout + ", read " + readTimeout + ", write " + writeTimeout + "]";
    }

    /** Builds a {@link ConnectionConfig}. */
    public static final class Builder {
        private final Endpoint endpoint;
        private byte[] token;
        private Duration connectTimeout = Duration.ofSeconds(1);
        private Duration readTimeout = Duration.ofSeconds(3);
        private Duration writeTimeout = Duration.ofSeconds(3);

        private Builder(Endpoint endpoint) {
            this.endpoint = endpoint;
        }

        /** The AUTH token, sent pipelined with HELLO on every new connection. */
        public Builder token(byte[] token) {
            this.token = token.clone();
            return this;
        }

        /** The AUTH token as UTF-8; an empty or null string means none. */
        public Builder token(String token) {
            this.token = token == null || token.isEmpty() ? null : token.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        /** See {@link ConnectionConfig#connectTimeout()}. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        /** See {@link ConnectionConfig#readTimeout()}. */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = timeout;
            return this;
        }

        /** See {@link ConnectionConfig#writeTimeout()}. */
        public Builder writeTimeout(Duration timeout) {
            this.writeTimeout = timeout;
            return this;
        }

        /** The validated configuration. */
        public ConnectionConfig build() {
            return new ConnectionConfig(this);
        }
    }
}

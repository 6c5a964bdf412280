package dev.blinkstore.client;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/** Where a server listens: a TCP host and port, or a Unix-domain socket path (SPEC §2). */
public sealed interface Endpoint permits Endpoint.Tcp, Endpoint.Unix {
    /** A TCP endpoint. */
    static Endpoint tcp(String host, int port) {
        return new Tcp(host, port);
    }

    /** A Unix-domain socket endpoint. */
    static Endpoint unix(Path path) {
        return new Unix(path);
    }

    /**
     * Parses {@code host:port}, {@code [v6-host]:port}, or {@code unix:/path} (also any text
     * containing a {@code /}, read as a socket path).
     */
    static Endpoint parse(String text) {
        if (text.startsWith("unix:")) {
            return unix(Path.of(text.substring("unix:".length())));
        }
        if (text.contains("/")) {
            return unix(Path.of(text));
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not host:port or unix:/path: " + text);
        }
        String host = text.substring(0, colon).replaceAll("^\\[|]$", "");
        return tcp(host, Integer.parseInt(text.substring(colon + 1)));
    }

    /** The address to connect to. */
    SocketAddress socketAddress();

    /**
     * A TCP endpoint.
     *
     * @param host a host name or address
     * @param port the port, 1 to 65535
     */
    record Tcp(String host, int port) implements Endpoint {
        /** Validates the port. */
        public Tcp {
            Objects.requireNonNull(host, "host");
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }

        @Override
        public SocketAddress socketAddress() {
            return new InetSocketAddress(host, port);
        }

        @Override
        public String toString() {
            return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
        }
    }

    /**
     * A Unix-domain socket endpoint.
     *
     * @param path the socket file
     */
    record Unix(Path path) implements Endpoint {
        /** Validates the path. */
        public Unix {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public SocketAddress socketAddress() {
            return UnixDomainSocketAddress.of(path);
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }
}

package dev.blinkstore.client;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One socket and its buffers: connects with a timeout, then exchanges request frames for reply
 * frames. The channel is non-blocking and every wait goes through one selector, so an exchange
 * writes and reads in the same loop (a pipeline of any size cannot deadlock, SPEC §8) and every
 * wait is bounded: while a request frame is being written, the next one must be written in full
 * within the write timeout; otherwise the next reply must arrive in full within the read
 * timeout. Any failure closes the socket: a timed-out call
 * never leaves its reply to the next one. Not thread-safe; {@link BlinkConnection} owns it.
 *
 * <p>Buffers: {@code out} holds encoded frames not yet written (fill mode, refilled from the
 * request list as it drains, grown only for one frame larger than it); {@code in} holds received
 * bytes (fill mode between reads, grown only for one reply larger than it, up to the frame
 * limit).
 */
final class Transport implements AutoCloseable {
    /** Starting size of each buffer: a few typical frames, one socket buffer's worth. */
    private static final int BUFFER_BYTES = 64 * 1024;

    /** Receives the replies of an exchange, in request order. */
    interface ReplySink {
        /** Takes reply number {@code index}; false ends the exchange (the connection closes). */
        boolean accept(int index, Reply reply);
    }

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final long readTimeoutNanos;
    private final long writeTimeoutNanos;
    private ByteBuffer in = ByteBuffer.allocate(BUFFER_BYTES);
    private ByteBuffer out = ByteBuffer.allocate(BUFFER_BYTES);
    private int maxReplyBytes = Wire.FRAME_BYTES_CEILING;
    private boolean closed;

    private Transport(SocketChannel channel, Selector selector, SelectionKey key, ConnectionConfig config) {
        this.channel = channel;
        this.selector = selector;
        this.key = key;
        this.readTimeoutNanos = config.readTimeout().toNanos();
        this.writeTimeoutNanos = config.writeTimeout().toNanos();
    }

    /**
     * Opens a socket to the configured endpoint: TCP with NODELAY and keepalive, or Unix.
     *
     * @throws ConnectFailedException when the endpoint refuses or cannot be reached
     * @throws BlinkTimeoutException when it does not answer within the connect timeout
     */
    static Transport connect(ConnectionConfig config) {
        Endpoint endpoint = config.endpoint();
        SocketChannel channel = null;
        Selector selector = null;
        try {
            if (endpoint instanceof Endpoint.Tcp) {
                channel = SocketChannel.open();
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            } else {
                channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            }
            channel.configureBlocking(false);
            selector = Selector.open();
            SelectionKey key = channel.register(selector, SelectionKey.OP_CONNECT);
            if (!channel.connect(endpoint.socketAddress())) {
                awaitConnect(channel, selector, config.connectTimeout(), endpoint);
            }
            key.interestOps(SelectionKey.OP_READ);
            return new Transport(channel, selector, key, config);
        } catch (IOException e) {
            closeQuietly(channel, selector);
            throw new ConnectFailedException("cannot connect to " + endpoint + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel, selector);
            throw e;
        }
    }

    private static void awaitConnect(SocketChannel channel, Selector selector, Duration timeout, Endpoint endpoint)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!channel.finishConnect()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new BlinkTimeoutException("connecting to " + endpoint + " took longer than " + timeout);
            }
            selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            selector.selectedKeys().clear();
        }
    }

    /** Replies longer than this are protocol errors (SPEC §13); HELLO tells the real limit. */
    void maxReplyBytes(int bytes) {
        maxReplyBytes = bytes;
    }

    /**
     * Sends {@code requests} and hands their replies to {@code sink} in order, until all have
     * arrived or the sink stops.
     *
     * @throws ConnectionLostException (after closing the socket) on a timeout, a close, an I/O
     *     error or an invalid frame
     */
    void exchange(List<Wire.Request> requests, ReplySink sink) {
        try {
            int encoded = 0;
            int received = 0;
            FrameCounter sent = new FrameCounter(requests);
            long lastProgress = System.nanoTime();
            while (true) {
                encoded = encode(requests, encoded);
                int written = out.position() > 0 ? write() : 0;
                int read = read();
                int receivedBefore = received;
                in.flip();
                try {
                    for (Reply reply; received < requests.size()
                            && (reply = Wire.decodeReply(in, maxReplyBytes)) != null; ) {
                        if (!sink.accept(received++, reply)) {
                            return;
                        }
                    }
                } finally {
                    in.compact();
                }
                if (received == requests.size()) {
                    return;
                }
                if (sent.advance(written) || received > receivedBefore) {
                    lastProgress = System.nanoTime();
                }
                boolean allWritten = out.position() == 0 && encoded == requests.size();
                if (read == 0 && (allWritten || written == 0)) {
                    await(lastProgress);
                }
            }
        } catch (IOException e) {
            throw closeWith(new ConnectionClosedException("connection failed: " + e.getMessage(), e));
        } catch (ConnectionLostException e) {
            throw closeWith(e);
        }
    }

    /**
     * Counts request frames written in full. The timeouts measure progress in whole frames, not
     * bytes, so a peer that reads or answers a few bytes at a time cannot keep a stuck call
     * alive past its timeout.
     */
    private static final class FrameCounter {
        private final List<Wire.Request> requests;
        private int complete;
        private long writtenBytes;
        private long nextFrameEndBytes;

        FrameCounter(List<Wire.Request> requests) {
            this.requests = requests;
            this.nextFrameEndBytes = requests.get(0).frameBytes();
        }

        /** Adds bytes written; true if that completed at least one frame. */
        boolean advance(int bytes) {
            writtenBytes += bytes;
            int before = complete;
            while (complete < requests.size() && writtenBytes >= nextFrameEndBytes) {
                complete++;
                nextFrameEndBytes += complete < requests.size() ? requests.get(complete).frameBytes() : 0;
            }
            return complete > before;
        }
    }

    /** Encodes requests from {@code next} on while they fit; returns the next one to encode. */
    private int encode(List<Wire.Request> requests, int next) {
        while (next < requests.size()) {
            Wire.Request request = requests.get(next);
            int bytes = request.frameBytes();
            if (out.remaining() < bytes) {
                if (out.position() > 0) {
                    break; // the rest when this drains
                }
                out = ByteBuffer.allocate(bytes);
            }
            Wire.encode(request, out);
            next++;
        }
        return next;
    }

    private int write() throws IOException {
        out.flip();
        try {
            return channel.write(out);
        } finally {
            out.compact();
        }
    }

    private int read() throws IOException {
        if (!in.hasRemaining()) {
            // Full with one incomplete reply whose header decodeReply already checked against
            // maxReplyBytes: grow to hold it, never beyond the limit.
            int grown = (int) Math.min(2L * in.capacity(), (long) Wire.HEADER_BYTES + maxReplyBytes);
            in = ByteBuffer.allocate(grown).put(in.flip());
        }
        int read = channel.read(in);
        if (read < 0) {
            throw new ConnectionClosedException("the server closed the connection before the reply", null);
        }
        return read;
    }

    /** Waits for the socket to become ready, or throws when the timeout has passed. */
    private void await(long lastProgress) throws IOException {
        boolean writing = out.position() > 0;
        long limit = writing ? writeTimeoutNanos : readTimeoutNanos;
        long left = limit - (System.nanoTime() - lastProgress);
        if (left <= 0) {
            throw new BlinkTimeoutException((writing ? "no write progress" : "no reply") + " within "
                    + Duration.ofNanos(limit) + " (" + (writing ? "write" : "read") + " timeout); connection closed");
        }
        int ops = SelectionKey.OP_READ | (writing ? SelectionKey.OP_WRITE : 0);
        if (key.interestOps() != ops) {
            key.interestOps(ops);
        }
        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
        selector.selectedKeys().clear();
    }

    /**
     * A cheap liveness check for an idle connection: a non-blocking read that must find
     * nothing. End of stream, an error, or unsolicited bytes (a closing status the server sent
     * while it sat idle) all mean it must not be reused.
     */
    boolean isIdleAndOpen() {
        if (closed || in.position() > 0) {
            return false;
        }
        try {
            return channel.read(in) == 0;
        } catch (IOException e) {
            return false;
        }
    }

    private ConnectionLostException closeWith(ConnectionLostException failure) {
        close();
        return failure;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel, selector);
    }

    /**
     * Closes the selector first: a channel still registered with an open selector defers
     * closing its socket until the key is flushed.
     */
    private static void closeQuietly(SocketChannel channel, Selector selector) {
        for (AutoCloseable resource : new AutoCloseable[] {selector, channel}) {
            try {
                if (resource != null) {
                    resource.close();
                }
            } catch (Exception ignored) {
                // nothing left to release
            }
        }
    }
}

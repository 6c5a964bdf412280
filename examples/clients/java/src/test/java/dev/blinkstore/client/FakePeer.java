package dev.blinkstore.client;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process server the test scripts byte by byte: it accepts on 127.0.0.1:0 and runs the
 * handler for each connection on its own thread (accept and hang, malformed or oversized
 * replies). It counts accepts and the connections the client closed.
 */
final class FakePeer implements AutoCloseable {
    /** Scripts one accepted connection; {@code index} counts accepts from 0. */
    interface Handler {
        void handle(FakePeer peer, Socket socket, int index) throws IOException;
    }

    private final ServerSocket server;
    private final AtomicInteger accepts = new AtomicInteger();
    private final Semaphore clientCloses = new Semaphore(0);
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private FakePeer(Handler handler) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> acceptLoop(handler), "fake peer");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static FakePeer start(Handler handler) {
        try {
            return new FakePeer(handler);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void acceptLoop(Handler handler) {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                sockets.add(socket);
                int index = accepts.getAndIncrement();
                Thread worker = new Thread(() -> {
                    try (socket) {
                        handler.handle(this, socket, index);
                    } catch (IOException ignored) {
                        // the client went away mid-script
                    }
                }, "fake peer connection " + index);
                worker.setDaemon(true);
                worker.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    Endpoint endpoint() {
        return Endpoint.tcp("127.0.0.1", server.getLocalPort());
    }

    int accepts() {
        return accepts.get();
    }

    /** Reads one request frame. */
    static byte[] readFrame(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        return payload;
    }

    /** Reads HELLO and answers it: version 1, no AUTH needed, these limits. */
    static void answerHello(Socket socket, int maxFrameBytes, int maxValueBytes) throws IOException {
        readFrame(socket);
        socket.getOutputStream().write(helloReply(maxFrameBytes, maxValueBytes));
    }

    static byte[] helloReply(int maxFrameBytes, int maxValueBytes) {
        return ByteBuffer.allocate(19).putInt(15).put((byte) 0).put((byte) 1).put((byte) 0)
                .putInt(maxFrameBytes).putInt(1024).putInt(maxValueBytes).array();
    }

    /** Answers every request with an empty OK until the client closes. */
    void serveOk(Socket socket) throws IOException {
        OutputStream out = socket.getOutputStream();
        try {
            while (true) {
                readFrame(socket);
                out.write(new byte[] {0, 0, 0, 1, 0});
            }
        } catch (IOException closed) {
            clientCloses.release();
        }
    }

    /** Reads (and drops) everything until the client closes the connection. */
    void awaitClientClose(Socket socket) {
        try {
            InputStream in = socket.getInputStream();
            byte[] sink = new byte[4096];
            while (in.read(sink) >= 0) {
                // discard
            }
        } catch (IOException reset) {
            // closed all the same
        }
        clientCloses.release();
    }

    /** Whether the client closed a connection within {@code timeout}. */
    boolean clientClosedWithin(Duration timeout) throws InterruptedException {
        return clientCloses.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }
}

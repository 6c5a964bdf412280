package dev.blinkstore.client;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One connection to a server and its protocol state: the version and limits HELLO reported,
 * whether it must still AUTH, and whether it is still usable. Opening it sends {@code HELLO 2},
 * pipelined with AUTH when a token is configured (SPEC §14); a version-1 server answers with
 * version 1, and the version-2 commands then fail with an {@link UnknownCommandException} without
 * being sent. Every key and value is checked against the limits before anything is written.
 * Replies map to results and exceptions as SPEC §13 says; a closing status, a timeout or an
 * invalid frame closes the connection and fails every call still waiting with a {@link
 * ConnectionLostException} (SPEC §8).
 *
 * <p>Not thread-safe: use it from one thread at a time (a {@link BlinkPool} gives each borrower
 * its own). Close it with try-with-resources:
 *
 * <pre>{@code
 * try (BlinkConnection connection = BlinkConnection.open(config)) {
 *     connection.set("k", "v");
 * }
 * }</pre>
 */
public final class BlinkConnection implements BlinkCommands, AutoCloseable {
    private final Transport transport;
    private Limits limits = Limits.CEILING;
    /** The version of the last HELLO reply; a connection speaks version 1 until one says otherwise. */
    private int version = 1;
    /** Until HELLO says otherwise, assume the pre-auth frame limit applies. */
    private boolean authRequired = true;
    /** Why the connection is closed, or {@code null} while it is open. */
    private BlinkException closedBy;

    private BlinkConnection(Transport transport) {
        this.transport = transport;
    }

    /**
     * Connects and sends HELLO (and AUTH, if the configuration has a token) in one write.
     *
     * @throws ConnectFailedException when the endpoint cannot be reached
     * @throws AuthFailedException when the token is wrong
     * @throws ServerUnavailableException when the server is at its connection limit or draining
     * @throws BlinkTimeoutException when the server does not answer in time
     * @throws ProtocolException when the peer negotiates a version this client does not speak
     */
    public static BlinkConnection open(ConnectionConfig config) {
        BlinkConnection connection = new BlinkConnection(Transport.connect(config));
        Pipeline handshake = new Pipeline();
        Response<HelloReply> hello = handshake.add(Command.hello());
        Optional<Response<Void>> auth = config.token().map(token -> handshake.add(Command.auth(token)));
        connection.execute(handshake);
        try {
            hello.get();
            auth.ifPresent(Response::get);
            return connection;
        } catch (BlinkException e) {
            connection.close();
            throw e;
        }
    }

    /** HELLO 2: the negotiated version and the server's limits, which this connection then uses. */
    public HelloReply hello() {
        return call(Command.hello());
    }

    /**
     * HELLO with {@code version} (1 or 2): the connection then speaks the version of the reply
     * (SPEC §10), and so does its check of the version-2 commands.
     */
    public HelloReply hello(int version) {
        return call(Command.hello(version));
    }

    /** The protocol version of the last HELLO reply: 2, or 1 from a server without the version-2 commands. */
    public int version() {
        return version;
    }

    /** AUTH with {@code token}; a wrong token closes the connection ({@link AuthFailedException}). */
    public void auth(byte[] token) {
        call(Command.auth(token));
    }

    /** AUTH with a UTF-8 token. */
    public void auth(String token) {
        auth(token.getBytes(StandardCharsets.UTF_8));
    }

    /** The limits the server reported in its last HELLO reply. */
    public Limits limits() {
        return limits;
    }

    /** Whether the connection can still be used. */
    public boolean isOpen() {
        return closedBy == null;
    }

    /** What closed the connection, while {@link #isOpen()} is false. */
    Optional<BlinkException> closeCause() {
        return Optional.ofNullable(closedBy);
    }

    /** The pool's cheap liveness check before reuse: open, and nothing unsolicited arrived. */
    boolean isIdleAndOpen() {
        return closedBy == null && transport.isIdleAndOpen();
    }

    @Override
    public <T> T call(Command<T> command) {
        Pipeline pipeline = new Pipeline();
        Response<T> response = pipeline.add(command);
        execute(pipeline);
        return response.get();
    }

    @Override
    public void execute(Pipeline pipeline) {
        List<Pipeline.Entry<?>> entries = pipeline.take();
        if (closedBy != null) {
            BlinkException notSent = new ConnectionClosedException("the connection is closed; the request was not sent", closedBy);
            entries.forEach(entry -> entry.fail(notSent));
            return;
        }
        List<Pipeline.Entry<?>> sent = new ArrayList<>(entries.size());
        List<Wire.Request> requests = new ArrayList<>(entries.size());
        // A HELLO earlier in the pipeline may raise the version for what follows it (SPEC §10: a
        // client MAY pipeline commands behind HELLO 2); assume it succeeds: if the server answers a
        // lower version, it refuses those commands itself with ERR_UNKNOWN_COMMAND.
        int versionAhead = version;
        for (Pipeline.Entry<?> entry : entries) {
            Wire.Request request = entry.command().request();
            RequestRefusedException refusal = refusal(request, limits, authRequired, versionAhead);
            if (refusal != null) {
                entry.fail(refusal);
            } else {
                sent.add(entry);
                requests.add(request);
                if (request.opcode() == Wire.HELLO) {
                    versionAhead = request.tail()[0] & 0xFF;
                }
            }
        }
        if (requests.isEmpty()) {
            return;
        }
        int[] answered = {0};
        BlinkException unanswered;
        try {
            transport.exchange(requests, (index, reply) -> {
                answered[0] = index + 1;
                return deliver(sent.get(index), reply);
            });
            unanswered = closedBy == null ? null : new ConnectionClosedException(
                    "the connection closed after an earlier reply (" + closedBy.getMessage()
                            + "); the request may or may not have run", closedBy);
        } catch (ConnectionLostException e) {
            closedBy = e;
            unanswered = e;
        }
        for (int i = answered[0]; i < sent.size(); i++) {
            sent.get(i).fail(unanswered);
        }
    }

    /** Completes one command from its reply; false when the reply closed the connection. */
    private boolean deliver(Pipeline.Entry<?> entry, Reply reply) {
        try {
            Object result = entry.deliver(reply);
            if (result instanceof HelloReply hello) {
                version = hello.version();
                limits = hello.limits();
                authRequired = hello.authRequired();
                transport.maxReplyBytes(limits.maxFrameBytes());
            } else if (entry.command().request().opcode() == Wire.AUTH) {
                authRequired = false;
            }
            return true;
        } catch (BlinkException e) {
            entry.fail(e);
            if (e instanceof ConnectionLostException || e instanceof AuthFailedException) {
                closedBy = e;
                transport.close();
                return false;
            }
            return true;
        }
    }

    /**
     * Why the request must not be sent on a connection at {@code version} under {@code limits}
     * (SPEC §4, §10, §11), or null. Only the key is held to {@code max_key_bytes}: a SCAN prefix
     * is no key.
     */
    static RequestRefusedException refusal(Wire.Request request, Limits limits, boolean authRequired, int version) {
        if (request.sinceVersion() > version) {
            return new UnknownCommandException("the connection speaks protocol version " + version
                    + ", which has no opcode 0x" + Integer.toHexString(request.opcode()) + "; not sent", null);
        }
        byte[] key = request.key();
        if (key != null && key.length > limits.maxKeyBytes()) {
            return new KeyTooLargeException(
                    "key of " + key.length + " bytes exceeds max_key_bytes " + limits.maxKeyBytes() + "; not sent", null);
        }
        boolean isValue = request.tailIsValue();
        int valueBytes = request.tail().length;
        if (isValue && valueBytes > limits.maxValueBytes()) {
            return new ValueTooLargeException("value of " + valueBytes + " bytes exceeds max_value_bytes "
                    + limits.maxValueBytes() + "; not sent", null);
        }
        int frameLimit = authRequired ? Math.min(limits.maxFrameBytes(), Wire.PRE_AUTH_FRAME_BYTES) : limits.maxFrameBytes();
        if (request.payloadBytes() > frameLimit) {
            String message = "request of " + request.payloadBytes() + " bytes exceeds the frame limit " + frameLimit
                    + (authRequired ? " before AUTH" : "") + "; not sent";
            return isValue ? new ValueTooLargeException(message, null) : new KeyTooLargeException(message, null);
        }
        return null;
    }

    /** Closes the socket; calls after this fail without sending. */
    @Override
    public void close() {
        if (closedBy == null) {
            closedBy = new ConnectionClosedException("closed by the client", null);
        }
        transport.close();
    }
}

package dev.blinkstore.client;

/**
 * The reply statuses of protocol versions 1 and 2 (SPEC §6.2), and the exception SPEC §13 maps
 * each error status to. This is the only place that decides what a status means for the caller.
 */
public enum Status {
    /** Success. */
    OK(0x00),
    /** The key does not exist or has expired: a result, never an exception. */
    NOT_FOUND(0x01),
    /** ADD found the key already there (v2): a result ({@code false}), never an exception. */
    EXISTS(0x02),
    /** The server does not know the opcode. */
    ERR_UNKNOWN_COMMAND(0x80),
    /** The server could not parse the request (closing). */
    ERR_MALFORMED(0x81),
    /** The request frame exceeded the server's frame limit (closing). */
    ERR_FRAME_TOO_LARGE(0x82),
    /** The key exceeded {@code max_key_bytes}. */
    ERR_KEY_TOO_LARGE(0x83),
    /** The value exceeded {@code max_value_bytes}. */
    ERR_VALUE_TOO_LARGE(0x84),
    /** The item can never fit in the server's memory cap. */
    ERR_ITEM_TOO_LARGE(0x85),
    /** The connection must AUTH first. */
    ERR_AUTH_REQUIRED(0x86),
    /** Wrong token (closing). */
    ERR_AUTH_FAILED(0x87),
    /** HELLO asked for a version the server refuses. */
    ERR_UNSUPPORTED_VERSION(0x88),
    /** The server is at its connection limit (closing). */
    ERR_TOO_MANY_CONNECTIONS(0x89),
    /** A frame took too long, or the connection sat idle (closing). */
    ERR_TIMEOUT(0x8A),
    /** The server's buffers are exhausted or this connection did not read its replies (closing). */
    ERR_BUSY(0x8B),
    /** The server is draining (closing). */
    ERR_SHUTTING_DOWN(0x8C),
    /** INCR found a value that is not a decimal i64, or the result would overflow (v2). */
    ERR_NOT_INTEGER(0x8D);

    private static final Status[] BY_CODE = new Status[256];

    static {
        for (Status status : values()) {
            BY_CODE[status.code] = status;
        }
    }

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The status byte on the wire. */
    public int code() {
        return code;
    }

    /** The status with this code, or {@code null} if no version this client speaks defines it. */
    static Status of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** The exception for an error reply (SPEC §13); unknown codes are protocol errors (§10). */
    static BlinkException toException(Reply reply) {
        Status status = of(reply.status());
        if (status == null) {
            return new ProtocolException(String.format("unknown reply status 0x%02x", reply.status()));
        }
        String message = status + ": " + reply.message();
        return switch (status) {
            case OK, NOT_FOUND, EXISTS -> new ProtocolException(status + " is not a valid reply here");
            case ERR_UNKNOWN_COMMAND -> new UnknownCommandException(message, status);
            case ERR_KEY_TOO_LARGE -> new KeyTooLargeException(message, status);
            case ERR_VALUE_TOO_LARGE -> new ValueTooLargeException(message, status);
            case ERR_ITEM_TOO_LARGE -> new ItemTooLargeException(message);
            case ERR_NOT_INTEGER -> new NotIntegerException(message);
            case ERR_AUTH_REQUIRED -> new AuthRequiredException(message);
            case ERR_AUTH_FAILED -> new AuthFailedException(message);
            // The client only sends HELLO 1 or 2 and well-formed frames within the limits HELLO
            // reported: these mean client and server disagree on the protocol.
            case ERR_MALFORMED, ERR_FRAME_TOO_LARGE, ERR_UNSUPPORTED_VERSION -> new ProtocolException(message, status);
            case ERR_TOO_MANY_CONNECTIONS, ERR_TIMEOUT, ERR_BUSY, ERR_SHUTTING_DOWN ->
                    new ServerUnavailableException(message, status);
        };
    }
}

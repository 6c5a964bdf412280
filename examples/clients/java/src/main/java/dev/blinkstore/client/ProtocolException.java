package dev.blinkstore.client;

/**
 * Client and server disagree on the protocol: an invalid reply frame (zero length, a first byte
 * of 0x20 or more, longer than the server's limit), a reply that does not fit its request, an
 * unknown status, or the server saying the request was malformed (SPEC §13). The connection is
 * closed.
 */
public final class ProtocolException extends ConnectionLostException {
    private static final long serialVersionUID = 1L;

    ProtocolException(String message) {
        super(message, null, null);
    }

    ProtocolException(String message, Status status) {
        super(message, status, null);
    }
}

// The exceptions a caller can catch, one class per SPEC §13 behaviour, and the one mapping
// from a reply's error status to them. "Not found" is never an exception.
using System;
using System.Text;

namespace BlinkStore.Client
{
    /// <summary>The base of every error this client raises.</summary>
    public class BlinkException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public BlinkException(string message, BlinkStatus? status = null, Exception inner = null)
            : base(message, inner)
        {
            Status = status;
        }

        /// <summary>The server's status when the error came from a reply; null for a local error.</summary>
        public BlinkStatus? Status { get; }
    }

    /// <summary>
    /// This request was refused, by the server or before sending; the connection stays usable and
    /// retrying the same request gives the same answer.
    /// </summary>
    public class BlinkRejectedException : BlinkException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkRejectedException(string message, BlinkStatus? status) : base(message, status) { }

        /// <summary>Whether the client refused the request itself, before writing anything.</summary>
        public bool IsLocal => Status == null;
    }

    /// <summary>A key above max_key_bytes (ERR_KEY_TOO_LARGE, or refused locally).</summary>
    public sealed class BlinkKeyTooLargeException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkKeyTooLargeException(string message, BlinkStatus? status = null) : base(message, status) { }
    }

    /// <summary>
    /// A SET, ADD or REPLACE value or an APPEND suffix above max_value_bytes or past the frame limit
    /// (ERR_VALUE_TOO_LARGE, or refused locally); from the server also an APPEND whose result would
    /// exceed max_value_bytes, or a SCAN page that cannot fit a reply.
    /// </summary>
    public sealed class BlinkValueTooLargeException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkValueTooLargeException(string message, BlinkStatus? status = null) : base(message, status) { }
    }

    /// <summary>A request frame over the connection's frame limit, refused locally (an AUTH token above 4 095 bytes, say).</summary>
    public sealed class BlinkFrameTooLargeException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkFrameTooLargeException(string message) : base(message, null) { }
    }

    /// <summary>ERR_ITEM_TOO_LARGE: the item can never be cached by this server.</summary>
    public sealed class BlinkItemTooLargeException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkItemTooLargeException(string message) : base(message, BlinkStatus.ErrItemTooLarge) { }
    }

    /// <summary>
    /// ERR_UNKNOWN_COMMAND: unsupported by this server; or a version-2 command on a connection that
    /// negotiated version 1, refused before sending (<see cref="BlinkRejectedException.IsLocal"/>, SPEC §10).
    /// </summary>
    public sealed class BlinkUnknownCommandException : BlinkRejectedException
    {
        /// <summary>Creates the exception for the server's ERR_UNKNOWN_COMMAND.</summary>
        public BlinkUnknownCommandException(string message) : base(message, BlinkStatus.ErrUnknownCommand) { }

        /// <summary>Creates the exception; a null <paramref name="status"/> is a local refusal.</summary>
        public BlinkUnknownCommandException(string message, BlinkStatus? status) : base(message, status) { }
    }

    /// <summary>
    /// ERR_NOT_INTEGER (v2): INCR found a value that is not a decimal integer in the signed 64-bit
    /// range, or the result would leave it; nothing changed.
    /// </summary>
    public sealed class BlinkNotIntegerException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkNotIntegerException(string message) : base(message, BlinkStatus.ErrNotInteger) { }
    }

    /// <summary>ERR_UNSUPPORTED_VERSION: HELLO asked for a version the server refuses.</summary>
    public sealed class BlinkUnsupportedVersionException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkUnsupportedVersionException(string message) : base(message, BlinkStatus.ErrUnsupportedVersion) { }
    }

    /// <summary>ERR_AUTH_REQUIRED: the server has a token and this connection has not authenticated.</summary>
    public sealed class BlinkAuthRequiredException : BlinkRejectedException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkAuthRequiredException(string message) : base(message, BlinkStatus.ErrAuthRequired) { }
    }

    /// <summary>ERR_AUTH_FAILED: a wrong token. A configuration error: the pool does not reconnect in a loop.</summary>
    public sealed class BlinkAuthFailedException : BlinkException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkAuthFailedException(string message) : base(message, BlinkStatus.ErrAuthFailed) { }
    }

    /// <summary>
    /// The connection is closed: a call that got no reply may or may not have been executed
    /// (SPEC §8). Retry only what is safe to repeat.
    /// </summary>
    public class BlinkConnectionException : BlinkException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkConnectionException(string message, BlinkStatus? status = null, Exception inner = null)
            : base(message, status, inner) { }
    }

    /// <summary>No reply within the read timeout; the client closed the connection.</summary>
    public sealed class BlinkTimeoutException : BlinkConnectionException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkTimeoutException(string message) : base(message) { }
    }

    /// <summary>
    /// The peer broke the protocol (a malformed or oversized reply, an unknown status) or said the
    /// client did (ERR_MALFORMED, ERR_FRAME_TOO_LARGE); the connection is closed.
    /// </summary>
    public sealed class BlinkProtocolException : BlinkConnectionException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkProtocolException(string message, BlinkStatus? status = null) : base(message, status) { }
    }

    /// <summary>
    /// The server pushed back and closed (ERR_TOO_MANY_CONNECTIONS, ERR_TIMEOUT, ERR_BUSY,
    /// ERR_SHUTTING_DOWN): reconnect after a backoff, which the pool does.
    /// </summary>
    public class BlinkServerBusyException : BlinkConnectionException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkServerBusyException(string message, BlinkStatus status) : base(message, status) { }
    }

    /// <summary>ERR_TOO_MANY_CONNECTIONS: the server is at its connection limit.</summary>
    public sealed class BlinkTooManyConnectionsException : BlinkServerBusyException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkTooManyConnectionsException(string message) : base(message, BlinkStatus.ErrTooManyConnections) { }
    }

    /// <summary>No connection could be borrowed from the pool within its borrow timeout.</summary>
    public sealed class BlinkPoolTimeoutException : BlinkException
    {
        /// <summary>Creates the exception.</summary>
        public BlinkPoolTimeoutException(string message) : base(message) { }
    }

    /// <summary>Maps reply statuses to exceptions (SPEC §13).</summary>
    static class StatusErrors
    {
        /// <summary>Whether the server closes the connection after this status (SPEC §6.2), or it is unknown.</summary>
        public static bool Closes(byte status)
        {
            switch ((BlinkStatus)status)
            {
                case BlinkStatus.Ok:
                case BlinkStatus.NotFound:
                case BlinkStatus.Exists:
                case BlinkStatus.ErrNotInteger:
                case BlinkStatus.ErrUnknownCommand:
                case BlinkStatus.ErrKeyTooLarge:
                case BlinkStatus.ErrValueTooLarge:
                case BlinkStatus.ErrItemTooLarge:
                case BlinkStatus.ErrAuthRequired:
                case BlinkStatus.ErrUnsupportedVersion:
                    return false;
                default:
                    return true;
            }
        }

        /// <summary>The exception for an error reply (or an unknown status), with the server's message.</summary>
        public static BlinkException FromReply(Reply reply)
        {
            var status = (BlinkStatus)reply.Status;
            string text = $"{Name(reply.Status)}: {Encoding.UTF8.GetString(reply.Body)}";
            switch (status)
            {
                case BlinkStatus.ErrUnknownCommand: return new BlinkUnknownCommandException(text);
                case BlinkStatus.ErrKeyTooLarge: return new BlinkKeyTooLargeException(text, status);
                case BlinkStatus.ErrValueTooLarge: return new BlinkValueTooLargeException(text, status);
                case BlinkStatus.ErrItemTooLarge: return new BlinkItemTooLargeException(text);
                case BlinkStatus.ErrNotInteger: return new BlinkNotIntegerException(text);
                case BlinkStatus.ErrAuthRequired: return new BlinkAuthRequiredException(text);
                case BlinkStatus.ErrUnsupportedVersion: return new BlinkUnsupportedVersionException(text);
                case BlinkStatus.ErrAuthFailed: return new BlinkAuthFailedException(text);
                case BlinkStatus.ErrMalformed:
                case BlinkStatus.ErrFrameTooLarge: return new BlinkProtocolException(text, status);
                case BlinkStatus.ErrTooManyConnections: return new BlinkTooManyConnectionsException(text);
                case BlinkStatus.ErrTimeout:
                case BlinkStatus.ErrBusy:
                case BlinkStatus.ErrShuttingDown: return new BlinkServerBusyException(text, status);
                default: return new BlinkProtocolException($"status 0x{reply.Status:x2} is no error status of protocol version 1 or 2");
            }
        }

        /// <summary>
        /// The error of a call that was waiting (or arrived) when the connection closed with
        /// <paramref name="cause"/>: "connection closed, outcome unknown" (SPEC §8), of the cause's class
        /// so that a timeout stays a timeout and a push-back stays a push-back.
        /// </summary>
        public static BlinkException Orphaned(BlinkException cause)
        {
            string text = $"connection closed, outcome unknown: {cause.Message}";
            if (cause is BlinkTimeoutException)
                return new BlinkTimeoutException(text);
            if (cause is BlinkProtocolException)
                return new BlinkProtocolException(text, cause.Status);
            if (cause is BlinkTooManyConnectionsException)
                return new BlinkTooManyConnectionsException(text);
            if (cause is BlinkServerBusyException)
                return new BlinkServerBusyException(text, cause.Status.Value);
            return new BlinkConnectionException(text, cause.Status, cause);
        }

        static string Name(byte status) =>
            Enum.IsDefined(typeof(BlinkStatus), status) ? ((BlinkStatus)status).ToString() : $"0x{status:x2}";
    }
}

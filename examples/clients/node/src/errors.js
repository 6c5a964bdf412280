// The error types of blink-client: one class per failure class of SPEC §13,
// plus the client's own (timeouts, queue bounds, closed client), and the
// mapping from a reply status to its error.
//
// Every error a call can see on a connection that went away is an instance of
// ConnectionClosedError: its outcome is unknown (SPEC §8). "Not found" is never
// an error: it is a null or false result.

import { Status, statusName } from "./wire.js";

/** Base class of every error blink-client raises. */
export class BlinkError extends Error {
  get name() {
    return this.constructor.name;
  }
}

/** A connection could not be opened (refused, no such socket, DNS...). */
export class ConnectionError extends BlinkError {}

/**
 * The connection closed while the call was on the wire (or queued behind a
 * call that was): it may or may not have been executed. `cause` says why.
 */
export class ConnectionClosedError extends ConnectionError {
  constructor(reason, options) {
    super(`connection closed, outcome unknown: ${reason}`, options);
  }
}

/** The server's byte stream is not a valid Blink reply stream; the connection was closed. */
export class ProtocolError extends ConnectionClosedError {
  constructor(detail, options) {
    super(`protocol error: ${detail}`, options);
  }
}

/** A call, or a connect attempt, did not finish within its timeout. */
export class TimeoutError extends BlinkError {}

/** A call waited longer than `queueTimeoutMs` for a connection or an in-flight slot. */
export class QueueTimeoutError extends TimeoutError {}

/** The client's queue of waiting calls is at `maxQueued`: the call was refused at once. */
export class QueueFullError extends BlinkError {}

/** The client was closed before the call could be sent. */
export class ClientClosedError extends BlinkError {}

/** An error status from the server (SPEC §6.2), or the same check made locally. */
export class StatusError extends BlinkError {
  /** The status code this class stands for. */
  static status = 0;
  /** Whether the server closes the connection after this status. */
  static closesConnection = false;

  constructor(message, options = {}) {
    super(message, options);
    /** True when the client refused the call before sending it. */
    this.local = options.local ?? false;
  }

  /** The SPEC §6.2 status code. */
  get status() {
    return this.constructor.status;
  }

  /** The SPEC §6.2 status name, such as "ERR_KEY_TOO_LARGE". */
  get statusName() {
    return statusName(this.status);
  }
}

/**
 * ERR_UNKNOWN_COMMAND: the server does not support this command; or, with
 * `local: true`, a version-2 command refused unsent because the connection
 * negotiated version 1 (SPEC §10, §14).
 */
export class UnknownCommandError extends StatusError {
  static status = Status.ERR_UNKNOWN_COMMAND;
}

/** ERR_MALFORMED: the server could not parse a request (a client bug). */
export class MalformedRequestError extends StatusError {
  static status = Status.ERR_MALFORMED;
  static closesConnection = true;
}

/** A request larger than the frame limit: a local refusal, or ERR_FRAME_TOO_LARGE. */
export class FrameTooLargeError extends StatusError {
  static status = Status.ERR_FRAME_TOO_LARGE;
  static closesConnection = true;
}

/** A key above `maxKeyBytes`: a local refusal, or ERR_KEY_TOO_LARGE. */
export class KeyTooLargeError extends StatusError {
  static status = Status.ERR_KEY_TOO_LARGE;
}

/** A value above `maxValueBytes`: a local refusal, or ERR_VALUE_TOO_LARGE. */
export class ValueTooLargeError extends StatusError {
  static status = Status.ERR_VALUE_TOO_LARGE;
}

/** ERR_ITEM_TOO_LARGE: the item can never be cached by this server. */
export class ItemTooLargeError extends StatusError {
  static status = Status.ERR_ITEM_TOO_LARGE;
}

/** ERR_AUTH_REQUIRED: the server has a token and this connection has not authenticated. */
export class AuthRequiredError extends StatusError {
  static status = Status.ERR_AUTH_REQUIRED;
}

/** ERR_AUTH_FAILED: wrong token. A configuration error: the client does not reconnect. */
export class AuthFailedError extends StatusError {
  static status = Status.ERR_AUTH_FAILED;
  static closesConnection = true;
}

/** ERR_UNSUPPORTED_VERSION: HELLO asked for a version the server does not speak. */
export class UnsupportedVersionError extends StatusError {
  static status = Status.ERR_UNSUPPORTED_VERSION;
}

/** ERR_TOO_MANY_CONNECTIONS: the server is at its connection limit; back off and reconnect. */
export class TooManyConnectionsError extends StatusError {
  static status = Status.ERR_TOO_MANY_CONNECTIONS;
  static closesConnection = true;
}

/** ERR_TIMEOUT: the server closed a connection that was idle or sent a frame too slowly. */
export class ServerTimeoutError extends StatusError {
  static status = Status.ERR_TIMEOUT;
  static closesConnection = true;
}

/** ERR_BUSY: the server's buffer budget or this connection's output cap is exhausted. */
export class BusyError extends StatusError {
  static status = Status.ERR_BUSY;
  static closesConnection = true;
}

/** ERR_SHUTTING_DOWN: the server is draining before exit; back off and reconnect. */
export class ShuttingDownError extends StatusError {
  static status = Status.ERR_SHUTTING_DOWN;
  static closesConnection = true;
}

/** ERR_NOT_INTEGER: INCR found a value that is not a decimal i64, or the result would overflow; nothing changed. */
export class NotIntegerError extends StatusError {
  static status = Status.ERR_NOT_INTEGER;
}

const STATUS_ERRORS = new Map(
  [
    UnknownCommandError,
    MalformedRequestError,
    FrameTooLargeError,
    KeyTooLargeError,
    ValueTooLargeError,
    ItemTooLargeError,
    AuthRequiredError,
    AuthFailedError,
    UnsupportedVersionError,
    TooManyConnectionsError,
    ServerTimeoutError,
    BusyError,
    ShuttingDownError,
    NotIntegerError,
  ].map((type) => [type.status, type]),
);

/** The error class for an error status, or undefined for a code the protocol does not define. */
export function statusErrorClass(status) {
  return STATUS_ERRORS.get(status);
}

/** The error for an error reply: its class from the status, its message from the body. */
export function errorFromReply(status, body) {
  const type = STATUS_ERRORS.get(status);
  const text = body.length > 0 ? body.toString("utf8") : "(no message)";
  return new type(`${statusName(status)}: ${text}`);
}

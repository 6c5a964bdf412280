// Errors, one per failure class of SPEC §13, matchable with errors.Is, and
// the types behind them for errors.As.

package blink

import (
	"errors"
	"fmt"
)

// Statuses the server sends (SPEC §6.2, §13). A *StatusError matches the one
// for its status with errors.Is.
var (
	// ErrUnknownCommand: the server does not support this command. The
	// connection stays usable. A version-2 command on a connection that
	// negotiated version 1 fails with it too, unsent (*UnsupportedError).
	ErrUnknownCommand = errors.New("blink: command not supported by this server")
	// ErrMalformed: the server could not parse a request (a client bug) and
	// closed the connection.
	ErrMalformed = errors.New("blink: server refused a malformed request")
	// ErrFrameTooLarge: a request frame exceeds the connection's frame limit.
	// From the server it closes the connection; refused locally (*LimitError)
	// nothing was sent.
	ErrFrameTooLarge = errors.New("blink: request frame too large")
	// ErrKeyTooLarge: the key exceeds max_key_bytes. The connection stays usable.
	ErrKeyTooLarge = errors.New("blink: key too large")
	// ErrValueTooLarge: the value exceeds max_value_bytes. The connection
	// stays usable.
	ErrValueTooLarge = errors.New("blink: value too large")
	// ErrItemTooLarge: the item can never be cached by this server (it
	// exceeds its memory cap). The connection stays usable.
	ErrItemTooLarge = errors.New("blink: item can never be cached by this server")
	// ErrAuthRequired: the server has a token and the connection has not
	// authenticated: configure Options.Token.
	ErrAuthRequired = errors.New("blink: server requires AUTH")
	// ErrAuthFailed: the token is wrong, a configuration error. The server
	// closed the connection; the pool does not reconnect in a loop.
	ErrAuthFailed = errors.New("blink: authentication failed (wrong token)")
	// ErrUnsupportedVersion: the server refused the HELLO version.
	ErrUnsupportedVersion = errors.New("blink: protocol version not supported by the server")
	// ErrTooManyConnections: the server is at its connection limit. Retry
	// after a backoff.
	ErrTooManyConnections = errors.New("blink: server has too many connections")
	// ErrServerTimeout: the server closed the connection because a frame
	// took too long to arrive or it sat idle.
	ErrServerTimeout = errors.New("blink: server closed the connection on its timeout")
	// ErrBusy: the server's buffer budget or this connection's output cap is
	// exhausted. Retry after a backoff.
	ErrBusy = errors.New("blink: server busy")
	// ErrShuttingDown: the server is draining before exit. Retry after a
	// backoff, possibly elsewhere.
	ErrShuttingDown = errors.New("blink: server shutting down")
	// ErrNotInteger: INCR found a value that is not a decimal integer in the
	// int64 range, or the result would leave it; nothing changed. The
	// connection stays usable.
	ErrNotInteger = errors.New("blink: value is not an integer, or the result is out of range")
	// ErrUnknownStatus: a reply status the negotiated protocol version does
	// not define.
	ErrUnknownStatus = errors.New("blink: unknown reply status")
)

// Failures on the client's side.
var (
	// ErrProtocol: the server sent a reply that is not a valid frame, or not
	// a valid reply to its request. The connection was closed.
	ErrProtocol = errors.New("blink: protocol error")
	// ErrConnClosed: the connection closed before the request's reply
	// arrived; the request may or may not have been executed. Match the
	// cause (ErrTimeout, ErrBusy, io.EOF, ...) with errors.Is as well.
	ErrConnClosed = errors.New("blink: connection closed, outcome unknown")
	// ErrTimeout: a connect, read or write exceeded its timeout or the
	// context's deadline. The connection was closed.
	ErrTimeout = errors.New("blink: timeout")
	// ErrPoolTimeout: every connection of the pool stayed in use for
	// Options.PoolTimeout.
	ErrPoolTimeout = errors.New("blink: connection pool timeout")
	// ErrClosed: the Client (or Conn) was closed.
	ErrClosed = errors.New("blink: client closed")
)

// statusClass is what a client knows about one error status.
type statusClass struct {
	name string
	err  error
	// closes: the server closes the connection after this status.
	closes bool
	// unsolicited: the status says nothing about the request in its slot
	// (SPEC §7.3), whose outcome is therefore unknown.
	unsolicited bool
}

// errorStatuses holds the error statuses of SPEC §6.2, indexed by code-0x80.
var errorStatuses = [...]statusClass{
	statusUnknownCommand - 0x80:     {"ERR_UNKNOWN_COMMAND", ErrUnknownCommand, false, false},
	statusMalformed - 0x80:          {"ERR_MALFORMED", ErrMalformed, true, false},
	statusFrameTooLarge - 0x80:      {"ERR_FRAME_TOO_LARGE", ErrFrameTooLarge, true, false},
	statusKeyTooLarge - 0x80:        {"ERR_KEY_TOO_LARGE", ErrKeyTooLarge, false, false},
	statusValueTooLarge - 0x80:      {"ERR_VALUE_TOO_LARGE", ErrValueTooLarge, false, false},
	statusItemTooLarge - 0x80:       {"ERR_ITEM_TOO_LARGE", ErrItemTooLarge, false, false},
	statusAuthRequired - 0x80:       {"ERR_AUTH_REQUIRED", ErrAuthRequired, false, false},
	statusAuthFailed - 0x80:         {"ERR_AUTH_FAILED", ErrAuthFailed, true, false},
	statusUnsupportedVersion - 0x80: {"ERR_UNSUPPORTED_VERSION", ErrUnsupportedVersion, false, false},
	statusTooManyConnections - 0x80: {"ERR_TOO_MANY_CONNECTIONS", ErrTooManyConnections, true, true},
	statusTimeout - 0x80:            {"ERR_TIMEOUT", ErrServerTimeout, true, true},
	statusBusy - 0x80:               {"ERR_BUSY", ErrBusy, true, true},
	statusShuttingDown - 0x80:       {"ERR_SHUTTING_DOWN", ErrShuttingDown, true, true},
	statusNotInteger - 0x80:         {"ERR_NOT_INTEGER", ErrNotInteger, false, false},
}

// classOf returns the class of any error status. An undefined status closes
// the connection, since the client cannot know whether the server will
// (SPEC §10).
func classOf(status byte) statusClass {
	if status >= 0x80 && int(status-0x80) < len(errorStatuses) {
		return errorStatuses[status-0x80]
	}
	return unknownStatus(status)
}

func unknownStatus(status byte) statusClass {
	return statusClass{name: fmt.Sprintf("status 0x%02x", status), err: ErrUnknownStatus, closes: true}
}

// definedAt reports whether protocol version defines status: version 2
// adds EXISTS and ERR_NOT_INTEGER, which a server never sends on a
// version-1 connection (SPEC §6.2).
func definedAt(status, version byte) bool {
	if status == statusExists || status == statusNotInteger {
		return version >= 2
	}
	return status <= statusNotFound || classOf(status).err != ErrUnknownStatus
}

// StatusError is an error status the server replied with. errors.Is matches
// it against the Err* value of its status.
type StatusError struct {
	Status  byte   // the status code, 0x80 and above for errors
	Message string // the server's text; for display only
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%v (%s)", classOf(e.Status).err, classOf(e.Status).name)
	}
	return fmt.Sprintf("%v (%s: %s)", classOf(e.Status).err, classOf(e.Status).name, e.Message)
}

// Is reports whether target is the Err* value of e's status.
func (e *StatusError) Is(target error) bool { return target == classOf(e.Status).err }

// LimitError is a request the client refused to send because a size exceeds
// the limit the server reported in HELLO (SPEC §4, §14). Nothing was sent;
// the connection stays usable. errors.Is matches ErrKeyTooLarge,
// ErrValueTooLarge or ErrFrameTooLarge.
type LimitError struct {
	What       string // "key", "value" or "frame"
	Bytes      int    // the size of the refused key, value or frame payload
	LimitBytes int    // the connection's limit for it
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("blink: %s of %d bytes exceeds the server's %d-byte limit (not sent)", e.What, e.Bytes, e.LimitBytes)
}

// Is reports whether target is the Err* value for e.What.
func (e *LimitError) Is(target error) bool {
	switch e.What {
	case "key":
		return target == ErrKeyTooLarge
	case "value":
		return target == ErrValueTooLarge
	}
	return target == ErrFrameTooLarge
}

// UnsupportedError is a command the client refused to send because the
// connection negotiated a protocol version that lacks it: a version-2
// command on a version-1 server (SPEC §10, §14). The server would have
// answered ERR_UNKNOWN_COMMAND; errors.Is matches ErrUnknownCommand. The
// connection stays usable.
type UnsupportedError struct {
	Command string // "ADD", "INCR", "SCAN", ...
	Version byte   // the connection's negotiated version
	Needed  byte   // the version that defines the command
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%v: %s needs protocol version %d, the server negotiated %d (not sent)", ErrUnknownCommand, e.Command, e.Needed, e.Version)
}

// Is reports whether target is ErrUnknownCommand.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnknownCommand }

// ConnClosedError is the error of a request whose connection closed before
// its reply arrived: the request may or may not have been executed. It
// matches ErrConnClosed, and its Cause through Unwrap.
type ConnClosedError struct {
	Addr  string
	Cause error // why the connection closed: a closing status, a timeout, io.EOF, ...
}

func (e *ConnClosedError) Error() string {
	return fmt.Sprintf("blink: connection to %s closed, outcome unknown: %v", e.Addr, e.Cause)
}

// Is reports whether target is ErrConnClosed.
func (e *ConnClosedError) Is(target error) bool { return target == ErrConnClosed }

func (e *ConnClosedError) Unwrap() error { return e.Cause }

// DialError is a failure to open a connection, handshake included: the
// request never reached the wire. Err is the cause (a refused connect,
// ErrTooManyConnections, ErrAuthFailed, ErrTimeout, ...).
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string { return fmt.Sprintf("blink: connecting to %s: %v", e.Addr, e.Err) }

func (e *DialError) Unwrap() error { return e.Err }

// timeoutError is an I/O operation that ran past its deadline. It matches
// ErrTimeout and unwraps to the deadline error (os.ErrDeadlineExceeded or
// context.DeadlineExceeded).
type timeoutError struct {
	op  string // "connect", "read" or "write"
	err error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("blink: %s timed out: %v", e.op, e.err) }

func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

func (e *timeoutError) Unwrap() error { return e.err }

// Timeout reports true, as net.Error does for timeouts.
func (e *timeoutError) Timeout() bool { return true }

// needsBackoff reports whether a connection broke because the server pushed
// back (too many connections, busy, draining), so that the pool waits before
// its next connection attempt (SPEC §13). Failed connects back off anyway.
func needsBackoff(err error) bool {
	return errors.Is(err, ErrTooManyConnections) || errors.Is(err, ErrBusy) || errors.Is(err, ErrShuttingDown)
}

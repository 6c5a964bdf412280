// One connection: the HELLO 2 and AUTH handshake, the version each HELLO
// reply negotiates, round trips that read replies while a writer sends the
// requests, and the state that decides whether the connection can be reused.

package blink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"time"
)

// ioBufferBytes is the size of each connection's read and write buffer.
const ioBufferBytes = 16 << 10

// aLongTimeAgo is a deadline in the past: it interrupts blocked I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

// errUnexpectedRead: an idle connection had bytes to read. A server only
// sends unsolicited frames right before it closes (SPEC §7.3).
var errUnexpectedRead = errors.New("blink: unexpected bytes on an idle connection")

// conn is one connection. It is used by one goroutine at a time (the pool
// hands it out), except that a round trip runs its writer in a second one.
type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	opt *Options

	// limits are the server's, from HELLO; until then the protocol ceilings.
	limits Limits
	// version is the protocol version of the last HELLO reply, 1 before any
	// (SPEC §10): below 2, the version-2 commands are refused unsent.
	version byte
	// authed: HELLO said no AUTH is needed, or AUTH succeeded. Until then
	// frames are held to the pre-auth limit (SPEC §11).
	authed bool
	// broken is why the connection is unusable; nil while it is healthy.
	broken error

	createdAt time.Time
	usedAt    time.Time // when it was last returned to the pool
	expiresAt time.Time // ConnMaxLifetime with jitter; zero: never

	// ctx is the context of the round trip in progress, read by the
	// deadline wrappers around nc.
	ctx context.Context
}

func newConn(nc net.Conn, opt *Options) *conn {
	now := time.Now()
	cn := &conn{
		nc:        nc,
		opt:       opt,
		limits:    Limits{MaxFrameBytes: maxFrameCeiling, MaxKeyBytes: maxKeyCeiling, MaxValueBytes: maxFrameCeiling},
		version:   minProtocolVersion,
		createdAt: now,
		usedAt:    now,
		ctx:       context.Background(),
	}
	if opt.ConnMaxLifetime > 0 {
		jitter := time.Duration(rand.Int63n(int64(opt.ConnMaxLifetime/10) + 1))
		cn.expiresAt = now.Add(opt.ConnMaxLifetime - jitter)
	}
	cn.br = bufio.NewReaderSize(deadlineReader{cn}, ioBufferBytes)
	cn.bw = bufio.NewWriterSize(deadlineWriter{cn}, ioBufferBytes)
	return cn
}

// dial opens a connection and runs the handshake: HELLO, pipelined with
// AUTH when a token is configured (SPEC §14). Any failure is a *DialError.
func dial(ctx context.Context, opt *Options) (*conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, opt.DialTimeout)
	nc, err := opt.Dialer(dialCtx, opt.Network, opt.Addr)
	err = ioFailure(dialCtx, "connect", err)
	cancel()
	if err != nil {
		return nil, &DialError{Addr: opt.Addr, Err: err}
	}
	cn := newConn(nc, opt)
	cmds := []command{newHelloCmd(ProtocolVersion)}
	if len(opt.Token) > 0 {
		cmds = append(cmds, newAuthCmd(opt.Token))
	}
	cn.roundTrip(ctx, cmds)
	for _, cmd := range cmds {
		if err := cmd.base().err; err != nil {
			cn.close(err)
			var closed *ConnClosedError
			if errors.As(err, &closed) {
				err = closed.Cause // no request of the caller's was on it
			}
			return nil, &DialError{Addr: opt.Addr, Err: err}
		}
	}
	return cn, nil
}

// roundTrip sends every command that passes the local checks and reads
// their replies in order. With more than one to send, a writer goroutine
// sends while this one reads, so that neither side can block the other with
// full socket buffers (SPEC §8). On any failure the connection is closed and
// every command without a reply fails with a *ConnClosedError.
func (cn *conn) roundTrip(ctx context.Context, cmds []command) {
	pending := 0
	for _, cmd := range cmds {
		b := cmd.base()
		switch {
		case b.unsent:
		case cn.broken != nil:
			b.refuse(&ConnClosedError{Addr: cn.opt.Addr, Cause: cn.broken})
		default:
			b.refuse(cn.checkRequest(&b.req))
			if !b.unsent {
				pending++
			}
		}
	}
	if pending == 0 {
		return
	}
	cn.ctx = ctx
	defer func() { cn.ctx = context.Background() }()
	stop := cn.watch(ctx)
	defer stop()

	if pending == 1 {
		if err := cn.write(cmds); err != nil {
			cn.fail(ioFailure(ctx, "write", err), cmds)
			return
		}
		cn.readReplies(cmds)
		return
	}
	written := make(chan error, 1)
	go func() { written <- cn.write(cmds) }()
	cn.readReplies(cmds) // a failure closes nc, which ends the writer too
	if err := <-written; err != nil && cn.broken == nil {
		cn.fail(ioFailure(ctx, "write", err), nil)
	}
}

// checkRequest refuses, before anything is sent, a request the server
// would refuse: a command the negotiated version lacks (SPEC §10, checked
// first as the server does, §7.1), or a size over its limits (SPEC §4, §11,
// §14). The version is that of the last HELLO reply read: a HELLO earlier in
// the same pipeline does not change it yet.
func (cn *conn) checkRequest(r *request) error {
	if needed := r.minVersion(); cn.version < needed {
		return &UnsupportedError{Command: opNames[r.op], Version: cn.version, Needed: needed}
	}
	if r.hasKey() && len(r.key) > int(cn.limits.MaxKeyBytes) {
		return &LimitError{What: "key", Bytes: len(r.key), LimitBytes: int(cn.limits.MaxKeyBytes)}
	}
	if r.hasValue() && len(r.value) > int(cn.limits.MaxValueBytes) {
		return &LimitError{What: "value", Bytes: len(r.value), LimitBytes: int(cn.limits.MaxValueBytes)}
	}
	frameLimit := cn.limits.MaxFrameBytes
	if !cn.authed && frameLimit > preAuthFrameBytes {
		frameLimit = preAuthFrameBytes
	}
	if n := r.payloadBytes(); n > int(frameLimit) {
		return &LimitError{What: "frame", Bytes: n, LimitBytes: int(frameLimit)}
	}
	return nil
}

// write encodes every command to send and flushes them.
func (cn *conn) write(cmds []command) error {
	for _, cmd := range cmds {
		if b := cmd.base(); !b.unsent {
			if err := writeRequest(cn.bw, &b.req); err != nil {
				return err
			}
		}
	}
	return cn.bw.Flush()
}

// readReplies reads one reply per sent command, in order.
func (cn *conn) readReplies(cmds []command) {
	for i, cmd := range cmds {
		if cmd.base().unsent {
			continue
		}
		rep, err := readReply(cn.br, cn.limits.MaxFrameBytes)
		if err != nil {
			cn.fail(ioFailure(cn.ctx, "read", err), cmds[i:])
			return
		}
		if err := cn.deliver(cmd, rep); err != nil {
			cn.fail(err, cmds[i+1:])
			return
		}
	}
}

// deliver hands a reply to its command (SPEC §13). It returns an error when
// the connection must close: a closing status, one the negotiated version
// does not define, or a reply that does not fit its request.
func (cn *conn) deliver(cmd command, rep reply) error {
	b := cmd.base()
	if defined := definedAt(rep.status, cn.version); !defined || rep.status >= 0x80 {
		class := classOf(rep.status)
		var err error = &StatusError{Status: rep.status, Message: string(rep.body)}
		if !defined {
			if class.err != ErrUnknownStatus { // a version-2 status on a version-1 connection
				err = fmt.Errorf("%w: %s at protocol version %d", ErrUnknownStatus, class.name, cn.version)
			}
			class = unknownStatus(rep.status)
		}
		if class.unsolicited {
			b.err = &ConnClosedError{Addr: cn.opt.Addr, Cause: err}
		} else {
			b.err = err
		}
		if class.closes {
			return err
		}
		return nil
	}
	if err := cmd.setReply(rep.status, rep.body); err != nil {
		b.err = err
		return err
	}
	switch c := cmd.(type) {
	case *HelloCmd:
		cn.version = c.hello.Version
		cn.limits = c.hello.Limits
		cn.authed = cn.authed || !c.hello.AuthRequired
	case *StatusCmd:
		cn.authed = cn.authed || c.req.op == opAuth
	}
	return nil
}

// fail marks the connection broken by cause and closes it; every command of
// unanswered that was sent fails with a *ConnClosedError.
func (cn *conn) fail(cause error, unanswered []command) {
	if cn.broken == nil {
		cn.broken = cause
		cn.nc.Close()
	}
	for _, cmd := range unanswered {
		if b := cmd.base(); !b.unsent {
			b.err = &ConnClosedError{Addr: cn.opt.Addr, Cause: cause}
		}
	}
}

// close closes a connection that is no longer wanted.
func (cn *conn) close(cause error) { cn.fail(cause, nil) }

// checkIdle reports, without blocking, whether an idle connection was closed
// by the server or has unsolicited bytes to read (go-redis connCheck).
func (cn *conn) checkIdle() error {
	if cn.br.Buffered() > 0 {
		return errUnexpectedRead
	}
	if err := cn.nc.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	return connCheck(cn.nc)
}

// watch makes a cancellation of ctx interrupt the connection's blocked I/O
// by moving its deadlines to the past (the deadline wrappers check ctx from
// then on). stop waits for the watcher to end, so that it never touches a
// later round trip.
func (cn *conn) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			cn.nc.SetDeadline(aLongTimeAgo)
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// deadline is now+timeout, or the round trip's context deadline if sooner.
func (cn *conn) deadline(timeout time.Duration) time.Time {
	d := time.Now().Add(timeout)
	if ctxDeadline, ok := cn.ctx.Deadline(); ok && ctxDeadline.Before(d) {
		return ctxDeadline
	}
	return d
}

// deadlineReader sets the read deadline before each read from the network,
// so that ReadTimeout bounds every wait for bytes, not a whole batch.
type deadlineReader struct{ cn *conn }

func (r deadlineReader) Read(p []byte) (int, error) {
	if err := r.cn.nc.SetReadDeadline(r.cn.deadline(r.cn.opt.ReadTimeout)); err != nil {
		return 0, err
	}
	if err := r.cn.ctx.Err(); err != nil { // checked after the deadline is set: see watch
		return 0, err
	}
	return r.cn.nc.Read(p)
}

// deadlineWriter is deadlineReader's counterpart for WriteTimeout.
type deadlineWriter struct{ cn *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.cn.nc.SetWriteDeadline(w.cn.deadline(w.cn.opt.WriteTimeout)); err != nil {
		return 0, err
	}
	if err := w.cn.ctx.Err(); err != nil {
		return 0, err
	}
	return w.cn.nc.Write(p)
}

// ioFailure names a failed connect, read or write: a timeout (of the
// connection or of ctx) as a *timeoutError, a cancelled ctx as its error.
func ioFailure(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case ctx.Err() == context.Canceled:
		return context.Canceled
	case callerGaveUp(ctx):
		return &timeoutError{op: op, err: context.DeadlineExceeded}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{op: op, err: err}
	}
	return err
}

// callerGaveUp reports whether ctx ended: cancelled, or at its deadline
// (which a network deadline derived from it can reach before ctx.Err says so).
func callerGaveUp(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

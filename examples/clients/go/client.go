// Client, the goroutine-safe entry point, and Conn, one connection held for
// a caller's exclusive use.

package blink

import (
	"context"
	"errors"
)

// errVersionChanged closes a connection whose version a Conn.Hello changed.
var errVersionChanged = errors.New("blink: a Hello changed the connection's protocol version")

// Client is a handle to one server with a pool of connections. It is safe
// for concurrent use by many goroutines; create one and share it. Every call
// takes a connection from the pool for its round trip and returns it.
type Client struct {
	cmdable
	opt  Options
	pool *pool
}

// New returns a Client for opt (zero fields take their defaults). It opens
// no connection until the first call, except MinIdleConns in the background.
func New(opt Options) (*Client, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{opt: opt}
	c.pool = newPool(&c.opt)
	c.cmdable = c.process
	return c, nil
}

// process runs one command on a pooled connection, retrying on another one
// when the failure allows it (Options.MaxRetries).
func (c *Client) process(ctx context.Context, cmd command) {
	b := cmd.base()
	if b.unsent {
		return
	}
	for attempt := 0; ; attempt++ {
		cn, err := c.pool.get(ctx)
		if err != nil {
			b.err = err
		} else {
			cn.roundTrip(ctx, []command{cmd})
			c.pool.put(cn)
		}
		if b.err == nil || attempt >= c.opt.MaxRetries || !retryable(b.err) || !mayRepeat(&b.req, b.err) {
			return
		}
		if !sleep(ctx, backoff(attempt, c.opt.MinRetryBackoff, c.opt.MaxRetryBackoff)) {
			return // the caller gave up: keep the last failure
		}
		b.err, b.unsent = nil, false
	}
}

// retryable reports whether a failed call may run again on another
// connection: it never reached the server (a failed connect, except a wrong
// token), or its connection closed under it for a reason a new connection
// need not share (not a timeout, a cancellation or a protocol error).
func retryable(err error) bool {
	if errors.Is(err, ErrTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrProtocol) || errors.Is(err, ErrAuthFailed) {
		return false
	}
	var dialErr *DialError
	return errors.As(err, &dialErr) || errors.Is(err, ErrConnClosed)
}

// mayRepeat reports whether a call that failed with err may run again:
// always if it never reached the wire (a failed connect); otherwise only if
// running it twice is the same as once (CLIENTS.md, retries). ADD, REPLACE,
// INCR and APPEND are not: a second INCR counts twice, a second ADD reports
// EXISTS for its own value.
func mayRepeat(r *request, err error) bool {
	var dialErr *DialError
	if errors.As(err, &dialErr) {
		return true
	}
	switch r.op {
	case opAdd, opReplace, opIncr, opAppend:
		return false
	}
	return true
}

// Pipeline returns an empty batch whose Exec sends all its commands on one
// pooled connection.
func (c *Client) Pipeline() *Pipeline { return &Pipeline{exec: c.processPipeline} }

func (c *Client) processPipeline(ctx context.Context, cmds []command) {
	cn, err := c.pool.get(ctx)
	if err != nil {
		for _, cmd := range cmds {
			cmd.base().refuse(err)
		}
		return
	}
	version := cn.version
	cn.roundTrip(ctx, cmds)
	if cn.version != version { // a queued Hello: the pool's connections all speak HELLO 2's version
		cn.close(errVersionChanged)
	}
	c.pool.put(cn)
}

// Conn takes one connection from the pool for the caller's exclusive use,
// for commands that depend on the connection (Hello, Auth). Close it to
// return it.
func (c *Client) Conn(ctx context.Context) (*Conn, error) {
	cn, err := c.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	conn := &Conn{cn: cn, pool: c.pool, version: cn.version}
	conn.cmdable = conn.process
	return conn, nil
}

// PoolStats returns the pool's counters.
func (c *Client) PoolStats() PoolStats { return c.pool.stats() }

// Close closes the idle connections and makes later calls fail with
// ErrClosed; connections in use close when their call ends.
func (c *Client) Close() error { return c.pool.close() }

// Conn is one connection held by one caller. It is not safe for concurrent
// use. Its calls are not retried: once the connection breaks, every call
// fails with ErrConnClosed, and Close returns it to the pool to be replaced.
type Conn struct {
	cmdable
	cn   *conn
	pool *pool
	// version is the connection's protocol version at checkout: one that a
	// Hello changed does not go back to the pool.
	version byte
}

func (c *Conn) process(ctx context.Context, cmd command) { c.processPipeline(ctx, []command{cmd}) }

func (c *Conn) processPipeline(ctx context.Context, cmds []command) {
	if c.cn == nil {
		for _, cmd := range cmds {
			cmd.base().refuse(ErrClosed)
		}
		return
	}
	c.cn.roundTrip(ctx, cmds)
}

// Hello sends HELLO with the given protocol version and returns the
// server's answer; the connection keeps the limits it reports and speaks the
// version it negotiates (HELLO 1: the version-2 commands fail with
// ErrUnknownCommand, unsent). Close then closes the connection instead of
// returning it to the pool, whose connections all speak HELLO 2's version.
func (c *Conn) Hello(ctx context.Context, version byte) (HelloReply, error) {
	cmd := newHelloCmd(version)
	c.process(ctx, cmd)
	return cmd.Result()
}

// Auth authenticates the connection with token (SPEC §11). A wrong token
// fails with ErrAuthFailed and the server closes the connection.
func (c *Conn) Auth(ctx context.Context, token []byte) error {
	cmd := newAuthCmd(token)
	c.process(ctx, cmd)
	return cmd.Err()
}

// ProtocolVersion returns the protocol version the connection's last HELLO
// reply negotiated: 2, or 1 with a version-1 server (which has none of the
// version-2 commands).
func (c *Conn) ProtocolVersion() byte {
	if c.cn == nil {
		return 0
	}
	return c.cn.version
}

// Pipeline returns an empty batch whose Exec sends all its commands on this
// connection.
func (c *Conn) Pipeline() *Pipeline { return &Pipeline{exec: c.processPipeline} }

// Close returns the connection to the pool (closed, if it broke or a Hello
// changed its version).
func (c *Conn) Close() error {
	if c.cn == nil {
		return ErrClosed
	}
	if c.cn.version != c.version {
		c.cn.close(errVersionChanged)
	}
	c.pool.put(c.cn)
	c.cn = nil
	return nil
}

// The connection pool, in the style of go-redis internal/pool: a bounded
// number of connections in use, a checkout bounded by the caller's context
// and PoolTimeout, a liveness check of idle connections before reuse, and
// reconnects that back off.

package blink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// PoolStats are a Client's pool counters since it was created, and its
// connections now.
type PoolStats struct {
	Hits         uint64        // checkouts served by an idle connection
	Misses       uint64        // checkouts that had to connect
	Timeouts     uint64        // checkouts that failed with ErrPoolTimeout
	WaitCount    uint64        // checkouts that waited for a connection to come back
	WaitDuration time.Duration // the time they waited, in total
	Dials        uint64        // connection attempts, handshake included
	DialErrors   uint64        // failed connection attempts
	StaleConns   uint64        // idle connections found dead, too old or idle too long, and closed

	TotalConns int // open connections, idle or in use
	IdleConns  int // open connections not in use
}

var (
	errPastLifetime = errors.New("blink: connection older than ConnMaxLifetime")
	errIdleTooLong  = errors.New("blink: connection idle longer than ConnMaxIdleTime")
)

type pool struct {
	opt *Options
	// turns holds one token per connection in use: its capacity, PoolSize,
	// bounds them.
	turns  chan struct{}
	closed chan struct{} // closed by close
	// fillCtx ends the background connects of fill when the pool closes.
	fillCtx    context.Context
	cancelFill context.CancelFunc
	fills      sync.WaitGroup

	mu       sync.Mutex
	idle     []*conn // the most recently returned last
	open     int     // idle and in use
	isClosed bool
	filling  bool
	// dialFailures counts failed connects (and server push-backs) since the
	// last successful connect; no connect is attempted before nextDial.
	dialFailures int
	dialCause    error
	nextDial     time.Time

	hits, misses, timeouts, waits, waitNs, dials, dialErrors, stale atomic.Uint64
}

func newPool(opt *Options) *pool {
	p := &pool{
		opt:    opt,
		turns:  make(chan struct{}, opt.PoolSize),
		closed: make(chan struct{}),
	}
	p.fillCtx, p.cancelFill = context.WithCancel(context.Background())
	p.mu.Lock()
	p.fill()
	p.mu.Unlock()
	return p
}

// get checks out a connection: an idle one that passes its checks, or a new
// one.
func (p *pool) get(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.waitTurn(ctx); err != nil {
		return nil, err
	}
	for cn := p.popIdle(); cn != nil; cn = p.popIdle() {
		if err := p.check(ctx, cn); err != nil {
			p.stale.Add(1)
			p.remove(cn, err)
			continue
		}
		p.hits.Add(1)
		return cn, nil
	}
	p.misses.Add(1)
	cn, err := p.connect(ctx)
	if err != nil {
		p.freeTurn()
		return nil, err
	}
	return cn, nil
}

// put returns a checked-out connection: to the idle list if it is healthy,
// closed otherwise.
func (p *pool) put(cn *conn) {
	if cn.broken != nil {
		p.remove(cn, cn.broken)
	} else {
		cn.usedAt = time.Now()
		p.pushIdle(cn)
	}
	p.freeTurn()
}

// waitTurn takes a turn to use a connection, waiting at most PoolTimeout.
func (p *pool) waitTurn(ctx context.Context) error {
	select {
	case p.turns <- struct{}{}:
		return nil
	case <-p.closed:
		return ErrClosed
	default:
	}
	start := time.Now()
	timer := time.NewTimer(p.opt.PoolTimeout)
	defer timer.Stop()
	p.waits.Add(1)
	defer func() { p.waitNs.Add(uint64(time.Since(start))) }()
	select {
	case p.turns <- struct{}{}:
		return nil
	case <-p.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		p.timeouts.Add(1)
		return fmt.Errorf("%w: all %d connections stayed in use for %v", ErrPoolTimeout, p.opt.PoolSize, p.opt.PoolTimeout)
	}
}

func (p *pool) freeTurn() { <-p.turns }

func (p *pool) popIdle() *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	cn := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	p.fill()
	return cn
}

func (p *pool) pushIdle(cn *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		cn.close(ErrClosed)
		p.open--
		return
	}
	p.idle = append(p.idle, cn)
}

// check decides whether an idle connection may be reused: not too old, not
// idle too long, not closed by the server, and answering PING after a long
// idle time.
func (p *pool) check(ctx context.Context, cn *conn) error {
	now := time.Now()
	if !cn.expiresAt.IsZero() && now.After(cn.expiresAt) {
		return errPastLifetime
	}
	idle := now.Sub(cn.usedAt)
	if p.opt.ConnMaxIdleTime > 0 && idle >= p.opt.ConnMaxIdleTime {
		return errIdleTooLong
	}
	if err := cn.checkIdle(); err != nil {
		return err
	}
	if p.opt.HealthCheckInterval > 0 && idle >= p.opt.HealthCheckInterval {
		ping := newPingCmd()
		cn.roundTrip(ctx, []command{ping})
		return ping.Err()
	}
	return nil
}

// remove closes a connection for good. One the server pushed back on
// (ERR_BUSY, ...) delays the next connect.
func (p *pool) remove(cn *conn, cause error) {
	cn.close(cause)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open--
	if needsBackoff(cn.broken) {
		p.noteFailure(cn.broken)
	}
	p.fill()
}

// connect opens a new connection, unless an earlier failure's backoff is
// still running: then it fails fast with that failure.
func (p *pool) connect(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	if p.isClosed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if wait := time.Until(p.nextDial); p.dialFailures > 0 && wait > 0 {
		err := &DialError{Addr: p.opt.Addr, Err: fmt.Errorf("reconnecting in %v after %d failures: %w", wait.Round(time.Millisecond), p.dialFailures, p.dialCause)}
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Unlock()

	p.dials.Add(1)
	cn, err := dial(ctx, p.opt)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.dialErrors.Add(1)
		if !callerGaveUp(ctx) { // which says nothing about the server
			p.noteFailure(err)
		}
		return nil, err
	}
	p.dialFailures, p.dialCause = 0, nil
	if p.isClosed {
		cn.close(ErrClosed)
		return nil, ErrClosed
	}
	p.open++
	p.fill()
	return cn, nil
}

// noteFailure starts or lengthens the reconnect backoff. A wrong token is a
// configuration error: it waits the longest at once. Called with p.mu held.
func (p *pool) noteFailure(err error) {
	p.dialFailures++
	wait := backoff(p.dialFailures-1, p.opt.MinReconnectBackoff, p.opt.MaxReconnectBackoff)
	if errors.Is(err, ErrAuthFailed) {
		wait = p.opt.MaxReconnectBackoff
	}
	p.nextDial = time.Now().Add(wait)
	var dialErr *DialError
	if errors.As(err, &dialErr) {
		err = dialErr.Err
	}
	p.dialCause = err
}

// fill opens connections in the background until MinIdleConns are idle,
// stopping at PoolSize or at the first failure. Called with p.mu held.
func (p *pool) fill() {
	if p.filling || p.isClosed || !p.needsFill() {
		return
	}
	p.filling = true
	p.fills.Add(1)
	go func() {
		defer p.fills.Done()
		for {
			cn, err := p.connect(p.fillCtx)
			if err == nil {
				p.pushIdle(cn)
			}
			p.mu.Lock()
			if err != nil || p.isClosed || !p.needsFill() {
				p.filling = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}()
}

// needsFill: fewer than MinIdleConns idle, and room for more. Called with
// p.mu held.
func (p *pool) needsFill() bool {
	return len(p.idle) < p.opt.MinIdleConns && p.open < p.opt.PoolSize &&
		(p.dialFailures == 0 || time.Now().After(p.nextDial))
}

// close closes the idle connections and makes every checkout fail with
// ErrClosed; connections in use are closed when they come back.
func (p *pool) close() error {
	p.mu.Lock()
	if p.isClosed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.isClosed = true
	close(p.closed)
	p.cancelFill()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, cn := range idle {
		cn.close(ErrClosed)
	}
	p.fills.Wait()
	return nil
}

func (p *pool) stats() PoolStats {
	p.mu.Lock()
	total, idle := p.open, len(p.idle)
	p.mu.Unlock()
	return PoolStats{
		Hits:         p.hits.Load(),
		Misses:       p.misses.Load(),
		Timeouts:     p.timeouts.Load(),
		WaitCount:    p.waits.Load(),
		WaitDuration: time.Duration(p.waitNs.Load()),
		Dials:        p.dials.Load(),
		DialErrors:   p.dialErrors.Load(),
		StaleConns:   p.stale.Load(),
		TotalConns:   total,
		IdleConns:    idle,
	}
}

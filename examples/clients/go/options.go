// Options of a Client and their defaults.

package blink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
)

// Options configure a Client. The zero value of a field means its default;
// for durations marked so, a negative value disables the feature.
type Options struct {
	// Network is "tcp" (the default) or "unix".
	Network string
	// Addr is host:port for TCP (default "127.0.0.1:25465") or the socket
	// path for "unix".
	Addr string
	// Token is sent with AUTH on every new connection, pipelined behind
	// HELLO. Empty: no AUTH (server tokens are never empty).
	Token []byte
	// Dialer opens the network connection; default a net.Dialer, which sets
	// TCP_NODELAY and TCP keepalive.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds opening a connection. Default 1 s.
	DialTimeout time.Duration
	// ReadTimeout is the longest wait for the next bytes of a reply; the
	// HELLO and AUTH handshake is bounded by it too. A connection that times
	// out is closed, never reused. Default 3 s.
	ReadTimeout time.Duration
	// WriteTimeout is the longest a write may make no progress. Default
	// ReadTimeout.
	WriteTimeout time.Duration

	// PoolSize is the most connections in use at once. Default 10 per
	// GOMAXPROCS.
	PoolSize int
	// MinIdleConns is how many idle connections the pool keeps open in the
	// background. Default 0.
	MinIdleConns int
	// PoolTimeout bounds the wait for a connection when all PoolSize are in
	// use (besides the call's context). Default ReadTimeout + 1 s.
	PoolTimeout time.Duration
	// ConnMaxIdleTime closes connections idle this long; keep it below the
	// server's --idle-timeout-ms. Default 30 min; negative: never.
	ConnMaxIdleTime time.Duration
	// ConnMaxLifetime closes connections this old (less up to 10% jitter, so
	// that they do not all reconnect at once). Default 0: never.
	ConnMaxLifetime time.Duration
	// HealthCheckInterval: a connection idle at least this long is PINGed
	// before reuse (every idle connection gets a non-blocking liveness
	// check). Default 1 min; negative: never.
	HealthCheckInterval time.Duration

	// MaxRetries is how often a call is retried on another connection after
	// it failed without reaching the server, or after its connection closed
	// under it (every v1 command is safe to repeat; a repeated DEL may report
	// false). ADD, REPLACE, INCR and APPEND are retried only when they never
	// reached the server: repeating them could count twice or misreport.
	// Timeouts, cancellations, protocol errors and pipelines are not retried.
	// Default 3; negative: never.
	MaxRetries int
	// MinRetryBackoff and MaxRetryBackoff bound the exponential wait before
	// each retry. Defaults 8 ms and 512 ms.
	MinRetryBackoff time.Duration
	MaxRetryBackoff time.Duration
	// MinReconnectBackoff and MaxReconnectBackoff bound the exponential wait
	// after a failed connect, or after the server pushed back (ERR_BUSY,
	// ERR_TOO_MANY_CONNECTIONS, ERR_SHUTTING_DOWN), before the pool connects
	// again; calls in between fail fast. A wrong token waits the maximum at
	// once. Defaults 50 ms and 2 s.
	MinReconnectBackoff time.Duration
	MaxReconnectBackoff time.Duration
}

// withDefaults returns the options with every default filled in, or an
// error for a setting that cannot work.
func (o Options) withDefaults() (Options, error) {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.Network != "tcp" && o.Network != "unix" {
		return o, fmt.Errorf("blink: Options.Network %q: want \"tcp\" or \"unix\"", o.Network)
	}
	if o.Addr == "" {
		if o.Network == "unix" {
			return o, errors.New("blink: Options.Addr: a Unix socket needs a path")
		}
		o.Addr = "127.0.0.1:25465"
	}
	if o.Dialer == nil {
		o.Dialer = (&net.Dialer{}).DialContext
	}
	if o.PoolSize < 0 || o.MinIdleConns < 0 {
		return o, errors.New("blink: Options.PoolSize and MinIdleConns must not be negative")
	}
	if o.PoolSize == 0 {
		o.PoolSize = 10 * runtime.GOMAXPROCS(0)
	}
	if o.MinIdleConns > o.PoolSize {
		return o, fmt.Errorf("blink: Options.MinIdleConns %d exceeds PoolSize %d", o.MinIdleConns, o.PoolSize)
	}
	defaultDuration(&o.DialTimeout, time.Second)
	defaultDuration(&o.ReadTimeout, 3*time.Second)
	defaultDuration(&o.WriteTimeout, o.ReadTimeout)
	defaultDuration(&o.PoolTimeout, o.ReadTimeout+time.Second)
	defaultDuration(&o.ConnMaxIdleTime, 30*time.Minute)
	defaultDuration(&o.HealthCheckInterval, time.Minute)
	defaultDuration(&o.MinRetryBackoff, 8*time.Millisecond)
	defaultDuration(&o.MaxRetryBackoff, 512*time.Millisecond)
	defaultDuration(&o.MinReconnectBackoff, 50*time.Millisecond)
	defaultDuration(&o.MaxReconnectBackoff, 2*time.Second)
	for _, d := range []time.Duration{o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.ConnMaxLifetime} {
		if d < 0 {
			return o, errors.New("blink: Options: DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout and ConnMaxLifetime must not be negative")
		}
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 3
	}
	return o, nil
}

func defaultDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

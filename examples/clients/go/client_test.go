// Integration tests of the Client, Conn and Pipeline against a real server:
// every command over TCP and Unix sockets, binary safety, TTLs, pipelines,
// cancellation, the pool's checks and statistics, AUTH and local limits.

package blink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

func TestEveryCommandOverTCPAndUnix(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := map[string]string{"tcp": s.TCPAddr, "unix": s.UnixSocket}[network]
			c := newClient(t, Options{Network: network, Addr: addr})
			ctx := testContext(t, 10*time.Second)
			key := []byte("binary\x00\n\xff-" + network)
			value := []byte{0x00, 0x0a, 0xff, 0x0d, 0x00}

			mustOK(t, c.Ping(ctx))
			if _, found, err := c.Get(ctx, key); err != nil || found {
				t.Fatalf("GET of a missing key: found=%v, %v", found, err)
			}
			mustOK(t, c.Set(ctx, key, value, 0))
			got, found, err := c.Get(ctx, key)
			if err != nil || !found || !bytes.Equal(got, value) {
				t.Fatalf("GET: %x, %v, %v", got, found, err)
			}
			if ttl, found, err := c.TTL(ctx, key); err != nil || !found || ttl.HasTTL {
				t.Fatalf("TTL of a persistent key: %+v, %v, %v", ttl, found, err)
			}
			if ok, err := c.Expire(ctx, key, time.Minute); err != nil || !ok {
				t.Fatalf("EXPIRE: %v, %v", ok, err)
			}
			ttl, found, err := c.TTL(ctx, key)
			if d, fits := ttl.Duration(); err != nil || !found || !fits || d <= 0 || d > time.Minute {
				t.Fatalf("TTL after EXPIRE 1m: %+v, %v, %v", ttl, found, err)
			}
			if ok, err := c.ExpireMs(ctx, key, 0); err != nil || !ok {
				t.Fatalf("EXPIRE 0: %v, %v", ok, err)
			}
			if ttl, _, _ := c.TTL(ctx, key); ttl.HasTTL {
				t.Fatalf("EXPIRE 0 did not clear the TTL: %+v", ttl)
			}
			mustOK(t, c.SetMs(ctx, key, value, math.MaxUint64))
			if ttl, _, err := c.TTL(ctx, key); err != nil || !ttl.HasTTL || ttl.RemainingMs < math.MaxUint64/2 {
				t.Fatalf("TTL of a saturated deadline: %+v, %v", ttl, err)
			}
			if ok, err := c.Del(ctx, key); err != nil || !ok {
				t.Fatalf("DEL: %v, %v", ok, err)
			}
			if ok, err := c.Del(ctx, key); err != nil || ok {
				t.Fatalf("DEL of a missing key: %v, %v", ok, err)
			}
			if ok, err := c.Expire(ctx, key, time.Second); err != nil || ok {
				t.Fatalf("EXPIRE of a missing key: %v, %v", ok, err)
			}
			if _, found, err := c.TTL(ctx, key); err != nil || found {
				t.Fatalf("TTL of a missing key: %v, %v", found, err)
			}
			mustOK(t, c.SetString(ctx, "empty-"+network, "", 0))
			if v, found, err := c.Get(ctx, []byte("empty-"+network)); err != nil || !found || v == nil || len(v) != 0 {
				t.Fatalf("GET of an empty value: %q (nil: %v), %v, %v", v, v == nil, found, err)
			}
			stats, err := c.Stats(ctx)
			if err != nil || stats["cmd_set"] == 0 || stats["protocol_version"] != ProtocolVersion {
				t.Fatalf("STATS: %v, %v", stats, err)
			}
			if err := c.Set(ctx, key, value, -time.Second); err == nil {
				t.Fatal("a negative TTL was sent")
			}
		})
	}
}

func TestKeysExpire(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	mustOK(t, c.SetString(ctx, "short", "lived", 30*time.Millisecond))
	eventually(t, 5*time.Second, "the key to expire", func() bool {
		_, found, err := c.GetString(ctx, "short")
		return err == nil && !found
	})
}

func TestPipelineRepliesInOrderAndLocalRefusalsKeepTheirPlace(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	p := c.Pipeline()
	set := p.Set([]byte("a"), []byte("1"), 0)
	getA := p.Get([]byte("a"))
	tooLarge := p.Get(bytes.Repeat([]byte("k"), 1025))
	getB := p.Get([]byte("b"))
	expire := p.Expire([]byte("a"), time.Hour)
	ttl := p.TTL([]byte("a"))
	del := p.Del([]byte("a"))
	ping := p.Ping()
	stats := p.Stats()
	if p.Len() != 9 {
		t.Fatalf("Len %d", p.Len())
	}
	if err := p.Exec(ctx); !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("Exec: %v, want the refused GET's ErrKeyTooLarge", err)
	}
	mustOK(t, set.Err())
	if v, found, err := getA.Result(); err != nil || !found || string(v) != "1" {
		t.Fatalf("GET a: %q, %v, %v", v, found, err)
	}
	var limitErr *LimitError
	if _, _, err := tooLarge.Result(); !errors.As(err, &limitErr) || limitErr.What != "key" {
		t.Fatalf("oversized GET: %v", err)
	}
	if _, found, err := getB.Result(); err != nil || found {
		t.Fatalf("GET b: %v, %v", found, err)
	}
	if ok, err := expire.Result(); err != nil || !ok {
		t.Fatalf("EXPIRE: %v, %v", ok, err)
	}
	if v, found, err := ttl.Result(); err != nil || !found || !v.HasTTL {
		t.Fatalf("TTL: %+v, %v, %v", v, found, err)
	}
	if ok, err := del.Result(); err != nil || !ok {
		t.Fatalf("DEL: %v, %v", ok, err)
	}
	mustOK(t, ping.Err())
	if st, err := stats.Result(); err != nil || st["cmd_get"] < 2 {
		t.Fatalf("STATS: %v, %v", st, err)
	}
	if p.Len() != 0 || p.Exec(ctx) != nil {
		t.Fatal("an executed pipeline is not empty")
	}
}

func TestCancelledCallsNeverReceiveAnotherCallsReply(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{PoolSize: 4})
	ctx := testContext(t, 60*time.Second)
	const keys = 16
	valueOf := func(k int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("value %d;", k)), 4<<10) }
	for k := 0; k < keys; k++ {
		mustOK(t, c.Set(ctx, []byte(fmt.Sprint(k)), valueOf(k), 0))
	}
	var cancelled, answered atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(k)))
			for i := 0; i < 100; i++ {
				callCtx, cancel := context.WithTimeout(ctx, time.Duration(rng.Intn(3000))*time.Microsecond)
				v, found, err := c.Get(callCtx, []byte(fmt.Sprint(k)))
				cancel()
				switch {
				case err == nil && found && bytes.Equal(v, valueOf(k)):
					answered.Add(1)
				case err != nil && (errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded)):
					cancelled.Add(1)
				default:
					errs <- fmt.Errorf("key %d: got %d bytes %.20q, found=%v, err=%v", k, len(v), v, found, err)
					return
				}
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d answered, %d cancelled", answered.Load(), cancelled.Load())
	if cancelled.Load() == 0 || answered.Load() == 0 {
		t.Fatalf("%d answered, %d cancelled: the test needs both", answered.Load(), cancelled.Load())
	}
	// Every connection still in the pool is in sync: a PING canary on each.
	for i := 0; i < 4; i++ {
		mustOK(t, c.Ping(ctx))
	}
}

func TestCancelInterruptsABlockedCall(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	var writes atomic.Int64
	dialer := &net.Dialer{}
	c := tcpClient(t, s, Options{
		ReadTimeout: 30 * time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dialer.DialContext(ctx, network, addr)
			return writeCountingConn{nc, &writes}, err
		},
	})
	mustOK(t, c.Ping(testContext(t, 10*time.Second))) // writes 1 and 2: the handshake, the PING
	mustOK(t, s.Pause())
	defer s.Resume()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Ping(ctx) }()
	eventually(t, 5*time.Second, "the PING to be sent", func() bool { return writes.Load() == 3 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not interrupt the call")
	}
	if st := c.PoolStats(); st.TotalConns != 0 {
		t.Fatalf("the interrupted connection was kept: %+v", st)
	}
}

// writeCountingConn counts the writes to it.
type writeCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.writes.Add(1)
	return n, err
}

func TestPoolReusesConnectionsAndCounts(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	for i := 0; i < 5; i++ {
		mustOK(t, c.Ping(ctx))
	}
	st := c.PoolStats()
	if st.Misses != 1 || st.Hits != 4 || st.Dials != 1 || st.TotalConns != 1 || st.IdleConns != 1 {
		t.Fatalf("pool stats %+v", st)
	}
}

func TestPoolKeepsMinIdleConns(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{MinIdleConns: 3, PoolSize: 5})
	eventually(t, 5*time.Second, "3 idle connections", func() bool { return c.PoolStats().IdleConns == 3 })
	conn, err := c.Conn(testContext(t, 10*time.Second))
	mustOK(t, err)
	defer conn.Close()
	eventually(t, 5*time.Second, "a replacement idle connection", func() bool { return c.PoolStats().IdleConns == 3 })
	if st := c.PoolStats(); st.TotalConns != 4 || st.Dials != 4 {
		t.Fatalf("pool stats %+v", st)
	}
}

func TestPoolReplacesConnectionsPastTheirLifetimeOrIdleTime(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	for _, opt := range []Options{{ConnMaxLifetime: 20 * time.Millisecond}, {ConnMaxIdleTime: 20 * time.Millisecond}} {
		c := tcpClient(t, s, opt)
		ctx := testContext(t, 10*time.Second)
		mustOK(t, c.Ping(ctx))
		time.Sleep(30 * time.Millisecond) // the passing of time is the condition
		mustOK(t, c.Ping(ctx))
		if st := c.PoolStats(); st.StaleConns != 1 || st.Dials != 2 || st.TotalConns != 1 {
			t.Fatalf("%+v: pool stats %+v", opt, st)
		}
	}
}

func TestPoolPingsConnectionsAfterLongIdle(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{HealthCheckInterval: time.Millisecond})
	ctx := testContext(t, 10*time.Second)
	mustOK(t, c.SetString(ctx, "k", "v", 0))
	time.Sleep(5 * time.Millisecond)
	mustOK(t, c.SetString(ctx, "k", "v", 0))
	if pings := serverStat(t, Options{Addr: s.TCPAddr}, "cmd_ping"); pings != 1 {
		t.Fatalf("cmd_ping %d, want the one health check", pings)
	}
}

func TestCloseMakesLaterCallsFail(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	conn, err := c.Conn(ctx)
	mustOK(t, err)
	mustOK(t, c.Close())
	if err := c.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	mustOK(t, conn.Ping(ctx)) // a held connection finishes its work
	mustOK(t, conn.Close())
	if err := conn.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping on a closed Conn: %v", err)
	}
	if st := c.PoolStats(); st.TotalConns != 0 {
		t.Fatalf("connections left open: %+v", st)
	}
}

func TestAuthOnConnectAndOnAConn(t *testing.T) {
	s := startServer(t, blinkproc.Config{Token: "s3cret"})
	ctx := testContext(t, 10*time.Second)
	withToken := tcpClient(t, s, Options{Token: []byte("s3cret")})
	mustOK(t, withToken.SetString(ctx, "k", "v", 0))

	without := tcpClient(t, s, Options{})
	conn, err := without.Conn(ctx)
	mustOK(t, err)
	defer conn.Close()
	if _, _, err := conn.GetString(ctx, "k"); !errors.Is(err, ErrAuthRequired) {
		t.Fatalf("GET before AUTH: %v", err)
	}
	big := bytes.Repeat([]byte("v"), 5000)
	var limitErr *LimitError
	if err := conn.Set(ctx, []byte("big"), big, 0); !errors.Is(err, ErrFrameTooLarge) || !errors.As(err, &limitErr) {
		t.Fatalf("a frame over the pre-auth limit: %v", err)
	}
	mustOK(t, conn.Auth(ctx, []byte("s3cret")))
	hello, err := conn.Hello(ctx, ProtocolVersion)
	if err != nil || hello.AuthRequired || hello.MaxKeyBytes != 1024 {
		t.Fatalf("HELLO after AUTH: %+v, %v", hello, err)
	}
	mustOK(t, conn.Set(ctx, []byte("big"), big, 0))
	if v, found, err := conn.GetString(ctx, "k"); err != nil || !found || v != "v" {
		t.Fatalf("GET after AUTH: %q, %v, %v", v, found, err)
	}
}

func TestServerPushbackDelaysTheNextConnect(t *testing.T) {
	peer := startFakePeer(t, func(p *fakePeer, _ int, c net.Conn) {
		if answerHello(c, 4096) != nil {
			return
		}
		readFrame(c)
		c.Write(frame(statusBusy, []byte("server busy")...))
		c.Close()
	})
	c := newClient(t, Options{Addr: peer.addr(), MaxRetries: -1, MinReconnectBackoff: time.Second, MaxReconnectBackoff: time.Second})
	ctx := testContext(t, 10*time.Second)
	err := c.Ping(ctx)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Ping: %v, want ErrBusy, outcome unknown", err)
	}
	err = c.Ping(ctx)
	var dialErr *DialError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &dialErr) {
		t.Fatalf("Ping during the backoff: %v, want a fast DialError citing ErrBusy", err)
	}
	if n := peer.accepts.Load(); n != 1 {
		t.Fatalf("%d connections: the client reconnected without backing off", n)
	}
}

func TestUnknownStatusClosesTheConnection(t *testing.T) {
	peer := startFakePeer(t, func(p *fakePeer, n int, c net.Conn) {
		if answerHello(c, 4096) != nil {
			return
		}
		readFrame(c)
		c.Write(frame(0x42))
		p.awaitClientClose(c)
	})
	c := newClient(t, Options{Addr: peer.addr(), MaxRetries: -1})
	err := c.Ping(testContext(t, 10*time.Second))
	var statusErr *StatusError
	if !errors.Is(err, ErrUnknownStatus) || !errors.As(err, &statusErr) || statusErr.Status != 0x42 {
		t.Fatalf("Ping: %v, want ErrUnknownStatus", err)
	}
	peer.waitClientClosed(t, time.Second)
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, opt := range []Options{
		{Network: "udp"},
		{Network: "unix"},
		{PoolSize: 2, MinIdleConns: 3},
		{ReadTimeout: -time.Second},
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("New(%+v) accepted", opt)
		}
	}
}

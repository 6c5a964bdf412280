// The conformance kit's fault cases (examples/clients/conformance/faults.json),
// one test per case, named after its id (TestFaultVersion1Server is
// version_1_server).

package blink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

// countingConn counts the bytes the client reads from the server.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func TestFaultServerKilledMidPipeline(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, blinkproc.Config{UnixSocket: filepath.Join(dir, "blink.sock")})
	var read atomic.Int64
	dialer := &net.Dialer{}
	c := tcpClient(t, s, Options{
		ReadTimeout: 2 * time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{nc, &read}, nil
		},
	})
	ctx := testContext(t, 30*time.Second)
	value := bytes.Repeat([]byte("v"), 64<<10) // 1,000 replies: 64 MiB, far more than buffers hold
	mustOK(t, c.Set(ctx, []byte("k"), value, 0))

	p := c.Pipeline()
	gets := make([]*ValueCmd, 1000)
	for i := range gets {
		gets[i] = p.Get([]byte("k"))
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.Exec(ctx) }()
	eventually(t, 10*time.Second, "the first replies", func() bool { return read.Load() > 1<<20 })
	s.Kill()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Exec hangs after the server was killed")
	}
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		t.Fatalf("Exec took %v", elapsed)
	}
	if !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Exec: %v, want ErrConnClosed", err)
	}
	answered, failed := 0, 0
	for i, get := range gets {
		v, found, err := get.Result()
		switch {
		case err == nil && found && bytes.Equal(v, value):
			if failed > 0 {
				t.Fatalf("GET %d answered after an earlier one failed", i)
			}
			answered++
		case errors.Is(err, ErrConnClosed):
			failed++
		default:
			t.Fatalf("GET %d: %d bytes, found=%v, err=%v", i, len(v), found, err)
		}
	}
	if answered == 0 || failed == 0 {
		t.Fatalf("%d answered, %d failed: the kill did not land mid-pipeline", answered, failed)
	}

	dials := c.PoolStats().Dials
	startServer(t, blinkproc.Config{TCP: s.TCPAddr, UnixSocket: filepath.Join(dir, "blink.sock")})
	eventually(t, 10*time.Second, "a call after the restart", func() bool { return c.Ping(ctx) == nil })
	if c.PoolStats().Dials <= dials {
		t.Fatal("the call after the restart did not use a new connection")
	}
}

func TestFaultServerRestarted(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "blink.sock")
			s := startServer(t, blinkproc.Config{UnixSocket: sock})
			addr := map[string]string{"tcp": s.TCPAddr, "unix": s.UnixSocket}[network]
			c := newClient(t, Options{Network: network, Addr: addr, ReadTimeout: 500 * time.Millisecond})
			ctx := testContext(t, 30*time.Second)
			mustOK(t, c.SetString(ctx, "k", "before", 0))
			s.Kill()

			before := c.PoolStats().Dials
			outageEnd := time.Now().Add(time.Second)
			calls := 0
			for time.Now().Before(outageEnd) {
				start := time.Now()
				_, _, err := c.GetString(ctx, "k")
				if err == nil {
					t.Fatal("a call succeeded while the server was down")
				}
				if elapsed := time.Since(start); elapsed > 2*time.Second {
					t.Fatalf("a call took %v while the server was down: %v", elapsed, err)
				}
				calls++
				time.Sleep(10 * time.Millisecond)
			}
			if attempts := c.PoolStats().Dials - before; attempts >= 20 {
				t.Fatalf("%d connect attempts over a one-second outage (%d calls): no backoff", attempts, calls)
			}

			startServer(t, blinkproc.Config{TCP: s.TCPAddr, UnixSocket: sock})
			eventually(t, 10*time.Second, "a call on the restarted server", func() bool {
				return c.SetString(ctx, "k", "after", 0) == nil
			})
			v, found, err := c.GetString(ctx, "k")
			if err != nil || !found || v != "after" {
				t.Fatalf("after the restart: %q, %v, %v", v, found, err)
			}
		})
	}
}

func TestFaultAcceptsAndNeverAnswers(t *testing.T) {
	peer := startFakePeer(t, func(p *fakePeer, _ int, c net.Conn) { p.awaitClientClose(c) })
	const readTimeout = 200 * time.Millisecond
	c := newClient(t, Options{Addr: peer.addr(), ReadTimeout: readTimeout, MaxRetries: -1})
	start := time.Now()
	err := c.Ping(testContext(t, 10*time.Second))
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Ping: %v, want ErrTimeout", err)
	}
	var dialErr *DialError
	if !errors.As(err, &dialErr) {
		t.Fatalf("Ping: %v, want a *DialError (the HELLO timed out)", err)
	}
	if elapsed < readTimeout || elapsed > 10*readTimeout {
		t.Fatalf("failed after %v, want about the %v read timeout", elapsed, readTimeout)
	}
	peer.waitClientClosed(t, time.Second)
	if st := c.PoolStats(); st.TotalConns != 0 {
		t.Fatalf("the timed-out connection was kept: %+v", st)
	}
}

func TestFaultMalformedReply(t *testing.T) {
	for _, bad := range []struct {
		name  string
		reply []byte
	}{
		{"zero_length", []byte{0, 0, 0, 0}},
		{"first_byte_0x20_or_more", []byte("-ERR\r\n")},
	} {
		t.Run(bad.name, func(t *testing.T) {
			peer := startFakePeer(t, func(p *fakePeer, n int, c net.Conn) {
				if answerHello(c, 4096) != nil {
					return
				}
				if n == 1 {
					readFrame(c)
					c.Write(bad.reply)
					p.awaitClientClose(c)
					return
				}
				p.serveOK(c)
			})
			c := newClient(t, Options{Addr: peer.addr()})
			ctx := testContext(t, 10*time.Second)
			if err := c.Ping(ctx); !errors.Is(err, ErrProtocol) {
				t.Fatalf("Ping: %v, want ErrProtocol", err)
			}
			peer.waitClientClosed(t, time.Second)
			mustOK(t, c.Ping(ctx))
			if n := peer.accepts.Load(); n != 2 {
				t.Fatalf("%d connections, want a new one after the malformed reply", n)
			}
		})
	}
}

func TestFaultOversizedReply(t *testing.T) {
	peer := startFakePeer(t, func(p *fakePeer, _ int, c net.Conn) {
		if answerHello(c, 4096) != nil {
			return
		}
		readFrame(c)
		c.Write([]byte{0x00, 0x00, 0x10, 0x01}) // 4097 bytes declared, none sent
		p.awaitClientClose(c)
	})
	c := newClient(t, Options{Addr: peer.addr(), ReadTimeout: 5 * time.Second})
	start := time.Now()
	err := c.Ping(testContext(t, 10*time.Second))
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("Ping: %v, want ErrProtocol", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("took %v: the client waited for the body", elapsed)
	}
	peer.waitClientClosed(t, time.Second)
}

func TestFaultTooManyConnections(t *testing.T) {
	s := startServer(t, blinkproc.Config{Args: []string{"--max-connections", "1"}})
	ctx := testContext(t, 10*time.Second)
	first := tcpClient(t, s, Options{})
	held, err := first.Conn(ctx)
	mustOK(t, err)
	defer held.Close()

	second := tcpClient(t, s, Options{MaxRetries: -1})
	err = second.Ping(ctx)
	if !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("second client: %v, want ErrTooManyConnections", err)
	}
	if errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrProtocol) || !retryable(err) {
		t.Fatalf("%v is not in the retryable back-off class", err)
	}
	mustOK(t, held.Ping(ctx))
}

func TestFaultWrongToken(t *testing.T) {
	s := startServer(t, blinkproc.Config{Token: "s3cret"})
	good := tcpClient(t, s, Options{Token: []byte("s3cret")})
	ctx := testContext(t, 10*time.Second)
	statsBefore, err := good.Stats(ctx)
	mustOK(t, err)

	bad := tcpClient(t, s, Options{Token: []byte("wrong")})
	const calls = 5
	for i := 0; i < calls; i++ {
		if err := bad.Ping(ctx); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("call %d: %v, want ErrAuthFailed", i, err)
		}
	}
	statsAfter, err := good.Stats(ctx)
	mustOK(t, err)
	if grew := statsAfter["connections_total"] - statsBefore["connections_total"]; grew > calls {
		t.Fatalf("connections_total grew by %d over %d calls: a reconnect loop", grew, calls)
	}
}

func TestFaultLimitsEnforcedLocally(t *testing.T) {
	s := startServer(t, blinkproc.Config{Args: []string{"--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8"}})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	conn, err := c.Conn(ctx)
	mustOK(t, err)
	defer conn.Close()

	before, err := conn.Stats(ctx)
	mustOK(t, err)
	checkRefused := func(what string, err, want error) {
		t.Helper()
		var limitErr *LimitError
		if !errors.Is(err, want) || !errors.As(err, &limitErr) {
			t.Fatalf("%s: %v, want a local %v", what, err, want)
		}
	}
	checkRefused("SET 5-byte key", conn.Set(ctx, []byte("kkkkk"), []byte("v"), 0), ErrKeyTooLarge)
	_, _, err = conn.Get(ctx, []byte("kkkkk"))
	checkRefused("GET 5-byte key", err, ErrKeyTooLarge)
	checkRefused("SET 9-byte value", conn.Set(ctx, []byte("k"), []byte("123456789"), 0), ErrValueTooLarge)
	after, err := conn.Stats(ctx)
	mustOK(t, err)
	statsFrameBytes := uint64(frameHeaderBytes + 1)
	if grew := after["bytes_in"] - before["bytes_in"]; grew != statsFrameBytes {
		t.Fatalf("bytes_in grew by %d, want only the %d bytes of the second STATS", grew, statsFrameBytes)
	}
	mustOK(t, conn.Set(ctx, []byte("kkkk"), []byte("12345678"), 0))
	v, found, err := conn.Get(ctx, []byte("kkkk"))
	if err != nil || !found || string(v) != "12345678" {
		t.Fatalf("valid call on the same connection: %q, %v, %v", v, found, err)
	}
}

func TestFaultTimedOutCallKeepsItsReply(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	for _, timeout := range []string{"context_deadline", "read_timeout"} {
		t.Run(timeout, func(t *testing.T) {
			opt := Options{PoolSize: 1}
			callCtx := func() context.Context { return testContext(t, 200*time.Millisecond) }
			if timeout == "read_timeout" {
				opt.ReadTimeout = 200 * time.Millisecond
				callCtx = func() context.Context { return context.Background() }
			}
			c := tcpClient(t, s, opt)
			ctx := testContext(t, 10*time.Second)
			mustOK(t, c.SetString(ctx, "a", "value of a", 0))
			mustOK(t, c.SetString(ctx, "b", "value of b", 0))

			mustOK(t, s.Pause())
			_, _, err := c.GetString(callCtx(), "a")
			mustOK(t, s.Resume())
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("GET a on a stopped server: %v, want ErrTimeout", err)
			}
			v, found, err := c.GetString(ctx, "b")
			if err != nil || !found || v != "value of b" {
				t.Fatalf("GET b: %q, %v, %v", v, found, err)
			}
		})
	}
}

func TestFaultIdleConnectionClosedByServer(t *testing.T) {
	s := startServer(t, blinkproc.Config{Args: []string{"--idle-timeout-ms", "200"}})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	mustOK(t, c.SetString(ctx, "k", "v", 0))
	eventually(t, 5*time.Second, "the server closing the idle connection", func() bool {
		return serverStat(t, Options{Addr: s.TCPAddr}, "closed_idle") >= 1
	})
	v, found, err := c.GetString(ctx, "k")
	if err != nil || !found || v != "v" {
		t.Fatalf("call after the idle close: %q, %v, %v", v, found, err)
	}
	if st := c.PoolStats(); st.StaleConns != 1 {
		t.Fatalf("the liveness check did not catch the closed connection: %+v", st)
	}
}

func TestFaultPoolExhaustion(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	const poolTimeout = 200 * time.Millisecond
	c := tcpClient(t, s, Options{PoolSize: 2, PoolTimeout: poolTimeout, ReadTimeout: 5 * time.Second})
	ctx := testContext(t, 10*time.Second)
	first, err := c.Conn(ctx)
	mustOK(t, err)
	second, err := c.Conn(ctx)
	mustOK(t, err)
	defer second.Close()

	start := time.Now()
	_, err = c.Conn(ctx)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("third checkout: %v, want ErrPoolTimeout", err)
	}
	if elapsed < poolTimeout || elapsed > 2*time.Second {
		t.Fatalf("the third checkout failed after %v, want about %v", elapsed, poolTimeout)
	}
	mustOK(t, first.Close())
	start = time.Now()
	mustOK(t, c.Ping(ctx))
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Fatalf("the checkout after a return took %v", elapsed)
	}
	if st := c.PoolStats(); st.Timeouts != 1 || st.TotalConns != 2 {
		t.Fatalf("pool stats %+v", st)
	}
}

func TestFaultSharedBy64Workers(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{PoolSize: 8})
	ctx := testContext(t, 60*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for op := 0; op < 100; op++ {
				key := []byte(fmt.Sprintf("worker-%d-key-%d", w, op%10))
				value := []byte(fmt.Sprintf("worker %d op %d", w, op))
				if err := c.Set(ctx, key, value, 0); err != nil {
					errs <- err
					return
				}
				got, found, err := c.Get(ctx, key)
				if err != nil || !found || !bytes.Equal(got, value) {
					errs <- fmt.Errorf("worker %d op %d: got %q, %v, %v; want %q", w, op, got, found, err, value)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := c.PoolStats(); st.TotalConns > 8 {
		t.Fatalf("%d connections for a pool of 8", st.TotalConns)
	}
}

func TestFaultLargePipelineDoesNotDeadlock(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 120*time.Second)
	value := bytes.Repeat([]byte{0x00, 0x0a, 0xff, 'v'}, 4<<10) // 16 KiB
	mustOK(t, c.Set(ctx, []byte("big"), value, 0))
	p := c.Pipeline()
	gets := make([]*ValueCmd, 20000)
	for i := range gets {
		gets[i] = p.Get([]byte("big"))
	}
	mustOK(t, p.Exec(ctx))
	for i, get := range gets {
		v, found, err := get.Result()
		if err != nil || !found || !bytes.Equal(v, value) {
			t.Fatalf("GET %d: %d bytes, %v, %v", i, len(v), found, err)
		}
	}
}

func TestFaultVersion1Server(t *testing.T) {
	var mu sync.Mutex
	var recorded [][]byte // every frame other than HELLO and GET
	peer := startFakePeer(t, func(p *fakePeer, _ int, c net.Conn) {
		for {
			payload, err := readFrame(c)
			if err != nil {
				p.clientClosed <- struct{}{}
				return
			}
			switch payload[0] {
			case opHello:
				c.Write(helloV1)
			case opGet:
				c.Write(frame(statusNotFound))
			default:
				mu.Lock()
				recorded = append(recorded, payload)
				mu.Unlock()
			}
		}
	})
	c := newClient(t, Options{Addr: peer.addr(), ReadTimeout: 2 * time.Second})
	ctx := testContext(t, 10*time.Second)
	getWorks := func(when string) {
		t.Helper()
		if _, found, err := c.Get(ctx, []byte("k")); err != nil || found {
			t.Fatalf("GET %s: found=%v, %v", when, found, err)
		}
	}
	getWorks("after connecting")

	_, addErr := c.Add(ctx, []byte("k"), []byte("v"), 0)
	_, replaceErr := c.Replace(ctx, []byte("k"), []byte("v"), 0)
	_, incrErr := c.Incr(ctx, []byte("k"), 1)
	_, appendErr := c.Append(ctx, []byte("k"), []byte("v"))
	_, _, scanErr := c.Scan(ctx, 0, 10, []byte("k"))
	it := c.ScanIterator(10, nil)
	if it.Next(ctx) {
		t.Fatal("a SCAN walk found a key on a version-1 server")
	}
	p := c.Pipeline()
	pipeAdd, pipeGet, pipeScan := p.Add([]byte("k"), []byte("v"), 0), p.Get([]byte("k")), p.Scan(0, 10, nil)
	pipeErr := p.Exec(ctx)
	_, _, pipeScanErr := pipeScan.Result()
	for name, err := range map[string]error{
		"add": addErr, "replace": replaceErr, "incr": incrErr, "append": appendErr,
		"flush": c.Flush(ctx), "scan": scanErr, "scan iterator": it.Err(),
		"pipelined add": pipeAdd.Err(), "pipelined scan": pipeScanErr, "pipeline": pipeErr,
	} {
		var unsupported *UnsupportedError
		if !errors.Is(err, ErrUnknownCommand) || !errors.As(err, &unsupported) || unsupported.Version != 1 {
			t.Errorf("%s: %v, want an unsent ErrUnknownCommand", name, err)
		}
	}
	if _, found, err := pipeGet.Result(); err != nil || found {
		t.Fatalf("pipelined GET: found=%v, %v", found, err)
	}

	getWorks("afterwards, on the same connection")
	conn, err := c.Conn(ctx)
	mustOK(t, err)
	if v := conn.ProtocolVersion(); v != 1 {
		t.Fatalf("the connection speaks version %d, want 1", v)
	}
	mustOK(t, conn.Close())
	mu.Lock()
	defer mu.Unlock()
	if len(recorded) != 0 {
		t.Fatalf("the version-1 server received %d version-2 frames: %x", len(recorded), recorded)
	}
	if n := peer.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want the first kept", n)
	}
}

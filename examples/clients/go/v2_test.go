// Integration tests of the version-2 commands against a real server (ADD,
// REPLACE, INCR, APPEND, FLUSH, SCAN through the Client, Conn and
// Pipeline), whole SCAN walks (the conformance kit's "SCAN walks"), the
// version each HELLO negotiates, the local checks, and fake peers for the
// replies a version-2 client refuses and the calls it must not retry.

package blink

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

func TestVersion2CommandsOverTCPAndUnix(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := map[string]string{"tcp": s.TCPAddr, "unix": s.UnixSocket}[network]
			c := newClient(t, Options{Network: network, Addr: addr})
			ctx := testContext(t, 10*time.Second)
			key := []byte("cond\x00" + network)

			if stored, err := c.Replace(ctx, key, []byte("v0"), 0); err != nil || stored {
				t.Fatalf("REPLACE of a missing key: %v, %v", stored, err)
			}
			if stored, err := c.Add(ctx, key, []byte("v1"), time.Minute); err != nil || !stored {
				t.Fatalf("ADD of a new key: %v, %v", stored, err)
			}
			if stored, err := c.Add(ctx, key, []byte("v2"), 0); err != nil || stored {
				t.Fatalf("ADD of an existing key: %v, %v (EXISTS is not an error)", stored, err)
			}
			if ttl, _, err := c.TTL(ctx, key); err != nil || !ttl.HasTTL {
				t.Fatalf("ADD with a TTL: %+v, %v", ttl, err)
			}
			if stored, err := c.ReplaceMs(ctx, key, []byte{0, 0xff}, 0); err != nil || !stored {
				t.Fatalf("REPLACE of an existing key: %v, %v", stored, err)
			}
			if v, _, _ := c.Get(ctx, key); !bytes.Equal(v, []byte{0, 0xff}) {
				t.Fatalf("GET after REPLACE: %x", v)
			}
			if ttl, _, _ := c.TTL(ctx, key); ttl.HasTTL {
				t.Fatal("REPLACE without a TTL did not make the key persistent, as SET does")
			}

			counter := []byte("counter-" + network)
			for _, step := range []struct{ delta, want int64 }{{1, 1}, {41, 42}, {-50, -8}} {
				if v, err := c.Incr(ctx, counter, step.delta); err != nil || v != step.want {
					t.Fatalf("INCR %d: %d, %v; want %d", step.delta, v, err, step.want)
				}
			}
			if v, _, _ := c.GetString(ctx, string(counter)); v != "-8" {
				t.Fatalf("the counter is stored as %q, want decimal ASCII", v)
			}

			log := []byte("log-" + network)
			for _, step := range []struct {
				suffix string
				want   uint64
			}{{"ab", 2}, {"\x00\n", 4}, {"", 4}} {
				if n, err := c.Append(ctx, log, []byte(step.suffix)); err != nil || n != step.want {
					t.Fatalf("APPEND %q: %d, %v; want %d", step.suffix, n, err, step.want)
				}
			}
			keys, _, err := c.Scan(ctx, 0, 1000, []byte("log-"+network))
			if err != nil || len(keys) > 1 || (len(keys) == 1 && !bytes.Equal(keys[0], log)) {
				t.Fatalf("SCAN one step: %q, %v", keys, err)
			}
		})
	}
}

func TestIncrRefusesWhatIsNotAnInt64AndKeepsTheConnection(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	mustOK(t, c.SetString(ctx, "n", fmt.Sprint(int64(math.MaxInt64-1)), 0))
	if v, err := c.Incr(ctx, []byte("n"), 1); err != nil || v != math.MaxInt64 {
		t.Fatalf("INCR to the maximum: %d, %v", v, err)
	}
	var statusErr *StatusError
	if _, err := c.Incr(ctx, []byte("n"), 1); !errors.Is(err, ErrNotInteger) || !errors.As(err, &statusErr) {
		t.Fatalf("INCR past the maximum: %v, want ErrNotInteger", err)
	}
	if v, err := c.Incr(ctx, []byte("n"), math.MinInt64); err != nil || v != -1 {
		t.Fatalf("INCR by the minimum: %d, %v", v, err)
	}
	mustOK(t, c.SetString(ctx, "text", "042", 0))
	if _, err := c.Incr(ctx, []byte("text"), 1); !errors.Is(err, ErrNotInteger) {
		t.Fatalf("INCR of %q: %v, want ErrNotInteger", "042", err)
	}
	if v, _, _ := c.GetString(ctx, "text"); v != "042" {
		t.Fatalf("a refused INCR changed the value to %q", v)
	}
	if st := c.PoolStats(); st.Dials != 1 {
		t.Fatalf("ERR_NOT_INTEGER cost the connection: %+v", st)
	}
}

func TestPipelineCarriesTheVersion2Commands(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	p := c.Pipeline()
	incr := p.Incr([]byte("p"), 2)
	appendCmd := p.Append([]byte("p"), []byte("x"))
	notInteger := p.Incr([]byte("p"), 1)
	add := p.Add([]byte("p"), []byte("y"), 0)
	replace := p.ReplaceMs([]byte("p"), []byte("7"), 0)
	scan := p.Scan(0, 1000, []byte("p"))
	flush := p.Flush()
	get := p.Get([]byte("p"))
	if err := p.Exec(ctx); !errors.Is(err, ErrNotInteger) {
		t.Fatalf("Exec: %v, want the INCR's ErrNotInteger", err)
	}
	if v, err := incr.Result(); err != nil || v != 2 {
		t.Fatalf("INCR: %d, %v", v, err)
	}
	if n, err := appendCmd.Result(); err != nil || n != 2 {
		t.Fatalf("APPEND: %d, %v", n, err)
	}
	if stored, err := add.Result(); err != nil || stored {
		t.Fatalf("ADD: %v, %v", stored, err)
	}
	if stored, err := replace.Result(); err != nil || !stored {
		t.Fatalf("REPLACE: %v, %v", stored, err)
	}
	if keys, _, err := scan.Result(); err != nil || len(keys) > 1 {
		t.Fatalf("SCAN: %q, %v", keys, err)
	}
	mustOK(t, flush.Err())
	if _, found, err := get.Result(); err != nil || found {
		t.Fatalf("GET after FLUSH: %v, %v", found, err)
	}
	if _, err := notInteger.Result(); !errors.Is(err, ErrNotInteger) {
		t.Fatalf("INCR of %q: %v", "2x", err)
	}
}

// TestScanWalks is the conformance kit's SCAN walk: thousands of keys under
// two prefixes, one prefix walked with a small count.
func TestScanWalks(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 30*time.Second)
	written := map[string][]string{"walk:a:": nil, "walk:b:": nil}
	for prefix, n := range map[string]int{"walk:a:": 3000, "walk:b:": 2000} {
		p := c.Pipeline()
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("%s%d", prefix, i)
			written[prefix] = append(written[prefix], key)
			p.Set([]byte(key), []byte("v"), 0)
		}
		mustOK(t, p.Exec(ctx))
	}
	mustOK(t, c.SetString(ctx, "walk:", "the bare prefix of both", 0))

	exactly := func(t *testing.T, got []string, want []string) {
		t.Helper()
		seen := map[string]bool{}
		for _, key := range got {
			if seen[key] {
				t.Fatalf("key %q returned twice", key)
			}
			seen[key] = true
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("walked %d keys, want exactly the %d written", len(got), len(want))
		}
	}

	t.Run("iterator", func(t *testing.T) {
		var got []string
		it := c.ScanIterator(7, []byte("walk:a:"))
		for it.Next(ctx) {
			got = append(got, string(it.Key()))
		}
		mustOK(t, it.Err())
		exactly(t, got, written["walk:a:"])
	})
	t.Run("cursor_loop", func(t *testing.T) {
		var got []string
		steps := 0
		for cursor := uint64(0); ; steps++ {
			keys, next, err := c.Scan(ctx, cursor, 5, []byte("walk:b:"))
			mustOK(t, err)
			for _, key := range keys {
				got = append(got, string(key))
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		exactly(t, got, written["walk:b:"])
		if steps < 10 {
			t.Fatalf("%d steps: the count did not bound them", steps)
		}
	})
	t.Run("every_key_then_flush", func(t *testing.T) {
		n := 0
		for it := c.ScanIterator(0, nil); it.Next(ctx); n++ {
		}
		if n != 3000+2000+1 {
			t.Fatalf("walked %d keys without a prefix, want 5001", n)
		}
		mustOK(t, c.Flush(ctx))
		it := c.ScanIterator(1000, nil)
		if it.Next(ctx) {
			t.Fatalf("a key after FLUSH: %q", it.Key())
		}
		mustOK(t, it.Err())
	})
}

func TestHelloOneTurnsTheVersion2CommandsOff(t *testing.T) {
	s := startServer(t, blinkproc.Config{})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	conn, err := c.Conn(ctx)
	mustOK(t, err)
	if v := conn.ProtocolVersion(); v != ProtocolVersion {
		t.Fatalf("a new connection speaks version %d, want %d", v, ProtocolVersion)
	}
	hello, err := conn.Hello(ctx, 1)
	if err != nil || hello.Version != 1 || conn.ProtocolVersion() != 1 {
		t.Fatalf("HELLO 1: %+v, %v; speaking %d", hello, err, conn.ProtocolVersion())
	}
	before, err := conn.Stats(ctx)
	mustOK(t, err)
	var unsupported *UnsupportedError
	if _, err := conn.Incr(ctx, []byte("n"), 1); !errors.As(err, &unsupported) || unsupported.Command != "INCR" {
		t.Fatalf("INCR at version 1: %v, want an unsent ErrUnknownCommand", err)
	}
	after, err := conn.Stats(ctx)
	mustOK(t, err)
	if grew := after["bytes_in"] - before["bytes_in"]; grew != frameHeaderBytes+1 {
		t.Fatalf("bytes_in grew by %d: the INCR was sent", grew)
	}
	if hello, err := conn.Hello(ctx, 255); err != nil || hello.Version != 2 {
		t.Fatalf("HELLO 255: %+v, %v", hello, err)
	}
	if v, err := conn.Incr(ctx, []byte("n"), 1); err != nil || v != 1 {
		t.Fatalf("INCR after HELLO 2: %d, %v", v, err)
	}
	conn.Hello(ctx, 1)
	mustOK(t, conn.Close())
	if v, err := c.Incr(ctx, []byte("n"), 1); err != nil || v != 2 {
		t.Fatalf("INCR on the pool after a Conn went to version 1: %d, %v", v, err)
	}
	if st := c.PoolStats(); st.Dials != 2 {
		t.Fatalf("the connection a Hello took to version 1 went back to the pool: %+v", st)
	}
}

func TestVersion2CommandsAreCheckedLocallyAsSetIs(t *testing.T) {
	s := startServer(t, blinkproc.Config{Args: []string{"--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8"}})
	c := tcpClient(t, s, Options{})
	ctx := testContext(t, 10*time.Second)
	conn, err := c.Conn(ctx)
	mustOK(t, err)
	defer conn.Close()
	before, err := conn.Stats(ctx)
	mustOK(t, err)
	_, addErr := conn.Add(ctx, []byte("kkkkk"), []byte("v"), 0)
	_, replaceErr := conn.Replace(ctx, []byte("k"), []byte("123456789"), 0)
	_, incrErr := conn.Incr(ctx, []byte("kkkkk"), 1)
	_, appendErr := conn.Append(ctx, []byte("k"), []byte("123456789"))
	_, _, scanErr := conn.Scan(ctx, 0, 1, bytes.Repeat([]byte("p"), 4096))
	_, _, countErr := conn.Scan(ctx, 0, 1<<16, nil)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"ADD 5-byte key", addErr, ErrKeyTooLarge},
		{"REPLACE 9-byte value", replaceErr, ErrValueTooLarge},
		{"INCR 5-byte key", incrErr, ErrKeyTooLarge},
		{"APPEND 9-byte suffix", appendErr, ErrValueTooLarge},
		{"SCAN prefix over the frame limit", scanErr, ErrFrameTooLarge},
	} {
		var limitErr *LimitError
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &limitErr) {
			t.Errorf("%s: %v, want a local %v", c.name, c.err, c.want)
		}
	}
	if countErr == nil {
		t.Error("SCAN count 65536 was accepted")
	}
	after, err := conn.Stats(ctx)
	mustOK(t, err)
	if grew := after["bytes_in"] - before["bytes_in"]; grew != frameHeaderBytes+1 {
		t.Fatalf("bytes_in grew by %d: a refused frame was sent", grew)
	}
	if keys, _, err := conn.Scan(ctx, 0, 10, []byte("longer than a key")); err != nil || len(keys) != 0 {
		t.Fatalf("a SCAN prefix is not a key: %q, %v", keys, err)
	}
	if n, err := conn.Append(ctx, []byte("k"), []byte("12345678")); err != nil || n != 8 {
		t.Fatalf("APPEND to the limit: %d, %v", n, err)
	}
	var limitErr *LimitError
	if _, err := conn.Append(ctx, []byte("k"), []byte("9")); !errors.Is(err, ErrValueTooLarge) || errors.As(err, &limitErr) {
		t.Fatalf("APPEND past the limit: %v, want the server's ErrValueTooLarge", err)
	}
	mustOK(t, conn.Ping(ctx))
}

// TestRepliesAVersion2ClientRefuses: statuses and bodies that do not fit,
// each closing the connection.
func TestRepliesAVersion2ClientRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		hello []byte
		reply []byte
		call  func(c *Client) error
		want  error
	}{
		{"exists_to_get", helloOK(4096), frame(statusExists), func(c *Client) error {
			_, _, err := c.Get(testContext(t, 5*time.Second), []byte("k"))
			return err
		}, ErrProtocol},
		{"not_integer_on_a_version_1_connection", helloV1, frame(statusNotInteger, 'n', 'o'), func(c *Client) error {
			return c.Ping(testContext(t, 5*time.Second))
		}, ErrUnknownStatus},
		{"scan_key_overruns_the_body", helloOK(4096), frame(statusOK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a'), func(c *Client) error {
			_, _, err := c.Scan(testContext(t, 5*time.Second), 0, 1, nil)
			return err
		}, ErrProtocol},
		{"incr_body_of_one_byte", helloOK(4096), frame(statusOK, 42), func(c *Client) error {
			_, err := c.Incr(testContext(t, 5*time.Second), []byte("n"), 1)
			return err
		}, ErrProtocol},
		{"hello_version_3", frame(statusOK, 3, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 0, 8), nil, func(c *Client) error {
			return c.Ping(testContext(t, 5*time.Second))
		}, ErrProtocol},
	} {
		t.Run(c.name, func(t *testing.T) {
			peer := startFakePeer(t, func(p *fakePeer, _ int, conn net.Conn) {
				readFrame(conn)
				conn.Write(c.hello)
				if c.reply != nil {
					readFrame(conn)
					conn.Write(c.reply)
				}
				p.awaitClientClose(conn)
			})
			client := newClient(t, Options{Addr: peer.addr(), MaxRetries: -1})
			if err := c.call(client); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			peer.waitClientClosed(t, time.Second)
		})
	}
}

// TestCallsThatMayNotRepeatAreNotRetried: a connection closed under an INCR
// leaves its outcome unknown, and a second INCR would count twice, so it is
// not retried; a GET is.
func TestCallsThatMayNotRepeatAreNotRetried(t *testing.T) {
	var incrs, gets atomic.Int32
	peer := startFakePeer(t, func(p *fakePeer, _ int, c net.Conn) {
		if answerHello(c, 4096) != nil {
			return
		}
		payload, err := readFrame(c)
		if err != nil {
			return
		}
		switch payload[0] {
		case opIncr:
			incrs.Add(1)
		case opGet:
			if gets.Add(1) > 1 {
				c.Write(frame(statusNotFound))
				p.serveOK(c)
				return
			}
		}
		c.Close() // after reading the request: its outcome is unknown
	})
	c := newClient(t, Options{Addr: peer.addr(), MaxRetries: 3, MinRetryBackoff: time.Millisecond})
	ctx := testContext(t, 10*time.Second)
	if _, err := c.Incr(ctx, []byte("n"), 1); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("INCR: %v, want ErrConnClosed", err)
	}
	if n := incrs.Load(); n != 1 {
		t.Fatalf("the INCR was sent %d times", n)
	}
	if _, found, err := c.Get(ctx, []byte("k")); err != nil || found {
		t.Fatalf("GET, retried: %v, %v", found, err)
	}
	if n := gets.Load(); n != 2 {
		t.Fatalf("the GET was sent %d times, want a retry", n)
	}
}

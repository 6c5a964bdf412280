// Test helpers: a real server per test, clients closed with the test, and
// waiting for conditions instead of sleeping.

package blink

import (
	"context"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

// startServer starts a blink-store for one test; it stops with the test.
func startServer(t *testing.T, cfg blinkproc.Config) *blinkproc.Server {
	t.Helper()
	s, err := blinkproc.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// newClient returns a Client for opt; it closes with the test.
func newClient(t *testing.T, opt Options) *Client {
	t.Helper()
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tcpClient is a Client on s's TCP address with opt's other settings.
func tcpClient(t *testing.T, s *blinkproc.Server, opt Options) *Client {
	t.Helper()
	opt.Network, opt.Addr = "tcp", s.TCPAddr
	return newClient(t, opt)
}

// testContext is a context that ends with the test, or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serverStat reads one STATS counter on a client of its own for opt.
func serverStat(t *testing.T, opt Options, name string) uint64 {
	t.Helper()
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stats, err := c.Stats(testContext(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := stats[name]
	if !ok {
		t.Fatalf("STATS has no %s", name)
	}
	return v
}

// mustOK fails the test on err.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

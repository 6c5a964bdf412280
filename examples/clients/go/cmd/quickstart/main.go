// Command quickstart is the README's walk through the Go client against a
// running blink-store: connect, SET and GET, TTLs, a pipeline, the
// version-2 commands, the pool's statistics and matching errors. The README shows the parts between the
// ANCHOR lines; TestReadmeShowsTheQuickstart keeps them identical.
//
//	go run ./cmd/quickstart -addr 127.0.0.1:25465
//	go run ./cmd/quickstart -network unix -addr /tmp/blink.sock
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	blink "blinkstore.dev/client"
)

func main() {
	network := flag.String("network", "tcp", `"tcp" or "unix"`)
	addr := flag.String("addr", "127.0.0.1:25465", "host:port, or the socket path for unix")
	flag.Parse()
	if err := run(context.Background(), *network, *addr, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, network, addr string, out io.Writer) error {
	// ANCHOR: connect
	client, err := blink.New(blink.Options{
		Network:     network, // "tcp" or "unix"
		Addr:        addr,
		Token:       []byte(os.Getenv("BLINK_AUTH_TOKEN")), // AUTH on connect, if set
		ReadTimeout: time.Second,
		PoolSize:    8,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	// ANCHOR_END: connect

	// ANCHOR: get_set
	if err := client.Set(ctx, []byte("greeting"), []byte("hello\x00world"), 0); err != nil {
		return err
	}
	value, found, err := client.Get(ctx, []byte("greeting"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "greeting = %q (found: %v)\n", value, found)

	_, found, err = client.GetString(ctx, "no such key")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "no such key: found = %v\n", found) // a miss is not an error
	// ANCHOR_END: get_set

	// ANCHOR: ttl
	if err := client.SetString(ctx, "session", "token-123", 30*time.Second); err != nil {
		return err
	}
	ttl, _, err := client.TTL(ctx, []byte("session"))
	if err != nil {
		return err
	}
	left, _ := ttl.Duration() // false if it has no TTL or exceeds time.Duration
	fmt.Fprintf(out, "session expires in about %v (%d ms)\n", left.Round(time.Second), ttl.RemainingMs)
	// ANCHOR_END: ttl

	// ANCHOR: pipeline
	pipe := client.Pipeline()
	var gets []*blink.ValueCmd
	for i := 0; i < 3; i++ {
		key := []byte(fmt.Sprintf("item:%d", i))
		pipe.Set(key, []byte(fmt.Sprintf("value %d", i)), time.Minute)
		gets = append(gets, pipe.Get(key))
	}
	if err := pipe.Exec(ctx); err != nil { // one write, replies in order
		return err
	}
	for _, get := range gets {
		v, _, _ := get.Result()
		fmt.Fprintf(out, "pipelined GET: %s\n", v)
	}
	// ANCHOR_END: pipeline

	// ANCHOR: version2
	// Protocol version 2. With a version-1 server these calls fail with
	// blink.ErrUnknownCommand (a *blink.UnsupportedError), unsent.
	if _, err := client.Del(ctx, []byte("lock:report")); err != nil {
		return err
	}
	locked, err := client.Add(ctx, []byte("lock:report"), []byte("worker 1"), 10*time.Second)
	if err != nil {
		return err
	}
	again, err := client.Add(ctx, []byte("lock:report"), []byte("worker 2"), 0) // false: it exists
	if err != nil {
		return err
	}
	renewed, err := client.Replace(ctx, []byte("lock:report"), []byte("worker 1"), 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "locked: %v, again: %v, renewed: %v\n", locked, again, renewed)

	if err := client.SetString(ctx, "visits", "41", 0); err != nil {
		return err
	}
	visits, err := client.Incr(ctx, []byte("visits"), 1) // an int64
	if err != nil {
		return err
	}
	_, err = client.Incr(ctx, []byte("greeting"), 1)
	fmt.Fprintf(out, "visits: %d; greeting is not a counter: %v\n", visits, errors.Is(err, blink.ErrNotInteger))

	length, err := client.Append(ctx, []byte("greeting"), []byte("!")) // the new length
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "greeting is now %d bytes\n", length)

	// SCAN walks the keys in bounded steps; ScanIterator runs the whole walk.
	it := client.ScanIterator(100, []byte("item:"))
	for it.Next(ctx) {
		fmt.Fprintf(out, "scanned %s\n", it.Key())
	}
	if err := it.Err(); err != nil {
		return err
	}
	// ANCHOR_END: version2

	// ANCHOR: errors
	callCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = client.Set(callCtx, make([]byte, 2000), []byte("v"), 0) // keys are at most 1 KiB by default
	var limitErr *blink.LimitError
	switch {
	case errors.As(err, &limitErr):
		fmt.Fprintf(out, "refused before sending: %s of %d bytes, limit %d\n", limitErr.What, limitErr.Bytes, limitErr.LimitBytes)
	case errors.Is(err, blink.ErrConnClosed):
		fmt.Fprintln(out, "connection lost: the SET may or may not have happened")
	case errors.Is(err, blink.ErrTimeout), errors.Is(err, blink.ErrPoolTimeout):
		fmt.Fprintln(out, "too slow:", err)
	case err != nil:
		return err
	}
	// ANCHOR_END: errors

	// ANCHOR: pool
	stats := client.PoolStats()
	fmt.Fprintf(out, "pool: %d connections (%d idle), %d hits, %d misses\n", stats.TotalConns, stats.IdleConns, stats.Hits, stats.Misses)
	// ANCHOR_END: pool
	return nil
}

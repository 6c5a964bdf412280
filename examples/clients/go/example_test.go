// Examples for the package documentation (compiled, not run: they need a
// server; cmd/quickstart is the tested walk-through).

package blink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	blink "blinkstore.dev/client"
)

func Example() {
	client, err := blink.New(blink.Options{Addr: "127.0.0.1:25465"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	if err := client.SetString(ctx, "user:1", "Ada", time.Hour); err != nil {
		log.Fatal(err)
	}
	name, found, err := client.GetString(ctx, "user:1")
	switch {
	case errors.Is(err, blink.ErrConnClosed):
		log.Print("connection lost; the outcome is unknown")
	case err != nil:
		log.Fatal(err)
	case !found:
		fmt.Println("no such user")
	default:
		fmt.Println(name)
	}
}

func ExamplePipeline() {
	client, err := blink.New(blink.Options{Network: "unix", Addr: "/tmp/blink.sock"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	pipe := client.Pipeline()
	hits := pipe.Get([]byte("hits"))
	ttl := pipe.TTL([]byte("session"))
	if err := pipe.Exec(context.Background()); err != nil {
		log.Fatal(err)
	}
	if v, found, _ := hits.Result(); found {
		fmt.Printf("hits: %s\n", v)
	}
	if t, found, _ := ttl.Result(); found && t.HasTTL {
		fmt.Printf("session: %d ms left\n", t.RemainingMs)
	}
}

func ExampleScanIterator() {
	client, err := blink.New(blink.Options{Addr: "127.0.0.1:25465"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	it := client.ScanIterator(100, []byte("user:"))
	for it.Next(ctx) {
		fmt.Printf("%s\n", it.Key())
	}
	if err := it.Err(); errors.Is(err, blink.ErrUnknownCommand) {
		log.Print("a version-1 server: no SCAN")
	} else if err != nil {
		log.Fatal(err)
	}
}

func ExampleClient_Incr() {
	client, err := blink.New(blink.Options{Addr: "127.0.0.1:25465"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	visits, err := client.Incr(context.Background(), []byte("visits"), 1)
	switch {
	case errors.Is(err, blink.ErrNotInteger):
		log.Print("visits holds something other than a counter")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("visit number", visits)
	}
}

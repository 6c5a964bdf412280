// Command bench measures the Go client against blink-store: GET round trips
// on one connection and pipelined GETs (batches of 100), of a 100-byte value.
// In the same run it measures redis-server with the same workload, driven by
// the minimal RESP loop of resp.go: that loop stands in for go-redis, which
// cannot be installed here (no module proxy), so it is a floor on a Redis
// client's overhead, not a go-redis measurement. Both servers are pinned to
// one CPU with taskset. It prints a markdown table.
//
//	go run ./cmd/bench -duration 5s -rounds 5 -cpu 1
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"runtime"
	"sort"
	"time"

	blink "blinkstore.dev/client"
	"blinkstore.dev/client/internal/blinkproc"
)

const (
	valueBytes = 100
	batchSize  = 100
)

var key = []byte("bench:key")

// workload is one measured loop: each call does some GETs and returns how
// many, or an error.
type workload func() (int, error)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each workload runs on each server")
	rounds := flag.Int("rounds", 5, "alternating rounds the duration is split into; the table shows the median")
	cpu := flag.String("cpu", "1", "the CPU both servers are pinned to (taskset -c)")
	flag.Parse()
	value := bytes.Repeat([]byte("v"), valueBytes)

	blinkSingle, blinkBatch, stopBlink, err := benchBlink(*cpu, value)
	if err != nil {
		log.Fatal(err)
	}
	defer stopBlink()
	redisSingle, redisBatch, stopRedis, err := benchRedis(*cpu, value)
	if err != nil {
		stopBlink()
		log.Fatal(err)
	}
	defer stopRedis()

	fmt.Printf("%d-byte values; %d alternating rounds of %v per cell, median shown; servers pinned with taskset -c %s; client GOMAXPROCS %d.\n",
		valueBytes, *rounds, *duration/time.Duration(*rounds), *cpu, runtime.GOMAXPROCS(0))
	fmt.Println("The redis-server column is a minimal RESP loop in this program, standing in for go-redis (which cannot be installed here).")
	fmt.Println()
	fmt.Println("| workload | blink-store, this client (GETs/s) | redis-server, minimal RESP loop (GETs/s) | blink / redis |")
	fmt.Println("|---|---:|---:|---:|")
	for _, row := range []struct {
		name         string
		blink, redis workload
	}{
		{"GET round trips, 1 connection", blinkSingle, redisSingle},
		{fmt.Sprintf("pipelined GETs, batches of %d", batchSize), blinkBatch, redisBatch},
	} {
		blinkRate, redisRate, err := compare(row.blink, row.redis, *duration/time.Duration(*rounds), *rounds)
		if err != nil {
			log.Print(err)
			return
		}
		fmt.Printf("| %s | %.0f | %.0f | %.2f |\n", row.name, blinkRate, redisRate, blinkRate/redisRate)
	}
}

// compare runs a and b in alternating rounds of d, so that both see the
// same machine load, and returns their median GETs per second.
func compare(a, b workload, d time.Duration, rounds int) (rateA, rateB float64, err error) {
	var ratesA, ratesB []float64
	for i := 0; i < rounds; i++ {
		r, err := measure(a, d)
		if err != nil {
			return 0, 0, err
		}
		ratesA = append(ratesA, r)
		if r, err = measure(b, d); err != nil {
			return 0, 0, err
		}
		ratesB = append(ratesB, r)
	}
	return median(ratesA), median(ratesB), nil
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// measure runs w for about d and returns GETs per second.
func measure(w workload, d time.Duration) (float64, error) {
	if _, err := w(); err != nil { // warm up, and check it works
		return 0, err
	}
	ops := 0
	start := time.Now()
	for time.Since(start) < d {
		n, err := w()
		if err != nil {
			return 0, err
		}
		ops += n
	}
	return float64(ops) / time.Since(start).Seconds(), nil
}

// benchBlink starts blink-store and returns its two workloads, and stop.
func benchBlink(cpu string, value []byte) (single, batch workload, stop func(), err error) {
	s, err := blinkproc.Start(blinkproc.Config{CPU: cpu})
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := blink.New(blink.Options{Addr: s.TCPAddr, PoolSize: 1})
	if err != nil {
		s.Stop()
		return nil, nil, nil, err
	}
	stop = func() {
		c.Close()
		s.Stop()
	}
	ctx := context.Background()
	if err := c.Set(ctx, key, value, 0); err != nil {
		stop()
		return nil, nil, nil, err
	}
	check := func(v []byte, found bool, err error) error {
		if err == nil && (!found || len(v) != valueBytes) {
			err = fmt.Errorf("blink GET returned %d bytes, found=%v", len(v), found)
		}
		return err
	}
	single = func() (int, error) { return 1, check(c.Get(ctx, key)) }
	pipe := c.Pipeline()
	gets := make([]*blink.ValueCmd, batchSize)
	batch = func() (int, error) {
		for i := range gets {
			gets[i] = pipe.Get(key)
		}
		if err := pipe.Exec(ctx); err != nil {
			return 0, err
		}
		return batchSize, check(gets[batchSize-1].Result())
	}
	return single, batch, stop, nil
}

// The redis-server side of the benchmark: starting it pinned, and a minimal
// pipelined RESP client, the stand-in for go-redis.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// respConn is a RESP connection that sends commands and reads bulk or
// simple-string replies, nothing more.
type respConn struct {
	r *bufio.Reader
	w *bufio.Writer
}

// send queues one command; flush sends the queue.
func (c *respConn) send(args ...[]byte) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n", len(a))
		c.w.Write(a)
		c.w.WriteString("\r\n")
	}
}

func (c *respConn) flush() error { return c.w.Flush() }

// reply reads one reply: a bulk string's bytes, or a simple string's text.
func (c *respConn) reply() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 {
		return nil, fmt.Errorf("resp: short line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return append([]byte(nil), body...), nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("resp: bulk header %q", line)
		}
		v := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, v); err != nil {
			return nil, err
		}
		return v[:n], nil
	}
	return nil, fmt.Errorf("resp: reply %q", line)
}

// benchRedis starts redis-server on a free loopback port, pinned to cpu,
// and returns the two workloads on one connection, and stop.
func benchRedis(cpu string, value []byte) (single, batch workload, stop func(), err error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, nil, nil, errors.New("redis-server not found: apt-get install -y redis-server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("taskset", "-c", cpu, "redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var nc net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if nc, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, nil, fmt.Errorf("redis-server did not listen on %s: %v", addr, err)
		}
	}
	c := &respConn{r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	c.send([]byte("SET"), key, value)
	if err := c.flush(); err != nil {
		stop()
		return nil, nil, nil, err
	}
	if _, err := c.reply(); err != nil {
		stop()
		return nil, nil, nil, err
	}
	get := func(n int) (int, error) {
		for i := 0; i < n; i++ {
			c.send([]byte("GET"), key)
		}
		if err := c.flush(); err != nil {
			return 0, err
		}
		for i := 0; i < n; i++ {
			v, err := c.reply()
			if err != nil {
				return 0, err
			}
			if len(v) != len(value) {
				return 0, fmt.Errorf("redis GET returned %d bytes", len(v))
			}
		}
		return n, nil
	}
	single = func() (int, error) { return get(1) }
	batch = func() (int, error) { return get(batchSize) }
	return single, batch, stop, nil
}

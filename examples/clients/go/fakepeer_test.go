// Fake peers: in-process listeners that play a misbehaving server (accept
// and hang, malformed or oversized replies, unsolicited closing statuses) or
// an older one (a version-1 server).

package blink

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePeer runs serve on every connection it accepts.
type fakePeer struct {
	ln      net.Listener
	accepts atomic.Int32
	// clientClosed receives one value per connection the client closed
	// (the peer read EOF or a reset on it).
	clientClosed chan struct{}
	wg           sync.WaitGroup
}

func startFakePeer(t *testing.T, serve func(p *fakePeer, n int, c net.Conn)) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln, clientClosed: make(chan struct{}, 64)}
	var conns []net.Conn
	var mu sync.Mutex
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			n := int(p.accepts.Add(1))
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				serve(p, n, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *fakePeer) addr() string { return p.ln.Addr().String() }

// readFrame reads one request frame and returns its payload.
func readFrame(c net.Conn) ([]byte, error) {
	var header [frameHeaderBytes]byte
	if _, err := io.ReadFull(c, header[:]); err != nil {
		return nil, err
	}
	payload := make([]byte, binary.BigEndian.Uint32(header[:]))
	_, err := io.ReadFull(c, payload)
	return payload, err
}

// frame is a reply frame with status and body.
func frame(status byte, body ...byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
	return append(append(out, status), body...)
}

// helloV1 is the conformance kit's HELLO reply of a version-1 server
// (faults.json, version_1_server): version 1 and the default limits.
var helloV1 = frame(statusOK, 0x01, 0x00, 0x00, 0x10, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00)

// helloOK is a HELLO reply negotiating version 2, reporting maxFrameBytes
// and default key and value limits.
func helloOK(maxFrameBytes uint32) []byte {
	body := []byte{ProtocolVersion, 0}
	body = binary.BigEndian.AppendUint32(body, maxFrameBytes)
	body = binary.BigEndian.AppendUint32(body, 1024)
	body = binary.BigEndian.AppendUint32(body, 1<<20)
	return frame(statusOK, body...)
}

// answerHello reads the client's HELLO and answers it.
func answerHello(c net.Conn, maxFrameBytes uint32) error {
	payload, err := readFrame(c)
	if err != nil {
		return err
	}
	if len(payload) != 2 || payload[0] != opHello {
		return errors.New("fake peer: first request is not HELLO")
	}
	_, err = c.Write(helloOK(maxFrameBytes))
	return err
}

// serveOK answers every request with an empty OK until the client leaves,
// then reports that the client closed.
func (p *fakePeer) serveOK(c net.Conn) {
	for {
		if _, err := readFrame(c); err != nil {
			p.clientClosed <- struct{}{}
			return
		}
		if _, err := c.Write(frame(statusOK)); err != nil {
			return
		}
	}
}

// awaitClientClose reads and discards until the client closes c, and
// reports it.
func (p *fakePeer) awaitClientClose(c net.Conn) {
	io.Copy(io.Discard, c)
	p.clientClosed <- struct{}{}
}

// waitClientClosed fails the test unless the client closes a connection
// within timeout.
func (p *fakePeer) waitClientClosed(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.clientClosed:
	case <-time.After(timeout):
		t.Fatalf("the client did not close its connection within %v", timeout)
	}
}

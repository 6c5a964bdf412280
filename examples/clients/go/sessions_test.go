// The vectors' sessions (protocol/vectors/v1.json) replayed through the
// public API on a fresh server each, by the kit's rules
// (examples/clients/conformance/README.md).

package blink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

// sessionStepsReplayed is how many session steps the API can express; a
// change to the vectors that shrinks it fails the test.
const sessionStepsReplayed = 36

// decodeFrames splits a step's bytes into requests (SPEC §5). It returns
// false when a frame is one the API cannot express: incomplete, malformed,
// foreign, or with an unknown opcode.
func decodeFrames(b []byte) ([]request, bool) {
	var reqs []request
	for len(b) > 0 {
		if len(b) < frameHeaderBytes || b[0] >= firstInvalidByte {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(b))
		if n == 0 || len(b) < frameHeaderBytes+n {
			return nil, false
		}
		p := b[frameHeaderBytes : frameHeaderBytes+n]
		b = b[frameHeaderBytes+n:]
		r := request{op: p[0]}
		fields := p[1:]
		if r.hasTTL() {
			if len(fields) < 8 {
				return nil, false
			}
			r.ttlMs, fields = binary.BigEndian.Uint64(fields), fields[8:]
		}
		if r.hasKey() {
			if len(fields) < 2 || len(fields) < 2+int(binary.BigEndian.Uint16(fields)) {
				return nil, false
			}
			keyLen := int(binary.BigEndian.Uint16(fields))
			r.key, fields = fields[2:2+keyLen], fields[2+keyLen:]
		}
		switch r.op {
		case opHello:
			if len(fields) != 1 {
				return nil, false
			}
			r.version = fields[0]
		case opAuth, opSet:
			r.value = fields
		case opPing, opStats, opGet, opDel, opExpire, opTTL:
			if len(fields) != 0 {
				return nil, false
			}
		default:
			return nil, false
		}
		reqs = append(reqs, r)
	}
	return reqs, true
}

// outcome is what one API call returned.
type outcome struct {
	err   error
	found bool
	value []byte
	ttl   KeyTTL
	hello HelloReply
	stats map[string]uint64
}

// call makes the API call for r on conn.
func call(t *testing.T, conn *Conn, r request) outcome {
	ctx := testContext(t, 10*time.Second)
	var o outcome
	switch r.op {
	case opPing:
		o.err = conn.Ping(ctx)
	case opHello:
		o.hello, o.err = conn.Hello(ctx, r.version)
	case opAuth:
		o.err = conn.Auth(ctx, r.value)
	case opGet:
		o.value, o.found, o.err = conn.Get(ctx, r.key)
	case opSet:
		o.err = conn.SetMs(ctx, r.key, r.value, r.ttlMs)
	case opDel:
		o.found, o.err = conn.Del(ctx, r.key)
	case opExpire:
		o.found, o.err = conn.ExpireMs(ctx, r.key, r.ttlMs)
	case opTTL:
		o.ttl, o.found, o.err = conn.TTL(ctx, r.key)
	case opStats:
		o.stats, o.err = conn.Stats(ctx)
	}
	return o
}

// queueCall queues r on p; the returned function reads its outcome after Exec.
func queueCall(t *testing.T, p *Pipeline, r request) func() outcome {
	switch r.op {
	case opPing:
		cmd := p.Ping()
		return func() outcome { return outcome{err: cmd.Err()} }
	case opGet:
		cmd := p.Get(r.key)
		return func() (o outcome) { o.value, o.found, o.err = cmd.Result(); return }
	case opSet:
		cmd := p.SetMs(r.key, r.value, r.ttlMs)
		return func() outcome { return outcome{err: cmd.Err()} }
	case opDel:
		cmd := p.Del(r.key)
		return func() (o outcome) { o.found, o.err = cmd.Result(); return }
	case opExpire:
		cmd := p.ExpireMs(r.key, r.ttlMs)
		return func() (o outcome) { o.found, o.err = cmd.Result(); return }
	case opTTL:
		cmd := p.TTL(r.key)
		return func() (o outcome) { o.ttl, o.found, o.err = cmd.Result(); return }
	case opStats:
		cmd := p.Stats()
		return func() (o outcome) { o.stats, o.err = cmd.Result(); return }
	}
	t.Fatalf("opcode 0x%02x cannot be pipelined", r.op)
	return nil
}

// statusByName is the Err* value of each error status name.
func statusByName(name string) error {
	for _, class := range errorStatuses {
		if class.name == name {
			return class.err
		}
	}
	return nil
}

// checkOutcome compares o, the outcome of r, with the expected reply.
func checkOutcome(r request, limits vectorLimit, o outcome, status string, body *byteString, bodyLen *int) error {
	switch status {
	case "NOT_FOUND":
		if o.err != nil || o.found {
			return fmt.Errorf("got found=%v err=%v, want absent", o.found, o.err)
		}
		return nil
	case "OK":
	default:
		want := statusByName(status)
		if want == nil || !errors.Is(o.err, want) {
			return fmt.Errorf("got %v, want %s", o.err, status)
		}
		overLimit := (r.hasKey() && len(r.key) > int(limits.MaxKeyBytes)) || (r.op == opSet && len(r.value) > int(limits.MaxValueBytes))
		var limitErr *LimitError
		if overLimit != errors.As(o.err, &limitErr) {
			return fmt.Errorf("got %v: a frame over the limits must be refused locally, and only such a frame", o.err)
		}
		return nil
	}
	if o.err != nil {
		return fmt.Errorf("got %v, want OK", o.err)
	}
	switch r.op {
	case opGet:
		if !o.found || !bytes.Equal(o.value, *body) {
			return fmt.Errorf("got %x found=%v, want %x", o.value, o.found, []byte(*body))
		}
	case opHello:
		want := newHelloCmd(ProtocolVersion)
		if err := want.setReply(statusOK, *body); err != nil {
			return err
		}
		if o.hello != want.hello {
			return fmt.Errorf("got %+v, want %+v", o.hello, want.hello)
		}
	case opTTL:
		hasTTL := bodyLen != nil && *bodyLen == ttlBodyBytes
		if !o.found || o.ttl.HasTTL != hasTTL {
			return fmt.Errorf("got %+v found=%v, want a TTL: %v", o.ttl, o.found, hasTTL)
		}
	case opDel, opExpire:
		if !o.found {
			return errors.New("got absent, want OK")
		}
	case opStats:
		if len(o.stats) == 0 {
			return errors.New("empty STATS")
		}
	}
	return nil
}

// limitArgs are the server flags for a vectors limit set.
func limitArgs(l vectorLimit) []string {
	return []string{
		"--max-frame-bytes", fmt.Sprint(l.MaxFrameBytes),
		"--max-key-bytes", fmt.Sprint(l.MaxKeyBytes),
		"--max-value-bytes", fmt.Sprint(l.MaxValueBytes),
	}
}

func TestVectorSessionsThroughTheAPI(t *testing.T) {
	v := loadVectors(t)
	replayed := 0
	for _, session := range v.Sessions {
		if session.Server.CapBytes != nil {
			continue // a memory cap below the server's minimum: the server's own tests cover it
		}
		t.Run(session.Name, func(t *testing.T) {
			limits := v.Limits[session.Server.Limits]
			cfg := blinkproc.Config{Args: limitArgs(limits)}
			if session.Server.Token != nil {
				cfg.Token = string(*session.Server.Token)
			}
			s := startServer(t, cfg)
			c := tcpClient(t, s, Options{})
			conn, err := c.Conn(testContext(t, 10*time.Second))
			mustOK(t, err)
			defer conn.Close()
			for i, step := range session.Steps {
				reqs, ok := decodeFrames(step.Send)
				if !ok {
					continue // not expressible through the API: the server's tests send it
				}
				if len(reqs) != len(step.Replies) {
					t.Fatalf("step %d: %d frames, %d replies", i, len(reqs), len(step.Replies))
				}
				replayed++
				outcomes := make([]outcome, len(reqs))
				if len(reqs) == 1 {
					outcomes[0] = call(t, conn, reqs[0])
				} else {
					p := conn.Pipeline()
					results := make([]func() outcome, len(reqs))
					for j, r := range reqs {
						results[j] = queueCall(t, p, r)
					}
					p.Exec(testContext(t, 10*time.Second))
					for j := range results {
						outcomes[j] = results[j]()
					}
				}
				for j, want := range step.Replies {
					if err := checkOutcome(reqs[j], limits, outcomes[j], want.Status, want.Body, want.BodyLen); err != nil {
						t.Fatalf("step %d, frame %d (opcode 0x%02x): %v", i, j, reqs[j].op, err)
					}
				}
				if step.Then == "closed" {
					if err := conn.Ping(testContext(t, 10*time.Second)); !errors.Is(err, ErrConnClosed) {
						t.Fatalf("step %d: the connection should be dropped, PING gave %v", i, err)
					}
				}
			}
		})
	}
	if replayed != sessionStepsReplayed {
		t.Fatalf("replayed %d session steps, want %d", replayed, sessionStepsReplayed)
	}
}

// The vectors' sessions (protocol/vectors/v1.json and v2.json) replayed
// through the public API on a fresh server each, by the kit's rules
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

// sessionStepsReplayed is how many session steps of each file the API can
// express; a change to the vectors that shrinks it fails the test.
var sessionStepsReplayed = map[string]int{"v1.json": 36, "v2.json": 78}

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
		switch {
		case r.op == opScan:
			if len(fields) < wordBytes+2 {
				return nil, false
			}
			r.cursor, r.count = binary.BigEndian.Uint64(fields), binary.BigEndian.Uint16(fields[wordBytes:])
			fields = fields[wordBytes+2:]
		case r.op == opIncr:
			if len(fields) < wordBytes {
				return nil, false
			}
			r.delta, fields = int64(binary.BigEndian.Uint64(fields)), fields[wordBytes:]
		case r.hasTTL():
			if len(fields) < wordBytes {
				return nil, false
			}
			r.ttlMs, fields = binary.BigEndian.Uint64(fields), fields[wordBytes:]
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
		case opAuth, opSet, opAdd, opReplace, opAppend, opScan:
			r.value = fields
		case opPing, opStats, opGet, opDel, opExpire, opTTL, opIncr, opFlush:
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
	err     error
	found   bool // GET, DEL, EXPIRE, TTL; ADD and REPLACE: stored
	value   []byte
	ttl     KeyTTL
	hello   HelloReply
	stats   map[string]uint64
	integer int64    // INCR
	length  uint64   // APPEND
	keys    [][]byte // SCAN
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
	case opAdd:
		o.found, o.err = conn.AddMs(ctx, r.key, r.value, r.ttlMs)
	case opReplace:
		o.found, o.err = conn.ReplaceMs(ctx, r.key, r.value, r.ttlMs)
	case opIncr:
		o.integer, o.err = conn.Incr(ctx, r.key, r.delta)
	case opAppend:
		o.length, o.err = conn.Append(ctx, r.key, r.value)
	case opFlush:
		o.err = conn.Flush(ctx)
	case opScan:
		o.keys, _, o.err = conn.Scan(ctx, r.cursor, int(r.count), r.value)
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
	case opHello:
		cmd := p.Hello(r.version)
		return func() (o outcome) { o.hello, o.err = cmd.Result(); return }
	case opAdd:
		cmd := p.AddMs(r.key, r.value, r.ttlMs)
		return func() (o outcome) { o.found, o.err = cmd.Result(); return }
	case opReplace:
		cmd := p.ReplaceMs(r.key, r.value, r.ttlMs)
		return func() (o outcome) { o.found, o.err = cmd.Result(); return }
	case opIncr:
		cmd := p.Incr(r.key, r.delta)
		return func() (o outcome) { o.integer, o.err = cmd.Result(); return }
	case opAppend:
		cmd := p.Append(r.key, r.value)
		return func() (o outcome) { o.length, o.err = cmd.Result(); return }
	case opFlush:
		cmd := p.Flush()
		return func() outcome { return outcome{err: cmd.Err()} }
	case opScan:
		cmd := p.Scan(r.cursor, int(r.count), r.value)
		return func() (o outcome) { o.keys, _, o.err = cmd.Result(); return }
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
	case "NOT_FOUND", "EXISTS":
		if status == "EXISTS" && r.op != opAdd {
			return fmt.Errorf("EXISTS answers ADD only, not opcode 0x%02x", r.op)
		}
		if o.err != nil || o.found {
			return fmt.Errorf("got found=%v err=%v, want absent (%s)", o.found, o.err, status)
		}
		return nil
	case "OK":
	default:
		want := statusByName(status)
		if want == nil || !errors.Is(o.err, want) {
			return fmt.Errorf("got %v, want %s", o.err, status)
		}
		overLimit := (r.hasKey() && len(r.key) > int(limits.MaxKeyBytes)) || (r.hasValue() && len(r.value) > int(limits.MaxValueBytes))
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
	case opDel, opExpire, opAdd, opReplace:
		if !o.found {
			return errors.New("got absent, want OK")
		}
	case opStats:
		if len(o.stats) == 0 {
			return errors.New("empty STATS")
		}
	case opIncr:
		if want := int64(binary.BigEndian.Uint64(*body)); o.integer != want {
			return fmt.Errorf("got %d, want %d", o.integer, want)
		}
	case opAppend:
		if want := binary.BigEndian.Uint64(*body); o.length != want {
			return fmt.Errorf("got length %d, want %d", o.length, want)
		}
	case opScan:
		// A page depends on the server's index: any result of the right
		// shape (TestScanWalks checks whole walks).
		if o.keys == nil {
			return errors.New("SCAN returned no key list")
		}
		for _, key := range o.keys {
			if !bytes.HasPrefix(key, r.value) {
				return fmt.Errorf("SCAN returned %q, outside prefix %q", key, r.value)
			}
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
	forEachVectorFile(t, func(t *testing.T, file string, v *vectorFile) {
		replayed := 0
		for _, session := range v.Sessions {
			if session.Server.CapBytes != nil {
				continue // a memory cap below the server's minimum: the server's own tests cover it
			}
			t.Run(session.Name, func(t *testing.T) { replayed += replaySession(t, v, session) })
		}
		if replayed != sessionStepsReplayed[file] {
			t.Fatalf("replayed %d session steps of %s, want %d", replayed, file, sessionStepsReplayed[file])
		}
	})
}

// replaySession replays one session on a fresh server and returns how many
// steps it replayed.
func replaySession(t *testing.T, v *vectorFile, session vectorSession) (replayed int) {
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
			if reqs[j].op == opHello && outcomes[j].err == nil && conn.ProtocolVersion() != outcomes[j].hello.Version {
				t.Fatalf("step %d: the connection speaks version %d after HELLO negotiated %d", i, conn.ProtocolVersion(), outcomes[j].hello.Version)
			}
		}
		if step.Then == "closed" {
			if err := conn.Ping(testContext(t, 10*time.Second)); !errors.Is(err, ErrConnClosed) {
				t.Fatalf("step %d: the connection should be dropped, PING gave %v", i, err)
			}
		}
	}
	return replayed
}

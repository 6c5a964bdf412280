// The wire module against the spec's vectors, v1.json and v2.json: every
// decode_reply case through the incremental reply decoder (whole and byte by
// byte), every request of decode_request and decode_stream re-encoded, every
// encode_reply case (INCR, APPEND and SCAN bodies included) decoded into its
// command's result.

package blink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestWireDecodeReplyVectors(t *testing.T) {
	forEachVectorFile(t, testDecodeReplyVectors)
}

func testDecodeReplyVectors(t *testing.T, _ string, v *vectorFile) {
	if len(v.DecodeReply) == 0 {
		t.Fatal("no decode_reply cases")
	}
	for _, c := range v.DecodeReply {
		for _, feed := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"byte_by_byte", iotest.OneByteReader},
		} {
			t.Run(c.Name+"/"+feed.name, func(t *testing.T) {
				src := &countingReader{r: feed.wrap(bytes.NewReader(c.Bytes))}
				r := bufio.NewReaderSize(src, 16)
				rep, err := readReply(r, c.MaxFrameBytes)
				switch c.Expect.Outcome {
				case "reply":
					if err != nil {
						t.Fatalf("readReply: %v", err)
					}
					if rep.status != c.Expect.StatusCode || !bytes.Equal(rep.body, c.Expect.Body) {
						t.Fatalf("got status 0x%02x body %x, want 0x%02x %x", rep.status, rep.body, c.Expect.StatusCode, []byte(c.Expect.Body))
					}
					if consumed := src.n - r.Buffered(); consumed != c.Expect.FrameLen {
						t.Fatalf("consumed %d bytes, want frame_len %d", consumed, c.Expect.FrameLen)
					}
				case "need_more":
					if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("got %v, %v; want a need-more end of stream", rep, err)
					}
				case "invalid":
					if !errors.Is(err, ErrProtocol) {
						t.Fatalf("got %v, %v; want ErrProtocol", rep, err)
					}
				default:
					t.Fatalf("unknown outcome %q", c.Expect.Outcome)
				}
			})
		}
	}
}

var opcodes = map[string]byte{
	"PING": opPing, "HELLO": opHello, "AUTH": opAuth, "GET": opGet, "SET": opSet,
	"DEL": opDel, "EXPIRE": opExpire, "TTL": opTTL, "STATS": opStats,
	"ADD": opAdd, "REPLACE": opReplace, "INCR": opIncr, "APPEND": opAppend, "FLUSH": opFlush, "SCAN": opScan,
}

// requestOf is the request a vector describes.
func requestOf(t *testing.T, want *vectorRequest) request {
	t.Helper()
	op, ok := opcodes[want.Command]
	if !ok {
		t.Fatalf("unknown command %q", want.Command)
	}
	req := request{op: op, version: want.Version, key: want.Key, value: want.Value}
	parse := func(s string, parse func(string) error) {
		if s != "" {
			if err := parse(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	parse(want.TTLMs, func(s string) (err error) { req.ttlMs, err = strconv.ParseUint(s, 10, 64); return })
	parse(want.Delta, func(s string) (err error) { req.delta, err = strconv.ParseInt(s, 10, 64); return })
	parse(want.Cursor, func(s string) (err error) { req.cursor, err = strconv.ParseUint(s, 10, 64); return })
	switch op {
	case opAuth:
		req.value = want.Token
	case opAppend:
		req.value = want.Suffix
	case opScan:
		req.value, req.count = want.Prefix, uint16(want.Count)
	}
	return req
}

func TestWireEncodeRequestVectors(t *testing.T) {
	covered := map[byte]bool{}
	forEachVectorFile(t, func(t *testing.T, _ string, v *vectorFile) {
		type encodeCase struct {
			name  string
			want  *vectorRequest
			frame []byte
		}
		var cases []encodeCase
		for _, c := range v.DecodeRequest {
			if c.Expect.Outcome == "request" {
				cases = append(cases, encodeCase{c.Name, c.Expect.Request, c.Bytes[:c.Expect.FrameLen]})
			}
		}
		for _, c := range v.DecodeStream {
			at := 0
			for i, o := range c.Expect {
				if o.Outcome == "request" {
					cases = append(cases, encodeCase{fmt.Sprintf("%s/frame_%d", c.Name, i), o.Request, c.Bytes[at : at+o.FrameLen]})
				}
				at += o.FrameLen
			}
		}
		if len(cases) < 10 {
			t.Fatalf("only %d request cases", len(cases))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := requestOf(t, c.want)
				covered[req.op] = true
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				if err := writeRequest(w, &req); err != nil {
					t.Fatal(err)
				}
				w.Flush()
				if !bytes.Equal(out.Bytes(), c.frame) {
					t.Fatalf("encoded %x\nwant    %x", out.Bytes(), c.frame)
				}
				if req.payloadBytes() != len(c.frame)-frameHeaderBytes {
					t.Fatalf("payloadBytes %d, want %d", req.payloadBytes(), len(c.frame)-frameHeaderBytes)
				}
			})
		}
	})
	for name, op := range opcodes {
		if !covered[op] {
			t.Errorf("no request vector re-encodes %s", name)
		}
	}
}

func TestWireReplyVectorsDecodeIntoResults(t *testing.T) {
	forEachVectorFile(t, testReplyVectorsDecodeIntoResults)
}

func testReplyVectorsDecodeIntoResults(t *testing.T, _ string, v *vectorFile) {
	for _, c := range v.EncodeReply {
		t.Run(c.Name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(c.Bytes))
			rep, err := readReply(r, maxFrameCeiling)
			if err != nil {
				t.Fatal(err)
			}
			if r.Buffered() != 0 {
				t.Fatalf("%d bytes left after the frame", r.Buffered())
			}
			want := c.Reply
			switch want.Kind {
			case "status":
				if got := map[byte]string{statusOK: "OK", statusNotFound: "NOT_FOUND", statusExists: "EXISTS"}[rep.status]; got != want.Status || !bytes.Equal(rep.body, want.Body) {
					t.Fatalf("got status 0x%02x body %x, want %s %x", rep.status, rep.body, want.Status, []byte(want.Body))
				}
			case "error":
				if name := classOf(rep.status).name; name != want.Status {
					t.Fatalf("status 0x%02x is %s, want %s", rep.status, name, want.Status)
				}
			case "hello":
				cmd := newHelloCmd(ProtocolVersion)
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				l := v.Limits[want.Limits]
				version := byte(1)
				if want.Version != nil {
					version = *want.Version
				}
				wantHello := HelloReply{Version: version, AuthRequired: want.AuthRequired,
					Limits: Limits{MaxFrameBytes: l.MaxFrameBytes, MaxKeyBytes: l.MaxKeyBytes, MaxValueBytes: l.MaxValueBytes}}
				if cmd.hello != wantHello {
					t.Fatalf("got %+v, want %+v", cmd.hello, wantHello)
				}
			case "ttl":
				cmd := newTTLCmd(nil)
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				wantTTL := KeyTTL{}
				if want.RemainingMs != nil {
					ms, err := strconv.ParseUint(*want.RemainingMs, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					wantTTL = KeyTTL{HasTTL: true, RemainingMs: ms}
				}
				if !cmd.found || cmd.ttl != wantTTL {
					t.Fatalf("got %+v found=%v, want %+v", cmd.ttl, cmd.found, wantTTL)
				}
			case "stats":
				cmd := newStatsCmd()
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				if len(cmd.stats) != len(want.Stats) {
					t.Fatalf("got %v, want %v", cmd.stats, want.Stats)
				}
				for _, kv := range want.Stats {
					if strconv.FormatUint(cmd.stats[kv[0]], 10) != kv[1] {
						t.Fatalf("%s = %d, want %s", kv[0], cmd.stats[kv[0]], kv[1])
					}
				}
			case "integer":
				cmd := newIncrCmd(nil, 1)
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				if strconv.FormatInt(cmd.value, 10) != want.Value {
					t.Fatalf("got %d, want %s", cmd.value, want.Value)
				}
			case "length":
				cmd := newAppendCmd(nil, nil)
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				if strconv.FormatUint(cmd.length, 10) != want.Length {
					t.Fatalf("got %d, want %s", cmd.length, want.Length)
				}
			case "scan":
				cmd := newScanCmd(0, 1, nil)
				if err := cmd.setReply(rep.status, rep.body); err != nil {
					t.Fatal(err)
				}
				if strconv.FormatUint(cmd.cursor, 10) != want.NextCursor || len(cmd.keys) != len(want.Keys) {
					t.Fatalf("got cursor %d keys %q, want %s %q", cmd.cursor, cmd.keys, want.NextCursor, want.Keys)
				}
				for i, key := range want.Keys {
					if !bytes.Equal(cmd.keys[i], key) {
						t.Fatalf("key %d: got %q, want %q", i, cmd.keys[i], []byte(key))
					}
				}
			default:
				t.Fatalf("unknown reply kind %q", want.Kind)
			}
		})
	}
}

func TestWireReplyOverLimitIsRefusedWithoutReadingTheBody(t *testing.T) {
	// Only the header arrives; a decoder that waited for the body would
	// report the end of stream instead.
	r := bufio.NewReader(bytes.NewReader([]byte{0x00, 0x00, 0x10, 0x01}))
	if _, err := readReply(r, preAuthFrameBytes); !errors.Is(err, ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol", err)
	}
}

// TestWireScanReplyOfDecodeReplyIsAPage parses the body of decode_reply's
// SCAN case with the SCAN body reader.
func TestWireScanReplyOfDecodeReplyIsAPage(t *testing.T) {
	v := loadVectors(t, "v2.json")
	for _, c := range v.DecodeReply {
		if c.Name != "scan_reply" {
			continue
		}
		keys, cursor, err := parseScan(c.Expect.Body)
		if err != nil || cursor != 7 || len(keys) != 1 || string(keys[0]) != "k1" {
			t.Fatalf("got %q, %d, %v", keys, cursor, err)
		}
		return
	}
	t.Fatal("no scan_reply case in v2.json")
}

func TestWireIncrDeltaIsTwosComplement(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	req := request{op: opIncr, key: []byte("n"), delta: -1}
	if err := writeRequest(w, &req); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := []byte{0, 0, 0, 12, opIncr, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 'n'}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("encoded %x, want %x", out.Bytes(), want)
	}
}

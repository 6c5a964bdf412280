// The wire module against the spec's vectors: every decode_reply case
// through the incremental reply decoder (whole and byte by byte), every
// valid decode_request case re-encoded, every encode_reply case decoded into
// its command's result.

package blink

import (
	"bufio"
	"bytes"
	"errors"
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
	v := loadVectors(t)
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
}

func TestWireEncodeRequestVectors(t *testing.T) {
	v := loadVectors(t)
	encoded := 0
	for _, c := range v.DecodeRequest {
		if c.Expect.Outcome != "request" {
			continue
		}
		encoded++
		t.Run(c.Name, func(t *testing.T) {
			want := c.Expect.Request
			req := request{op: opcodes[want.Command], version: want.Version, key: want.Key, value: want.Value}
			if req.op == opAuth {
				req.value = want.Token
			}
			if want.TTLMs != "" {
				ttlMs, err := strconv.ParseUint(want.TTLMs, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				req.ttlMs = ttlMs
			}
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			if err := writeRequest(w, &req); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if !bytes.Equal(out.Bytes(), c.Bytes[:c.Expect.FrameLen]) {
				t.Fatalf("encoded %x\nwant    %x", out.Bytes(), []byte(c.Bytes[:c.Expect.FrameLen]))
			}
			if req.payloadBytes() != c.Expect.FrameLen-frameHeaderBytes {
				t.Fatalf("payloadBytes %d, want %d", req.payloadBytes(), c.Expect.FrameLen-frameHeaderBytes)
			}
		})
	}
	if encoded < 20 {
		t.Fatalf("only %d decode_request cases re-encoded", encoded)
	}
}

func TestWireReplyVectorsDecodeIntoResults(t *testing.T) {
	v := loadVectors(t)
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
				if got := map[byte]string{statusOK: "OK", statusNotFound: "NOT_FOUND"}[rep.status]; got != want.Status || !bytes.Equal(rep.body, want.Body) {
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
				wantHello := HelloReply{Version: ProtocolVersion, AuthRequired: want.AuthRequired,
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

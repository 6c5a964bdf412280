// Loading the spec's test vectors, protocol/vectors/v1.json and v2.json
// (what version 2 adds), for the wire tests and the session replay.

package blink

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsDir holds the vectors, relative to this package's directory (go
// test's working directory).
var vectorsDir = filepath.Join("..", "..", "..", "protocol", "vectors")

// vectorFiles are the vector files a version-2 client passes, every case of
// each.
var vectorFiles = []string{"v1.json", "v2.json"}

type vectorFile struct {
	ProtocolVersion int                    `json:"protocol_version"`
	Limits          map[string]vectorLimit `json:"limits"`
	DecodeRequest   []struct {
		Name   string        `json:"name"`
		Bytes  byteString    `json:"bytes"`
		Expect vectorOutcome `json:"expect"`
	} `json:"decode_request"`
	DecodeStream []struct {
		Name   string          `json:"name"`
		Bytes  byteString      `json:"bytes"`
		Expect []vectorOutcome `json:"expect"`
	} `json:"decode_stream"`
	EncodeReply []struct {
		Name  string `json:"name"`
		Reply struct {
			Kind         string       `json:"kind"`
			Status       string       `json:"status"`
			Body         byteString   `json:"body"`
			Limits       string       `json:"limits"`
			AuthRequired bool         `json:"auth_required"`
			Version      *byte        `json:"version"`
			RemainingMs  *string      `json:"remaining_ms"`
			Stats        [][2]string  `json:"stats"`
			Value        string       `json:"value"`
			Length       string       `json:"length"`
			NextCursor   string       `json:"next_cursor"`
			Keys         []byteString `json:"keys"`
		} `json:"reply"`
		Bytes byteString `json:"bytes"`
	} `json:"encode_reply"`
	DecodeReply []struct {
		Name          string     `json:"name"`
		MaxFrameBytes uint32     `json:"max_frame_bytes"`
		Bytes         byteString `json:"bytes"`
		Expect        struct {
			Outcome    string     `json:"outcome"`
			StatusCode byte       `json:"status_code"`
			Body       byteString `json:"body"`
			FrameLen   int        `json:"frame_len"`
		} `json:"expect"`
	} `json:"decode_reply"`
	Sessions []vectorSession `json:"sessions"`
}

type vectorLimit struct {
	MaxFrameBytes uint32 `json:"max_frame_bytes"`
	MaxKeyBytes   uint32 `json:"max_key_bytes"`
	MaxValueBytes uint32 `json:"max_value_bytes"`
}

// vectorOutcome is a decoder outcome of decode_request or decode_stream.
type vectorOutcome struct {
	Outcome  string         `json:"outcome"`
	FrameLen int            `json:"frame_len"`
	Request  *vectorRequest `json:"request"`
}

type vectorRequest struct {
	Command string     `json:"command"`
	Version byte       `json:"version"`
	Token   byteString `json:"token"`
	Key     byteString `json:"key"`
	Value   byteString `json:"value"`
	TTLMs   string     `json:"ttl_ms"`
	Delta   string     `json:"delta"`
	Suffix  byteString `json:"suffix"`
	Cursor  string     `json:"cursor"`
	Count   int        `json:"count"`
	Prefix  byteString `json:"prefix"`
}

type vectorSession struct {
	Name   string `json:"name"`
	Server struct {
		Token    *byteString `json:"token"`
		Limits   string      `json:"limits"`
		CapBytes *int        `json:"cap_bytes"`
	} `json:"server"`
	Steps []struct {
		Send    byteString `json:"send"`
		Replies []struct {
			Status  string      `json:"status"`
			Body    *byteString `json:"body"`
			BodyLen *int        `json:"body_len"`
		} `json:"replies"`
		Then string `json:"then"`
	} `json:"steps"`
}

// byteString is a vectors byte string: hex with optional spaces, or an
// array of hex parts and {"repeat": hex, "count": n} parts.
type byteString []byte

func (b *byteString) UnmarshalJSON(data []byte) error {
	var parts []json.RawMessage
	if data[0] != '[' {
		parts = []json.RawMessage{data}
	} else if err := json.Unmarshal(data, &parts); err != nil {
		return err
	}
	var out bytes.Buffer
	for _, part := range parts {
		var s string
		var rep struct {
			Repeat string `json:"repeat"`
			Count  int    `json:"count"`
		}
		switch {
		case json.Unmarshal(part, &s) == nil:
			h, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
			if err != nil {
				return err
			}
			out.Write(h)
		case json.Unmarshal(part, &rep) == nil && rep.Count > 0:
			h, err := hex.DecodeString(rep.Repeat)
			if err != nil {
				return err
			}
			out.Write(bytes.Repeat(h, rep.Count))
		default:
			return fmt.Errorf("vectors: unknown byte string part %s", part)
		}
	}
	*b = out.Bytes()
	if *b == nil {
		*b = []byte{}
	}
	return nil
}

// loadVectors reads one of vectorFiles.
func loadVectors(t *testing.T, file string) *vectorFile {
	t.Helper()
	path := filepath.Join(vectorsDir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the protocol vectors: %v", err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if v.ProtocolVersion < minProtocolVersion || v.ProtocolVersion > ProtocolVersion {
		t.Fatalf("%s is for protocol version %d, this client speaks %d to %d", path, v.ProtocolVersion, minProtocolVersion, ProtocolVersion)
	}
	return &v
}

// forEachVectorFile runs f as a subtest per vector file.
func forEachVectorFile(t *testing.T, f func(t *testing.T, file string, v *vectorFile)) {
	for _, file := range vectorFiles {
		t.Run(file, func(t *testing.T) { f(t, file, loadVectors(t, file)) })
	}
}

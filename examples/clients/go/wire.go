// The wire format of protocol versions 1 and 2 (protocol/SPEC.md): request
// encoding (§5) and incremental reply-frame decoding (§3, §6.1). Everything
// else in the package is API, pool and errors.

package blink

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// ProtocolVersion is the highest protocol version this client speaks, the
// one it sends in HELLO (SPEC §10). It also speaks version 1: with a
// version-1 server, the version-2 commands are refused without sending.
const ProtocolVersion = 2

// minProtocolVersion is the lowest version a HELLO reply may negotiate; any
// other than 1 and 2 closes the connection (SPEC §10).
const minProtocolVersion = 1

// Request opcodes (SPEC §5).
const (
	opPing   byte = 0x01
	opHello  byte = 0x02
	opAuth   byte = 0x03
	opGet    byte = 0x10
	opSet    byte = 0x11
	opDel    byte = 0x12
	opExpire byte = 0x13
	opTTL    byte = 0x14
	opStats  byte = 0x20

	// Version 2.
	opAdd     byte = 0x15
	opReplace byte = 0x16
	opIncr    byte = 0x17
	opAppend  byte = 0x18
	opFlush   byte = 0x21
	opScan    byte = 0x22
)

// Reply statuses (SPEC §6.2). Codes from 0x80 are errors.
const (
	statusOK                 byte = 0x00
	statusNotFound           byte = 0x01
	statusExists             byte = 0x02 // v2
	statusUnknownCommand     byte = 0x80
	statusMalformed          byte = 0x81
	statusFrameTooLarge      byte = 0x82
	statusKeyTooLarge        byte = 0x83
	statusValueTooLarge      byte = 0x84
	statusItemTooLarge       byte = 0x85
	statusAuthRequired       byte = 0x86
	statusAuthFailed         byte = 0x87
	statusUnsupportedVersion byte = 0x88
	statusTooManyConnections byte = 0x89
	statusTimeout            byte = 0x8A
	statusBusy               byte = 0x8B
	statusShuttingDown       byte = 0x8C
	statusNotInteger         byte = 0x8D // v2
)

// Sizes fixed by the protocol (SPEC §3, §4, §10, §11).
const (
	frameHeaderBytes   = 4
	maxFrameCeiling    = 0x1000_0000 // the largest max_frame_bytes any server may use
	maxKeyCeiling      = 0xFFFF      // key_len is a u16
	preAuthFrameBytes  = 4096        // the frame limit before AUTH succeeds
	helloBodyBytes     = 14
	firstInvalidByte   = 0x20 // a frame's first byte is always below this
	ttlBodyBytes       = 8
	wordBytes          = 8 // INCR's i64, APPEND's u64 length, SCAN's u64 cursor
	keyLenBytes        = 2
	helloFlagNeedsAuth = 0x01
)

// request is one request frame before encoding.
type request struct {
	op      byte
	version byte   // HELLO
	ttlMs   uint64 // SET, EXPIRE, ADD, REPLACE
	delta   int64  // INCR
	cursor  uint64 // SCAN
	count   uint16 // SCAN
	key     []byte // GET, SET, DEL, EXPIRE, TTL, ADD, REPLACE, INCR, APPEND
	// value is SET's, ADD's and REPLACE's value, APPEND's suffix, SCAN's
	// prefix or AUTH's token: the rest of the payload.
	value []byte
}

func (r *request) hasKey() bool {
	switch r.op {
	case opGet, opSet, opDel, opExpire, opTTL, opAdd, opReplace, opIncr, opAppend:
		return true
	}
	return false
}

func (r *request) hasTTL() bool {
	return r.op == opSet || r.op == opExpire || r.op == opAdd || r.op == opReplace
}

// hasValue: the value is checked against max_value_bytes (SPEC §7.1 step 10).
func (r *request) hasValue() bool {
	return r.op == opSet || r.op == opAdd || r.op == opReplace || r.op == opAppend
}

// opNames are the command names of SPEC §5, for messages.
var opNames = map[byte]string{
	opPing: "PING", opHello: "HELLO", opAuth: "AUTH", opGet: "GET", opSet: "SET", opDel: "DEL",
	opExpire: "EXPIRE", opTTL: "TTL", opStats: "STATS", opAdd: "ADD", opReplace: "REPLACE",
	opIncr: "INCR", opAppend: "APPEND", opFlush: "FLUSH", opScan: "SCAN",
}

// minVersion is the protocol version that defines r's command: a
// connection at a lower one would find it unknown (SPEC §10).
func (r *request) minVersion() byte {
	switch r.op {
	case opAdd, opReplace, opIncr, opAppend, opFlush, opScan:
		return 2
	}
	return 1
}

// payloadBytes is the frame's len field: everything after the 4-byte header.
func (r *request) payloadBytes() int {
	n := 1 + len(r.value)
	switch {
	case r.op == opHello:
		n++
	case r.op == opScan:
		n += wordBytes + 2
	case r.hasTTL(), r.op == opIncr:
		n += wordBytes
	}
	if r.hasKey() {
		n += keyLenBytes + len(r.key)
	}
	return n
}

// writeRequest encodes r as one frame into w. Large keys and values go to w
// without an intermediate copy. The caller checks the sizes first
// (conn.checkRequest): payloadBytes fits a u32 and the key a u16.
func writeRequest(w *bufio.Writer, r *request) error {
	var fixed [frameHeaderBytes + 1 + 8 + 2]byte
	b := binary.BigEndian.AppendUint32(fixed[:0], uint32(r.payloadBytes()))
	b = append(b, r.op)
	switch {
	case r.op == opHello:
		b = append(b, r.version)
	case r.op == opScan:
		b = binary.BigEndian.AppendUint64(b, r.cursor)
		b = binary.BigEndian.AppendUint16(b, r.count)
	case r.op == opIncr:
		b = binary.BigEndian.AppendUint64(b, uint64(r.delta)) // two's complement
	case r.hasTTL():
		b = binary.BigEndian.AppendUint64(b, r.ttlMs)
	}
	if r.hasKey() {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.key)))
	}
	w.Write(b)
	w.Write(r.key)
	_, err := w.Write(r.value) // bufio.Writer errors are sticky: this one reports all three
	return err
}

// reply is one decoded reply frame: a status and a body the reply owns.
type reply struct {
	status byte
	body   []byte
}

// readReply decodes the next reply frame from r, reading only as many bytes
// as the frame needs. A frame that cannot be valid (SPEC §13: zero length,
// first byte 0x20 or more, or longer than maxFrameBytes) is an ErrProtocol
// error decided from the header alone, before any body is read or allocated.
// A stream that ends between frames gives io.EOF; one that ends inside a
// frame gives io.ErrUnexpectedEOF.
func readReply(r *bufio.Reader, maxFrameBytes uint32) (reply, error) {
	first, err := r.Peek(1)
	if err != nil {
		return reply{}, err
	}
	if first[0] >= firstInvalidByte {
		return reply{}, fmt.Errorf("%w: reply starts with byte 0x%02x, not a Blink frame", ErrProtocol, first[0])
	}
	header, err := r.Peek(frameHeaderBytes)
	if err != nil {
		return reply{}, unexpectedEOF(err)
	}
	n := binary.BigEndian.Uint32(header)
	if n == 0 {
		return reply{}, fmt.Errorf("%w: zero-length reply frame", ErrProtocol)
	}
	if n > maxFrameBytes {
		return reply{}, fmt.Errorf("%w: reply frame of %d bytes exceeds the %d-byte frame limit", ErrProtocol, n, maxFrameBytes)
	}
	r.Discard(frameHeaderBytes)
	status, err := r.ReadByte()
	if err != nil {
		return reply{}, unexpectedEOF(err)
	}
	rep := reply{status: status}
	if n > 1 {
		rep.body = make([]byte, n-1)
		if _, err := io.ReadFull(r, rep.body); err != nil {
			return reply{}, unexpectedEOF(err)
		}
	}
	return rep, nil
}

// unexpectedEOF reports an end of stream inside a frame as such.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Commands: a request and, once its reply arrives, its typed result. The
// same command values serve single calls and pipelines.

package blink

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// command is a request waiting for, or holding, its reply.
type command interface {
	base() *baseCmd
	// setReply interprets an OK or NOT_FOUND reply; an error means the reply
	// does not fit the request, a protocol violation.
	setReply(status byte, body []byte) error
}

// baseCmd is the part every command shares.
type baseCmd struct {
	req request
	err error
	// unsent: the command was refused before sending (err says why) and has
	// no slot in the reply order. Set before a round trip starts, read by its
	// writer and reader.
	unsent bool
}

func (c *baseCmd) base() *baseCmd { return c }

// refuse marks the command as failed before sending, when err is not nil.
func (c *baseCmd) refuse(err error) {
	if err != nil {
		c.err, c.unsent = err, true
	}
}

// Err returns the command's error: nil once it succeeded (a missing key
// included).
func (c *baseCmd) Err() error { return c.err }

// unexpected is the protocol error for a reply that does not fit c.
func (c *baseCmd) unexpected(status byte, body []byte) error {
	return fmt.Errorf("%w: reply status 0x%02x with a %d-byte body to opcode 0x%02x", ErrProtocol, status, len(body), c.req.op)
}

// StatusCmd is a command whose reply is only success or failure: PING,
// AUTH, SET, FLUSH.
type StatusCmd struct{ baseCmd }

func (c *StatusCmd) setReply(status byte, body []byte) error {
	if status != statusOK || len(body) != 0 {
		return c.unexpected(status, body)
	}
	return nil
}

// BoolCmd is a command with two normal outcomes: DEL, EXPIRE and REPLACE
// (NOT_FOUND: false), ADD (EXISTS: false).
type BoolCmd struct {
	baseCmd
	// absent is the status that means false: NOT_FOUND, or EXISTS for ADD.
	absent byte
	ok     bool
}

func (c *BoolCmd) setReply(status byte, body []byte) error {
	if len(body) != 0 || (status != statusOK && status != c.absent) {
		return c.unexpected(status, body)
	}
	c.ok = status == statusOK
	return nil
}

// Result reports, for DEL, EXPIRE and REPLACE, whether the key existed (and
// was deleted, got its TTL, or got the new value); for ADD, whether the
// value was stored (false: the key exists).
func (c *BoolCmd) Result() (bool, error) { return c.ok, c.err }

// ValueCmd is a GET.
type ValueCmd struct {
	baseCmd
	value []byte
	found bool
}

func (c *ValueCmd) setReply(status byte, body []byte) error {
	if status != statusOK && status != statusNotFound {
		return c.unexpected(status, body)
	}
	if status == statusNotFound {
		if len(body) != 0 {
			return c.unexpected(status, body)
		}
		c.value, c.found = nil, false
		return nil
	}
	if body == nil {
		body = []byte{}
	}
	c.value, c.found = body, true
	return nil
}

// Result returns the value and true, or nil and false when the key is
// missing or expired. A found empty value is an empty, non-nil slice.
func (c *ValueCmd) Result() ([]byte, bool, error) { return c.value, c.found, c.err }

// KeyTTL is the time a key has left before it expires (SPEC §9).
type KeyTTL struct {
	// HasTTL is false for a key that never expires.
	HasTTL bool
	// RemainingMs is the time left in milliseconds when HasTTL; it may be
	// as large as 2^64-1 (a saturated deadline).
	RemainingMs uint64
}

// Duration returns the time left and true, or false when the key has no TTL
// or the time left does not fit a time.Duration (about 292 years).
func (t KeyTTL) Duration() (time.Duration, bool) {
	if !t.HasTTL || t.RemainingMs > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, false
	}
	return time.Duration(t.RemainingMs) * time.Millisecond, true
}

// TTLCmd is a TTL query.
type TTLCmd struct {
	baseCmd
	ttl   KeyTTL
	found bool
}

func (c *TTLCmd) setReply(status byte, body []byte) error {
	switch {
	case status == statusNotFound && len(body) == 0:
		c.ttl, c.found = KeyTTL{}, false
	case status == statusOK && len(body) == 0:
		c.ttl, c.found = KeyTTL{}, true
	case status == statusOK && len(body) == ttlBodyBytes:
		c.ttl, c.found = KeyTTL{HasTTL: true, RemainingMs: binary.BigEndian.Uint64(body)}, true
	default:
		return c.unexpected(status, body)
	}
	return nil
}

// Result returns the key's TTL and true, or false when the key is missing.
func (c *TTLCmd) Result() (KeyTTL, bool, error) { return c.ttl, c.found, c.err }

// StatsCmd is a STATS query.
type StatsCmd struct {
	baseCmd
	stats map[string]uint64
}

func (c *StatsCmd) setReply(status byte, body []byte) error {
	if status != statusOK {
		return c.unexpected(status, body)
	}
	stats, err := parseStats(body)
	c.stats = stats
	return err
}

// Result returns the server's counters by name (SPEC §12). The set of names
// grows over time: look up the ones you know.
func (c *StatsCmd) Result() (map[string]uint64, error) { return c.stats, c.err }

// parseStats parses the STATS text: "name value\n" lines (SPEC §12).
func parseStats(body []byte) (map[string]uint64, error) {
	stats := make(map[string]uint64, bytes.Count(body, []byte{'\n'}))
	for len(body) > 0 {
		end := bytes.IndexByte(body, '\n')
		if end < 0 {
			return nil, fmt.Errorf("%w: STATS line %q has no newline", ErrProtocol, body)
		}
		line := body[:end]
		body = body[end+1:]
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 {
			return nil, fmt.Errorf("%w: STATS line %q is not \"name value\"", ErrProtocol, line)
		}
		v, err := strconv.ParseUint(string(line[sp+1:]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: STATS line %q: %v", ErrProtocol, line, err)
		}
		stats[string(line[:sp])] = v
	}
	return stats, nil
}

// HelloReply is the server's answer to HELLO (SPEC §6.3, §10).
type HelloReply struct {
	Version      byte // the negotiated protocol version
	AuthRequired bool // the connection must still AUTH
	Limits
}

// Limits are the sizes the server accepts on a connection (SPEC §4).
type Limits struct {
	MaxFrameBytes uint32 // largest request payload (and reply)
	MaxKeyBytes   uint32
	MaxValueBytes uint32
}

// HelloCmd is a HELLO.
type HelloCmd struct {
	baseCmd
	hello HelloReply
}

func (c *HelloCmd) setReply(status byte, body []byte) error {
	if status != statusOK || len(body) != helloBodyBytes {
		return c.unexpected(status, body)
	}
	c.hello = HelloReply{
		Version:      body[0],
		AuthRequired: body[1]&helloFlagNeedsAuth != 0,
		Limits: Limits{
			MaxFrameBytes: binary.BigEndian.Uint32(body[2:6]),
			MaxKeyBytes:   binary.BigEndian.Uint32(body[6:10]),
			MaxValueBytes: binary.BigEndian.Uint32(body[10:14]),
		},
	}
	if l := c.hello.Limits; l.MaxFrameBytes < preAuthFrameBytes || l.MaxFrameBytes > maxFrameCeiling || l.MaxKeyBytes > maxKeyCeiling {
		return fmt.Errorf("%w: HELLO reported limits %+v outside the protocol's ranges", ErrProtocol, l)
	}
	if c.hello.Version < minProtocolVersion || c.hello.Version > ProtocolVersion {
		return fmt.Errorf("%w: server negotiated protocol version %d, this client speaks %d to %d", ErrProtocol, c.hello.Version, minProtocolVersion, ProtocolVersion)
	}
	return nil
}

// Result returns the negotiated version and the connection's limits.
func (c *HelloCmd) Result() (HelloReply, error) { return c.hello, c.err }

// IntCmd is an INCR: the counter's new value.
type IntCmd struct {
	baseCmd
	value int64
}

func (c *IntCmd) setReply(status byte, body []byte) error {
	if status != statusOK || len(body) != wordBytes {
		return c.unexpected(status, body)
	}
	c.value = int64(binary.BigEndian.Uint64(body)) // two's complement
	return nil
}

// Result returns the value after the increment.
func (c *IntCmd) Result() (int64, error) { return c.value, c.err }

// LengthCmd is an APPEND: the value's new length.
type LengthCmd struct {
	baseCmd
	length uint64
}

func (c *LengthCmd) setReply(status byte, body []byte) error {
	if status != statusOK || len(body) != wordBytes {
		return c.unexpected(status, body)
	}
	c.length = binary.BigEndian.Uint64(body)
	return nil
}

// Result returns the value's length in bytes after the append.
func (c *LengthCmd) Result() (uint64, error) { return c.length, c.err }

// ScanCmd is one SCAN step: some keys and the cursor to continue from.
type ScanCmd struct {
	baseCmd
	keys   [][]byte
	cursor uint64
}

func (c *ScanCmd) setReply(status byte, body []byte) error {
	if status != statusOK {
		return c.unexpected(status, body)
	}
	keys, cursor, err := parseScan(body)
	c.keys, c.cursor = keys, cursor
	return err
}

// Result returns the step's keys (in no order, possibly none before the walk
// ends) and the cursor to pass to the next step: 0 when the walk is complete.
func (c *ScanCmd) Result() (keys [][]byte, cursor uint64, err error) { return c.keys, c.cursor, c.err }

// parseScan parses a SCAN body (SPEC §6.3): next_cursor u64, then
// (key_len u16, key)* filling the body exactly. The keys share body's
// memory, each capped at its own length.
func parseScan(body []byte) ([][]byte, uint64, error) {
	if len(body) < wordBytes {
		return nil, 0, fmt.Errorf("%w: SCAN reply body of %d bytes, under %d", ErrProtocol, len(body), wordBytes)
	}
	cursor := binary.BigEndian.Uint64(body)
	keys := [][]byte{}
	for at := wordBytes; at < len(body); {
		if len(body)-at < keyLenBytes {
			return nil, 0, fmt.Errorf("%w: SCAN reply key length cut at byte %d", ErrProtocol, at)
		}
		n := int(binary.BigEndian.Uint16(body[at:]))
		at += keyLenBytes
		if len(body)-at < n {
			return nil, 0, fmt.Errorf("%w: SCAN reply key of %d bytes runs past the body at byte %d", ErrProtocol, n, at)
		}
		keys = append(keys, body[at:at+n:at+n])
		at += n
	}
	return keys, cursor, nil
}

func newPingCmd() *StatusCmd { return &StatusCmd{baseCmd{req: request{op: opPing}}} }

func newAuthCmd(token []byte) *StatusCmd {
	return &StatusCmd{baseCmd{req: request{op: opAuth, value: token}}}
}

func newHelloCmd(version byte) *HelloCmd {
	return &HelloCmd{baseCmd: baseCmd{req: request{op: opHello, version: version}}}
}

func newGetCmd(key []byte) *ValueCmd {
	return &ValueCmd{baseCmd: baseCmd{req: request{op: opGet, key: key}}}
}

func newSetCmd(key, value []byte, ttlMs uint64) *StatusCmd {
	return &StatusCmd{baseCmd{req: request{op: opSet, key: key, value: value, ttlMs: ttlMs}}}
}

// newSetCmdTTL is a SET with a time.Duration TTL (0: none).
func newSetCmdTTL(key, value []byte, ttl time.Duration) *StatusCmd {
	ttlMs, err := durationMs(ttl)
	cmd := newSetCmd(key, value, ttlMs)
	cmd.refuse(err)
	return cmd
}

func newDelCmd(key []byte) *BoolCmd {
	return &BoolCmd{baseCmd: baseCmd{req: request{op: opDel, key: key}}, absent: statusNotFound}
}

func newExpireCmd(key []byte, ttlMs uint64) *BoolCmd {
	return &BoolCmd{baseCmd: baseCmd{req: request{op: opExpire, key: key, ttlMs: ttlMs}}, absent: statusNotFound}
}

// newExpireCmdTTL is an EXPIRE with a time.Duration TTL (0: clear it).
func newExpireCmdTTL(key []byte, ttl time.Duration) *BoolCmd {
	ttlMs, err := durationMs(ttl)
	cmd := newExpireCmd(key, ttlMs)
	cmd.refuse(err)
	return cmd
}

func newTTLCmd(key []byte) *TTLCmd {
	return &TTLCmd{baseCmd: baseCmd{req: request{op: opTTL, key: key}}}
}

func newStatsCmd() *StatsCmd { return &StatsCmd{baseCmd: baseCmd{req: request{op: opStats}}} }

// newAddCmd is an ADD (false: the key exists) with the TTL in milliseconds.
func newAddCmd(key, value []byte, ttlMs uint64) *BoolCmd {
	return &BoolCmd{baseCmd: baseCmd{req: request{op: opAdd, key: key, value: value, ttlMs: ttlMs}}, absent: statusExists}
}

func newAddCmdTTL(key, value []byte, ttl time.Duration) *BoolCmd {
	ttlMs, err := durationMs(ttl)
	cmd := newAddCmd(key, value, ttlMs)
	cmd.refuse(err)
	return cmd
}

// newReplaceCmd is a REPLACE (false: no such key) with the TTL in milliseconds.
func newReplaceCmd(key, value []byte, ttlMs uint64) *BoolCmd {
	return &BoolCmd{baseCmd: baseCmd{req: request{op: opReplace, key: key, value: value, ttlMs: ttlMs}}, absent: statusNotFound}
}

func newReplaceCmdTTL(key, value []byte, ttl time.Duration) *BoolCmd {
	ttlMs, err := durationMs(ttl)
	cmd := newReplaceCmd(key, value, ttlMs)
	cmd.refuse(err)
	return cmd
}

func newIncrCmd(key []byte, delta int64) *IntCmd {
	return &IntCmd{baseCmd: baseCmd{req: request{op: opIncr, key: key, delta: delta}}}
}

func newAppendCmd(key, suffix []byte) *LengthCmd {
	return &LengthCmd{baseCmd: baseCmd{req: request{op: opAppend, key: key, value: suffix}}}
}

func newFlushCmd() *StatusCmd { return &StatusCmd{baseCmd{req: request{op: opFlush}}} }

// newScanCmd is a SCAN step; count (a hint, 0 read as 1) must fit SCAN's u16.
func newScanCmd(cursor uint64, count int, prefix []byte) *ScanCmd {
	cmd := &ScanCmd{baseCmd: baseCmd{req: request{op: opScan, cursor: cursor, value: prefix}}}
	if count < 0 || count > math.MaxUint16 {
		cmd.refuse(fmt.Errorf("blink: SCAN count %d outside 0..%d", count, math.MaxUint16))
	} else {
		cmd.req.count = uint16(count)
	}
	return cmd
}

// durationMs converts a TTL to whole milliseconds, rounding a positive
// fraction up so that it never becomes 0 ("no TTL"). A negative TTL is
// refused.
func durationMs(ttl time.Duration) (uint64, error) {
	if ttl < 0 {
		return 0, fmt.Errorf("blink: negative TTL %v (use 0 for none, Del to remove a key)", ttl)
	}
	ms := uint64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ms, nil
}

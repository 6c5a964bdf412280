// Unit tests of the commands' reply parsing (version-2 bodies included) and
// TTL conversions.

package blink

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseStatsRejectsMalformedText(t *testing.T) {
	for _, body := range []string{"items 3", "items\n", " 3\n", "items -1\n", "items 18446744073709551616\n"} {
		if _, err := parseStats([]byte(body)); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseStats(%q) = %v, want ErrProtocol", body, err)
		}
	}
	stats, err := parseStats([]byte("items 3\nnew_counter_ms 18446744073709551615\n"))
	if err != nil || stats["items"] != 3 || stats["new_counter_ms"] != math.MaxUint64 {
		t.Fatalf("got %v, %v", stats, err)
	}
}

func TestDurationMsRoundsUpAndRefusesNegative(t *testing.T) {
	for _, c := range []struct {
		ttl  time.Duration
		want uint64
	}{{0, 0}, {time.Nanosecond, 1}, {time.Millisecond, 1}, {1500 * time.Microsecond, 2}, {time.Hour, 3_600_000}, {math.MaxInt64, 9_223_372_036_855}} {
		if got, err := durationMs(c.ttl); err != nil || got != c.want {
			t.Errorf("durationMs(%v) = %d, %v; want %d", c.ttl, got, err, c.want)
		}
	}
	if _, err := durationMs(-time.Second); err == nil {
		t.Fatal("a negative TTL was accepted")
	}
}

func TestKeyTTLDurationOnlyWhereItFits(t *testing.T) {
	if d, ok := (KeyTTL{HasTTL: true, RemainingMs: 1500}).Duration(); !ok || d != 1500*time.Millisecond {
		t.Fatalf("got %v, %v", d, ok)
	}
	if _, ok := (KeyTTL{HasTTL: true, RemainingMs: math.MaxUint64}).Duration(); ok {
		t.Fatal("2^64-1 ms fits no time.Duration")
	}
	if _, ok := (KeyTTL{}).Duration(); ok {
		t.Fatal("a key without TTL has no duration")
	}
}

func TestRepliesThatDoNotFitTheirCommandAreProtocolErrors(t *testing.T) {
	cases := []struct {
		name string
		cmd  command
		body []byte
	}{
		{"ping_with_body", newPingCmd(), []byte{1}},
		{"ttl_with_3_bytes", newTTLCmd(nil), []byte{1, 2, 3}},
		{"hello_short", newHelloCmd(ProtocolVersion), make([]byte, 13)},
		{"hello_version_3", newHelloCmd(ProtocolVersion), []byte{3, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 0, 8}},
		{"hello_version_0", newHelloCmd(ProtocolVersion), []byte{0, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 0, 8}},
		{"incr_with_4_bytes", newIncrCmd(nil, 1), []byte{0, 0, 0, 1}},
		{"append_with_9_bytes", newAppendCmd(nil, nil), make([]byte, 9)},
		{"scan_under_8_bytes", newScanCmd(0, 1, nil), make([]byte, 7)},
		{"scan_key_length_cut", newScanCmd(0, 1, nil), make([]byte, 9)},
		{"scan_key_overruns", newScanCmd(0, 1, nil), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 'k', '1'}},
		{"flush_with_body", newFlushCmd(), []byte{0}},
	}
	for _, c := range cases {
		if err := c.cmd.setReply(statusOK, c.body); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: got %v, want ErrProtocol", c.name, err)
		}
	}
	for _, c := range []struct {
		name   string
		cmd    command
		status byte
	}{
		{"NOT_FOUND to SET", newSetCmd(nil, nil, 0), statusNotFound},
		{"EXISTS to GET", newGetCmd(nil), statusExists},
		{"EXISTS to REPLACE", newReplaceCmd(nil, nil, 0), statusExists},
		{"NOT_FOUND to ADD", newAddCmd(nil, nil, 0), statusNotFound},
		{"NOT_FOUND to INCR", newIncrCmd(nil, 1), statusNotFound},
		{"EXISTS to DEL", newDelCmd(nil), statusExists},
	} {
		if err := c.cmd.setReply(c.status, nil); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: got %v, want ErrProtocol", c.name, err)
		}
	}
}

func TestParseScanKeysFillTheBodyExactly(t *testing.T) {
	keys, cursor, err := parseScan([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 'x'})
	if err != nil || cursor != math.MaxUint64 || len(keys) != 2 || len(keys[0]) != 0 || string(keys[1]) != "x" {
		t.Fatalf("got %q, %d, %v", keys, cursor, err)
	}
	if cap(keys[0]) != 0 {
		t.Fatal("a key's capacity reaches into the next one: appending to it would overwrite")
	}
	if keys, _, err := parseScan(make([]byte, 8)); err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("an empty page: %v, %v", keys, err)
	}
}

func TestScanCountMustFitAU16(t *testing.T) {
	for _, count := range []int{-1, math.MaxUint16 + 1} {
		if cmd := newScanCmd(0, count, nil); !cmd.unsent || cmd.err == nil {
			t.Errorf("count %d was accepted", count)
		}
	}
	if cmd := newScanCmd(0, math.MaxUint16, nil); cmd.err != nil || cmd.req.count != math.MaxUint16 {
		t.Fatalf("count 65535: %v", cmd.err)
	}
}

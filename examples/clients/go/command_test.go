// Unit tests of the commands' reply parsing and TTL conversions.

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
		{"hello_version_2", newHelloCmd(ProtocolVersion), []byte{2, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 0, 8}},
	}
	for _, c := range cases {
		if err := c.cmd.setReply(statusOK, c.body); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: got %v, want ErrProtocol", c.name, err)
		}
	}
	if err := newSetCmd(nil, nil, 0).setReply(statusNotFound, nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("NOT_FOUND to SET: got %v, want ErrProtocol", err)
	}
}

// The commands every way of calling the server offers (Client, Conn), each
// one request and one reply.

package blink

import (
	"context"
	"time"
)

// cmdable runs one command to completion; its result and error are then in
// the command. Client and Conn embed it, as go-redis does.
type cmdable func(ctx context.Context, cmd command)

// Ping checks that the server answers.
func (c cmdable) Ping(ctx context.Context) error {
	cmd := newPingCmd()
	c(ctx, cmd)
	return cmd.Err()
}

// Get returns the value of key and true, or nil and false when the key is
// missing or expired.
func (c cmdable) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	cmd := newGetCmd(key)
	c(ctx, cmd)
	return cmd.Result()
}

// GetString is Get with a string key and value.
func (c cmdable) GetString(ctx context.Context, key string) (string, bool, error) {
	value, found, err := c.Get(ctx, []byte(key))
	return string(value), found, err
}

// Set stores value under key, replacing any value and TTL. ttl 0 means no
// TTL; a fraction of a millisecond rounds up.
func (c cmdable) Set(ctx context.Context, key, value []byte, ttl time.Duration) error {
	cmd := newSetCmdTTL(key, value, ttl)
	c(ctx, cmd)
	return cmd.Err()
}

// SetString is Set with a string key and value.
func (c cmdable) SetString(ctx context.Context, key, value string, ttl time.Duration) error {
	return c.Set(ctx, []byte(key), []byte(value), ttl)
}

// SetMs is Set with the TTL in milliseconds, the protocol's full u64 range
// (0: no TTL).
func (c cmdable) SetMs(ctx context.Context, key, value []byte, ttlMs uint64) error {
	cmd := newSetCmd(key, value, ttlMs)
	c(ctx, cmd)
	return cmd.Err()
}

// Del removes key and reports whether it existed.
func (c cmdable) Del(ctx context.Context, key []byte) (bool, error) {
	cmd := newDelCmd(key)
	c(ctx, cmd)
	return cmd.Result()
}

// Expire gives key a new TTL counted from now (0 clears it) and reports
// whether the key exists. It never creates a key.
func (c cmdable) Expire(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	cmd := newExpireCmdTTL(key, ttl)
	c(ctx, cmd)
	return cmd.Result()
}

// ExpireMs is Expire with the TTL in milliseconds (0 clears it).
func (c cmdable) ExpireMs(ctx context.Context, key []byte, ttlMs uint64) (bool, error) {
	cmd := newExpireCmd(key, ttlMs)
	c(ctx, cmd)
	return cmd.Result()
}

// TTL returns the time key has left and true, or false when it is missing.
func (c cmdable) TTL(ctx context.Context, key []byte) (KeyTTL, bool, error) {
	cmd := newTTLCmd(key)
	c(ctx, cmd)
	return cmd.Result()
}

// Stats returns the server's counters by name (SPEC §12).
func (c cmdable) Stats(ctx context.Context) (map[string]uint64, error) {
	cmd := newStatsCmd()
	c(ctx, cmd)
	return cmd.Result()
}

// Add stores value under key only if the key does not exist (protocol
// version 2), with a TTL as Set (0: none). It reports whether it stored:
// false means the key exists, a normal outcome.
func (c cmdable) Add(ctx context.Context, key, value []byte, ttl time.Duration) (bool, error) {
	cmd := newAddCmdTTL(key, value, ttl)
	c(ctx, cmd)
	return cmd.Result()
}

// AddMs is Add with the TTL in milliseconds (0: no TTL).
func (c cmdable) AddMs(ctx context.Context, key, value []byte, ttlMs uint64) (bool, error) {
	cmd := newAddCmd(key, value, ttlMs)
	c(ctx, cmd)
	return cmd.Result()
}

// Replace stores value under key only if the key exists (protocol version
// 2), replacing its value and TTL as Set does. It reports whether it stored:
// false means there is no such key.
func (c cmdable) Replace(ctx context.Context, key, value []byte, ttl time.Duration) (bool, error) {
	cmd := newReplaceCmdTTL(key, value, ttl)
	c(ctx, cmd)
	return cmd.Result()
}

// ReplaceMs is Replace with the TTL in milliseconds (0: no TTL).
func (c cmdable) ReplaceMs(ctx context.Context, key, value []byte, ttlMs uint64) (bool, error) {
	cmd := newReplaceCmd(key, value, ttlMs)
	c(ctx, cmd)
	return cmd.Result()
}

// Incr adds delta (negative to decrement) to the decimal integer stored
// under key and returns the new value (protocol version 2). A missing key
// counts as 0 and is created without a TTL. A value that is not an integer,
// or a result outside the int64 range, fails with ErrNotInteger.
func (c cmdable) Incr(ctx context.Context, key []byte, delta int64) (int64, error) {
	cmd := newIncrCmd(key, delta)
	c(ctx, cmd)
	return cmd.Result()
}

// Append appends suffix to the value under key (a missing key starts empty)
// and returns the value's new length in bytes (protocol version 2). A
// result longer than the server's value limit fails with ErrValueTooLarge.
func (c cmdable) Append(ctx context.Context, key, suffix []byte) (uint64, error) {
	cmd := newAppendCmd(key, suffix)
	c(ctx, cmd)
	return cmd.Result()
}

// Flush removes every key (protocol version 2).
func (c cmdable) Flush(ctx context.Context) error {
	cmd := newFlushCmd()
	c(ctx, cmd)
	return cmd.Err()
}

// Scan runs one step of a walk over the keys starting with prefix (nil or
// empty: every key), protocol version 2. Start with cursor 0 and pass each
// returned cursor back until it is 0. count (0 to 65535) is a hint: a step
// may return fewer keys, even none, before the walk ends (SPEC §5.2).
// ScanIterator runs the whole walk.
func (c cmdable) Scan(ctx context.Context, cursor uint64, count int, prefix []byte) (keys [][]byte, next uint64, err error) {
	cmd := newScanCmd(cursor, count, prefix)
	c(ctx, cmd)
	return cmd.Result()
}

// ScanIterator returns an iterator over every key starting with prefix,
// count keys asked for per SCAN step. Every key that exists for the whole
// walk is returned exactly once; the steps may use different connections
// (cursors are valid across connections).
func (c cmdable) ScanIterator(count int, prefix []byte) *ScanIterator {
	return &ScanIterator{scan: c.Scan, count: count, prefix: prefix}
}

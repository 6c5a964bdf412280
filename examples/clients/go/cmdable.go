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

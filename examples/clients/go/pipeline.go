// Pipeline: many requests in one write, replies matched in order.

package blink

import (
	"context"
	"time"
)

// Pipeline queues commands and sends them together with Exec: one write,
// one reply per command, in order (SPEC §8). Each queuing method returns
// the command, whose Result (or Err) is valid once Exec returns. A Pipeline
// is not safe for concurrent use; after Exec it is empty and can be reused.
type Pipeline struct {
	exec func(ctx context.Context, cmds []command)
	cmds []command
}

func queue[C command](p *Pipeline, cmd C) C {
	p.cmds = append(p.cmds, cmd)
	return cmd
}

// Hello queues a HELLO. The connection speaks the version of its reply from
// then on; a pooled connection whose version changed is closed after Exec,
// not returned to the pool.
func (p *Pipeline) Hello(version byte) *HelloCmd { return queue(p, newHelloCmd(version)) }

// Ping queues a PING.
func (p *Pipeline) Ping() *StatusCmd { return queue(p, newPingCmd()) }

// Get queues a GET.
func (p *Pipeline) Get(key []byte) *ValueCmd { return queue(p, newGetCmd(key)) }

// Set queues a SET (ttl 0: no TTL).
func (p *Pipeline) Set(key, value []byte, ttl time.Duration) *StatusCmd {
	return queue(p, newSetCmdTTL(key, value, ttl))
}

// SetMs queues a SET with the TTL in milliseconds (0: no TTL).
func (p *Pipeline) SetMs(key, value []byte, ttlMs uint64) *StatusCmd {
	return queue(p, newSetCmd(key, value, ttlMs))
}

// Del queues a DEL.
func (p *Pipeline) Del(key []byte) *BoolCmd { return queue(p, newDelCmd(key)) }

// Expire queues an EXPIRE (ttl 0: clear the TTL).
func (p *Pipeline) Expire(key []byte, ttl time.Duration) *BoolCmd {
	return queue(p, newExpireCmdTTL(key, ttl))
}

// ExpireMs queues an EXPIRE with the TTL in milliseconds (0: clear it).
func (p *Pipeline) ExpireMs(key []byte, ttlMs uint64) *BoolCmd {
	return queue(p, newExpireCmd(key, ttlMs))
}

// TTL queues a TTL query.
func (p *Pipeline) TTL(key []byte) *TTLCmd { return queue(p, newTTLCmd(key)) }

// Stats queues a STATS.
func (p *Pipeline) Stats() *StatsCmd { return queue(p, newStatsCmd()) }

// Add queues an ADD (ttl 0: no TTL); its Result is false when the key exists.
func (p *Pipeline) Add(key, value []byte, ttl time.Duration) *BoolCmd {
	return queue(p, newAddCmdTTL(key, value, ttl))
}

// AddMs queues an ADD with the TTL in milliseconds (0: no TTL).
func (p *Pipeline) AddMs(key, value []byte, ttlMs uint64) *BoolCmd {
	return queue(p, newAddCmd(key, value, ttlMs))
}

// Replace queues a REPLACE (ttl 0: no TTL); its Result is false when there
// is no such key.
func (p *Pipeline) Replace(key, value []byte, ttl time.Duration) *BoolCmd {
	return queue(p, newReplaceCmdTTL(key, value, ttl))
}

// ReplaceMs queues a REPLACE with the TTL in milliseconds (0: no TTL).
func (p *Pipeline) ReplaceMs(key, value []byte, ttlMs uint64) *BoolCmd {
	return queue(p, newReplaceCmd(key, value, ttlMs))
}

// Incr queues an INCR.
func (p *Pipeline) Incr(key []byte, delta int64) *IntCmd { return queue(p, newIncrCmd(key, delta)) }

// Append queues an APPEND.
func (p *Pipeline) Append(key, suffix []byte) *LengthCmd { return queue(p, newAppendCmd(key, suffix)) }

// Flush queues a FLUSH.
func (p *Pipeline) Flush() *StatusCmd { return queue(p, newFlushCmd()) }

// Scan queues one SCAN step.
func (p *Pipeline) Scan(cursor uint64, count int, prefix []byte) *ScanCmd {
	return queue(p, newScanCmd(cursor, count, prefix))
}

// Len is the number of queued commands.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Exec sends the queued commands and waits for their replies. It returns
// the first error among the commands, if any (a missing key is not one);
// every command carries its own. Commands refused locally (too large) are not
// sent, nor are the version-2 commands on a connection that negotiated
// version 1 (ErrUnknownCommand); if the connection closes, those without a
// reply fail with ErrConnClosed. Pipelines are not retried.
func (p *Pipeline) Exec(ctx context.Context) error {
	cmds := p.cmds
	p.cmds = nil
	if len(cmds) == 0 {
		return nil
	}
	p.exec(ctx, cmds)
	for _, cmd := range cmds {
		if err := cmd.base().err; err != nil {
			return err
		}
	}
	return nil
}

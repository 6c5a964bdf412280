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

// Len is the number of queued commands.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Exec sends the queued commands and waits for their replies. It returns
// the first error among the commands, if any (a missing key is not one);
// every command carries its own. Commands refused locally (too large) are not
// sent; if the connection closes, those without a reply fail with
// ErrConnClosed. Pipelines are not retried.
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

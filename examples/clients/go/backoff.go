// Exponential backoff with jitter, for reconnects and retries.

package blink

import (
	"context"
	"math/rand"
	"time"
)

// backoff is the wait before attempt n (from 0): lo·2ⁿ capped at hi, of
// which the second half is random ("equal jitter"), so that clients that
// failed together do not all come back together.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 62 && lo <= hi>>uint(n) {
		d = lo << uint(n)
	}
	half := d / 2
	return half + time.Duration(rand.Int63n(int64(d-half)+1))
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

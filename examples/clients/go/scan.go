// ScanIterator: a whole SCAN walk, one step at a time (SPEC §5.2).

package blink

import "context"

// ScanIterator walks the keys under a prefix, in the style of go-redis's
// ScanIterator:
//
//	it := client.ScanIterator(100, []byte("user:"))
//	for it.Next(ctx) {
//		use(it.Key())
//	}
//	if err := it.Err(); err != nil { ... }
//
// It is not safe for concurrent use.
type ScanIterator struct {
	scan   func(ctx context.Context, cursor uint64, count int, prefix []byte) ([][]byte, uint64, error)
	count  int
	prefix []byte

	cursor uint64
	done   bool     // the server returned cursor 0: no step is left
	page   [][]byte // keys of the last step not yet returned
	key    []byte
	err    error
}

// Next advances to the next key, sending SCAN steps with ctx as needed. It
// returns false at the end of the walk or on an error (see Err).
func (it *ScanIterator) Next(ctx context.Context) bool {
	for len(it.page) == 0 {
		if it.done || it.err != nil {
			it.key = nil
			return false
		}
		keys, cursor, err := it.scan(ctx, it.cursor, it.count, it.prefix)
		if err != nil {
			it.err = err
			continue
		}
		it.page, it.cursor, it.done = keys, cursor, cursor == 0
	}
	it.key, it.page = it.page[0], it.page[1:]
	return true
}

// Key returns the current key, valid until the caller drops it (the next
// call to Next does not reuse it).
func (it *ScanIterator) Key() []byte { return it.key }

// Err returns the error that ended the walk early, or nil after a complete
// walk. A walk that failed is not resumed: a new iterator starts again.
func (it *ScanIterator) Err() error { return it.err }

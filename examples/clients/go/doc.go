// Package blink is a client for Blink-Store, the in-memory cache server, over
// its binary protocol (protocol/SPEC.md, versions 1 and 2).
//
// A Client is safe for concurrent use by many goroutines. It keeps a pool of
// connections in the style of database/sql and go-redis: a bounded number of
// connections, a checkout bounded by the caller's context and
// Options.PoolTimeout, a liveness check of idle connections before reuse,
// and reconnects with exponential backoff and jitter.
//
//	c, err := blink.New(blink.Options{Addr: "127.0.0.1:25465"})
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Set(ctx, []byte("k"), []byte("v"), time.Minute)
//	v, found, err := c.Get(ctx, []byte("k"))
//
// Keys and values are byte slices: any byte, including 0x00, is allowed.
// A missing key is a normal outcome (found == false), never an error.
//
// Errors are matched with errors.Is against the Err* values, one per failure
// class of SPEC §13, and with errors.As against *StatusError, *LimitError,
// *ConnClosedError and *DialError for details. A request whose connection
// closed before its reply arrived fails with ErrConnClosed: it may or may not
// have been executed.
//
// Each connection sends HELLO 2 and speaks the version the server
// negotiates. Version 2 adds Add, Replace, Incr, Append, Flush and Scan (with
// ScanIterator for whole walks); on a connection to a version-1 server they
// fail with ErrUnknownCommand (an *UnsupportedError) without being sent.
//
// Pipeline sends many requests in one write and matches the replies in order;
// it reads while it writes, so a batch of any size cannot deadlock on full
// socket buffers (SPEC §8).
package blink

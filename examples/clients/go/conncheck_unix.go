//go:build unix

// The non-blocking liveness check of an idle connection (go-redis
// internal/pool/conn_check.go).

package blink

import (
	"io"
	"net"
	"syscall"
)

// connCheck peeks at the socket without blocking: io.EOF if the peer closed
// it, errUnexpectedRead if bytes are waiting, nil if it is quiet. Connections
// without a file descriptor (custom Dialers) pass.
func connCheck(nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var checkErr error
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, err := syscall.Read(int(fd), b[:])
		switch {
		case n == 0 && err == nil:
			checkErr = io.EOF
		case n > 0:
			checkErr = errUnexpectedRead
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			checkErr = nil
		default:
			checkErr = err
		}
		return true // never wait for readiness
	})
	if err != nil {
		return err
	}
	return checkErr
}

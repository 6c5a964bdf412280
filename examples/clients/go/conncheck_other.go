//go:build !unix

// Elsewhere than Unix the idle check is the HealthCheckInterval PING alone.

package blink

import "net"

func connCheck(net.Conn) error { return nil }

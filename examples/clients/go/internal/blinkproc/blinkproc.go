// Package blinkproc starts a blink-store server process for the tests, the
// quickstart's test and the benchmark, and reads the addresses it listens on
// from its ready line (examples/clients/conformance/README.md).
package blinkproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for the server's ready line.
const readyTimeout = 15 * time.Second

// Config says how to start a server.
type Config struct {
	// TCP is the address to listen on; default "127.0.0.1:0" (a free port).
	TCP string
	// UnixSocket is the socket path; default blink.sock in a new temp dir.
	UnixSocket string
	// Token, if set, is passed as BLINK_AUTH_TOKEN.
	Token string
	// Args are further flags, e.g. "--max-connections", "1".
	Args []string
	// CPU, if set, pins the server with taskset -c CPU.
	CPU string
}

// Server is a running blink-store.
type Server struct {
	TCPAddr    string // host:port from the ready line
	UnixSocket string // socket path from the ready line
	cmd        *exec.Cmd
	exited     chan struct{}
	dir        string // the temp dir this Server created, if any
}

// Binary is $BLINK_STORE_BIN, or target/release/blink-store in the
// repository around the working directory.
func Binary() (string, error) {
	if bin := os.Getenv("BLINK_STORE_BIN"); bin != "" {
		return bin, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); err == nil {
			bin := filepath.Join(dir, "target", "release", "blink-store")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("blinkproc: %s missing: build it with cargo build --release --locked, or set BLINK_STORE_BIN", bin)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("blinkproc: BLINK_STORE_BIN unset and no repository root (Cargo.toml) above the working directory")
		}
		dir = parent
	}
}

// Start starts a server and waits for its ready line.
func Start(cfg Config) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	s := &Server{exited: make(chan struct{})}
	if cfg.TCP == "" {
		cfg.TCP = "127.0.0.1:0"
	}
	if cfg.UnixSocket == "" {
		if s.dir, err = os.MkdirTemp("", "blink-go-"); err != nil {
			return nil, err
		}
		cfg.UnixSocket = filepath.Join(s.dir, "blink.sock")
	}
	args := append([]string{"--tcp", cfg.TCP, "--unix-socket", cfg.UnixSocket}, cfg.Args...)
	if cfg.CPU != "" {
		args = append([]string{"-c", cfg.CPU, bin}, args...)
		bin = "taskset"
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = environ(cfg.Token)
	s.cmd.Stderr = io.Discard
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		s.removeDir()
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "ready ") {
				ready <- s.parseReady(lines.Text())
				io.Copy(io.Discard, stdout) // keep the pipe drained until exit
				return
			}
		}
		ready <- fmt.Errorf("blinkproc: %s exited before its ready line", bin)
	}()
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case err = <-ready:
	case <-time.After(readyTimeout):
		err = fmt.Errorf("blinkproc: no ready line from %s within %v", bin, readyTimeout)
	}
	if err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// environ is this process's environment with BLINK_AUTH_TOKEN set to token,
// or removed when token is empty.
func environ(token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BLINK_AUTH_TOKEN=") {
			env = append(env, kv)
		}
	}
	if token != "" {
		env = append(env, "BLINK_AUTH_TOKEN="+token)
	}
	return env
}

// parseReady reads "ready tcp 127.0.0.1:41234, unix /tmp/x/blink.sock".
func (s *Server) parseReady(line string) error {
	for _, part := range strings.Split(strings.TrimPrefix(line, "ready "), ", ") {
		kind, addr, ok := strings.Cut(part, " ")
		switch {
		case ok && kind == "tcp":
			s.TCPAddr = addr
		case ok && kind == "unix":
			s.UnixSocket = addr
		default:
			return fmt.Errorf("blinkproc: cannot parse ready line %q", line)
		}
	}
	return nil
}

// Stop sends SIGTERM and waits for the server to exit.
func (s *Server) Stop() { s.signalAndWait(syscall.SIGTERM) }

// Kill sends SIGKILL and waits for the server to exit.
func (s *Server) Kill() { s.signalAndWait(syscall.SIGKILL) }

// Pause stops the process (SIGSTOP): its sockets stay open but nothing is
// answered, as with a half-open connection.
func (s *Server) Pause() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

func (s *Server) signalAndWait(sig syscall.Signal) {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(sig)
		if sig == syscall.SIGTERM {
			s.cmd.Process.Signal(syscall.SIGCONT) // a paused server must run to exit
		}
		<-s.exited
	}
	s.removeDir()
}

func (s *Server) removeDir() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

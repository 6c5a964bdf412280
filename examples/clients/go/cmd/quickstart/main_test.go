// The quickstart against a real server, and the README's copies of it.

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"blinkstore.dev/client/internal/blinkproc"
)

func TestQuickstartAgainstARealServer(t *testing.T) {
	s, err := blinkproc.Start(blinkproc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for network, addr := range map[string]string{"tcp": s.TCPAddr, "unix": s.UnixSocket} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out bytes.Buffer
		err := run(ctx, network, addr, &out)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", network, err, out.String())
		}
		for _, want := range []string{
			`greeting = "hello\x00world" (found: true)`,
			"no such key: found = false",
			"session expires in about 30s",
			"pipelined GET: value 2",
			"locked: true, again: false, renewed: true",
			"visits: 42; greeting is not a counter: true",
			"greeting is now 12 bytes",
			"scanned item:2",
			"refused before sending: key of 2000 bytes, limit 1024",
			"pool: 1 connections (1 idle)",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", network, want, out.String())
			}
		}
	}
}

// TestReadmeShowsTheQuickstart checks that every ANCHOR section of main.go
// appears in README.md as it is, so the README shows tested code.
func TestReadmeShowsTheQuickstart(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := regexp.MustCompile(`(?s)// ANCHOR: (\w+)\n(.*?)\t// ANCHOR_END: (\w+)`).FindAllSubmatch(src, -1)
	if len(sections) < 5 {
		t.Fatalf("only %d anchored sections in main.go", len(sections))
	}
	for _, m := range sections {
		code := strings.ReplaceAll(string(m[2]), "\n\t", "\n")
		code = strings.TrimPrefix(code, "\t")
		if !strings.Contains(string(readme), code) {
			t.Errorf("README.md does not show section %s of cmd/quickstart/main.go as it is:\n%s", m[1], code)
		}
	}
}

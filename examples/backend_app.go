// Command backend_app is an HTTP backend with Blink-Store as its cache, on net/http.
//
//	cd examples/backend_go && go run ../backend_app.go
//
// Its origin is a deliberately slow in-memory store: Go has no SQLite driver in
// the standard library, and this example uses nothing but it and the Blink
// client. The origin has the interface of the other apps' SQLite origins, so the
// cache code is the same; writes made through another app are not visible here.
// Configuration is by environment variable (examples/README.md lists them).
//
// Layout: config → origin → cache (breaker, bounded calls) → single-flight →
// item service (cache-aside, invalidation) → HTTP handlers → main.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	blink "blinkstore.dev/client"
)

const (
	// keyPrefix is the key scheme shared by every app in examples/: item:v1:{id}.
	// The v1 names the encoding; a change to it takes a new prefix.
	keyPrefix = "item:v1:"
	// maxBodyBytes bounds a PUT body; well under Blink-Store's default 1 MiB value limit.
	maxBodyBytes = 64 << 10
	// shutdownGrace is how long a shutdown waits for requests in flight.
	shutdownGrace = 10 * time.Second
	// originTimeout bounds one origin read made on behalf of every caller of a flight.
	originTimeout = 5 * time.Second
)

// itemID matches ids that are safe as path segments and cache-key suffixes.
var itemID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// ---------------------------------------------------------------------------
// Configuration

type config struct {
	listenAddr       string
	blinkNetwork     string // "tcp" or "unix"
	blinkAddr        string
	blinkToken       []byte
	cacheEnabled     bool
	cacheTTL         time.Duration
	ttlJitterPercent int
	cacheTimeout     time.Duration // bound on one cache call: the most a request waits on a sick cache
	breakerFailures  int
	breakerCooldown  time.Duration
	originDelay      time.Duration
	logLevel         level
}

// env reads variables and keeps the first error, so loadConfig reads as a list.
type env struct{ err error }

func (e *env) str(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *env) int(name string, def, low, high int) int {
	raw := e.str(name, "")
	if raw == "" || e.err != nil {
		return def
	}
	v, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		e.err = fmt.Errorf("%s=%q: expected an integer", name, raw)
	case v < low || v > high:
		e.err = fmt.Errorf("%s=%d: expected %d..%d", name, v, low, high)
	}
	return v
}

func (e *env) ms(name string, def, low, high int) time.Duration {
	return time.Duration(e.int(name, def, low, high)) * time.Millisecond
}

func (e *env) flag(name string, def bool) bool {
	switch raw := strings.ToLower(e.str(name, "")); raw {
	case "":
		return def
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	default:
		e.err = fmt.Errorf("%s=%q: expected 1/0, true/false, yes/no or on/off", name, raw)
		return def
	}
}

// token reads the token file as blink-store does: trailing whitespace (a final newline) is stripped.
func (e *env) token(name string) []byte {
	path := e.str(name, "")
	if path == "" || e.err != nil {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		e.err = fmt.Errorf("%s: %w", name, err)
		return nil
	}
	if b = []byte(strings.TrimRight(string(b), " \t\r\n")); len(b) == 0 {
		e.err = fmt.Errorf("%s=%q: the file is empty", name, path)
	}
	return b
}

func loadConfig() (config, error) {
	var e env
	c := config{
		listenAddr:       net.JoinHostPort(e.str("HOST", "127.0.0.1"), strconv.Itoa(e.int("PORT", 8080, 0, 65535))),
		blinkNetwork:     "tcp",
		blinkAddr:        e.str("BLINK_TCP", "127.0.0.1:25465"),
		blinkToken:       e.token("BLINK_AUTH_TOKEN_FILE"),
		cacheEnabled:     e.flag("CACHE_ENABLED", true),
		cacheTTL:         e.ms("CACHE_TTL_MS", 60_000, 1, 86_400_000),
		ttlJitterPercent: e.int("CACHE_TTL_JITTER_PERCENT", 10, 0, 100),
		cacheTimeout:     e.ms("CACHE_TIMEOUT_MS", 100, 1, 60_000),
		breakerFailures:  e.int("BREAKER_FAILURES", 5, 1, 1000),
		breakerCooldown:  e.ms("BREAKER_COOLDOWN_MS", 2000, 1, 3_600_000),
		originDelay:      e.ms("ORIGIN_DELAY_MS", 20, 0, 60_000),
	}
	if path := e.str("BLINK_UNIX_SOCKET", ""); path != "" {
		c.blinkNetwork, c.blinkAddr = "unix", path
	}
	levelName := strings.ToLower(e.str("LOG_LEVEL", "info"))
	var ok bool
	if c.logLevel, ok = levelNames[levelName]; !ok && e.err == nil {
		e.err = fmt.Errorf("LOG_LEVEL=%q: expected debug, info, warn or error", levelName)
	}
	return c, e.err
}

// ---------------------------------------------------------------------------
// Structured logs: one JSON object per line on stderr.

type level int

const (
	levelDebug level = iota
	levelInfo
	levelWarn
	levelError
)

var levelNames = map[string]level{"debug": levelDebug, "info": levelInfo, "warn": levelWarn, "error": levelError}

type logger struct {
	min level
	mu  sync.Mutex
	enc *json.Encoder
}

// log writes msg with fields given as alternating names and values.
func (l *logger) log(lv level, msg string, fields ...any) {
	if lv < l.min {
		return
	}
	line := map[string]any{"ts": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "msg": msg}
	for name, lvl := range levelNames {
		if lvl == lv {
			line["level"] = name
		}
	}
	for i := 0; i+1 < len(fields); i += 2 {
		line[fmt.Sprint(fields[i])] = fields[i+1]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enc.Encode(line) // a log line that cannot be written is dropped
}

// ---------------------------------------------------------------------------
// Origin: the "slow database".

// Item is the document served over HTTP and, encoded as UTF-8 JSON, cached.
type Item struct {
	ID          string          `json:"id"`
	Value       json.RawMessage `json:"value"`
	UpdatedAtMs int64           `json:"updated_at_ms"`
}

// origin sleeps originDelay on every call, standing for a database's network and query time.
type origin struct {
	delay  time.Duration
	mu     sync.RWMutex
	items  map[string]Item
	reads  atomic.Int64
	writes atomic.Int64
}

func (o *origin) wait(ctx context.Context) error {
	t := time.NewTimer(o.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *origin) get(ctx context.Context, id string) (Item, bool, error) {
	o.reads.Add(1)
	if err := o.wait(ctx); err != nil {
		return Item{}, false, err
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	item, ok := o.items[id]
	return item, ok, nil
}

func (o *origin) put(ctx context.Context, id string, value json.RawMessage) (Item, error) {
	o.writes.Add(1)
	if err := o.wait(ctx); err != nil {
		return Item{}, err
	}
	item := Item{ID: id, Value: value, UpdatedAtMs: time.Now().UnixMilli()}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items[id] = item
	return item, nil
}

func (o *origin) delete(ctx context.Context, id string) (bool, error) {
	o.writes.Add(1)
	if err := o.wait(ctx); err != nil {
		return false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.items[id]
	delete(o.items, id)
	return ok, nil
}

// ---------------------------------------------------------------------------
// Cache: Blink-Store behind a circuit breaker. The cache may fail, the request may not.

type breakerState string

const (
	breakerClosed   breakerState = "closed"
	breakerOpen     breakerState = "open"
	breakerHalfOpen breakerState = "half_open"
)

// breaker opens after `failures` consecutive failures; after `cooldown` it lets
// one call through as a probe, which closes it again or re-opens it.
type breaker struct {
	failuresToOpen int
	cooldown       time.Duration
	log            *logger

	mu       sync.Mutex
	state    breakerState
	failures int
	openedAt time.Time
}

// allow reports whether a call may go to the cache now; an expired open breaker
// turns half open for this one call.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.state == breakerClosed:
		return true
	case b.state == breakerOpen && time.Since(b.openedAt) >= b.cooldown:
		b.state = breakerHalfOpen
		return true
	default:
		return false // open, or a probe is in flight
	}
}

func (b *breaker) record(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		if b.state != breakerClosed {
			b.log.log(levelInfo, "cache breaker closed", "breaker", breakerClosed)
		}
		b.state, b.failures = breakerClosed, 0
		return
	}
	b.failures++
	if b.state == breakerHalfOpen || b.failures >= b.failuresToOpen {
		if b.state != breakerOpen {
			b.log.log(levelWarn, "cache breaker open", "breaker", breakerOpen, "failures", b.failures)
		}
		b.state, b.openedAt = breakerOpen, time.Now()
	}
}

func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// cache bounds every Blink-Store call by `timeout` and turns a failure into a
// counted, logged "no answer": callers fall back to the origin. Reconnecting is
// the client pool's job (with backoff); the breaker's is to stop every request
// from paying a timeout meanwhile.
type cache struct {
	client  *blink.Client
	timeout time.Duration
	breaker *breaker
	log     *logger
	errors  atomic.Int64
	skipped atomic.Int64
}

// call runs fn under the breaker; it returns false when the cache gave no answer.
func (c *cache) call(op string, fn func(ctx context.Context) error) bool {
	if !c.breaker.allow() {
		c.skipped.Add(1)
		return false
	}
	// Not the request's context: a client that hangs up must not count as a cache failure.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	err := fn(ctx)
	// A refused key or value is this request's problem on a healthy connection:
	// it must not open the breaker for everyone else.
	c.breaker.record(err == nil || errors.Is(err, blink.ErrKeyTooLarge) ||
		errors.Is(err, blink.ErrValueTooLarge) || errors.Is(err, blink.ErrItemTooLarge))
	if err != nil {
		c.errors.Add(1)
		c.log.log(levelWarn, "cache call failed", "op", op, "error", err.Error())
		return false
	}
	return true
}

func (c *cache) get(key []byte) (value []byte, found bool) {
	c.call("get", func(ctx context.Context) (err error) {
		value, found, err = c.client.Get(ctx, key)
		return err
	})
	return value, found
}

func (c *cache) set(key, value []byte, ttl time.Duration) {
	c.call("set", func(ctx context.Context) error { return c.client.Set(ctx, key, value, ttl) })
}

func (c *cache) del(key []byte) bool {
	return c.call("del", func(ctx context.Context) error {
		_, err := c.client.Del(ctx, key)
		return err
	})
}

// ---------------------------------------------------------------------------
// Single-flight: concurrent misses for one key make one origin read.

type flight struct {
	done  chan struct{} // closed when item, found and err are set
	item  Item
	found bool
	err   error
	// mu orders the flight's cache fill against a write's invalidation: a write
	// sets invalidated under mu, so a fill either finished before it (and the
	// write's delete removes it) or sees the flag and caches nothing.
	mu          sync.Mutex
	invalidated bool
}

type singleFlight struct {
	mu        sync.Mutex
	flights   map[string]*flight
	coalesced atomic.Int64
}

// do runs load once for concurrent callers with the same key; the others wait for its result.
func (s *singleFlight) do(key string, load func(*flight) (Item, bool, error)) (Item, bool, error) {
	s.mu.Lock()
	if f, ok := s.flights[key]; ok {
		s.mu.Unlock()
		s.coalesced.Add(1)
		<-f.done
		return f.item, f.found, f.err
	}
	f := &flight{done: make(chan struct{})}
	s.flights[key] = f
	s.mu.Unlock()

	f.item, f.found, f.err = load(f)
	s.mu.Lock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
	s.mu.Unlock()
	close(f.done)
	return f.item, f.found, f.err
}

// invalidate detaches the flight for key, so later callers start a load that sees the write.
func (s *singleFlight) invalidate(key string) {
	s.mu.Lock()
	f, ok := s.flights[key]
	delete(s.flights, key)
	s.mu.Unlock()
	if ok {
		f.mu.Lock()
		f.invalidated = true
		f.mu.Unlock()
	}
}

// ---------------------------------------------------------------------------
// Item service: cache-aside reads, writes that invalidate.

type itemService struct {
	origin  *origin
	cache   *cache // nil when CACHE_ENABLED=0: every read goes to the origin
	ttl     time.Duration
	jitter  time.Duration
	flights singleFlight
	hits    atomic.Int64
	misses  atomic.Int64
	log     *logger
}

// ttlWithJitter adds up to the jitter, so keys cached together do not all expire together.
func (s *itemService) ttlWithJitter() time.Duration {
	return s.ttl + time.Duration(rand.Int63n(int64(s.jitter)+1))
}

func (s *itemService) get(id string) (Item, bool, error) {
	key := keyPrefix + id
	if s.cache != nil {
		if raw, found := s.cache.get([]byte(key)); found {
			var item Item
			// A value that does not decode (another app's bug, a schema change) is a miss.
			if json.Unmarshal(raw, &item) == nil && item.ID == id {
				s.hits.Add(1)
				return item, true, nil
			}
		}
	}
	s.misses.Add(1)
	return s.flights.do(key, func(f *flight) (Item, bool, error) { return s.load(id, key, f) })
}

func (s *itemService) load(id, key string, f *flight) (Item, bool, error) {
	// Not the first caller's context: if that client hangs up, the others still want the item.
	ctx, cancel := context.WithTimeout(context.Background(), originTimeout)
	defer cancel()
	item, found, err := s.origin.get(ctx, id)
	// Missing items are not cached: a 404 costs an origin read, which single-flight bounds
	// to one per key at a time. Caching them would need a tombstone every app understands.
	if err != nil || !found || s.cache == nil {
		return item, found, err
	}
	if encoded, err := json.Marshal(item); err == nil {
		f.mu.Lock()
		if !f.invalidated {
			s.cache.set([]byte(key), encoded, s.ttlWithJitter())
		}
		f.mu.Unlock()
	}
	return item, true, nil
}

func (s *itemService) put(ctx context.Context, id string, value json.RawMessage) (Item, error) {
	item, err := s.origin.put(ctx, id, value)
	if err == nil {
		s.invalidate(keyPrefix + id)
	}
	return item, err
}

func (s *itemService) delete(ctx context.Context, id string) (bool, error) {
	existed, err := s.origin.delete(ctx, id)
	if err == nil {
		s.invalidate(keyPrefix + id)
	}
	return existed, err
}

// invalidate deletes rather than writes the new value: a delete is idempotent, so two
// racing writers cannot leave the older value cached, and the next read fills the entry.
// The flight is detached first, so a read that began before the write caches nothing.
func (s *itemService) invalidate(key string) {
	s.flights.invalidate(key)
	if s.cache != nil && !s.cache.del([]byte(key)) {
		s.log.log(levelWarn, "invalidation not applied; the entry expires with its TTL", "key", key)
	}
}

func (s *itemService) stats() map[string]any {
	st := map[string]any{
		"cache_enabled": s.cache != nil,
		"hits":          s.hits.Load(),
		"misses":        s.misses.Load(),
		"coalesced":     s.flights.coalesced.Load(),
		"origin_reads":  s.origin.reads.Load(),
		"origin_writes": s.origin.writes.Load(),
		"cache_errors":  int64(0),
		"cache_skipped": int64(0),
		"breaker":       "disabled",
	}
	if s.cache != nil {
		st["cache_errors"] = s.cache.errors.Load()
		st["cache_skipped"] = s.cache.skipped.Load()
		st["breaker"] = s.cache.breaker.current()
	}
	return st
}

// ---------------------------------------------------------------------------
// HTTP handlers

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client has gone if this fails
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

type api struct {
	items *itemService
	log   *logger
}

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/", a.item)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.items.stats())
	})
	// Healthy means "can serve". A sick cache only slows us down, so it is reported,
	// never failed on (restarting the app would not heal the cache).
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "breaker": a.items.stats()["breaker"]})
	})
	return a.logged(mux)
}

func (a *api) item(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/items/")
	if !itemID.MatchString(id) {
		writeError(w, http.StatusBadRequest, "id must match [A-Za-z0-9_.-]{1,128}")
		return
	}
	switch r.Method {
	case http.MethodGet:
		item, found, err := a.items.get(id)
		a.reply(w, item, found, err)
	case http.MethodPut:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBodyBytes))
		case err != nil || !json.Valid(body):
			writeError(w, http.StatusBadRequest, "body is not JSON")
		default:
			item, err := a.items.put(r.Context(), id, json.RawMessage(body))
			a.reply(w, item, true, err)
		}
	case http.MethodDelete:
		existed, err := a.items.delete(r.Context(), id)
		if err == nil && existed {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a.reply(w, Item{}, false, err)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (a *api) reply(w http.ResponseWriter, item Item, found bool, err error) {
	switch {
	case err != nil:
		a.log.log(levelError, "request failed", "error", err.Error())
		writeError(w, http.StatusInternalServerError, "internal error")
	case !found:
		writeError(w, http.StatusNotFound, "no such item")
	default:
		writeJSON(w, http.StatusOK, item)
	}
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (a *api) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		a.log.log(levelInfo, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(time.Since(started).Microseconds())/1000)
	})
}

// ---------------------------------------------------------------------------

func newItemService(cfg config, log *logger) (*itemService, error) {
	s := &itemService{
		origin:  &origin{delay: cfg.originDelay, items: map[string]Item{}},
		ttl:     cfg.cacheTTL,
		jitter:  cfg.cacheTTL * time.Duration(cfg.ttlJitterPercent) / 100,
		flights: singleFlight{flights: map[string]*flight{}},
		log:     log,
	}
	if !cfg.cacheEnabled {
		return s, nil
	}
	client, err := blink.New(blink.Options{
		Network:     cfg.blinkNetwork,
		Addr:        cfg.blinkAddr,
		Token:       cfg.blinkToken,
		DialTimeout: cfg.cacheTimeout,
		ReadTimeout: cfg.cacheTimeout,
		PoolTimeout: cfg.cacheTimeout,
		MaxRetries:  -1, // a failed cache call falls back to the origin; a retry would only add delay
	})
	if err != nil {
		return nil, err
	}
	s.cache = &cache{
		client:  client,
		timeout: cfg.cacheTimeout,
		breaker: &breaker{failuresToOpen: cfg.breakerFailures, cooldown: cfg.breakerCooldown, log: log, state: breakerClosed},
		log:     log,
	}
	return s, nil
}

func run() int {
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend_app:", err)
		return 2
	}
	log := &logger{min: cfg.logLevel, enc: json.NewEncoder(os.Stderr)}
	rand.Seed(time.Now().UnixNano()) // Go 1.19 does not seed the global source: jitter must differ per process
	items, err := newItemService(cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend_app:", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		log.log(levelError, "cannot listen", "addr", cfg.listenAddr, "error", err.Error())
		return 1
	}
	srv := &http.Server{Handler: (&api{items: items, log: log}).routes(), ReadHeaderTimeout: 10 * time.Second}
	log.log(levelInfo, "started", "port", ln.Addr().(*net.TCPAddr).Port, "cache", cfg.cacheEnabled)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		log.log(levelError, "server failed", "error", err.Error())
		return 1
	case <-ctx.Done():
	}
	// Shutdown stops accepting, closes idle connections and waits for requests in flight.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if items.cache != nil {
		_ = items.cache.client.Close()
	}
	if err != nil {
		log.log(levelError, "shutdown timed out", "error", err.Error())
		return 1
	}
	log.log(levelInfo, "stopped")
	return 0
}

func main() { os.Exit(run()) }

package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// vanishingPostgres is a TCP proxy to the PostgreSQL test server that can
// go away as a restarting database does: it drops every connection and
// refuses new ones.
type vanishingPostgres struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newVanishingPostgres(t *testing.T, target string) *vanishingPostgres {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &vanishingPostgres{ln: ln}
	t.Cleanup(p.stop)
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				down.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, down, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, down); up.Close() }()
			go func() { _, _ = io.Copy(down, up); down.Close() }()
		}
	}()
	return p
}

// stop makes the database unreachable.
func (p *vanishingPostgres) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs[r.Message]++
	return nil
}

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msgs[msg]
}

// While PostgreSQL is unreachable, API and browser requests answer 503 with
// Retry-After and a friendly body, and the log says so at most once a second.
func TestDatabaseDownAnswers503(t *testing.T) {
	migrated, schemaURL := storetest.PostgresUnmigrated(t)
	if err := store.Migrate(context.Background(), migrated); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newVanishingPostgres(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db, err := store.Open(u.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := newTestApp(t, db, true)
	key := a.apiKey("analyst@sentinel.demo")
	b := a.signedIn("analyst@sentinel.demo")
	if res := a.api("POST", "/api/v1/score", key, txJSON("before")); res.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/score before the outage = %d %s", res.Status, res.Body)
	}

	logs := &countingHandler{msgs: map[string]int{}}
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(logs))
	proxy.stop()
	start := time.Now()

	for _, tc := range []struct {
		name            string
		do              func() response
		wantContentType string
		wantContains    string
	}{
		{"an API request answers a problem", func() response { return a.api("POST", "/api/v1/score", key, txJSON("during")) },
			"application/problem+json", `"status":503`},
		{"an API read answers a problem", func() response {
			return a.api("GET", "/api/v1/transactions/0190f000-0000-7000-8000-000000000000", key, "")
		},
			"application/problem+json", "retry after"},
		{"a page answers a friendly page", func() response { return b.get("/queue") },
			"text/html; charset=UTF-8", "cannot reach its database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The first request meets a pooled connection cut off, the
			// next ones a refused connection: all answer alike.
			for i := range 5 {
				res := tc.do()
				if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" ||
					res.Header.Get("Content-Type") != tc.wantContentType || !strings.Contains(res.Body, tc.wantContains) {
					t.Fatalf("request %d = %d, Retry-After %q, Content-Type %q, want 503, 5, %s containing %q:\n%s",
						i+1, res.Status, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"), tc.wantContentType, tc.wantContains, res.Body)
				}
				for _, internal := range []string{"dial", "127.0.0.1", "EOF", "failed to connect"} {
					if strings.Contains(res.Body, internal) {
						t.Fatalf("request %d shows the raw error (%q):\n%s", i+1, internal, res.Body)
					}
				}
			}
		})
	}
	t.Run("/ready answers 503", func(t *testing.T) {
		if res := b.get("/ready"); res.Status != http.StatusServiceUnavailable {
			t.Fatalf("GET /ready = %d, want 503", res.Status)
		}
	})
	t.Run("the outage is logged at most once a second", func(t *testing.T) {
		elapsed := time.Since(start)
		most := 1 + int(elapsed/outageLogInterval)
		if n := logs.count("database unavailable: answering 503"); n < 1 || n > most {
			t.Errorf("%d outage lines for 15 failed requests in %v, want 1 to %d", n, elapsed, most)
		}
		if n := logs.count("request failed"); n != 0 {
			t.Errorf(`%d "request failed" lines, want none: the outage is not a server error`, n)
		}
	})
}

func TestOutageLogIsRateLimited(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var o outageLog
	for _, step := range []struct {
		name       string
		at         time.Duration
		wantLog    bool
		wantFailed int
	}{
		{"logs the first failed request", 0, true, 1},
		{"stays quiet for the rest of the second", 10 * time.Millisecond, false, 0},
		{"still quiet just before the second is over", 999 * time.Millisecond, false, 0},
		{"logs again after a second, counting the quiet requests", time.Second, true, 3},
		{"stays quiet again right after", time.Second + time.Millisecond, false, 0},
		{"logs a failure long after the last line at once", time.Hour, true, 2},
	} {
		failed, log := o.note(start.Add(step.at))
		if log != step.wantLog || failed != step.wantFailed {
			t.Errorf("%s: note() = %d, %v; want %d, %v", step.name, failed, log, step.wantFailed, step.wantLog)
		}
	}
}

// An error after the response went out cannot change the answer, but it
// must not vanish: it is logged.
func TestErrorAfterCommittedResponseIsLogged(t *testing.T) {
	logs := &countingHandler{msgs: map[string]int{}}
	prev := slog.Default()
	slog.SetDefault(slog.New(logs))
	t.Cleanup(func() { slog.SetDefault(prev) })
	e := New(nil, nil, Config{})
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/investigate/export.csv", nil), rec)
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write([]byte("id,amount\n1,"))
	e.HTTPErrorHandler(errors.New("database went away mid-stream"), c)
	if n := logs.count("request failed after the response was sent"); n != 1 {
		t.Fatalf("log lines for the late error = %d, want 1", n)
	}
	if rec.Code != http.StatusOK || rec.Body.String() != "id,amount\n1," {
		t.Fatalf("the sent response changed: %d %q", rec.Code, rec.Body.String())
	}
}

package handlers

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// TestBadTextIsRefusedAtTheBoundary sends NUL and invalid UTF-8 in every
// place a client can put text; each must be a 400, never a 500 from the
// database.
func TestBadTextIsRefusedAtTheBoundary(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 1, "bt")
		b := a.signedIn("analyst@sentinel.demo")
		b.get("/")
		key := a.apiKey("admin@sentinel.demo")
		for _, path := range []string{
			"/transactions/%00", "/transactions/%FF%FE", "/queue?account=C1%00", "/queue?account=%C3%28",
			"/queue?%00=1", "/audit?action=%FF", "/settings/users/%00",
		} {
			if r := b.get(path); r.Status != http.StatusBadRequest || strings.Contains(r.Body, "invalid byte sequence") ||
				!strings.Contains(r.Body, "Back to home") {
				t.Errorf("GET %s = %d, want 400 with a friendly page", path, r.Status)
			}
		}
		for name, form := range map[string]url.Values{
			"NUL in the rationale":          {"decision": {"escalated"}, "rationale": {"seen\x00before"}},
			"invalid UTF-8 in the decision": {"decision": {"escalated\xff"}, "rationale": {"seen"}},
		} {
			if r := b.post("/transactions/"+ids[0]+"/decisions", form, true); r.Status != http.StatusBadRequest {
				t.Errorf("%s: POST = %d, want 400", name, r.Status)
			}
		}
		for name, body := range map[string]string{
			"NUL in an account":         strings.Replace(txJSON("n1"), `"C123"`, `"C1\u0000"`, 1),
			"NUL in the external id":    txJSON("n2\\u0000"),
			"invalid UTF-8 in a string": strings.Replace(txJSON("n3"), `"C123"`, "\"C1\xff\"", 1),
		} {
			r := a.api("POST", "/api/v1/score", key, body)
			if r.Status != http.StatusBadRequest || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: POST /api/v1/score = %d %q, want 400 problem+json", name, r.Status, r.Header.Get("Content-Type"))
			}
			batch := `{"transactions":[` + body + `]}`
			if r := a.api("POST", "/api/v1/score/batch", key, batch); r.Status != http.StatusBadRequest {
				t.Errorf("%s: POST /api/v1/score/batch = %d, want 400", name, r.Status)
			}
		}
		if r := a.api("GET", "/api/v1/transactions/%00", key, ""); r.Status != http.StatusBadRequest ||
			r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET /api/v1/transactions/%%00 = %d %q, want 400 problem+json", r.Status, r.Header.Get("Content-Type"))
		}
	})
}

func TestSpoofableIDsAreRefused(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		for name, body := range map[string]string{
			"right-to-left override in an account": strings.Replace(txJSON("s1"), `"C123"`, `"C123\u202Egpj.exe"`, 1),
			"zero-width space in an account":       strings.Replace(txJSON("s2"), `"C456"`, `"C4\u200B56"`, 1),
			"byte order mark in the external id":   txJSON("\\uFEFFs3"),
			"line separator in the external id":    txJSON("s4\\u2028"),
		} {
			r := a.api("POST", "/api/v1/score", key, body)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s = %d %s, want 422", name, r.Status, r.Body)
			}
		}
	})
}

func TestSignedInAnswersAreNotCached(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("admin@sentinel.demo")
		key := a.apiKey("admin@sentinel.demo")
		for name, r := range map[string]response{
			"home":         b.get("/"),
			"queue":        b.get("/queue"),
			"api keys":     b.get("/settings/api-keys"),
			"login":        a.browser().get("/login"),
			"API answer":   a.api("POST", "/api/v1/score", key, txJSON("c-1")),
			"API problem":  a.api("GET", "/api/v1/transactions/missing", key, ""),
			"API no key":   a.api("GET", "/api/v1/transactions/missing", "", ""),
			"read by page": b.get("/api/v1/transactions/missing"),
		} {
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s: Cache-Control = %q, want no-store", name, got)
			}
		}
	})
}

func TestAPIKeyRateLimit(t *testing.T) {
	db := storetest.SQLite(t)
	a := newTestAppWith(t, db, Config{APIRate: 0.001, APIBurst: 2})
	key := a.apiKey("admin@sentinel.demo")
	other := a.apiKey("admin@acme.demo")
	for i := range 2 {
		if r := a.api("GET", "/api/v1/transactions/missing", key, ""); r.Status != http.StatusNotFound {
			t.Fatalf("request %d within the burst = %d, want 404", i+1, r.Status)
		}
	}
	r := a.api("GET", "/api/v1/transactions/missing", key, "")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("request past the burst = %d %q Retry-After %q, want 429 problem+json with Retry-After",
			r.Status, r.Header.Get("Content-Type"), r.Header.Get("Retry-After"))
	}
	if r := a.api("GET", "/api/v1/transactions/missing", other, ""); r.Status != http.StatusNotFound {
		t.Fatalf("another key's request = %d, want 404: each key has its own bucket", r.Status)
	}
}

func TestKeyLimiterRefills(t *testing.T) {
	kl := newKeyLimiter(2, 1)
	now := time.Now()
	if ok, _ := kl.allow("k", now); !ok {
		t.Fatal("first request refused")
	}
	ok, wait := kl.allow("k", now)
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("second request at once = %v, wait %v; want refused for up to 500ms", ok, wait)
	}
	if ok, _ := kl.allow("k", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("request after the refill refused")
	}
	if retryAfter(wait) != "1" || retryAfter(1500*time.Millisecond) != "2" {
		t.Fatalf("retryAfter = %q, %q; want whole seconds rounded up", retryAfter(wait), retryAfter(1500*time.Millisecond))
	}
}

// multipartBody is a multipart form with the given text fields and one file.
func multipartBody(t *testing.T, fields map[string]string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("file", "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	w.Close()
	return w.FormDataContentType(), &buf
}

func TestMultipartFormsAreReadBehindALimit(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	post := func(b *browser, fields map[string]string, size int) response {
		ct, body := multipartBody(t, fields, bytes.Repeat([]byte("a,b\n"), size/4))
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/logout", body)
		req.Header.Set("Content-Type", ct)
		return b.do(req)
	}
	b := a.signedIn("analyst@sentinel.demo")
	b.get("/")
	if r := post(b, map[string]string{"_csrf": b.csrf, "note": "bad\x00"}, 100); r.Status != http.StatusBadRequest {
		t.Errorf("multipart with a NUL in a field = %d, want 400", r.Status)
	}
	if r := post(b, map[string]string{"_csrf": b.csrf}, maxMultipartBody+1024); r.Status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(r.Body, "larger than the 1 MB allowed") {
		t.Errorf("multipart past the limit = %d, want 413 naming the limit", r.Status)
	}
	uploadLimits["Logout"] = 4 << 20
	t.Cleanup(func() { delete(uploadLimits, "Logout") })
	if r := post(b, map[string]string{"_csrf": b.csrf}, 2<<20); r.Status != http.StatusSeeOther {
		t.Errorf("multipart within the route's own limit, with the form's token = %d, want 303", r.Status)
	}
}

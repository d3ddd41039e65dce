package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/assets"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// getWith fetches path with the given request headers, as they are: the
// client neither asks for gzip on its own nor decodes the answer.
func (b *browser) getWith(path string, header map[string]string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.app.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := *b.client
	client.Transport = &http.Transport{DisableCompression: true}
	saved := b.client
	b.client = &client
	defer func() { b.client = saved }()
	return b.do(req)
}

func gunzip(t *testing.T, body string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("gzip.NewReader() = %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(b)
}

func varies(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

func TestAssetsAreServedCompressed(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), false)
	b := a.browser()
	for _, name := range []string{"app.css", "app.js", "htmx.min.js", "echarts.min.js"} {
		want, err := fs.ReadFile(assets.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		hash, _ := assets.Hash(name)
		t.Run(name+" goes gzipped to a client that accepts gzip", func(t *testing.T) {
			res := b.getWith(assets.URL(name), map[string]string{"Accept-Encoding": "gzip, deflate, br"})
			if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" || !varies(res.Header, "Accept-Encoding") {
				t.Fatalf("GET %s = %d, Content-Encoding %q, Vary %q; want 200 gzip varying on Accept-Encoding",
					name, res.Status, res.Header.Get("Content-Encoding"), res.Header.Values("Vary"))
			}
			if got := gunzip(t, res.Body); got != string(want) {
				t.Fatalf("GET %s gunzipped is %d bytes, want the %d bytes embedded", name, len(got), len(want))
			}
			if n := res.Header.Get("Content-Length"); n != strconv.Itoa(len(res.Body)) || len(res.Body) >= len(want) {
				t.Errorf("GET %s: Content-Length %s, %d bytes sent for %d", name, n, len(res.Body), len(want))
			}
			if etag := res.Header.Get("ETag"); etag != `"`+hash+`-gzip"` {
				t.Errorf("GET %s: ETag %s, want %q", name, etag, `"`+hash+`-gzip"`)
			}
			if !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || res.Header.Get("Content-Type") == "" {
				t.Errorf("GET %s: Cache-Control %q, Content-Type %q", name, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
			}
		})
		for _, ae := range []string{"", "identity", "gzip;q=0, deflate", "br"} {
			t.Run(name+" goes as it is for Accept-Encoding "+strconv.Quote(ae), func(t *testing.T) {
				res := b.getWith(assets.URL(name), map[string]string{"Accept-Encoding": ae})
				if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != "" || res.Body != string(want) {
					t.Fatalf("GET %s = %d, Content-Encoding %q, %d bytes; want 200, no encoding, the %d bytes embedded",
						name, res.Status, res.Header.Get("Content-Encoding"), len(res.Body), len(want))
				}
				if !varies(res.Header, "Accept-Encoding") || res.Header.Get("ETag") != `"`+hash+`"` ||
					res.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
					t.Errorf("GET %s: Vary %q, ETag %q, Content-Length %q", name, res.Header.Values("Vary"),
						res.Header.Get("ETag"), res.Header.Get("Content-Length"))
				}
			})
		}
	}

	t.Run("a revalidation with the ETag of the encoding sent answers 304", func(t *testing.T) {
		hash, _ := assets.Hash("app.css")
		old := "/assets/0000/app.css" // an old hash is served no-cache, so browsers revalidate it
		for _, tc := range []struct {
			acceptEncoding, etag string
			wantStatus           int
		}{
			{"gzip", `"` + hash + `-gzip"`, http.StatusNotModified},
			{"", `"` + hash + `"`, http.StatusNotModified},
			{"", `"` + hash + `-gzip"`, http.StatusOK},
			{"gzip", `"` + hash + `"`, http.StatusOK},
		} {
			res := b.getWith(old, map[string]string{"Accept-Encoding": tc.acceptEncoding, "If-None-Match": tc.etag})
			if res.Status != tc.wantStatus {
				t.Errorf("GET %s (Accept-Encoding %q, If-None-Match %s) = %d, want %d", old, tc.acceptEncoding, tc.etag, res.Status, tc.wantStatus)
			}
			if res.Status == http.StatusNotModified && (res.Body != "" || res.Header.Get("Cache-Control") != "no-cache") {
				t.Errorf("304 with body %q, Cache-Control %q", res.Body, res.Header.Get("Cache-Control"))
			}
		}
	})
}

func TestPagesAreServedCompressed(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	b := a.signedIn("analyst@sentinel.demo")
	for _, path := range []string{"/", "/queue"} {
		t.Run(path+" goes gzipped to a client that accepts gzip", func(t *testing.T) {
			plain := b.getWith(path, nil)
			if plain.Status != http.StatusOK || plain.Header.Get("Content-Encoding") != "" || !varies(plain.Header, "Accept-Encoding") {
				t.Fatalf("GET %s without Accept-Encoding = %d, Content-Encoding %q, Vary %q; want 200, no encoding, Vary Accept-Encoding",
					path, plain.Status, plain.Header.Get("Content-Encoding"), plain.Header.Values("Vary"))
			}
			res := b.getWith(path, map[string]string{"Accept-Encoding": "gzip"})
			if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" || !varies(res.Header, "Accept-Encoding") {
				t.Fatalf("GET %s = %d, Content-Encoding %q, Vary %q; want 200 gzip varying on Accept-Encoding",
					path, res.Status, res.Header.Get("Content-Encoding"), res.Header.Values("Vary"))
			}
			// The page names no time, so the same page comes twice.
			if got := gunzip(t, res.Body); got != plain.Body {
				t.Errorf("GET %s gunzipped differs from the page sent plain:\n%s\n---\n%s", path, got, plain.Body)
			}
			if !varies(res.Header, "HX-Request") || !varies(res.Header, "Cookie") {
				t.Errorf("GET %s: Vary %q lost the page's own", path, res.Header.Values("Vary"))
			}
		})
	}
	t.Run("a small answer goes as it is", func(t *testing.T) {
		res := b.getWith("/health", map[string]string{"Accept-Encoding": "gzip"})
		if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != "" || !varies(res.Header, "Accept-Encoding") {
			t.Fatalf("GET /health = %d, Content-Encoding %q, Vary %q; want 200, not encoded, Vary Accept-Encoding",
				res.Status, res.Header.Get("Content-Encoding"), res.Header.Values("Vary"))
		}
	})
	t.Run("a redirect with no body goes as it is", func(t *testing.T) {
		res := a.browser().getWith("/queue", map[string]string{"Accept-Encoding": "gzip"})
		if res.Status != http.StatusSeeOther || res.Header.Get("Content-Encoding") != "" || res.Header.Get("Location") == "" {
			t.Fatalf("anonymous GET /queue = %d, Content-Encoding %q, Location %q; want a plain 303 to login",
				res.Status, res.Header.Get("Content-Encoding"), res.Header.Get("Location"))
		}
	})
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"x-gzip", true},
		{"br, deflate", false},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"br;q=1, gzip;q=0.5", true},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestEChartsOnlyOnChartPages(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	b := a.signedIn("analyst@sentinel.demo")
	for _, path := range []string{"/", "/queue", "/queue?decision=any"} {
		if res := b.get(path); res.Status != http.StatusOK || strings.Contains(strings.ToLower(res.Body), "echarts") {
			t.Errorf("GET %s = %d and references ECharts; only pages that draw a chart may", path, res.Status)
		}
	}
	id := a.scoreOne("analyst@sentinel.demo", "chart-1", fullBalanceTransfer(181000))
	res := b.get("/transactions/" + id)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-echarts-src="`+assets.URL("echarts.min.js")+`"`) {
		t.Fatalf("GET the transaction page = %d, want the chart to name ECharts' hashed URL", res.Status)
	}
	if strings.Contains(res.Body, `<script src="`+assets.URL("echarts.min.js")) {
		t.Error("the transaction page loads ECharts from the layout; the page script loads it for the chart")
	}
	if bytes.Count([]byte(res.Body), []byte("<script")) != 2 {
		t.Errorf("the transaction page has %d script elements, want app.js and htmx only", bytes.Count([]byte(res.Body), []byte("<script")))
	}
}

package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/assets"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestNavigationShowsOnlyAllowedPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		home := a.signedIn("analyst@sentinel.demo").get("/")
		if strings.Contains(home.Body, `href="/settings/users"`) || strings.Contains(home.Body, `href="/audit"`) {
			t.Error("an analyst's navigation links to admin pages")
		}
		home = a.signedIn("admin@sentinel.demo").get("/")
		if !strings.Contains(home.Body, `href="/settings/users"`) || !strings.Contains(home.Body, `href="/audit"`) {
			t.Error("an admin's navigation lacks the admin pages")
		}
	})
}

func TestCrossTenantAccessIsNotFound(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		demoAdmin := a.user("admin@sentinel.demo")
		acme := a.signedIn("admin@acme.demo")
		cases := []struct {
			name            string
			path            string
			wantStatus      int
			wantContains    string
			wantNotContains string
		}{
			{"own user", "/settings/users/" + a.user("analyst@acme.demo").ID, http.StatusOK, "analyst@acme.demo", ""},
			{"another tenant's user", "/settings/users/" + demoAdmin.ID, http.StatusNotFound, "Not found", "admin@sentinel.demo"},
			{"a missing user", "/settings/users/0190f000-0000-7000-8000-000000000000", http.StatusNotFound, "Not found", ""},
			{"user list", "/settings/users", http.StatusOK, "admin@acme.demo", "sentinel.demo"},
			{"audit trail", "/audit", http.StatusOK, "admin@acme.demo", "sentinel.demo"},
		}
		a.signedIn("admin@sentinel.demo") // leaves a login event in the demo tenant's trail
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := acme.get(tc.path)
				if res.Status != tc.wantStatus {
					t.Fatalf("GET %s = %d, want %d", tc.path, res.Status, tc.wantStatus)
				}
				if !strings.Contains(res.Body, tc.wantContains) {
					t.Errorf("GET %s lacks %q", tc.path, tc.wantContains)
				}
				if tc.wantNotContains != "" && strings.Contains(res.Body, tc.wantNotContains) {
					t.Errorf("GET %s shows %q", tc.path, tc.wantNotContains)
				}
			})
		}
	})
}

func TestProbes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, false)
		b := a.browser()
		if res := b.get("/health"); res.Status != http.StatusOK {
			t.Fatalf("GET /health = %d, want 200", res.Status)
		}
		if res := b.get("/ready"); res.Status != http.StatusOK {
			t.Fatalf("GET /ready = %d, want 200", res.Status)
		}
		db.Close()
		res := b.get("/ready")
		var body readiness
		if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
			t.Fatalf("GET /ready body %q: %v", res.Body, err)
		}
		if res.Status != http.StatusServiceUnavailable || len(body.Failing) != 1 || body.Failing[0] != "database" {
			t.Fatalf("GET /ready with the database gone = %d %+v, want 503 naming database", res.Status, body)
		}
		if res := b.get("/health"); res.Status != http.StatusOK {
			t.Fatalf("GET /health with the database gone = %d, want 200", res.Status)
		}
	})
}

func TestAssetsAndHeaders(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), false)
	b := a.browser()
	res := b.get(assets.URL("app.css"))
	if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("GET app.css = %d %q %q", res.Status, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
	}
	if res := b.get("/assets/0000/app.css"); res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET app.css with an old hash = %d %q, want 200 no-cache", res.Status, res.Header.Get("Cache-Control"))
	}
	if res := b.get("/assets/0000/secret.go"); res.Status != http.StatusNotFound {
		t.Errorf("GET an unknown asset = %d, want 404", res.Status)
	}
	page := b.get("/login")
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if page.Header.Get("X-Content-Type-Options") != "nosniff" || page.Header.Get("Referrer-Policy") == "" {
		t.Error("security headers missing")
	}
	if strings.Contains(page.Body, "<script>") || strings.Contains(page.Body, " style=") {
		t.Error("the page has inline script or style, which the CSP forbids")
	}
	if res := b.get("/no/such/page"); res.Status != http.StatusSeeOther {
		t.Errorf("anonymous GET of an unknown page = %d, want 303 to login", res.Status)
	}
}

func TestUnknownPageIsFriendly404(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		res := a.signedIn("analyst@sentinel.demo").get("/no/such/page")
		if res.Status != http.StatusNotFound || !strings.Contains(res.Body, "Not found") || !strings.Contains(res.Body, "Alex Analyst") {
			t.Fatalf("GET unknown page = %d, want a 404 inside the app shell", res.Status)
		}
	})
}

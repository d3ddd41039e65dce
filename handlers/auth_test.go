package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func TestLogin(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		t.Run("signs in and shows user, role and tenant", func(t *testing.T) {
			b := a.browser()
			page := b.get("/login")
			if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="demo-credentials"`) {
				t.Fatalf("GET /login = %d, want 200 with the demo credentials", page.Status)
			}
			b.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: "sentinel_session", Value: "planted-by-attacker"}})
			b.get("/login")
			res := b.post("/login", url.Values{"email": {"Senior@Sentinel.demo"}, "password": {seed.DemoPassword}}, true)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				t.Fatalf("POST /login = %d to %q, want 303 to /", res.Status, res.Header.Get("Location"))
			}
			if tok := b.cookie("sentinel_session"); tok == "" || tok == "planted-by-attacker" {
				t.Fatalf("session cookie after login = %q, want a new token", tok)
			}
			home := b.get("/")
			for _, want := range []string{"Sam Senior", "Senior analyst", "Demo Bank", "senior@sentinel.demo"} {
				if !strings.Contains(home.Body, want) {
					t.Errorf("home page lacks %q", want)
				}
			}
			if n := count(a.auditActions("senior@sentinel.demo"), store.ActionLogin); n != 1 {
				t.Errorf("login audit events = %d, want 1", n)
			}
		})
		t.Run("wrong password is refused and audited", func(t *testing.T) {
			b := a.browser()
			res := b.login("analyst@sentinel.demo", "wrong")
			if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Email or password is incorrect") {
				t.Fatalf("login with wrong password = %d, want 401 with a message", res.Status)
			}
			if strings.Contains(res.Body, "wrong") {
				t.Error("the page echoes the password back")
			}
			if b.get("/").Status != http.StatusSeeOther {
				t.Error("GET / after a failed login is not redirected to the login page")
			}
			if n := count(a.auditActions("analyst@sentinel.demo"), store.ActionLoginFailed); n != 1 {
				t.Errorf("failed-login audit events = %d, want 1", n)
			}
		})
		t.Run("an unknown email gets the same answer", func(t *testing.T) {
			res := a.browser().login("nobody@sentinel.demo", "whatever")
			if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Email or password is incorrect") {
				t.Fatalf("login with unknown email = %d, want 401", res.Status)
			}
		})
		t.Run("empty form is a validation error", func(t *testing.T) {
			res := a.browser().login("", "")
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("empty login = %d, want 422", res.Status)
			}
		})
		t.Run("returns to the page asked for, never off-site", func(t *testing.T) {
			b := a.browser()
			res := b.get("/settings/users")
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fsettings%2Fusers" {
				t.Fatalf("anonymous GET /settings/users = %d to %q", res.Status, res.Header.Get("Location"))
			}
			b.get("/login?next=%2Fsettings%2Fusers")
			res = b.post("/login", url.Values{"email": {"admin@sentinel.demo"}, "password": {seed.DemoPassword}, "next": {"/settings/users"}}, true)
			if res.Header.Get("Location") != "/settings/users" {
				t.Fatalf("login redirect = %q, want /settings/users", res.Header.Get("Location"))
			}
			b2 := a.browser()
			b2.get("/login")
			res = b2.post("/login", url.Values{"email": {"admin@sentinel.demo"}, "password": {seed.DemoPassword}, "next": {"//evil.example"}}, true)
			if res.Header.Get("Location") != "/" {
				t.Fatalf("login redirect with next=//evil.example = %q, want /", res.Header.Get("Location"))
			}
		})
	})
}

func TestLogout(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("analyst@sentinel.demo")
		b.get("/")
		res := b.post("/logout", url.Values{}, true)
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("POST /logout = %d to %q, want 303 to /login", res.Status, res.Header.Get("Location"))
		}
		if got := b.get("/"); got.Status != http.StatusSeeOther {
			t.Fatalf("GET / after logout = %d, want 303", got.Status)
		}
		if n := count(a.auditActions("analyst@sentinel.demo"), store.ActionLogout); n != 1 {
			t.Errorf("logout audit events = %d, want 1", n)
		}
	})
}

func TestLoginThrottling(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		t.Run("by email and address", func(t *testing.T) {
			b := a.browser()
			for i := 0; i < store.LoginMaxPerEmailIP; i++ {
				if res := b.login("analyst@acme.demo", "wrong"); res.Status != http.StatusUnauthorized {
					t.Fatalf("failure %d = %d, want 401", i+1, res.Status)
				}
			}
			res := b.login("analyst@acme.demo", seed.DemoPassword)
			if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many failed sign-in attempts") ||
				res.Header.Get("Retry-After") != "900" {
				t.Fatalf("login after %d failures = %d (Retry-After %q), want 429 with a message", store.LoginMaxPerEmailIP,
					res.Status, res.Header.Get("Retry-After"))
			}
			if b.get("/").Status != http.StatusSeeOther {
				t.Error("a throttled login with the right password signed in")
			}
			if n := count(a.auditActions("analyst@acme.demo"), store.ActionLoginThrottled); n != 1 {
				t.Errorf("throttle audit events = %d, want 1", n)
			}
		})
		t.Run("a concurrent burst gets five tries", func(t *testing.T) {
			b := a.browser()
			b.get("/login")
			statuses := make(chan int, 30)
			var wg sync.WaitGroup
			for range 30 {
				wg.Go(func() {
					form := url.Values{"email": {"senior@acme.demo"}, "password": {"wrong"}, "_csrf": {b.csrf}}
					req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/login", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					for _, ck := range b.client.Jar.Cookies(mustURL(a.srv.URL)) {
						req.AddCookie(ck)
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					statuses <- res.StatusCode
				})
			}
			wg.Wait()
			close(statuses)
			got := map[int]int{}
			for st := range statuses {
				got[st]++
			}
			if got[http.StatusUnauthorized] != store.LoginMaxPerEmailIP || got[http.StatusTooManyRequests] != 30-store.LoginMaxPerEmailIP {
				t.Fatalf("statuses of 30 concurrent bad sign-ins = %v, want %d × 401 and the rest 429", got, store.LoginMaxPerEmailIP)
			}
		})
	})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Log("by address")
		a := newTestApp(t, db, true)
		b := a.browser()
		for i := 0; i < store.LoginMaxPerIP; i++ {
			// A forged X-Forwarded-For does not help: the server trusts no proxy by default.
			b.header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
			if res := b.login(fmt.Sprintf("unknown%d@example.test", i), "wrong"); res.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d = %d, want 401", i+1, res.Status)
			}
		}
		res := b.login("admin@acme.demo", seed.DemoPassword)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("login from an address with %d failures = %d, want 429", store.LoginMaxPerIP, res.Status)
		}
	})
}

func TestCSRF(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		t.Run("login without a token is refused", func(t *testing.T) {
			b := a.browser()
			b.get("/login")
			res := b.post("/login", url.Values{"email": {"admin@sentinel.demo"}, "password": {seed.DemoPassword}}, false)
			if res.Status != http.StatusForbidden {
				t.Fatalf("POST /login without token = %d, want 403", res.Status)
			}
		})
		t.Run("logout with a wrong token is refused", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			res := b.post("/logout", url.Values{"_csrf": {"forged"}}, false)
			if res.Status != http.StatusForbidden {
				t.Fatalf("POST /logout with forged token = %d, want 403", res.Status)
			}
			if b.get("/").Status != http.StatusOK {
				t.Fatal("the forged logout ended the session")
			}
		})
		t.Run("htmx requests carry the token in a header", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			b.get("/")
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/logout", nil)
			req.Header.Set("HX-Request", "true")
			req.Header.Set("X-CSRF-Token", b.csrf)
			if res := b.do(req); res.Status != http.StatusSeeOther {
				t.Fatalf("htmx POST /logout with header token = %d, want 303", res.Status)
			}
		})
		t.Run("a planted cookie with the same form value is refused", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			b.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: "sentinel_csrf", Value: "planted"}, {Name: "_csrf", Value: "planted"}})
			res := b.post("/logout", url.Values{"_csrf": {"planted"}}, false)
			if res.Status != http.StatusForbidden {
				t.Fatalf("POST /logout with a planted token = %d, want 403", res.Status)
			}
		})
		t.Run("the token is not read from the query string", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			b.get("/")
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/logout?_csrf="+url.QueryEscape(b.csrf), nil)
			if res := b.do(req); res.Status != http.StatusForbidden {
				t.Fatalf("POST /logout?_csrf=<valid token> = %d, want 403", res.Status)
			}
		})
		t.Run("another session's token is refused", func(t *testing.T) {
			other := a.signedIn("senior@sentinel.demo")
			other.get("/")
			b := a.signedIn("analyst@sentinel.demo")
			b.get("/")
			if other.csrf == b.csrf {
				t.Fatal("two sessions share a CSRF token")
			}
			if res := b.post("/logout", url.Values{"_csrf": {other.csrf}}, false); res.Status != http.StatusForbidden {
				t.Fatalf("POST /logout with another session's token = %d, want 403", res.Status)
			}
		})
		t.Run("sign-in gives a new token", func(t *testing.T) {
			b := a.browser()
			b.get("/login")
			before := b.csrf
			b.login("analyst@sentinel.demo", seed.DemoPassword)
			b.get("/")
			if b.csrf == "" || b.csrf == before {
				t.Fatalf("CSRF token after sign-in = %q, before %q; want a new one", b.csrf, before)
			}
		})
		t.Run("a cross-site browser request is refused", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			b.get("/")
			b.header.Set("Sec-Fetch-Site", "cross-site")
			res := b.post("/logout", url.Values{}, true)
			if res.Status != http.StatusForbidden {
				t.Fatalf("cross-site POST /logout = %d, want 403", res.Status)
			}
		})
	})
}

func TestLoginPageHidesDemoCredentialsWithoutDemoData(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), false)
	res := a.browser().get("/login")
	if res.Status != http.StatusOK || strings.Contains(res.Body, "demopass123") {
		t.Fatalf("GET /login on an empty database = %d, shows demo password: %v", res.Status, strings.Contains(res.Body, "demopass123"))
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/cases?x=1":          "/cases?x=1",
		"/queue?q=a%20b":      "/queue?q=a%20b",
		"":                    "/",
		"https://evil.test":   "/",
		"https:evil":          "/",
		"//evil.test":         "/",
		"/\\evil.test":        "/",
		"\\/evil":             "/",
		"/\t/evil.example":    "/",
		"/\n/evil.example":    "/",
		"/%09/evil.example":   "/",
		"/%2F%2Fevil":         "/",
		"/%2f/evil":           "/",
		"/ok\r\nSet-Cookie":   "/",
		"/ok evil":            "/",
		"/%E2%80%A8evil":      "/",
		"/%zz":                "/",
		"/transactions/abc-1": "/transactions/abc-1",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

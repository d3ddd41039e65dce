package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/replay"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
	"github.com/sentinel-fraud/sentinel/upload"
)

// testApp is a real server (router, middleware, sessions, CSRF) on a freshly
// migrated and seeded database.
type testApp struct {
	t      *testing.T
	db     *store.DB
	scorer *live.Scorer
	srv    *httptest.Server
	// uploadsSvc runs the app's upload jobs.
	uploadsSvc *upload.Service
	replay     *replay.Engine
	clock      *replay.FakeClock // the replay engine's, unless the test gave its own
}

func newTestApp(t *testing.T, db *store.DB, seeded bool) *testApp {
	t.Helper()
	if !seeded {
		return startTestApp(t, db, Config{})
	}
	return newTestAppWith(t, db, Config{})
}

// newTestAppWith is a seeded app with the given configuration.
func newTestAppWith(t *testing.T, db *store.DB, cfg Config) *testApp {
	t.Helper()
	if err := seed.Demo(context.Background(), db); err != nil {
		t.Fatalf("seed.Demo() = %v", err)
	}
	return startTestApp(t, db, cfg)
}

func startTestApp(t *testing.T, db *store.DB, cfg Config) *testApp {
	t.Helper()
	scorer := live.NewScorer(db)
	ctx, cancel := context.WithCancel(context.Background())
	go scorer.RunWriter(ctx)
	t.Cleanup(cancel)
	if cfg.Uploads == nil {
		cfg.Uploads = upload.New(db, scorer, cfg.UploadLimits, cfg.Now)
	}
	t.Cleanup(cfg.Uploads.Wait) // before the database closes
	// Replays run on a clock that moves only when a test says so.
	clock := replay.NewFakeClock(time.Now())
	if cfg.Replay == nil {
		cfg.Replay = replay.New(db, scorer, clock, "test")
	}
	t.Cleanup(cfg.Replay.Close)
	srv := httptest.NewServer(New(db, scorer, cfg))
	t.Cleanup(srv.Close)
	return &testApp{t: t, db: db, scorer: scorer, srv: srv, uploadsSvc: cfg.Uploads, replay: cfg.Replay, clock: clock}
}

// eachApp runs fn on a seeded app over every configured database.
func eachApp(t *testing.T, fn func(t *testing.T, a *testApp)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newTestApp(t, db, true)) })
}

// browser is a cookie-keeping client that does not follow redirects and
// remembers the CSRF token of the last page it read, as a browser would.
type browser struct {
	t      *testing.T
	app    *testApp
	client *http.Client
	csrf   string
	header http.Header
}

type response struct {
	Status int
	Body   string
	Header http.Header
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (a *testApp) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: a.t, app: a, header: http.Header{}, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{Status: res.StatusCode, Body: string(body), Header: res.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.app.srv.URL+path, nil)
	return b.do(req)
}

// post submits a form; withToken adds the CSRF token the last page carried.
func (b *browser) post(path string, form url.Values, withToken bool) response {
	b.t.Helper()
	if withToken {
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(email, password string) response {
	b.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"email": {email}, "password": {password}}, true)
}

// signedIn returns a browser logged in as email.
func (a *testApp) signedIn(email string) *browser {
	a.t.Helper()
	b := a.browser()
	if res := b.login(email, seed.DemoPassword); res.Status != http.StatusSeeOther {
		a.t.Fatalf("login %s: status %d, want 303\n%s", email, res.Status, res.Body)
	}
	return b
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.app.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// user looks up a seeded user by email.
func (a *testApp) user(email string) *store.User {
	a.t.Helper()
	u, err := store.AdminFindLoginUser(context.Background(), a.db, email)
	if err != nil {
		a.t.Fatalf("find %s: %v", email, err)
	}
	return u
}

// auditActions lists the actions in a user's tenant's audit trail, newest first.
func (a *testApp) auditActions(email string) []string {
	a.t.Helper()
	u := a.user(email)
	rows, err := store.ListAudit(context.Background(), store.ForTenant(a.db, u.TenantID), store.AuditFilter{Limit: 500})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// stopReplay stops the demo bank's running replay, if any.
func (a *testApp) stopReplay() {
	a.t.Helper()
	if _, err := store.StopReplay(context.Background(), a.demoTenant(), store.Actor{Email: "test"}, time.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.t.Fatal(err)
	}
}

// startReplay stores a running replay of the demo bank (none of this
// app's engines runs it), unless one runs.
func (a *testApp) startReplay() {
	a.t.Helper()
	run := &store.ReplayRun{Rate: 1, DurationS: 10}
	if err := store.StartReplay(context.Background(), a.demoTenant(), store.Actor{Email: "test"}, run, "elsewhere", time.Now()); err != nil && !errors.Is(err, store.ErrReplayRunning) {
		a.t.Fatal(err)
	}
}

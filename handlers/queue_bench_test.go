package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
)

// BenchmarkQueueViews measures the server time of every queue view (router,
// session, the store's queries, rendering; over loopback) on an existing
// database, signed in as a demo user of the tenant to read, with p50 and
// p95 over the runs. Deep pages start a third of the way into the view.
//
//	sentinel seed --tenant acme-pay --transactions 1000000    # with DATABASE_URL
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=analyst@acme.demo \
//	  go test -run '^$' -bench QueueViews -benchtime 200x ./handlers
func BenchmarkQueueViews(b *testing.B) {
	db, _, u := benchDB(b)
	ctx, email := context.Background(), u.Email
	tn := store.ForTenant(db, u.TenantID)
	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{}))
	defer srv.Close()
	client := benchLogin(b, srv.URL, email)

	// Deep cursors: a third of the way down each order.
	n, err := store.CountTransactions(ctx, tn)
	if err != nil {
		b.Fatal(err)
	}
	var cursors []string // the last id of each page of 200 of the review set
	for f := (store.QueueFilter{Review: true, Sort: store.SortRisk, Limit: 200}); ; {
		p, err := store.ListQueue(ctx, tn, f)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Rows) == 0 {
			break
		}
		f.After = p.Rows[len(p.Rows)-1].ID
		cursors = append(cursors, f.After)
		if !p.HasNext {
			break
		}
	}
	if len(cursors) == 0 {
		b.Fatal("nothing needs review")
	}
	newest, _ := store.NewestTransactionID(ctx, tn)
	oldestPage, err := store.ListQueue(ctx, tn, store.QueueFilter{Before: store.NewIDAt(time.Unix(0, 0)), Limit: 1})
	if err != nil || len(oldestPage.Rows) == 0 {
		b.Fatalf("no oldest row: %v", err)
	}
	// Time order: an id two thirds of the way back in time.
	first, last := oldestPage.Rows[0].ReceivedAt, time.Now()
	timeCursor := store.NewIDAt(last.Add(-last.Sub(first) / 3))
	mid, err := store.ListQueue(ctx, tn, store.QueueFilter{After: timeCursor, Limit: 1})
	if err != nil || len(mid.Rows) == 0 {
		b.Fatalf("no middle row: %v", err)
	}
	reviewDeep := cursors[len(cursors)/3]
	b.Logf("%d transactions, about %d to review; deep cursors: time %s, score %s, review %s",
		n, 200*len(cursors), timeCursor, mid.Rows[0].ID, reviewDeep)

	views := []struct{ name, path string }{
		{"review by risk", "/queue"},
		{"review by risk, deep page", "/queue?view=review&sort=risk&after=" + reviewDeep},
		{"review by risk, previous page", "/queue?view=review&sort=risk&before=" + reviewDeep},
		{"review newest first", "/queue?view=review&sort=time"},
		{"review newest first, deep page", "/queue?view=review&sort=time&after=" + timeCursor},
		{"review, critical", "/queue?view=review&band=critical"},
		{"review, medium", "/queue?view=review&band=medium"},
		{"review, critical and medium", "/queue?view=review&band=critical&band=medium"},
		{"review, type DEBIT", "/queue?view=review&type=DEBIT"},
		{"review, type TRANSFER, min score 0.9", "/queue?view=review&type=TRANSFER&min_score=0.9"},
		{"review, account", "/queue?view=review&account=" + mid.Rows[0].NameOrig},
		{"all newest first", "/queue?view=all"},
		{"all newest first, deep page", "/queue?view=all&after=" + timeCursor},
		{"all newest first, previous page", "/queue?view=all&before=" + timeCursor},
		{"all by score", "/queue?view=all&sort=score"},
		{"all by score, deep page", "/queue?view=all&sort=score&after=" + mid.Rows[0].ID},
		{"all, undecided", "/queue?view=all&decision=undecided"},
		{"all, confirmed fraud", "/queue?view=all&decision=confirmed_fraud"},
		{"all, low band by score", "/queue?view=all&band=low&sort=score"},
		{"all, high and critical", "/queue?view=all&band=high&band=critical"},
		{"all, critical", "/queue?view=all&band=critical"},
		{"all, critical by score, deep page", "/queue?view=all&band=critical&sort=score&after=" + reviewDeep},
		{"all, low band", "/queue?view=all&band=low"},
		{"all, type DEBIT", "/queue?view=all&type=DEBIT"},
		{"all, type TRANSFER, min score 0.9", "/queue?view=all&type=TRANSFER&min_score=0.9"},
		{"all, account", "/queue?view=all&account=" + mid.Rows[0].NameOrig},
		{"poll, first page", "/queue/new?view=review&sort=time&top=1&newest=" + newest},
		{"poll, deep page", "/queue/new?view=review&sort=risk&newest=" + newest},
		{"poll, all", "/queue/new?view=all&sort=time&top=1&newest=" + newest},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) { timeGets(b, client, srv.URL+v.path, false) })
	}
}

// timeGets requests url with client at every turn of the benchmark (as htmx
// does when htmx is set) and reports the p50 and p95 of the round trips.
func timeGets(b *testing.B, client *http.Client, url string, htmx bool) {
	var took []time.Duration
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		took = append(took, time.Since(start))
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d", url, res.StatusCode)
		}
	}
	reportPercentiles(b, took)
}

// reportPercentiles reports the p50 and p95 of took, in milliseconds.
func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
}

// benchLogin signs in as email with the demo password and returns the
// client holding the session.
func benchLogin(b *testing.B, base, email string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/login")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		b.Fatal("no CSRF token on the login page")
	}
	form := url.Values{"email": {email}, "password": {seed.DemoPassword}, "_csrf": {string(m[1])}}
	res, err = c.Post(base+"/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login %s = %d", email, res.StatusCode)
	}
	return c
}

// benchDB opens the database of SENTINEL_BENCH_DATABASE_URL for a view
// benchmark and finds the user SENTINEL_BENCH_EMAIL it signs in as; it
// skips the benchmark when either is unset.
func benchDB(b *testing.B) (*store.DB, string, *store.User) {
	dsn, email := os.Getenv("SENTINEL_BENCH_DATABASE_URL"), os.Getenv("SENTINEL_BENCH_EMAIL")
	if dsn == "" || email == "" {
		b.Skip("SENTINEL_BENCH_DATABASE_URL and SENTINEL_BENCH_EMAIL are not set")
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	db, err := store.Open(dsn, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	u, err := store.AdminFindLoginUser(context.Background(), db, email)
	if err != nil {
		b.Fatal(err)
	}
	return db, dsn, u
}

package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// newMetricsApp is a seeded test app with metrics on, wired as serve wires
// it: the scorer is instrumented, then preloads every tenant's model.
func newMetricsApp(t *testing.T, db *store.DB) (*testApp, *Metrics) {
	t.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatalf("seed.Demo() = %v", err)
	}
	scorer := live.NewScorer(db)
	m, err := NewMetrics(prometheus.NewRegistry(), db, scorer)
	if err != nil {
		t.Fatalf("NewMetrics() = %v", err)
	}
	if err := scorer.Preload(ctx); err != nil {
		t.Fatalf("Preload() = %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	go scorer.RunWriter(wctx)
	t.Cleanup(cancel)
	srv := httptest.NewServer(New(db, scorer, Config{Metrics: m}))
	t.Cleanup(srv.Close)
	return &testApp{t: t, db: db, scorer: scorer, srv: srv}, m
}

// scrape reads the metrics as Prometheus does.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, m := newMetricsApp(t, db)
		const missing = "0190f000-0000-7000-8000-000000000000"
		b := a.signedIn("analyst@sentinel.demo")
		for _, r := range []struct {
			res  response
			want int
		}{
			{a.browser().get("/health"), http.StatusOK},
			{b.get("/transactions/" + missing), http.StatusNotFound},
			{b.get("/no/such/page"), http.StatusNotFound},
			{a.api("POST", "/api/v1/score", a.apiKey("admin@sentinel.demo"), txJSON("m-1")), http.StatusCreated},
		} {
			if r.res.Status != r.want {
				t.Fatalf("status %d, want %d: %s", r.res.Status, r.want, r.res.Body)
			}
		}
		got := scrape(t, m)
		dialect := string(db.Dialect())

		for _, tc := range []struct {
			name            string
			wantContains    []string
			wantNotContains []string
		}{
			{
				name: "counts and times requests by route template and status",
				wantContains: []string{
					`sentinel_http_requests_total{method="GET",route="/health",status="200"} 1` + "\n",
					`sentinel_http_requests_total{method="GET",route="/transactions/:id",status="404"} 1` + "\n",
					`sentinel_http_requests_total{method="POST",route="/api/v1/score",status="201"} 1` + "\n",
					`sentinel_http_requests_total{method="POST",route="/login",status="303"} 1` + "\n",
					`sentinel_http_request_duration_seconds_count{method="POST",route="/api/v1/score",status="201"} 1` + "\n",
					`sentinel_http_request_duration_seconds_bucket{method="GET",route="/health",status="200",le="+Inf"} 1` + "\n",
				},
			},
			{
				name:            "puts unknown paths under one label and never a raw URL",
				wantContains:    []string{`sentinel_http_requests_total{method="GET",route="unmatched",status="404"} 1` + "\n"},
				wantNotContains: []string{missing, "/no/such/page", `route="/*"`},
			},
			{
				name: "counts the scored transaction by band and source and times its scoring",
				wantContains: []string{
					`sentinel_scored_transactions_total{band="critical",source="api"} 1` + "\n",
					`sentinel_scored_transactions_total{band="low",source="api"} 0` + "\n",
					"sentinel_scoring_duration_seconds_count 1\n",
				},
			},
			{
				name: "reports each tenant's backlog and live model",
				wantContains: []string{
					`sentinel_queue_backlog{tenant="demo-bank-01"} 1` + "\n",
					`sentinel_queue_backlog{tenant="acme-pay"} 0` + "\n",
					`sentinel_model_info{model="paysim-gbdt",tenant="demo-bank-01",version="1"} 1` + "\n",
					`sentinel_model_info{model="paysim-gbdt",tenant="acme-pay",version="1"} 1` + "\n",
				},
			},
			{
				name: "reports the database pool",
				wantContains: []string{
					`go_sql_max_open_connections{db_name="` + dialect + `"} `,
					`go_sql_open_connections{db_name="` + dialect + `"} `,
					`go_sql_in_use_connections{db_name="` + dialect + `"} `,
					`go_sql_idle_connections{db_name="` + dialect + `"} `,
					`go_sql_wait_count_total{db_name="` + dialect + `"} `,
					`go_sql_wait_duration_seconds_total{db_name="` + dialect + `"} `,
				},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, s := range tc.wantContains {
					if !strings.Contains(got, s) {
						t.Errorf("metrics lack %q", s)
					}
				}
				for _, s := range tc.wantNotContains {
					if strings.Contains(got, s) {
						t.Errorf("metrics contain %q", s)
					}
				}
			})
		}
		if t.Failed() {
			t.Logf("metrics:\n%s", got)
		}
	})
}

func TestMetricsAreNotOnThePublicRouter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := newMetricsApp(t, db)
		for _, tc := range []struct {
			name       string
			b          *browser
			wantStatus int
		}{
			{"sends an anonymous visitor to the login page", a.browser(), http.StatusSeeOther},
			{"answers an admin 404", a.signedIn("admin@sentinel.demo"), http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := tc.b.get("/metrics")
				if res.Status != tc.wantStatus || strings.Contains(res.Body, "sentinel_") {
					t.Fatalf("GET /metrics = %d, want %d without metrics:\n%s", res.Status, tc.wantStatus, res.Body)
				}
			})
		}
	})
}

func TestBacklogIsCountedAtMostOncePerTTL(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	c := newTenantCollector(a.db, a.scorer)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	backlog := func() int64 {
		t.Helper()
		for _, tb := range c.counts() {
			if tb.slug == "demo-bank-01" && tb.counted {
				return tb.backlog
			}
		}
		t.Fatalf("counts() = %+v, want demo-bank-01 counted", c.counts())
		return 0
	}
	for _, tc := range []struct {
		name    string
		score   int // transactions to score first, the first of them critical
		advance time.Duration
		want    int64
	}{
		{"counts at the first scrape", 1, 0, 1},
		{"serves the last count within the TTL", 1, backlogTTL - time.Second, 1},
		{"counts again once the TTL has passed", 0, time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.scoreN("analyst@sentinel.demo", tc.score, tc.name)
			now = now.Add(tc.advance)
			if got := backlog(); got != tc.want {
				t.Fatalf("backlog = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBacklogIsLeftOutWhenItCannotBeCounted(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	c := newTenantCollector(a.db, a.scorer)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	if got := c.counts(); len(got) != 2 || !got[0].counted || !got[1].counted {
		t.Fatalf("counts() = %+v, want both demo tenants counted", got)
	}
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(backlogTTL)
	got := c.counts()
	if len(got) != 2 || got[0].counted || got[1].counted || got[0].slug == "" {
		t.Fatalf("counts() on a closed database = %+v, want both tenants, neither counted", got)
	}
}

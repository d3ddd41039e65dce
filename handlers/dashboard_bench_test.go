package handlers

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// BenchmarkDashboardViews measures the server time of the dashboard (every
// panel of the page in one request: the rollups summed by hour, by type and
// band and by country, the backlog, the high-risk list, the ticker and the
// replay panel), the ticker's poll, the replay panel and the store's
// rollup read alone, on an existing database, with p50 and p95 over the runs.
//
//	sentinel seed --tenant acme-pay --transactions 1000000 --days 30    # with DATABASE_URL
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=senior@acme.demo \
//	  go test -run '^$' -bench DashboardViews -benchtime 100x ./handlers
func BenchmarkDashboardViews(b *testing.B) {
	db, _, u := benchDB(b)
	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{}))
	defer srv.Close()
	client := benchLogin(b, srv.URL, u.Email)
	for _, v := range []struct{ name, path string }{
		{"dashboard 24 h", "/?window=24h"},
		{"dashboard 7 days", "/?window=7d"},
		{"dashboard 30 days", "/?window=30d"},
		{"dashboard all time", "/?window=all"},
		{"dashboard 30 days, US states, fraud rate", "/?window=30d&map=us&metric=fraud"},
		{"ticker poll", "/dashboard/ticker?since=0"},
		{"replay panel", "/replay"},
	} {
		b.Run(v.name, func(b *testing.B) { timeGets(b, client, srv.URL+v.path, true) })
	}
	tn := store.ForTenant(db, u.TenantID)
	for _, w := range []string{window24h, window7d, window30d, windowAll} {
		b.Run("rollups alone, "+w, func(b *testing.B) {
			from, _ := windowBounds(w, time.Now())
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := store.LoadDashboard(context.Background(), tn, from, time.Time{}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			reportPercentiles(b, took)
		})
	}
}

package handlers

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the benchmark's setup makes a hub with SQL

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// benchHub is the account the benchmark makes a hub of, and benchHubSize
// how many transactions it must have: 60% of them received.
const (
	benchHub     = "CHUB0000001"
	benchHubSize = 100000
)

// BenchmarkEntityViews measures the server time of the entity pages for a
// hub account (router, session, the store's queries, charts, rendering;
// over loopback) on an existing PostgreSQL database, signed in as a demo
// user of the tenant, with p50 and p95 over the runs. The simulator's
// busiest accounts have a few thousand transactions, so the setup makes a
// hub: it renames the receiver of 60,000 and the sender of 40,000 random
// transactions of the tenant (once; then VACUUM ANALYZE).
//
//	sentinel seed --tenant acme-pay --transactions 1000000 --days 30    # with DATABASE_URL
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=analyst@acme.demo \
//	  go test -run '^$' -bench EntityViews -benchtime 100x ./handlers
func BenchmarkEntityViews(b *testing.B) {
	db, dsn, u := benchDB(b)
	ctx, email := context.Background(), u.Email
	tn := store.ForTenant(db, u.TenantID)
	makeHub(b, dsn, u.TenantID)
	// The first profile of the hub since it was made keeps its rollups:
	// a one-off cost, logged here.
	start := time.Now()
	hub, err := store.ProfileEntity(ctx, tn, benchHub, time.Now(), graphTop)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first profile of the hub: %v", time.Since(start))
	via := hub.Counterparties[0].Account
	n, err := store.CountTransactions(ctx, tn)
	if err != nil {
		b.Fatal(err)
	}
	// An ordinary account: the sender of the newest transaction that is
	// not the hub's (a tenth of them are).
	page, err := store.ListQueue(ctx, tn, store.QueueFilter{Limit: 50})
	if err != nil {
		b.Fatal(err)
	}
	ordinary := ""
	for _, r := range page.Rows {
		if r.NameOrig != benchHub && r.NameDest != benchHub {
			ordinary = r.NameOrig
			break
		}
	}
	if ordinary == "" {
		b.Fatal("no transaction without the hub among the newest 50")
	}
	for _, a := range []string{benchHub, via} {
		if _, err := store.AddWatch(ctx, tn, store.Actor{Email: "benchmark"}, store.WatchInput{Account: a, Kind: store.WatchBlocked,
			Reason: "benchmark"}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d transactions in the tenant; hub %s: %d sent, %d received, %d counterparties; second hop through %s",
		n, benchHub, hub.Sent.Count, hub.Received.Count, hub.CounterpartyCount, via)

	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{}))
	defer srv.Close()
	client := benchLogin(b, srv.URL, email)
	// A deep cursor: the hub's transactions older than two weeks.
	older := store.NewIDAt(time.Now().Add(-14 * 24 * time.Hour))
	views := []struct {
		name, path string
		htmx       bool
	}{
		{"hub: page", "/entities/" + benchHub, false},
		{"hub: graph with a second hop (htmx)", "/entities/" + benchHub + "/graph?via=" + via, true},
		{"hub: page with a second hop", "/entities/" + benchHub + "/graph?via=" + via, false},
		{"hub: older transactions (htmx)", "/entities/" + benchHub + "?after=" + older, true},
		{"ordinary account: page", "/entities/" + ordinary, false},
		{"queue: review, blocked accounts", "/queue?view=review&watch=blocked", false},
		{"queue: all, on a watchlist", "/queue?view=all&watch=any", false},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) { timeGets(b, client, srv.URL+v.path, v.htmx) })
	}
}

// makeHub gives benchHub benchHubSize transactions of the tenant, unless
// it has them: it becomes the receiver of 60% and the sender of 40% of as
// many random transactions. The tenant's account rollups are dropped (the
// renamed transactions are in none), so the benchmark's first profile of
// the hub keeps them again; then the table is vacuumed and analysed, as
// autovacuum leaves it.
func makeHub(b *testing.B, dsn, tenantID string) {
	b.Helper()
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer sqlDB.Close()
	var have int
	if err := sqlDB.QueryRow(`SELECT (SELECT COUNT(*) FROM transactions WHERE tenant_id = $1 AND name_orig = $2) +
		(SELECT COUNT(*) FROM transactions WHERE tenant_id = $1 AND name_dest = $2)`, tenantID, benchHub).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have >= benchHubSize {
		return
	}
	for _, side := range []struct {
		column string
		n      int
	}{{"name_dest", (benchHubSize - have) * 6 / 10}, {"name_orig", benchHubSize - have - (benchHubSize-have)*6/10}} {
		if _, err := sqlDB.Exec(`UPDATE transactions SET `+side.column+` = $2 WHERE tenant_id = $1 AND id IN (
			SELECT id FROM transactions WHERE tenant_id = $1 AND name_orig <> $2 AND name_dest <> $2 ORDER BY random() LIMIT $3)`,
			tenantID, benchHub, side.n); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{`DELETE FROM account_pairs WHERE tenant_id = $1`, `DELETE FROM account_days WHERE tenant_id = $1`,
		`DELETE FROM account_rollups WHERE tenant_id = $1`} {
		if _, err := sqlDB.Exec(q, tenantID); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := sqlDB.Exec(`VACUUM ANALYZE transactions`); err != nil {
		b.Fatal(err)
	}
}

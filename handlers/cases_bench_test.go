package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the benchmark's setup makes the cases with SQL

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// benchCases is how many cases the benchmark makes, each with
// benchCaseTxs transactions of the tenant (distinct ones).
const (
	benchCases   = 10000
	benchCaseTxs = 50
)

// BenchmarkCaseViews measures the server time of the case list and the
// case page (router, session, breach check, the store's queries,
// rendering; over loopback) on an existing PostgreSQL database with
// 10,000 cases of 50 transactions each, signed in as a demo user of the
// tenant, with p50 and p95 over the runs. The setup makes the cases once
// with SQL (the tenant needs 500,000 transactions): 60% closed, the rest
// open, investigating, waiting or escalated, every priority, opened over
// the last 30 days, a timeline entry per link plus one, three notes each;
// the breaches of the overdue ones are written already (the first read
// after they came due writes them once; that is not what is measured).
//
//	sentinel seed --tenant acme-pay --transactions 500000 --days 30    # with DATABASE_URL
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=analyst@acme.demo \
//	  go test -run '^$' -bench CaseViews -benchtime 100x ./handlers
func BenchmarkCaseViews(b *testing.B) {
	db, dsn, u := benchDB(b)
	ctx := context.Background()
	tn := store.ForTenant(db, u.TenantID)
	makeBenchCases(b, dsn, u.TenantID)
	all, err := store.CountCases(ctx, tn, u.ID, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	rows, err := store.ListCases(ctx, tn, store.CaseFilter{Status: store.CaseStatusAny, Now: time.Now(), Limit: 500})
	if err != nil || len(rows) == 0 {
		b.Fatalf("no case: %v", err)
	}
	var open, deep string
	for _, r := range rows {
		if r.Status != store.CaseClosed && r.TransactionCount == benchCaseTxs && open == "" {
			open = r.ID
		}
	}
	deep = rows[len(rows)-1].ID
	b.Logf("cases not closed: %+v; case page: %s", all, open)

	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{}))
	defer srv.Close()
	client := benchLogin(b, srv.URL, u.Email)
	views := []struct {
		name, path string
		htmx       bool
	}{
		{"list: not closed", "/cases", false},
		{"list: any status", "/cases?status=any", false},
		{"list: overdue (htmx)", "/cases?overdue=1", true},
		{"list: mine, critical (htmx)", "/cases?assignee=me&priority=critical", true},
		{"list: title contains (htmx)", "/cases?status=any&q=takeover", true},
		{"list: page after 500 (htmx)", "/cases?status=any&after=" + deep, true},
		{"case page: 50 transactions", "/cases/" + open, false},
		{"case page (htmx)", "/cases/" + open, true},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) { timeGets(b, client, srv.URL+v.path, v.htmx) })
	}
}

// makeBenchCases gives the tenant benchCases cases of benchCaseTxs
// transactions each, unless it has them, then vacuums and analyses the
// case tables.
func makeBenchCases(b *testing.B, dsn, tenantID string) {
	b.Helper()
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer sqlDB.Close()
	var have int
	if err := sqlDB.QueryRow(`SELECT COUNT(*) FROM cases WHERE tenant_id = $1 AND title LIKE 'Bench case %'`, tenantID).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have >= benchCases {
		return
	}
	start := time.Now()
	steps := []string{
		`DELETE FROM case_events WHERE tenant_id = $1`, `DELETE FROM case_notes WHERE tenant_id = $1`,
		`DELETE FROM case_transactions WHERE tenant_id = $1`, `DELETE FROM case_accounts WHERE tenant_id = $1`,
		`DELETE FROM cases WHERE tenant_id = $1`,
		// Statuses: 0-5 closed, 6 open, 7 investigating, 8 waiting, 9 escalated.
		fmt.Sprintf(`INSERT INTO cases (tenant_id, id, number, title, description, status, priority, assignee_id, created_by,
			opened_at, due_at, paused_at, paused_seconds, sort_due, breach_recorded_at, outcome, summary, closed_at, closed_by, created_at, updated_at)
		SELECT $1, md5('bench' || g)::uuid::text, g,
			'Bench case ' || g || ': ' || (ARRAY['mule ring', 'account takeover', 'card testing', 'customer dispute'])[g %% 4 + 1],
			'Made by the case benchmark.',
			CASE WHEN g %% 10 < 6 THEN 'closed' ELSE (ARRAY['open', 'investigating', 'waiting', 'escalated'])[g %% 10 - 5] END,
			(ARRAY['critical', 'high', 'medium', 'low'])[g %% 4 + 1],
			CASE WHEN g %% 7 = 0 THEN NULL ELSE (ARRAY(SELECT id FROM users WHERE tenant_id = $1 AND role <> 'auditor' ORDER BY email))[g %% 3 + 1] END,
			(SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' ORDER BY email LIMIT 1),
			o.at, o.due, CASE WHEN g %% 10 >= 6 AND g %% 10 <> 8 THEN NULL ELSE o.at + interval '1 hour' END, 0,
			CASE WHEN g %% 10 < 6 OR g %% 10 = 8 THEN TIMESTAMPTZ '9999-12-31 00:00:00+00' ELSE o.due END,
			CASE WHEN g %% 10 >= 6 AND g %% 10 <> 8 AND o.due < now() THEN now() END,
			CASE WHEN g %% 10 < 6 THEN 'no_action' ELSE '' END, CASE WHEN g %% 10 < 6 THEN 'Nothing found.' ELSE '' END,
			CASE WHEN g %% 10 < 6 THEN o.at + interval '1 hour' END,
			CASE WHEN g %% 10 < 6 THEN (SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' ORDER BY email LIMIT 1) END,
			o.at, o.at + interval '1 hour'
		FROM generate_series(1, %d) g,
			LATERAL (SELECT now() - (g * interval '259 seconds') AS at,
				now() - (g * interval '259 seconds') + (ARRAY[interval '4 hours', interval '24 hours', interval '72 hours', interval '168 hours'])[g %% 4 + 1] AS due) o`, benchCases),
		fmt.Sprintf(`INSERT INTO case_transactions (tenant_id, case_id, transaction_id, added_by, added_at)
		SELECT $1, md5('bench' || (rn / %d + 1))::uuid::text, id, NULL, now()
		FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM transactions WHERE tenant_id = $1 ORDER BY id LIMIT %d) t`,
			benchCaseTxs, benchCases*benchCaseTxs),
		`UPDATE cases SET transaction_count = (SELECT COUNT(*) FROM case_transactions ct WHERE ct.tenant_id = cases.tenant_id AND ct.case_id = cases.id)
		WHERE tenant_id = $1`,
		`INSERT INTO case_events (tenant_id, id, case_id, actor_id, actor_email, kind, old_value, new_value, created_at)
		SELECT $1, gen_random_uuid()::text, ct.case_id, NULL, 'benchmark', 'transaction_added', '', t.external_id, ct.added_at
		FROM case_transactions ct JOIN transactions t ON t.id = ct.transaction_id AND t.tenant_id = ct.tenant_id WHERE ct.tenant_id = $1`,
		`INSERT INTO case_events (tenant_id, id, case_id, actor_id, actor_email, kind, old_value, new_value, created_at)
		SELECT $1, gen_random_uuid()::text, id, NULL, 'benchmark', 'opened', '', priority, opened_at FROM cases WHERE tenant_id = $1`,
		`INSERT INTO case_notes (tenant_id, id, case_id, user_id, body, created_at)
		SELECT $1, gen_random_uuid()::text, c.id, c.created_by, 'Benchmark note ' || n || ': checked the counterparties.', c.opened_at + n * interval '1 minute'
		FROM cases c, generate_series(1, 3) n WHERE c.tenant_id = $1`,
	}
	for _, q := range steps {
		if _, err := sqlDB.Exec(q, tenantID); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	for _, t := range []string{"cases", "case_transactions", "case_events", "case_notes"} {
		if _, err := sqlDB.Exec(`VACUUM ANALYZE ` + t); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("made %d cases of %d transactions in %s", benchCases, benchCaseTxs, time.Since(start).Round(time.Second))
}

package seed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// allRows pages through every transaction of the tenant, newest first.
func allRows(t *testing.T, tn store.Tenant) []store.QueueRow {
	t.Helper()
	var out []store.QueueRow
	f := store.QueueFilter{Limit: 200}
	for {
		p, err := store.ListQueue(context.Background(), tn, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Rows...)
		if !p.HasNext {
			return out
		}
		f.After = p.Rows[len(p.Rows)-1].ID
	}
}

func TestDemoTrafficIsAMonthOfWork(t *testing.T) {
	store.PasswordCost = bcrypt.MinCost
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := seed.Demo(ctx, db); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := seed.Traffic(ctx, db, live.NewScorer(db)); err != nil {
			t.Fatalf("Traffic() = %v", err)
		}
		t.Logf("demo traffic for two tenants in %s", time.Since(start))
		for _, dt := range seed.Tenants() {
			row, err := store.AdminTenantBySlug(ctx, db, dt.Slug)
			if err != nil {
				t.Fatal(err)
			}
			tn := store.ForTenant(db, row.ID)
			rows := allRows(t, tn)
			if len(rows) != seed.DemoTrafficRows {
				t.Fatalf("%s: %d transactions, want %d", dt.Slug, len(rows), seed.DemoTrafficRows)
			}
			days, bands, byHour := map[string]bool{}, map[string]int{}, map[int]int{}
			decided := 0
			for _, r := range rows {
				days[r.ReceivedAt.UTC().Format(time.DateOnly)] = true
				bands[r.Band]++
				byHour[r.ReceivedAt.UTC().Hour()]++
				if r.Label != "" {
					decided++
				}
				if r.Source != store.SourceSeed || !strings.HasPrefix(r.ExternalID, "demo-") {
					t.Fatalf("%s: row %s has source %q, external id %q; want seed, demo-…", dt.Slug, r.ID, r.Source, r.ExternalID)
				}
			}
			if len(days) < 25 {
				t.Errorf("%s: received on %d distinct days, want at least 25", dt.Slug, len(days))
			}
			for _, b := range []string{"low", "medium", "high", "critical"} {
				if bands[b] == 0 {
					t.Errorf("%s: no %s transaction (bands %v)", dt.Slug, b, bands)
				}
			}
			// The simulator's day: busy afternoons, quiet nights.
			if byHour[14] < 3*byHour[3] {
				t.Errorf("%s: %d transactions at 14:00 and %d at 03:00, want a daily rhythm", dt.Slug, byHour[14], byHour[3])
			}
			audit, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionDecision, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if decided < 20 || len(audit) != decided {
				t.Errorf("%s: %d decided transactions and %d decision audit events, want at least 20, one each", dt.Slug, decided, len(audit))
			}
			review, err := store.ListQueue(ctx, tn, store.QueueFilter{Review: true, Sort: store.SortRisk, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(review.Rows) < 10 {
				t.Errorf("%s: %d transactions need review, want work in the queue", dt.Slug, len(review.Rows))
			}
		}
		if err := seed.Traffic(ctx, db, live.NewScorer(db)); err != nil {
			t.Fatal(err)
		}
		row, _ := store.AdminTenantBySlug(ctx, db, seed.Tenants()[0].Slug)
		if n, _ := store.CountTransactions(ctx, store.ForTenant(db, row.ID)); n != seed.DemoTrafficRows {
			t.Fatalf("transactions after a second Traffic() = %d, want %d", n, seed.DemoTrafficRows)
		}

		t.Run("each tenant gets a few cases in different states, once", func(t *testing.T) {
			now := time.Now()
			for range 2 {
				if err := seed.Cases(ctx, db, now); err != nil {
					t.Fatalf("Cases() = %v", err)
				}
			}
			for _, dt := range seed.Tenants() {
				row, _ := store.AdminTenantBySlug(ctx, db, dt.Slug)
				tn := store.ForTenant(db, row.ID)
				rows, err := store.ListCases(ctx, tn, store.CaseFilter{Status: store.CaseStatusAny, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				statuses := map[string]int{}
				overdue, outcomes := 0, 0
				for _, r := range rows {
					statuses[r.Status]++
					if r.Overdue(now) {
						overdue++
					}
					if r.Outcome != "" {
						outcomes++
					}
				}
				if len(rows) != 5 || overdue != 1 || outcomes != 1 || statuses[store.CaseWaiting] != 1 || len(statuses) < 4 {
					t.Errorf("%s: %d cases, %d overdue, %d with an outcome, statuses %v", dt.Slug, len(rows), overdue, outcomes, statuses)
				}
			}
		})
	})
}

func TestBulkLoadsScoredTraffic(t *testing.T) {
	store.PasswordCost = bcrypt.MinCost
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := seed.Demo(ctx, db); err != nil {
			t.Fatal(err)
		}
		slug := seed.Tenants()[1].Slug
		var progress []int
		st, err := seed.Bulk(ctx, db, live.NewScorer(db), seed.BulkConfig{Tenant: slug, Transactions: 5000, Days: 7, FraudRate: 0.01, Seed: 3,
			Progress: func(n int) { progress = append(progress, n) }})
		if err != nil {
			t.Fatalf("Bulk() = %v", err)
		}
		if st.Rows != 5000 || len(progress) != 3 || progress[2] != 5000 {
			t.Fatalf("Bulk() stored %d rows, progress %v; want 5000 in three batches", st.Rows, progress)
		}
		row, _ := store.AdminTenantBySlug(ctx, db, slug)
		rows := allRows(t, store.ForTenant(db, row.ID))
		if len(rows) != 5000 {
			t.Fatalf("%d rows stored, want 5000", len(rows))
		}
		days := map[string]bool{}
		now := time.Now()
		for i, r := range rows {
			days[r.ReceivedAt.UTC().Format(time.DateOnly)] = true
			if r.Source != store.SourceSeed || !strings.HasPrefix(r.ExternalID, "seed-") || r.ReceivedAt.After(now) || r.ReceivedAt.Before(now.Add(-8*24*time.Hour)) {
				t.Fatalf("row %+v: want source seed, a seed- id, received in the last 7 days", r.Transaction)
			}
			if i > 0 && r.ReceivedAt.After(rows[i-1].ReceivedAt.Add(time.Millisecond)) {
				t.Fatalf("id order is not received order: %s after %s", r.ReceivedAt, rows[i-1].ReceivedAt)
			}
		}
		if len(days) < 7 {
			t.Errorf("received on %d days, want 7 or 8", len(days))
		}
		other, _ := store.AdminTenantBySlug(ctx, db, seed.Tenants()[0].Slug)
		if n, _ := store.CountTransactions(ctx, store.ForTenant(db, other.ID)); n != 0 {
			t.Errorf("the other tenant got %d transactions", n)
		}
	})
}

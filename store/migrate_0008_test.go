package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// Migration 0008 gives the transactions stored before it their review
// priority from their predictions, and marks them as arrived through the API.
func TestMigration0008Backfills(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *store.DB{
		"sqlite": func(t *testing.T) *store.DB {
			db, err := store.Open("", t.TempDir()+"/m.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *store.DB { db, _ := storetest.PostgresUnmigrated(t); return db },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			if err := store.MigrateBeforeForTest(ctx, db, "0008"); err != nil {
				t.Fatal(err)
			}
			exec := func(sql string) {
				t.Helper()
				if err := store.ExecForTest(ctx, db, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 't1', 'T', CURRENT_TIMESTAMP)`)
			exec(`INSERT INTO model_versions (id, tenant_id, name, version, stage, bundle, created_at) VALUES ('m1', 't1', 'm', 1, 'production', 'x', CURRENT_TIMESTAMP)`)
			rows := []struct {
				band        string
				score       float64
				explanation string
				want        float64 // -1: no priority
			}{
				{"low", 0.1, `{"result":{}}`, -1},
				{"low", 0.6, `{"result":{}}`, 3.2},
				{"low", 0.1, `{"result":{},"watch":{"SenderBlocked":false}}`, 3.45},
				{"medium", 0.4, `{}`, 2.3},
				{"critical", 1, `{}`, 0},
			}
			for i, r := range rows {
				exec(fmt.Sprintf(`INSERT INTO transactions (id, tenant_id, external_id, step, type, amount, name_orig, old_balance_org, new_balance_orig,
					name_dest, old_balance_dest, new_balance_dest, received_at) VALUES ('x%d', 't1', 'e%d', 1, 'PAYMENT', 1, 'C1', 1, 0, 'M1', 0, 0, CURRENT_TIMESTAMP)`, i, i))
				exec(fmt.Sprintf(`INSERT INTO predictions (id, tenant_id, transaction_id, model_version_id, score, raw_margin, band, threshold, explanation, latency_us, created_at)
					VALUES ('p%d', 't1', 'x%d', 'm1', %g, 0, '%s', 0.5, '%s', 1, CURRENT_TIMESTAMP)`, i, i, r.score, r.band, r.explanation))
			}
			if err := store.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			tn := store.ForTenant(db, "t1")
			for i, r := range rows {
				s, err := store.GetScored(ctx, tn, fmt.Sprintf("x%d", i))
				if err != nil {
					t.Fatal(err)
				}
				got := s.Transaction.ReviewPriority
				if (got == nil) != (r.want < 0) || (got != nil && math.Abs(*got-r.want) > 1e-9) || s.Transaction.Source != store.SourceAPI {
					t.Errorf("row %d (%s %v): priority %v, source %q; want %v, api", i, r.band, r.score, deref(got), s.Transaction.Source, r.want)
				}
			}
		})
	}
}

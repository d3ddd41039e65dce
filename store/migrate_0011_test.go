package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// Migration 0011 lets users be auditors and counts the transactions stored
// before it into the rollups the investigate statistics read.
func TestMigration0011(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (*store.DB, func() *store.DB){
		"sqlite": func(t *testing.T) (*store.DB, func() *store.DB) {
			path := t.TempDir() + "/m.db"
			open := func() *store.DB {
				db, err := store.Open("", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			return open(), open
		},
		"postgres": func(t *testing.T) (*store.DB, func() *store.DB) {
			db, url := storetest.PostgresUnmigrated(t)
			return db, func() *store.DB {
				other, err := store.Open(url, "")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { other.Close() })
				return other
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, reopen := open(t)
			// A connection opened before the migration sees it too.
			early := reopen()
			if err := store.MigrateBeforeForTest(ctx, db, "0011"); err != nil {
				t.Fatal(err)
			}
			exec := func(db *store.DB, sql string) error { return store.ExecForTest(ctx, db, sql) }
			must := func(sql string) {
				t.Helper()
				if err := exec(db, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			must(`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 't1', 'T', CURRENT_TIMESTAMP)`)
			must(`INSERT INTO model_versions (id, tenant_id, name, version, stage, bundle, created_at) VALUES ('m1', 't1', 'm', 1, 'production', 'x', CURRENT_TIMESTAMP)`)
			user := func(id, role string) string {
				return fmt.Sprintf(`INSERT INTO users (id, tenant_id, email, name, role, password_hash, created_at, updated_at)
					VALUES ('%s', 't1', '%s@x.test', 'U', '%s', 'h', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, id, id, role)
			}
			if err := exec(db, user("early", "auditor")); err == nil {
				t.Fatal("an auditor was accepted before 0011")
			}
			rows := []struct {
				received string
				typ      string
				amount   float64
				priority string
				label    string
				score    float64
			}{
				{"2026-03-01 23:59:59", "PAYMENT", 10, "NULL", "", 0.0005},
				{"2026-03-02 00:00:00", "PAYMENT", 20, "0.3", "confirmed_fraud", 0.95},
				{"2026-03-02 12:00:00", "TRANSFER", 30.5, "2.4", "", 0.2},
				{"2026-03-02 13:00:00", "TRANSFER", 40, "3.3", "", 0.4},
			}
			for i, r := range rows {
				must(fmt.Sprintf(`INSERT INTO transactions (id, tenant_id, external_id, step, type, amount, name_orig, old_balance_org, new_balance_orig,
					name_dest, old_balance_dest, new_balance_dest, received_at, label, review_priority) VALUES ('x%d', 't1', 'e%d', 1, '%s', %g, 'C1', 1, 0, 'M1', 0, 0, '%s', '%s', %s)`,
					i, i, r.typ, r.amount, r.received, r.label, r.priority))
				must(fmt.Sprintf(`INSERT INTO predictions (id, tenant_id, transaction_id, model_version_id, score, raw_margin, band, threshold, explanation, latency_us, created_at)
					VALUES ('p%d', 't1', 'x%d', 'm1', %g, 0, 'low', 0.5, '{}', 1, CURRENT_TIMESTAMP)`, i, i, r.score))
			}
			if err := store.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}

			t.Run("users can be auditors, and only of the known roles", func(t *testing.T) {
				if err := exec(db, user("aud", "auditor")); err != nil {
					t.Fatalf("an auditor after 0011: %v", err)
				}
				if err := exec(early, user("aud2", "auditor")); err != nil {
					t.Fatalf("an auditor through a connection opened before 0011: %v", err)
				}
				if err := exec(reopen(), user("aud3", "auditor")); err != nil {
					t.Fatalf("an auditor through a new connection: %v", err)
				}
				if err := exec(db, user("bad", "superuser")); err == nil {
					t.Fatal("a user with an unknown role was accepted")
				}
			})
			t.Run("the rollups count the rows stored before", func(t *testing.T) {
				tn := store.ForTenant(db, "t1")
				day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
				for _, c := range []struct {
					name   string
					f      store.InvestigateFilter
					count  int64
					amount float64
				}{
					{"every row", store.InvestigateFilter{}, 4, 100.5},
					{"one received day", store.InvestigateFilter{From: day, To: day.AddDate(0, 0, 1)}, 3, 90.5},
					{"confirmed fraud", store.InvestigateFilter{Decision: store.DecisionConfirmedFraud}, 1, 20},
					{"the medium band", store.InvestigateFilter{Bands: []string{"medium"}}, 1, 30.5},
					{"the low band (no priority, or one from 3)", store.InvestigateFilter{Bands: []string{"low"}}, 2, 50},
					{"needs review", store.InvestigateFilter{Review: true}, 2, 70.5},
					{"scores from 0.2", store.InvestigateFilter{MinScore: ptr(0.2)}, 3, 90.5},
					{"transfers", store.InvestigateFilter{Types: []string{"TRANSFER"}}, 2, 70.5},
				} {
					s, err := store.CountInvestigate(ctx, tn, c.f)
					if err != nil || !s.FromRollups || s.Count != c.count || s.Amount != c.amount {
						t.Errorf("%s: CountInvestigate() = %+v, %v; want %d rows of %v from the rollups", c.name, s, err, c.count, c.amount)
					}
				}
			})
		})
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// Migration 0019 stores explanations as text on PostgreSQL: an explanation
// stored before it reads back byte for byte, spacing, escapes and all.
func TestMigration0019(t *testing.T) {
	db, _ := storetest.PostgresUnmigrated(t)
	ctx := context.Background()
	if err := store.MigrateBeforeForTest(ctx, db, "0019"); err != nil {
		t.Fatal(err)
	}
	const explanation = `{"summary": "This transfer of 1,000.00 \u00e9 \"quoted\"\n", "contributions":[{"feature":"amount","value":1e-7}] }`
	for _, sql := range []string{
		`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 't1', 'T', CURRENT_TIMESTAMP)`,
		`INSERT INTO model_versions (id, tenant_id, name, version, stage, bundle, created_at) VALUES ('m1', 't1', 'm', 1, 'production', 'x', CURRENT_TIMESTAMP)`,
		`INSERT INTO transactions (id, tenant_id, external_id, step, type, amount, name_orig, old_balance_org, new_balance_orig,
			name_dest, old_balance_dest, new_balance_dest, received_at) VALUES ('x1', 't1', 'e1', 1, 'TRANSFER', 1000, 'C1', 1, 0, 'M1', 0, 0, CURRENT_TIMESTAMP)`,
		`INSERT INTO predictions (id, tenant_id, transaction_id, model_version_id, score, raw_margin, band, threshold, explanation, latency_us, created_at)
			VALUES ('p1', 't1', 'x1', 'm1', 0.5, 0, 'low', 0.5, '` + explanation + `', 1, CURRENT_TIMESTAMP)`,
	} {
		if err := store.ExecForTest(ctx, db, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := store.QueryRowForTest(ctx, db, `SELECT data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'predictions' AND column_name = 'explanation'`, &typ); err != nil || typ != "text" {
		t.Errorf("explanation's type after 0019 = %q (%v), want text", typ, err)
	}
	s, err := store.GetScored(ctx, store.ForTenant(db, "t1"), "x1")
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Prediction.Explanation) != explanation {
		t.Errorf("explanation after 0019 = %s, want %s", s.Prediction.Explanation, explanation)
	}
}

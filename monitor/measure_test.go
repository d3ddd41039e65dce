package monitor

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// TestMeasure times the drift job's catch-up, the drift page's and the
// tuner's reads and one evaluator run on a loaded database: set
// SENTINEL_MEASURE_URL to it and SENTINEL_MEASURE_TENANT to the tenant's
// slug (docs/performance.md). It reports; it asserts nothing about speed.
func TestMeasure(t *testing.T) {
	url, slug := os.Getenv("SENTINEL_MEASURE_URL"), os.Getenv("SENTINEL_MEASURE_TENANT")
	if url == "" || slug == "" {
		t.Skip("SENTINEL_MEASURE_URL and SENTINEL_MEASURE_TENANT are not set")
	}
	ctx := context.Background()
	db, err := store.Open(url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	tenants, err := store.AdminListTenants(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var tn store.Tenant
	for _, tr := range tenants {
		if tr.Slug == slug {
			tn = store.ForTenant(db, tr.ID)
		}
	}
	n, _ := store.CountTransactions(ctx, tn)
	t.Logf("tenant %s: %d transactions", slug, n)
	now := time.Now()
	begin := time.Now()
	if err := Snapshot(ctx, tn, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("drift job catch-up (every missing hour of 30 days): %s", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	if err := Snapshot(ctx, tn, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("drift job with nothing to add: %s", time.Since(begin).Round(time.Microsecond))

	rules, _ := store.ListAlertRules(ctx, tn)
	if len(rules) == 0 {
		for _, r := range []store.AlertRule{{Kind: KindPSI, Threshold: 0.25}, {Kind: KindHighRiskHour, Threshold: 100},
			{Kind: KindLatencyP99, Threshold: 50}, {Kind: KindQueueBacklog, Threshold: 1000}} {
			r.Enabled = true
			if err := store.CreateAlertRule(ctx, tn, store.Actor{Email: "measure"}, &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	measure := func(name string, runs int, fn func() error) {
		var d []time.Duration
		for range runs {
			begin := time.Now()
			if err := fn(); err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(begin))
		}
		slices.Sort(d)
		t.Logf("%s: %d runs, p50 %s, p95 %s, max %s", name, runs, d[runs/2].Round(time.Microsecond),
			d[runs*95/100].Round(time.Microsecond), d[runs-1].Round(time.Microsecond))
	}
	measure("drift view (30 days of snapshots)", 40, func() error { _, err := View(ctx, tn, now); return err })
	measure("tuner (cost model, bundle curve, labelled transactions)", 40, func() error { _, err := LoadTuner(ctx, tn, nil); return err })
	ev := &Evaluator{}
	measure("evaluator, one tenant's minute (4 rules)", 40, func() error { return ev.Evaluate(ctx, tn, now) })
	for _, k := range RuleKinds {
		r := &store.AlertRule{Kind: k.ID}
		measure("  rule "+k.ID, 20, func() error { _, _, err := k.Measure(ctx, tn, r, now); return err })
	}
}

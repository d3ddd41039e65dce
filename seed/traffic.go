package seed

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// demoTrafficRows is how many simulated transactions each demo tenant gets.
const demoTrafficRows = 600

// Traffic scores simulated transactions for each demo tenant that has none
// yet, so the queue has work in it on the first visit. Two processes running
// it at once take turns (store.AdminSeedLock): the later one finds the
// transactions there.
func Traffic(ctx context.Context, db *store.DB, scorer *live.Scorer) error {
	return store.AdminSeedLock(ctx, db, func() error {
		for i, dt := range Tenants() {
			if err := tenantTraffic(ctx, db, scorer, dt, uint64(i+1)); err != nil {
				return err
			}
		}
		return nil
	})
}

// tenantTraffic scores one demo tenant's transactions unless it has some.
func tenantTraffic(ctx context.Context, db *store.DB, scorer *live.Scorer, dt DemoTenant, simSeed uint64) error {
	row, err := store.AdminTenantBySlug(ctx, db, dt.Slug)
	if err != nil {
		return fmt.Errorf("seed: tenant %s: %w", dt.Slug, err)
	}
	t := store.ForTenant(db, row.ID)
	n, err := store.CountTransactions(ctx, t)
	if err != nil || n > 0 {
		return err
	}
	cfg := DefaultSimConfig()
	cfg.Rows, cfg.FraudRate, cfg.Seed = demoTrafficRows, 0.03, simSeed
	txs, labels, err := SimulateTransactions(cfg)
	if err != nil {
		return fmt.Errorf("seed: simulate: %w", err)
	}
	for start := 0; start < len(txs); start += 200 {
		var ins []live.Input
		for j := start; j < min(start+200, len(txs)); j++ {
			ins = append(ins, live.Input{ExternalID: fmt.Sprintf("demo-%04d", j), Tx: txs[j], IsFraud: &labels[j], Source: "seed"})
		}
		if _, err := scorer.ScoreBatch(ctx, t, ins); err != nil {
			return fmt.Errorf("seed: demo traffic for %s: %w", dt.Slug, err)
		}
	}
	slog.Info("demo transactions scored", "tenant", dt.Slug, "rows", len(txs))
	return nil
}

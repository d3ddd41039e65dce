package seed

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// Demo traffic: each demo tenant gets DemoTrafficRows simulated transactions
// spread over the last DemoTrafficDays days, with the simulator's daily and
// weekly rhythm.
const (
	DemoTrafficRows = 3000
	DemoTrafficDays = 30
)

// demoUndecided is how recent a transaction of the review set must be for
// the demo analysts to have left it undecided: older ones are mostly decided.
const demoUndecided = 3 * 24 * time.Hour

// Traffic gives each demo tenant that has no transactions yet a month of
// scored traffic, stored through the scoring service's batch path, and
// decisions (with rationales, through store.Decide, so audited) by its demo
// analysts on most of the review set older than three days, so that every
// page shows a realistic shape on the first visit. Two processes running it
// at once take turns (store.AdminSeedLock): the later one finds the
// transactions there.
func Traffic(ctx context.Context, db *store.DB, scorer *live.Scorer) error {
	return store.AdminSeedLock(ctx, db, func() error {
		end := time.Now().UTC().Truncate(time.Hour)
		for i, dt := range Tenants() {
			row, err := store.AdminTenantBySlug(ctx, db, dt.Slug)
			if err != nil {
				return fmt.Errorf("seed: tenant %s: %w", dt.Slug, err)
			}
			t := store.ForTenant(db, row.ID)
			if n, err := store.CountTransactions(ctx, t); err != nil {
				return fmt.Errorf("seed: %w", err)
			} else if n > 0 {
				continue
			}
			cfg := DefaultSimConfig()
			cfg.Rows, cfg.FraudRate, cfg.Seed, cfg.Declined = DemoTrafficRows, 0.02, uint64(i+1), 0.02
			ins, err := simulateSpan(cfg, DemoTrafficDays, end, "demo-")
			if err != nil {
				return err
			}
			var scored []*store.Scored
			for start := 0; start < len(ins); start += 500 {
				res, err := scorer.ScoreBatch(ctx, t, ins[start:min(start+500, len(ins))], nil)
				if err != nil {
					return fmt.Errorf("seed: demo traffic for %s: %w", dt.Slug, err)
				}
				for _, r := range res {
					if r.Invalid != nil {
						return fmt.Errorf("seed: demo traffic for %s: %w", dt.Slug, r.Invalid)
					}
					scored = append(scored, r.Scored)
				}
			}
			decided, err := demoDecisions(ctx, db, t, dt, scored, end.Add(-demoUndecided), uint64(i+1))
			if err != nil {
				return err
			}
			slog.Info("demo transactions scored", "tenant", dt.Slug, "rows", len(ins), "days", DemoTrafficDays, "decided", decided)
		}
		return nil
	})
}

// demoRationale is what a demo analyst writes about tx: alt picks between
// two wordings.
func demoRationale(decision string, tx *store.Transaction, alt bool) string {
	refused := tx.NewBalanceOrig == tx.OldBalanceOrg && tx.Amount > tx.OldBalanceOrg
	switch {
	case decision == store.DecisionEscalated && alt:
		return "Pattern fits a takeover but the customer cannot be reached; escalated for a hold."
	case decision == store.DecisionEscalated:
		return "Receiver shares a device with a blocked account; needs a senior look."
	case decision == store.DecisionConfirmedFraud && tx.Type == "CASH_OUT":
		return "Mule account cashing out a takeover transfer received the same hour."
	case decision == store.DecisionConfirmedFraud && alt:
		return "Customer called in: did not make this transfer. Online access blocked, card reissued."
	case decision == store.DecisionConfirmedFraud:
		return "Whole balance moved to a fresh account and cashed out within the hour: account takeover."
	case refused:
		return "Refused for insufficient funds; nothing left the account."
	case alt:
		return "Customer confirmed by phone: moving savings to an account of their own."
	}
	return "Known counterparty, amount in line with the last three months."
}

// demoDecisions decides about three in four of the review set received
// before cutoff, as the tenant's analyst and senior analyst in turn: fraud
// is mostly confirmed, the rest mostly dismissed, a few escalated.
func demoDecisions(ctx context.Context, db *store.DB, t store.Tenant, dt DemoTenant, scored []*store.Scored, cutoff time.Time, seed uint64) (int, error) {
	var actors []store.Actor
	for _, du := range dt.Users {
		if du.Role != store.RoleAnalyst && du.Role != store.RoleSeniorAnalyst {
			continue // admins leave decisions to analysts; auditors change nothing
		}
		u, err := store.AdminFindLoginUser(ctx, db, du.Email)
		if err != nil {
			return 0, fmt.Errorf("seed: demo user %s: %w", du.Email, err)
		}
		actors = append(actors, store.Actor{UserID: u.ID, Email: u.Email, UserAgent: "sentinel seed"})
	}
	rng := rand.New(rand.NewPCG(seed, 0xdec1de))
	n := 0
	for _, s := range scored {
		tx := &s.Transaction
		if tx.ReviewPriority == nil || !tx.ReceivedAt.Before(cutoff) || rng.Float64() >= 0.75 {
			continue
		}
		decision := store.DecisionFalsePositive
		fraud := tx.IsFraud != nil && *tx.IsFraud
		switch u := rng.Float64(); {
		case u < 0.1:
			decision = store.DecisionEscalated
		case fraud:
			decision = store.DecisionConfirmedFraud
		}
		a := actors[n%len(actors)]
		if _, err := store.Decide(ctx, t, a, tx.ID, decision, demoRationale(decision, tx, rng.IntN(2) == 0)); err != nil {
			return n, fmt.Errorf("seed: demo decision: %w", err)
		}
		n++
	}
	return n, nil
}

// simulateSpan simulates cfg.Rows transactions over the days before end
// (cfg.Steps becomes days × 24) and gives each its arrival time: its
// simulated hour, on the calendar, so that the busy hours fall in the day
// and the quiet days on the weekend, spread evenly through the hour. Each
// gets external id prefix + its number and source seed.
func simulateSpan(cfg SimConfig, days int, end time.Time, prefix string) ([]live.Input, error) {
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	cfg.Steps = days * 24
	cfg.StartHour = (int(start.Weekday())+6)%7*24 + start.Hour()
	txs, labels, err := SimulateTransactions(cfg)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	ins := make([]live.Input, len(txs))
	for i := 0; i < len(txs); {
		step := txs[i].Step
		j := i
		for j < len(txs) && txs[j].Step == step {
			j++
		}
		hour := start.Add(time.Duration(step) * time.Hour)
		for k := i; k < j; k++ {
			at := hour.Add(time.Duration((float64(k-i) + rng.Float64()) / float64(j-i) * float64(time.Hour)))
			tx := txs[k]
			// The step's hour of day is the hour it arrived.
			tx.Step += start.Hour()
			ins[k] = live.Input{ExternalID: fmt.Sprintf("%s%07d", prefix, k), Tx: tx, IsFraud: &labels[k],
				ReceivedAt: at.Truncate(time.Microsecond), Source: store.SourceSeed}
		}
		i = j
	}
	return ins, nil
}

package seed

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// BulkConfig is a bulk load of simulated traffic into one tenant.
type BulkConfig struct {
	Tenant       string // the tenant's slug; it needs a production model
	Transactions int
	Days         int
	FraudRate    float64
	Seed         uint64
	// Progress, when set, is called after each stored batch with the rows
	// stored so far.
	Progress func(rows int)
}

// BulkStats says what a bulk load did and how long each part took.
type BulkStats struct {
	Rows     int
	Simulate time.Duration // simulating and timing the rows
	Load     time.Duration // scoring, explaining and storing them
	Analyze  time.Duration // refreshing the planner's statistics
}

// bulkBatch is how many transactions one stored batch holds; bulkWriters
// how many batches are written at once.
const (
	bulkBatch   = 2000
	bulkWriters = 2
)

// Bulk simulates cfg.Transactions transactions over the last cfg.Days days
// and scores, explains and stores them in the tenant through the batch
// write path (store.SaveScoredBatch: COPY on PostgreSQL), for benchmarks.
// One scoring goroutine per core scores the next batches while two writers
// store the last ones, so the database and the scorers work at the same
// time. The
// rows get external ids seed-<run>-<n> and source seed; nothing else of the
// tenant changes. At the end it refreshes the planner's statistics.
func Bulk(ctx context.Context, db *store.DB, scorer *live.Scorer, cfg BulkConfig) (BulkStats, error) {
	var st BulkStats
	if cfg.Transactions < 1 || cfg.Days < 1 {
		return st, errors.New("seed: bulk: need at least one transaction and one day")
	}
	row, err := store.AdminTenantBySlug(ctx, db, cfg.Tenant)
	if err != nil {
		return st, fmt.Errorf("seed: tenant %s: %w", cfg.Tenant, err)
	}
	t := store.ForTenant(db, row.ID)
	lm, err := scorer.Current(ctx, t)
	if err != nil {
		return st, fmt.Errorf("seed: tenant %s: %w", cfg.Tenant, err)
	}
	begin := time.Now()
	sim := DefaultSimConfig()
	sim.Rows, sim.FraudRate, sim.Seed, sim.Declined = cfg.Transactions, cfg.FraudRate, cfg.Seed, 0.01
	run := strconv.FormatInt(begin.Unix(), 36)
	ins, err := simulateSpan(sim, cfg.Days, begin.UTC().Truncate(time.Hour), "seed-"+run+"-")
	if err != nil {
		return st, err
	}
	st.Simulate = time.Since(begin)

	begin = time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan []live.Input)
	done := make(chan scoredBatch, 2)
	var scorers sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		scorers.Go(func() {
			for ins := range todo {
				b, err := scoreBulk(ctx, t, lm, ins)
				if err != nil {
					cancel(err)
					return
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		defer close(todo)
		for i := 0; i < len(ins); i += bulkBatch {
			select {
			case todo <- ins[i:min(i+bulkBatch, len(ins))]:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		scorers.Wait()
		close(done)
	}()
	// Two writers: while one batch commits (and waits for its WAL flush),
	// the next one is copied.
	var mu sync.Mutex
	var writers sync.WaitGroup
	for range bulkWriters {
		writers.Go(func() {
			for b := range done {
				if ctx.Err() != nil {
					continue // drain, so the scorers finish after a failure
				}
				if err := store.SaveScoredBatch(ctx, t, b.txs, b.ps); err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				st.Rows += len(b.txs)
				if cfg.Progress != nil {
					cfg.Progress(st.Rows)
				}
				mu.Unlock()
			}
		})
	}
	writers.Wait()
	if err := context.Cause(ctx); err != nil {
		return st, fmt.Errorf("seed: bulk: %w", err)
	}
	st.Load = time.Since(begin)
	begin = time.Now()
	if err := store.AdminAnalyze(ctx, db); err != nil {
		return st, err
	}
	st.Analyze = time.Since(begin)
	return st, nil
}

// scoredBatch is one batch of rows ready to store.
type scoredBatch struct {
	txs []store.Transaction
	ps  []store.Prediction
}

// scoreBulk scores and explains one batch with the tenant's watchlist.
func scoreBulk(ctx context.Context, t store.Tenant, lm *live.Version, ins []live.Input) (scoredBatch, error) {
	var out scoredBatch
	accounts := make([]string, 0, 2*len(ins))
	for i := range ins {
		accounts = append(accounts, ins[i].Tx.NameOrig, ins[i].Tx.NameDest)
	}
	kinds, err := store.WatchKinds(ctx, t, accounts)
	if err != nil {
		return out, err
	}
	out.txs = make([]store.Transaction, 0, len(ins))
	out.ps = make([]store.Prediction, 0, len(ins))
	for _, in := range ins {
		if err := in.Tx.Validate(); err != nil {
			return out, fmt.Errorf("simulated row %s: %w", in.ExternalID, err)
		}
		tx, p, _, err := lm.Score(in, store.StatusOf(kinds, in.Tx.NameOrig, in.Tx.NameDest))
		if err != nil {
			return out, err
		}
		out.txs = append(out.txs, *tx)
		out.ps = append(out.ps, *p)
	}
	return out, nil
}

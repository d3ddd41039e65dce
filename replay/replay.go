// Package replay replays simulated or uploaded traffic through the scoring
// service at a set rate, as a background job whose state lives in the
// database: one run per tenant across replicas (a lease: holder and
// heartbeat on the run's row), resumed by any replica after a restart, or
// marked interrupted with its counts when it has been gone too long.
package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
	"github.com/sentinel-fraud/sentinel/upload"
)

// Bounds of a replay, checked on the server.
const (
	MinRate        = 1
	MaxRate        = 500
	MinDuration    = 10 * time.Second
	MaxDuration    = time.Hour
	MaxFraudShare  = 0.5
	MaxFileBytes   = 20 << 20
	simChunkSecond = 60 // the simulator makes a minute of traffic at a time
)

// Config is what a replay is asked to do.
type Config struct {
	Rate       int // transactions per second
	Duration   time.Duration
	FraudShare float64 // of the simulator's rows; a file's rows are as they are
	Seed       uint64  // 0: from the clock
	FileName   string
	File       []byte // a PaySim-format CSV to replay instead of the simulator
}

// Problems lists what is wrong with c, field by field (form names).
func (c Config) Problems() []scoring.FieldError {
	var out []scoring.FieldError
	if c.Rate < MinRate || c.Rate > MaxRate {
		out = append(out, scoring.FieldError{Field: "rate", Message: fmt.Sprintf("must be %d to %d transactions per second", MinRate, MaxRate)})
	}
	if c.Duration < MinDuration || c.Duration > MaxDuration {
		out = append(out, scoring.FieldError{Field: "duration", Message: fmt.Sprintf("must be %d to %d seconds", int(MinDuration.Seconds()), int(MaxDuration.Seconds()))})
	}
	if math.IsNaN(c.FraudShare) || c.FraudShare < 0 || c.FraudShare > MaxFraudShare {
		out = append(out, scoring.FieldError{Field: "fraud_share", Message: fmt.Sprintf("must be 0 to %g", MaxFraudShare)})
	}
	if len(c.File) > MaxFileBytes {
		out = append(out, scoring.FieldError{Field: "file", Message: fmt.Sprintf("must be at most %d MB", MaxFileBytes>>20)})
	} else if c.File != nil {
		// The upload's checks: the inflated size and each line are
		// bounded (a gzip bomb stops at the limit), the text must be
		// UTF-8 without NUL, the header PaySim's.
		_, ref, err := upload.Check(bytes.NewReader(c.File), c.FileName, upload.Limits{MaxBytes: MaxFileBytes})
		switch {
		case ref != nil:
			out = append(out, scoring.FieldError{Field: "file", Message: "was refused: " + strings.TrimSuffix(ref.Message, ".")})
		case err != nil:
			out = append(out, scoring.FieldError{Field: "file", Message: "could not be read"})
		}
	}
	return out
}

// Clock tells the time and makes tickers: the real one, or a fake in tests.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker is a time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// RealClock is the system's clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// NewTicker is time.NewTicker.
func (RealClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Engine starts, stops, runs and recovers replays.
type Engine struct {
	db     *store.DB
	scorer *live.Scorer
	clock  Clock
	holder string

	// Tick is how often a run checks the clock and sends what is due.
	Tick time.Duration
	// Heartbeat is how often a run saves its counts and renews its lease.
	Heartbeat time.Duration
	// Stale is how old a heartbeat may be before another replica takes
	// the run over.
	Stale time.Duration
	// ResumeWithin: a run whose heartbeat is older than this is marked
	// interrupted instead of resumed (its traffic would arrive long after
	// it was asked for).
	ResumeWithin time.Duration

	mu      sync.Mutex
	base    context.Context
	close   context.CancelFunc
	cancels map[string]context.CancelFunc
	wg      sync.WaitGroup
}

// New returns an engine whose runs hold their lease as holder (unique per
// process; "" makes one from the host name and process id).
func New(db *store.DB, scorer *live.Scorer, clock Clock, holder string) *Engine {
	if holder == "" {
		host, _ := os.Hostname()
		holder = host + "-" + strconv.Itoa(os.Getpid()) + "-" + store.NewID()[24:]
	}
	base, cancel := context.WithCancel(context.Background())
	return &Engine{db: db, scorer: scorer, clock: clock, holder: holder, Tick: 100 * time.Millisecond,
		Heartbeat: time.Second, Stale: 15 * time.Second, ResumeWithin: 10 * time.Minute,
		base: base, close: cancel, cancels: map[string]context.CancelFunc{}}
}

// Close stops this engine's runs, which save their counts and stay
// running in the database (another replica, or this one restarted,
// resumes them), and waits for them.
func (e *Engine) Close() {
	e.close()
	e.wg.Wait()
}

// Holder names this engine's lease.
func (e *Engine) Holder() string { return e.holder }

// Start checks cfg, stores the run (store.ErrReplayRunning when the tenant
// has one running: across replicas, the database decides) and starts it.
func (e *Engine) Start(ctx context.Context, t store.Tenant, a store.Actor, cfg Config) (*store.ReplayRun, error) {
	if p := cfg.Problems(); len(p) > 0 {
		return nil, &scoring.ValidationError{Fields: p}
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(e.clock.Now().UnixNano())
	}
	run := &store.ReplayRun{Rate: cfg.Rate, DurationS: int(cfg.Duration / time.Second), FraudShare: cfg.FraudShare,
		Seed: int64(cfg.Seed & math.MaxInt64), FileName: cfg.FileName, FileData: cfg.File}
	if err := store.StartReplay(ctx, t, a, run, e.holder, e.clock.Now()); err != nil {
		return nil, err
	}
	e.launch(t, *run)
	return run, nil
}

// Stop stops the tenant's running replay (store.ErrNotFound when none),
// here or on whichever replica runs it.
func (e *Engine) Stop(ctx context.Context, t store.Tenant, a store.Actor) (*store.ReplayRun, error) {
	run, err := store.StopReplay(ctx, t, a, e.clock.Now())
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	cancel := e.cancels[run.ID]
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return run, nil
}

// Run recovers the runs left running (now and every Stale, to take over
// those of a replica that went away) until ctx ends, then waits for this
// engine's runs to save their counts. serve calls it.
func (e *Engine) Run(ctx context.Context) {
	e.mu.Lock()
	e.base, e.close = context.WithCancel(ctx)
	e.mu.Unlock()
	tk := e.clock.NewTicker(e.Stale)
	defer tk.Stop()
	for {
		if err := e.Recover(ctx); err != nil && ctx.Err() == nil {
			slog.Error("replay recovery", "error", err)
		}
		select {
		case <-ctx.Done():
			e.wg.Wait()
			return
		case <-tk.C():
		}
	}
}

// Wait waits for this engine's runs to return.
func (e *Engine) Wait() { e.wg.Wait() }

// Recover looks at every running replay: one held elsewhere with a fresh
// heartbeat is left alone; one whose holder is gone is resumed here, or
// marked interrupted with its counts when its heartbeat is older than
// ResumeWithin.
func (e *Engine) Recover(ctx context.Context) error {
	runs, err := store.AdminRunningReplays(ctx, e.db)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	for _, run := range runs {
		e.mu.Lock()
		_, mine := e.cancels[run.ID]
		e.mu.Unlock()
		if mine {
			continue
		}
		t := store.ForTenant(e.db, run.TenantID)
		ok, err := store.ClaimReplay(ctx, t, run.ID, e.holder, now.Add(-e.Stale), now)
		if err != nil {
			return err
		}
		if !ok {
			continue // its holder is alive
		}
		if run.HeartbeatAt == nil || now.Sub(*run.HeartbeatAt) > e.ResumeWithin {
			slog.Warn("replay interrupted", "tenant_id", run.TenantID, "replay_id", run.ID, "replayed", run.Replayed)
			if _, err := store.FinishReplay(ctx, t, run.ID, e.holder, store.ReplayInterrupted, run.Replayed, run.Flagged,
				run.Invalid, run.ActiveS, "the server stopped while it ran, and it was not resumed in time", now); err != nil {
				return err
			}
			continue
		}
		full, err := store.GetReplay(ctx, t, run.ID)
		if err != nil {
			return err
		}
		slog.Info("replay resumed", "tenant_id", run.TenantID, "replay_id", run.ID, "replayed", run.Replayed)
		e.launch(t, *full)
	}
	return nil
}

// launch runs run on a goroutine of its own.
func (e *Engine) launch(t store.Tenant, run store.ReplayRun) {
	e.mu.Lock()
	ctx, cancel := context.WithCancel(e.base)
	e.cancels[run.ID] = cancel
	e.mu.Unlock()
	e.wg.Go(func() {
		defer func() {
			e.mu.Lock()
			delete(e.cancels, run.ID)
			e.mu.Unlock()
			cancel()
		}()
		r, err := e.newRunner(t, run)
		if err == nil {
			err = r.loop(ctx)
		}
		if err != nil {
			slog.Error("replay failed", "tenant_id", t.ID(), "replay_id", run.ID, "error", err)
			now := e.clock.Now()
			if r == nil {
				r = &runner{run: run}
			}
			if _, ferr := store.FinishReplay(context.WithoutCancel(ctx), t, run.ID, e.holder, store.ReplayFailed, r.replayed,
				r.flagged, r.invalid, r.elapsed(now), "the replay failed; the server log has the details", now); ferr != nil {
				slog.Error("replay finish", "replay_id", run.ID, "error", ferr)
			}
		}
	})
}

// runner sends one run's transactions as the clock makes them due.
type runner struct {
	e   *Engine
	t   store.Tenant
	run store.ReplayRun
	src source

	start    time.Time // when this engine took the run up
	base     float64   // seconds replayed before (a resumed run)
	lastBeat time.Time

	replayed, flagged, invalid int64
}

func (e *Engine) newRunner(t store.Tenant, run store.ReplayRun) (*runner, error) {
	r := &runner{e: e, t: t, run: run, start: e.clock.Now(), base: run.ActiveS,
		replayed: run.Replayed, flagged: run.Flagged, invalid: run.Invalid}
	r.lastBeat = r.start
	var err error
	if run.FileData != nil {
		r.src, err = newFileSource(run, r.pos())
	} else {
		r.src = newSimSource(run, r.pos())
	}
	return r, err
}

// pos is how many rows of the source the run has used.
func (r *runner) pos() int64 { return r.replayed + r.invalid }

// total is how many rows the run sends in all.
func (r *runner) total() int64 { return int64(r.run.Rate) * int64(r.run.DurationS) }

// elapsed is how long the run has replayed at now, at most its duration.
func (r *runner) elapsed(now time.Time) float64 {
	s := r.base + now.Sub(r.start).Seconds()
	if r.start.IsZero() {
		s = r.base
	}
	return min(s, float64(r.run.DurationS))
}

// loop paces the run by a ticker against the clock: at each tick it sends
// every transaction due by then (rate × elapsed, less those sent), so a
// slow tick is caught up at the next one and the rate holds on average.
func (r *runner) loop(ctx context.Context) error {
	tk := r.e.clock.NewTicker(r.e.Tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stopped here, or the server is going down: save the counts
			// (a stopped run keeps them; a running one is resumed from them).
			_, err := store.ReplayCounts(context.WithoutCancel(ctx), r.t, r.run.ID, r.e.holder, r.replayed, r.flagged,
				r.invalid, r.elapsed(r.e.clock.Now()))
			return err
		case <-tk.C():
		}
		now := r.e.clock.Now()
		done, err := r.advance(ctx, now)
		if err != nil {
			if ctx.Err() != nil {
				continue // the select saves the counts
			}
			return err
		}
		if done {
			// The time it took to send the last row, past the duration
			// when it fell behind: the achieved rate tells.
			end := r.e.clock.Now()
			_, err := store.FinishReplay(context.WithoutCancel(ctx), r.t, r.run.ID, r.e.holder, store.ReplayFinished,
				r.replayed, r.flagged, r.invalid, r.base+end.Sub(r.start).Seconds(), "", end)
			return err
		}
		if now.Sub(r.lastBeat) >= r.e.Heartbeat {
			r.lastBeat = now
			ok, err := store.ReplayProgress(ctx, r.t, r.run.ID, r.e.holder, r.replayed, r.flagged, r.invalid, r.elapsed(now), now)
			if err != nil {
				return err
			}
			if !ok {
				return nil // stopped elsewhere, or taken over
			}
		}
	}
}

// batchMax is the most transactions one ScoreBatch call takes (the API's
// batch limit).
const batchMax = 1000

// advance sends what is due at now, through the scoring service's batch
// path, and reports whether the run is complete.
func (r *runner) advance(ctx context.Context, now time.Time) (bool, error) {
	el := r.elapsed(now)
	due := min(int64(float64(r.run.Rate)*el), r.total()) - r.pos()
	for due > 0 {
		ins, bad, err := r.src.next(int(min(due, batchMax)), now)
		if err != nil {
			return false, err
		}
		r.invalid += int64(bad)
		due -= int64(bad)
		if len(ins) == 0 && bad == 0 {
			return true, nil // the file ended
		}
		if len(ins) == 0 {
			continue
		}
		for i := range ins {
			if r.run.StartedBy != nil {
				ins[i].UserID = *r.run.StartedBy
			}
		}
		res, err := r.e.scorer.ScoreBatch(ctx, r.t, ins, nil)
		if err != nil {
			return false, err
		}
		for _, x := range res {
			switch {
			case x.Invalid != nil:
				r.invalid++
			case x.Scored != nil:
				r.replayed++
				if x.Created && x.Scored.Transaction.ReviewPriority != nil {
					r.flagged++
				}
			}
		}
		due -= int64(len(ins))
	}
	return r.pos() >= r.total() || el >= float64(r.run.DurationS), nil
}

// source hands out the rows to replay, in order.
type source interface {
	// next returns up to n inputs (fewer at the end of a file), and how
	// many rows it skipped as unreadable.
	next(n int, now time.Time) ([]live.Input, int, error)
}

// simSource replays the built-in simulator: a minute of traffic at the
// run's rate at a time, each minute from its own seed, so a resumed run
// goes on with the very rows it would have sent.
type simSource struct {
	run   store.ReplayRun
	pos   int64
	chunk int64 // index of the minute in buf
	buf   []scoring.Transaction
	lab   []bool
}

func newSimSource(run store.ReplayRun, pos int64) *simSource {
	return &simSource{run: run, pos: pos, chunk: -1}
}

func (s *simSource) next(n int, now time.Time) ([]live.Input, int, error) {
	per := int64(s.run.Rate) * simChunkSecond
	out := make([]live.Input, 0, n)
	for len(out) < n {
		k := s.pos / per
		if k != s.chunk {
			cfg := seed.DefaultSimConfig()
			cfg.Rows, cfg.FraudRate, cfg.Steps, cfg.Seed = int(per), s.run.FraudShare, 1, uint64(s.run.Seed)+uint64(k)
			txs, labels, err := seed.SimulateTransactions(cfg)
			if err != nil {
				return nil, 0, err
			}
			s.chunk, s.buf, s.lab = k, txs, labels
		}
		i := s.pos % per
		tx := s.buf[i]
		tx.Step = now.UTC().Hour()
		out = append(out, live.Input{ExternalID: externalID(s.run.ID, s.pos), Tx: tx, IsFraud: &s.lab[i], Source: store.SourceReplay})
		s.pos++
	}
	return out, 0, nil
}

// externalID names the n-th row of a run: a resumed run that sends a row
// again finds it stored and writes nothing.
func externalID(runID string, n int64) string {
	return "replay-" + runID + "-" + strconv.FormatInt(n, 10)
}

// fileSource replays an uploaded PaySim-format file, each row once.
type fileSource struct {
	run store.ReplayRun
	r   *training.Reader
	pos int64
}

func newFileSource(run store.ReplayRun, pos int64) (*fileSource, error) {
	r, err := training.NewReader(bytes.NewReader(run.FileData))
	if err != nil {
		return nil, fmt.Errorf("replay: file: %w", err)
	}
	s := &fileSource{run: run, r: r}
	for s.pos < pos {
		if _, err := r.Next(); err == io.EOF {
			break
		}
		s.pos++
	}
	return s, nil
}

func (s *fileSource) next(n int, now time.Time) ([]live.Input, int, error) {
	var out []live.Input
	bad := 0
	for len(out)+bad < n {
		row, err := s.r.Next()
		if err == io.EOF {
			break
		}
		var re *training.RowError
		if errors.As(err, &re) {
			bad++
			s.pos++
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		in := live.Input{ExternalID: externalID(s.run.ID, s.pos), Tx: row.Tx, Source: store.SourceReplay}
		if row.Label >= 0 {
			f := row.Label == 1
			in.IsFraud = &f
		}
		out = append(out, in)
		s.pos++
	}
	return out, bad, nil
}

// Package live is Sentinel's scoring service: each tenant's production
// model behind an atomic pointer (hot-swapped on promotion), scoring and
// explaining transactions, freezing their explanations, and storing them
// with group commits. It is used by the HTTP handlers, the seeder and the
// tests alike; package scoring underneath stays pure.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// ErrNoModel is returned when a tenant has no production model to score with.
var ErrNoModel = errors.New("this tenant has no production model")

// Version is a tenant's loaded production model.
type Version struct {
	VersionID string
	Name      string
	Version   int
	Model     *scoring.Model
	metrics   *scoreMetrics // nil: not instrumented
}

// Scorer scores and persists transactions with each tenant's production
// model. A tenant's model sits behind an atomic pointer: a promotion swaps
// it whole, so every request uses exactly one model, and none fails during
// the swap.
type Scorer struct {
	db     *store.DB
	mu     sync.Mutex // serialises loads
	models sync.Map   // tenant id → *atomic.Pointer[Version]
	w      groupWriter
	// metrics are set by Instrument; nil records nothing.
	metrics *scoreMetrics
}

// NewScorer returns a scorer that loads models from db on first use. Call
// RunWriter to have concurrent requests share database commits.
func NewScorer(db *store.DB) *Scorer {
	return &Scorer{db: db, w: groupWriter{queue: make(chan saveRequest, 4*maxGroup)}}
}

func (s *Scorer) slot(tenantID string) *atomic.Pointer[Version] {
	p, _ := s.models.LoadOrStore(tenantID, new(atomic.Pointer[Version]))
	return p.(*atomic.Pointer[Version])
}

// Current returns the tenant's live model, loading it on first use.
func (s *Scorer) Current(ctx context.Context, t store.Tenant) (*Version, error) {
	if m := s.slot(t.ID()).Load(); m != nil {
		return m, nil
	}
	return s.Reload(ctx, t)
}

// Reload loads the tenant's production model and swaps it in when it differs
// from the live one.
func (s *Scorer) Reload(ctx context.Context, t store.Tenant) (*Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := s.slot(t.ID())
	// Ask for the id first: the bundle (up to megabytes) is read only when
	// the production version changed.
	id, err := store.ProductionModelID(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoModel
	}
	if err != nil {
		return nil, err
	}
	if cur := slot.Load(); cur != nil && cur.VersionID == id {
		return cur, nil
	}
	mv, err := store.ProductionModel(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoModel
	}
	if err != nil {
		return nil, err
	}
	m, err := scoring.Load(mv.Bundle)
	if err != nil {
		return nil, fmt.Errorf("load model %s v%d: %w", mv.Name, mv.Version, err)
	}
	lm := &Version{VersionID: mv.ID, Name: mv.Name, Version: mv.Version, Model: m, metrics: s.metrics}
	slot.Store(lm)
	slog.Info("model live", "tenant_id", t.ID(), "model", mv.Name, "version", mv.Version)
	return lm, nil
}

// Preload loads every tenant's production model (at start).
func (s *Scorer) Preload(ctx context.Context) error {
	tenants, err := store.AdminListTenants(ctx, s.db)
	if err != nil {
		return err
	}
	for _, tn := range tenants {
		if _, err := s.Reload(ctx, store.ForTenant(s.db, tn.ID)); err != nil && !errors.Is(err, ErrNoModel) {
			return fmt.Errorf("preload %s: %w", tn.Slug, err)
		}
	}
	return nil
}

// Watch re-checks the loaded tenants' production models every interval, so a
// promotion made on another replica reaches this one.
func (s *Scorer) Watch(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.models.Range(func(k, _ any) bool {
				if _, err := s.Reload(ctx, store.ForTenant(s.db, k.(string))); err != nil && !errors.Is(err, ErrNoModel) {
					slog.Warn("model refresh", "tenant_id", k, "err", err)
				}
				return true
			})
		}
	}
}

// Input is one transaction to score, with how it arrived.
type Input struct {
	ExternalID string
	Tx         scoring.Transaction
	IsFraud    *bool
	// ReceivedAt is when the transaction arrived; zero means now. Only the
	// seeder sets it (the API keeps server time). The transaction's id is
	// made at this time, so id order stays received order.
	ReceivedAt time.Time
	// Source is how it arrived (store.SourceAPI when empty); KeyID or
	// UserID who sent it.
	Source string
	KeyID  string
	UserID string
}

// Score validates, scores, explains and stores one transaction. A repeated
// external id returns the stored result (created false) and writes nothing.
// It also hands back the explanation it froze (nil for a repeat), sparing
// the caller a decode of what it just encoded.
func (s *Scorer) Score(ctx context.Context, t store.Tenant, in Input) (*store.Scored, *Frozen, bool, error) {
	if err := in.Tx.Validate(); err != nil {
		return nil, nil, false, err
	}
	if in.ExternalID == "" {
		in.ExternalID = store.NewID()
	}
	// No lookup first: the unique (tenant, external id) index catches a
	// repeat, and SaveScored then returns the stored result.
	lm, err := s.Current(ctx, t)
	if err != nil {
		return nil, nil, false, err
	}
	ws, err := store.Watch(ctx, t, in.Tx.NameOrig, in.Tx.NameDest)
	if err != nil {
		return nil, nil, false, err
	}
	tx, p, fe, err := lm.Score(in, ws)
	if err != nil {
		return nil, nil, false, err
	}
	stored, created, err := s.save(ctx, t, tx, p)
	if created {
		s.metrics.countScored(&in, p.Band)
	} else {
		fe = nil
	}
	return stored, fe, created, err
}

// Score scores and explains one valid input into the rows to store, without
// storing them.
func (lm *Version) Score(in Input, ws store.WatchStatus) (*store.Transaction, *store.Prediction, *Frozen, error) {
	watch := scoring.Watch(ws)
	start := time.Now()
	res, ex := lm.Model.ScoreExplain(&in.Tx, watch, 10)
	latency := time.Since(start)
	lm.metrics.observeLatency(latency)
	frozen := Frozen{Model: FrozenModel{ID: lm.VersionID, Name: lm.Name, Version: lm.Version}, Result: res, Explanation: ex}
	if watch != (scoring.Watch{}) {
		frozen.WatchOverride = &watch
	}
	exJSON, err := frozen.AppendStored(make([]byte, 0, 1536))
	if err != nil {
		return nil, nil, nil, err
	}
	// PostgreSQL keeps microseconds: the answer to a new transaction must
	// carry the time a repeat or a read-back will show.
	now := time.Now().UTC().Truncate(time.Microsecond)
	received, id := now, ""
	if in.ReceivedAt.IsZero() {
		id = store.NewID()
	} else {
		received = in.ReceivedAt.UTC().Truncate(time.Microsecond)
		id = store.NewIDAt(received)
	}
	tx := &store.Transaction{
		ID: id, ExternalID: in.ExternalID, Step: in.Tx.Step, Type: in.Tx.Type, Amount: in.Tx.Amount,
		NameOrig: in.Tx.NameOrig, OldBalanceOrg: in.Tx.OldBalanceOrg, NewBalanceOrig: in.Tx.NewBalanceOrig,
		NameDest: in.Tx.NameDest, OldBalanceDest: in.Tx.OldBalanceDest, NewBalanceDest: in.Tx.NewBalanceDest,
		IsFraud: in.IsFraud, ReceivedAt: received, Source: in.Source,
		ReviewPriority: store.ReviewPriority(string(res.Band), res.Score, lm.Model.Thresholds().Review, frozen.WatchOverride != nil),
	}
	if in.KeyID != "" {
		tx.SubmittedByKey = &in.KeyID
	}
	if in.UserID != "" {
		tx.SubmittedByUser = &in.UserID
	}
	p := &store.Prediction{
		ID: store.NewID(), ModelVersionID: lm.VersionID, Score: res.Score, RawMargin: res.RawMargin,
		Band: string(res.Band), Threshold: lm.Model.Thresholds().Review, Explanation: exJSON,
		LatencyUS: latency.Microseconds(), CreatedAt: now,
	}
	return tx, p, &frozen, nil
}

// BatchResult is one input's outcome: stored (Created false for an external
// id scored before) or invalid.
type BatchResult struct {
	Scored  *store.Scored
	Created bool
	Invalid error
	Frozen  *Frozen // the explanation just made; nil for a stored one
}

// ScoreBatch scores many inputs and stores the new ones in one database
// transaction: one lookup for known external ids, one for the watchlist, one
// commit. An external id repeated inside the batch is invalid after its
// first occurrence, whatever its data: the client sent two transactions
// under one id and must hear of it. When audit is not nil, the request's one
// audit event (transaction.score_batch: counts, first and last external id)
// is written in the transaction that stores the batch.
func (s *Scorer) ScoreBatch(ctx context.Context, t store.Tenant, ins []Input, audit *BatchAudit) ([]BatchResult, error) {
	out := make([]BatchResult, len(ins))
	var ids, accounts []string
	seen := make(map[string]bool, len(ins))
	for i := range ins {
		if err := ins[i].Tx.Validate(); err != nil {
			out[i].Invalid = err
			continue
		}
		if ins[i].ExternalID == "" {
			ins[i].ExternalID = store.NewID()
		}
		if seen[ins[i].ExternalID] {
			out[i].Invalid = &scoring.ValidationError{Fields: []scoring.FieldError{{Field: "external_id",
				Message: "appears more than once in this batch; only its first occurrence is scored"}}}
			continue
		}
		seen[ins[i].ExternalID] = true
		ids = append(ids, ins[i].ExternalID)
		accounts = append(accounts, ins[i].Tx.NameOrig, ins[i].Tx.NameDest)
	}
	known, err := store.ScoredByExternalIDs(ctx, t, ids)
	if err != nil {
		return nil, err
	}
	kinds, err := store.WatchKinds(ctx, t, accounts)
	if err != nil {
		return nil, err
	}
	lm, err := s.Current(ctx, t)
	if err != nil {
		return nil, err
	}
	var txs []store.Transaction
	var ps []store.Prediction
	var fes []*Frozen
	fresh := map[string]int{} // external id → index in txs
	for i, in := range ins {
		if out[i].Invalid != nil {
			continue
		}
		if k, ok := known[in.ExternalID]; ok {
			out[i].Scored = k
			continue
		}
		tx, p, fe, err := lm.Score(in, store.StatusOf(kinds, in.Tx.NameOrig, in.Tx.NameDest))
		if err != nil {
			return nil, err
		}
		fresh[in.ExternalID] = len(txs)
		txs = append(txs, *tx)
		ps = append(ps, *p)
		fes = append(fes, fe)
	}
	if audit == nil {
		err = store.SaveScoredBatch(ctx, t, txs, ps)
	} else {
		err = store.SaveScoredBatchAudited(ctx, t, txs, ps, audit.Actor, audit.event(ins, out, len(txs)))
	}
	if errors.Is(err, store.ErrDuplicate) {
		// Another request stored one of these ids meanwhile: fall back to
		// one at a time, each in its own transaction, and record the request
		// after them.
		for i, in := range ins {
			if out[i].Invalid == nil && out[i].Scored == nil {
				if out[i].Scored, out[i].Frozen, out[i].Created, err = s.Score(ctx, t, in); err != nil {
					return nil, err
				}
			}
		}
		if audit != nil {
			created := 0
			for _, r := range out {
				if r.Created {
					created++
				}
			}
			if err := store.Record(ctx, t, audit.Actor, audit.event(ins, out, created)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		if j, ok := fresh[in.ExternalID]; ok && out[i].Invalid == nil && out[i].Scored == nil {
			out[i].Scored = &store.Scored{Transaction: txs[j], Prediction: ps[j]}
			out[i].Frozen = fes[j]
			out[i].Created = true
			s.metrics.countScored(&in, out[i].Scored.Prediction.Band)
		}
	}
	return out, nil
}

// BatchAudit is who sent a batch request, for its audit event, and how many
// of its items the caller refused before scoring (malformed ones).
type BatchAudit struct {
	Actor   store.Actor
	Refused int
}

// event is the audit event of one batch request: how many items it held,
// how many were new, already stored or invalid, and the first and last
// external id scored. No transaction gets an event of its own.
func (a *BatchAudit) event(ins []Input, out []BatchResult, created int) store.Event {
	var first, last string
	invalid := a.Refused
	for i := range ins {
		if out[i].Invalid != nil {
			invalid++
			continue
		}
		if first == "" {
			first = ins[i].ExternalID
		}
		last = ins[i].ExternalID
	}
	return store.Event{Action: store.ActionScoreBatch, ObjectType: "transaction", Details: map[string]any{
		"count": len(ins) + a.Refused, "created": created, "repeated": len(ins) + a.Refused - invalid - created, "invalid": invalid,
		"first_external_id": first, "last_external_id": last,
	}}
}

// Package live is Sentinel's scoring service: each tenant's production
// model behind an atomic pointer (hot-swapped on promotion), scoring and
// explaining transactions, freezing their explanations, and storing them
// with group commits. It is used by the HTTP handlers, the seeder and the
// tests alike; package scoring underneath stays pure.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// ErrNoModel is returned when a tenant has no production model to score with.
var ErrNoModel = errors.New("this tenant has no production model")

// Version is a tenant's loaded production (or shadow) model.
type Version struct {
	VersionID string
	Name      string
	Version   int
	// Revision is the registry's revision of the version this was loaded
	// from: a change of thresholds raises it, and the replicas reload.
	Revision int
	Model    *scoring.Model
	metrics  *scoreMetrics // nil: not instrumented
}

// Scorer scores and persists transactions with each tenant's production
// model. A tenant's model sits behind an atomic pointer: a promotion swaps
// it whole, so every request uses exactly one model, and none fails during
// the swap. A tenant's shadow model, if any, sits behind another and scores
// every transaction too, its verdict stored beside the production one.
type Scorer struct {
	db      *store.DB
	mu      sync.Mutex // serialises loads
	models  sync.Map   // tenant id → *atomic.Pointer[Version]
	shadows sync.Map   // tenant id → *atomic.Pointer[Version]
	w       groupWriter
	// replica names this process in the registry's record of model loads.
	replica string
	// metrics are set by Instrument; nil records nothing.
	metrics *scoreMetrics
}

// scorers counts the scorers of this process, to tell them apart.
var scorers atomic.Int64

// NewScorer returns a scorer that loads models from db on first use. Call
// RunWriter to have concurrent requests share database commits.
func NewScorer(db *store.DB) *Scorer {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	replica := fmt.Sprintf("%s/%d", host, os.Getpid())
	if n := scorers.Add(1); n > 1 {
		replica += fmt.Sprintf("#%d", n)
	}
	return &Scorer{db: db, replica: replica, w: groupWriter{queue: make(chan saveRequest, 4*maxGroup)}}
}

// slotIn returns the tenant's slot in m, making it on first use (a plain
// Load first: LoadOrStore would allocate a slot on every call).
func slotIn(m *sync.Map, tenantID string) *atomic.Pointer[Version] {
	if p, ok := m.Load(tenantID); ok {
		return p.(*atomic.Pointer[Version])
	}
	p, _ := m.LoadOrStore(tenantID, new(atomic.Pointer[Version]))
	return p.(*atomic.Pointer[Version])
}

func (s *Scorer) slot(tenantID string) *atomic.Pointer[Version] { return slotIn(&s.models, tenantID) }

// Current returns the tenant's live model, loading it on first use.
func (s *Scorer) Current(ctx context.Context, t store.Tenant) (*Version, error) {
	if m := s.slot(t.ID()).Load(); m != nil {
		return m, nil
	}
	return s.Reload(ctx, t)
}

// Shadow returns the tenant's shadow model, nil when it has none. It is
// loaded along with the production model (Current, Reload).
func (s *Scorer) Shadow(t store.Tenant) *Version {
	return slotIn(&s.shadows, t.ID()).Load()
}

// Reload checks the tenant's production and shadow versions and swaps in
// whichever changed: another version, or new thresholds (a higher
// revision). Only a version not loaded yet has its bundle read. A shadow
// that fails to load is logged and left out: it never stops scoring.
func (s *Scorer) Reload(ctx context.Context, t store.Tenant) (*Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := store.LiveModels(ctx, t)
	if err != nil {
		return nil, err
	}
	var prod, shadow *store.ModelVersion
	for i := range rows {
		switch rows[i].Stage {
		case store.StageProduction:
			prod = &rows[i]
		case store.StageShadow:
			shadow = &rows[i]
		}
	}
	// Production first: a shadow promoted to production is still loaded in
	// its slot, and its model is reused.
	var lm *Version
	err = ErrNoModel
	if prod != nil {
		lm, err = s.swap(ctx, t, s.slot(t.ID()), prod)
	}
	shadowSlot := slotIn(&s.shadows, t.ID())
	if shadow == nil {
		if old := shadowSlot.Swap(nil); old != nil {
			slog.Info("shadow model stopped", "tenant_id", t.ID(), "model", old.Name, "version", old.Version)
		}
	} else if _, serr := s.swap(ctx, t, shadowSlot, shadow); serr != nil {
		shadowSlot.Store(nil)
		slog.Warn("shadow model not loaded", "tenant_id", t.ID(), "model", shadow.Name, "version", shadow.Version, "err", serr)
	}
	return lm, err
}

// swap makes row the version behind slot unless it is there already. A
// model loaded in either slot is reused (a shadow promoted to production,
// thresholds changed) instead of being read and checked again.
func (s *Scorer) swap(ctx context.Context, t store.Tenant, slot *atomic.Pointer[Version], row *store.ModelVersion) (*Version, error) {
	cur := slot.Load()
	if cur != nil && cur.VersionID == row.ID && cur.Revision == row.Revision {
		return cur, nil
	}
	var m *scoring.Model
	for _, v := range []*Version{cur, slotIn(&s.models, t.ID()).Load(), slotIn(&s.shadows, t.ID()).Load()} {
		if v != nil && v.VersionID == row.ID {
			m = v.Model
			break
		}
	}
	if m == nil {
		mv, err := store.GetModelVersion(ctx, t, row.ID)
		if err != nil {
			return nil, err
		}
		if m, err = scoring.Load(mv.Bundle); err != nil {
			return nil, fmt.Errorf("load model %s v%d: %w", mv.Name, mv.Version, err)
		}
	}
	th, err := registryThresholds(row, m)
	if err != nil {
		return nil, fmt.Errorf("model %s v%d: %w", row.Name, row.Version, err)
	}
	if th != m.Thresholds() {
		m = m.WithThresholds(th)
	}
	lm := &Version{VersionID: row.ID, Name: row.Name, Version: row.Version, Revision: row.Revision, Model: m, metrics: s.metrics}
	slot.Store(lm)
	slog.Info("model live", "tenant_id", t.ID(), "model", row.Name, "version", row.Version, "stage", row.Stage, "revision", row.Revision)
	// Knowing which replica took which revision helps the admin; failing to
	// write it must not stop scoring.
	if err := store.RecordModelLoad(ctx, t, store.Actor{Email: "replica " + s.replica}, row.ID, row.Revision, s.replica); err != nil {
		slog.Warn("model load not recorded", "tenant_id", t.ID(), "model", row.Name, "version", row.Version, "err", err)
	}
	return lm, nil
}

// registryThresholds are the thresholds a version scores with: those set
// in the registry, or the bundle's (m) when none were.
func registryThresholds(row *store.ModelVersion, m *scoring.Model) (scoring.Thresholds, error) {
	if len(row.Thresholds) == 0 || string(row.Thresholds) == "null" {
		return m.Thresholds(), nil
	}
	var th scoring.Thresholds
	if err := json.Unmarshal(row.Thresholds, &th); err != nil {
		return th, fmt.Errorf("thresholds: %w", err)
	}
	if err := th.Validate(); err != nil {
		return th, err
	}
	return th, nil
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
	// made at this time, so id order stays received order, and its
	// prediction is dated then too.
	ReceivedAt time.Time
	// Source is how it arrived (store.SourceAPI when empty); KeyID or
	// UserID who sent it.
	Source string
	KeyID  string
	UserID string
	// UploadID is the upload the transaction came in (source upload).
	UploadID string
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
	if sh := s.Shadow(t); sh != nil {
		sh.scoreShadow(&in, ws, p)
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
	// About 1.8 KB for the shipped model's 16 features: room enough that
	// the buffer is not grown and copied on the way.
	exJSON, err := frozen.AppendStored(make([]byte, 0, 768+96*len(ex.All)))
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
		OrigCountry: in.Tx.OrigCountry, DestCountry: in.Tx.DestCountry, OrigRegion: in.Tx.OrigRegion, DestRegion: in.Tx.DestRegion,
		ReviewPriority: store.ReviewPriority(string(res.Band), res.Score, lm.Model.Thresholds().Review, frozen.WatchOverride != nil),
	}
	if in.KeyID != "" {
		tx.SubmittedByKey = &in.KeyID
	}
	if in.UserID != "" {
		tx.SubmittedByUser = &in.UserID
	}
	if in.UploadID != "" {
		tx.UploadID = &in.UploadID
	}
	p := &store.Prediction{
		ID: store.NewID(), ModelVersionID: lm.VersionID, Score: res.Score, RawMargin: res.RawMargin,
		Band: string(res.Band), Threshold: lm.Model.Thresholds().Review, Explanation: exJSON,
		LatencyUS: latency.Microseconds(), CreatedAt: received, // a replayed or seeded history was scored as it arrived
	}
	return tx, p, &frozen, nil
}

// scoreShadow adds the shadow model's verdict on in to p, and the time it
// took: the challenger's score and band (watchlist overrides applied as for
// the production band), never its explanation.
func (sh *Version) scoreShadow(in *Input, ws store.WatchStatus, p *store.Prediction) {
	start := time.Now()
	res := sh.Model.Score(&in.Tx, scoring.Watch(ws))
	latency := time.Since(start).Microseconds()
	id, band := sh.VersionID, string(res.Band)
	p.ShadowModelVersionID, p.ShadowScore, p.ShadowBand, p.ShadowLatencyUS = &id, &res.Score, &band, &latency
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
	shadow := s.Shadow(t)
	txs := make([]store.Transaction, 0, len(ids))
	ps := make([]store.Prediction, 0, len(ids))
	fes := make([]*Frozen, 0, len(ids))
	fresh := make(map[string]int, len(ids)) // external id → index in txs
	for i := range ins {
		in := &ins[i]
		if out[i].Invalid != nil {
			continue
		}
		if k, ok := known[in.ExternalID]; ok {
			out[i].Scored = k
			continue
		}
		ws := store.StatusOf(kinds, in.Tx.NameOrig, in.Tx.NameDest)
		tx, p, fe, err := lm.Score(*in, ws)
		if err != nil {
			return nil, err
		}
		if shadow != nil {
			shadow.scoreShadow(in, ws, p)
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
	stored := make([]store.Scored, len(txs))
	for i := range ins {
		in := &ins[i]
		if j, ok := fresh[in.ExternalID]; ok && out[i].Invalid == nil && out[i].Scored == nil {
			stored[j] = store.Scored{Transaction: txs[j], Prediction: ps[j]}
			out[i].Scored = &stored[j]
			out[i].Frozen = fes[j]
			out[i].Created = true
			s.metrics.countScored(in, out[i].Scored.Prediction.Band)
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

package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// ErrNoModel is returned when a tenant has no production model to score with.
var ErrNoModel = errors.New("this tenant has no production model")

// liveModel is a tenant's loaded production model.
type liveModel struct {
	VersionID string
	Name      string
	Version   int
	Model     *scoring.Model
}

// Scorer scores and persists transactions with each tenant's production
// model. A tenant's model sits behind an atomic pointer: a promotion swaps
// it whole, so every request uses exactly one model, and none fails during
// the swap.
type Scorer struct {
	db     *store.DB
	mu     sync.Mutex // serialises loads
	models sync.Map   // tenant id → *atomic.Pointer[liveModel]
	w      groupWriter
}

// NewScorer returns a scorer that loads models from db on first use. Call
// RunWriter to have concurrent requests share database commits.
func NewScorer(db *store.DB) *Scorer {
	return &Scorer{db: db, w: groupWriter{queue: make(chan saveRequest, 4*maxGroup)}}
}

func (s *Scorer) slot(tenantID string) *atomic.Pointer[liveModel] {
	p, _ := s.models.LoadOrStore(tenantID, new(atomic.Pointer[liveModel]))
	return p.(*atomic.Pointer[liveModel])
}

// Current returns the tenant's live model, loading it on first use.
func (s *Scorer) Current(ctx context.Context, t store.Tenant) (*liveModel, error) {
	if m := s.slot(t.ID()).Load(); m != nil {
		return m, nil
	}
	return s.Reload(ctx, t)
}

// Reload loads the tenant's production model and swaps it in when it differs
// from the live one.
func (s *Scorer) Reload(ctx context.Context, t store.Tenant) (*liveModel, error) {
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
	lm := &liveModel{VersionID: mv.ID, Name: mv.Name, Version: mv.Version, Model: m}
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

// ScoreInput is one transaction to score.
type ScoreInput struct {
	ExternalID string
	Tx         scoring.Transaction
	IsFraud    *bool
}

// frozenExplanation is what a prediction keeps: the explanation and the
// model that made it, never recomputed.
type frozenExplanation struct {
	Model         frozenModel         `json:"model"`
	Result        scoring.Result      `json:"result"`
	Explanation   scoring.Explanation `json:"explanation"`
	WatchOverride *scoring.Watch      `json:"watch,omitempty"`
}

type frozenModel struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// appendStored appends what a prediction stores of fe: exactly what
// json.Marshal writes for it without the top list (TopContributions
// rebuilds it) and without labels and directions (Describe does), which
// halves the bytes. Written out by hand because it runs for every scored
// transaction, where encoding/json's reflection was a fifth of the
// server's work; a test holds it byte for byte to json.Marshal.
func (fe *frozenExplanation) appendStored(b []byte) ([]byte, error) {
	r, ex := &fe.Result, &fe.Explanation
	for _, f := range []float64{r.RawMargin, r.Score, ex.BaseValue, ex.RawMargin} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("encode explanation: non-finite number %v", f)
		}
	}
	b = append(b, `{"model":`...)
	b = fe.Model.appendJSON(b)
	b = append(b, `,"result":{"raw_margin":`...)
	b = appendJSONFloat(b, r.RawMargin)
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, r.Score)
	b = appendVerdict(b, string(r.Band), string(r.ModelBand), r.Override, r.Trusted, r.Review)
	b = append(b, `},"explanation":{"base_value":`...)
	b = appendJSONFloat(b, ex.BaseValue)
	b = append(b, `,"raw_margin":`...)
	b = appendJSONFloat(b, ex.RawMargin)
	b = append(b, `,"contributions":[`...)
	for i, c := range ex.All {
		if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || math.IsNaN(c.Contribution) || math.IsInf(c.Contribution, 0) {
			return nil, fmt.Errorf("encode explanation: non-finite %s", c.Feature)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendContribution(b, &ex.All[i], false)
	}
	b = append(b, `],"summary":`...)
	b = appendJSONString(b, ex.Summary)
	b = append(b, '}')
	if w := fe.WatchOverride; w != nil {
		b = fmt.Appendf(b, `,"watch":{"SenderBlocked":%t,"ReceiverBlocked":%t,"SenderTrusted":%t,"ReceiverTrusted":%t}`,
			w.SenderBlocked, w.ReceiverBlocked, w.SenderTrusted, w.ReceiverTrusted)
	}
	return append(b, '}'), nil
}

// appendVerdict writes the band fields of a result, from ,"band" to
// "review", as encoding/json writes them for scoring.Result and the API.
func appendVerdict(b []byte, band, modelBand, override string, trusted, review bool) []byte {
	b = append(b, `,"band":`...)
	b = appendJSONString(b, band)
	b = append(b, `,"model_band":`...)
	b = appendJSONString(b, modelBand)
	if override != "" {
		b = append(b, `,"override":`...)
		b = appendJSONString(b, override)
	}
	if trusted {
		b = append(b, `,"trusted":true`...)
	}
	b = append(b, `,"review":`...)
	return strconv.AppendBool(b, review)
}

func (m frozenModel) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, m.Name)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(m.Version), 10)
	return append(b, '}')
}

// appendContribution writes c as encoding/json does; without text only its
// feature, value and contribution, as a prediction stores it.
func appendContribution(b []byte, c *scoring.Contribution, text bool) []byte {
	b = append(b, `{"feature":`...)
	b = appendJSONString(b, c.Feature)
	if text && c.Label != "" {
		b = append(b, `,"label":`...)
		b = appendJSONString(b, c.Label)
	}
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, c.Value)
	b = append(b, `,"contribution":`...)
	b = appendJSONFloat(b, c.Contribution)
	if text && c.Direction != "" {
		b = append(b, `,"direction":`...)
		b = appendJSONString(b, c.Direction)
	}
	return append(b, '}')
}

// appendJSONFloat writes f as encoding/json does: the shortest form that
// reads back exactly, in exponent form only below 1e-6 or from 1e21.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-07 → e-7
		b = b[:n-1]
	}
	return b
}

// appendJSONString writes s as a JSON string; anything beyond plain
// printable ASCII goes through encoding/json, which escapes as it does
// everywhere else.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Score validates, scores, explains and stores one transaction. A repeated
// external id returns the stored result (created false) and writes nothing.
func (s *Scorer) Score(ctx context.Context, t store.Tenant, in ScoreInput) (*store.Scored, bool, error) {
	stored, _, created, err := s.score(ctx, t, in)
	return stored, created, err
}

// score is Score that also hands back the explanation it froze (nil for a
// repeat), sparing the API a decode of what it just encoded.
func (s *Scorer) score(ctx context.Context, t store.Tenant, in ScoreInput) (*store.Scored, *frozenExplanation, bool, error) {
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
	tx, p, fe, err := lm.score(in, ws)
	if err != nil {
		return nil, nil, false, err
	}
	stored, created, err := s.save(ctx, t, tx, p)
	if !created {
		fe = nil
	}
	return stored, fe, created, err
}

// score scores and explains one valid input into the rows to store.
func (lm *liveModel) score(in ScoreInput, ws store.WatchStatus) (*store.Transaction, *store.Prediction, *frozenExplanation, error) {
	watch := scoring.Watch(ws)
	start := time.Now()
	res, ex := lm.Model.ScoreExplain(&in.Tx, watch, 10)
	latency := time.Since(start)
	frozen := frozenExplanation{Model: frozenModel{ID: lm.VersionID, Name: lm.Name, Version: lm.Version}, Result: res, Explanation: ex}
	if watch != (scoring.Watch{}) {
		frozen.WatchOverride = &watch
	}
	exJSON, err := frozen.appendStored(make([]byte, 0, 1536))
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now().UTC()
	tx := &store.Transaction{
		ID: store.NewID(), ExternalID: in.ExternalID, Step: in.Tx.Step, Type: in.Tx.Type, Amount: in.Tx.Amount,
		NameOrig: in.Tx.NameOrig, OldBalanceOrg: in.Tx.OldBalanceOrg, NewBalanceOrig: in.Tx.NewBalanceOrig,
		NameDest: in.Tx.NameDest, OldBalanceDest: in.Tx.OldBalanceDest, NewBalanceDest: in.Tx.NewBalanceDest,
		IsFraud: in.IsFraud, ReceivedAt: now,
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
	frozen  *frozenExplanation // the explanation just made; nil for a stored one
}

// ScoreBatch scores many inputs and stores the new ones in one database
// transaction: one lookup for known external ids, one for the watchlist, one
// commit. An id repeated inside the batch is scored once.
func (s *Scorer) ScoreBatch(ctx context.Context, t store.Tenant, ins []ScoreInput) ([]BatchResult, error) {
	out := make([]BatchResult, len(ins))
	var ids, accounts []string
	for i := range ins {
		if err := ins[i].Tx.Validate(); err != nil {
			out[i].Invalid = err
			continue
		}
		if ins[i].ExternalID == "" {
			ins[i].ExternalID = store.NewID()
		}
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
	var fes []*frozenExplanation
	fresh := map[string]int{} // external id → index in txs
	for i, in := range ins {
		if out[i].Invalid != nil {
			continue
		}
		if k, ok := known[in.ExternalID]; ok {
			out[i].Scored = k
			continue
		}
		if _, dup := fresh[in.ExternalID]; dup {
			continue // filled below from the first occurrence
		}
		tx, p, fe, err := lm.score(in, store.StatusOf(kinds, in.Tx.NameOrig, in.Tx.NameDest))
		if err != nil {
			return nil, err
		}
		fresh[in.ExternalID] = len(txs)
		txs = append(txs, *tx)
		ps = append(ps, *p)
		fes = append(fes, fe)
	}
	err = store.SaveScoredBatch(ctx, t, txs, ps)
	if errors.Is(err, store.ErrDuplicate) {
		// Another request stored one of these ids meanwhile: fall back to one at a time.
		for i, in := range ins {
			if out[i].Invalid == nil && out[i].Scored == nil {
				if out[i].Scored, out[i].frozen, out[i].Created, err = s.score(ctx, t, in); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	first := map[string]bool{}
	for i, in := range ins {
		if j, ok := fresh[in.ExternalID]; ok && out[i].Invalid == nil && out[i].Scored == nil {
			out[i].Scored = &store.Scored{Transaction: txs[j], Prediction: ps[j]}
			out[i].frozen = fes[j]
			out[i].Created = !first[in.ExternalID]
			first[in.ExternalID] = true
		}
	}
	return out, nil
}

package live

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

// Bands lists the risk bands in order; a band's index is its place here.
var Bands = []scoring.Band{scoring.BandLow, scoring.BandMedium, scoring.BandHigh, scoring.BandCritical}

func bandIndex(b string) int {
	for i, x := range Bands {
		if string(x) == b {
			return i
		}
	}
	return 0
}

func bandOf(th scoring.Thresholds, score float64) int { return bandIndex(string(th.BandOf(score))) }

// WhatIfWindow is how far back a threshold what-if looks.
const WhatIfWindow = 30 * 24 * time.Hour

// DefaultSample and MaxSample bound how many recent transactions a
// comparison or a what-if rescores.
const (
	DefaultSample = 10_000
	MaxSample     = 50_000
)

// WhatIf is what new thresholds would have done to a version's recent
// decisions: Moves[from][to] counts transactions by band under the current
// and the proposed thresholds (bands the model gives, before watchlist
// overrides), and the review counts say how many would enter or leave the
// review queue.
type WhatIf struct {
	// Rescored is true when the version scored nothing in the window
	// itself (not live) and recent traffic was rescored with it instead.
	Rescored          bool
	Total             int64
	Moves             [4][4]int64
	Changed           int64
	ReviewBefore      int64
	ReviewAfter       int64
	EnterReview       int64
	LeaveReview       int64
	Current, Proposed scoring.Thresholds
	Since             time.Time
}

// WhatIf counts what proposed thresholds would change over the last 30
// days. A live version (production or shadow) is judged on the scores it
// gave, counted in the database; any other version rescores up to
// MaxSample transactions of the window.
func (r *Registry) WhatIf(ctx context.Context, t store.Tenant, id string, proposed scoring.Thresholds, now time.Time) (*WhatIf, error) {
	mv, err := store.GetModelVersionInfo(ctx, t, id)
	if err != nil {
		return nil, err
	}
	cur, err := r.Thresholds(ctx, t, mv)
	if err != nil {
		return nil, err
	}
	w := &WhatIf{Current: cur, Proposed: proposed, Since: now.Add(-WhatIfWindow).UTC()}
	add := func(from, to int, rf, rt bool, n int64) {
		w.Total += n
		w.Moves[from][to] += n
		if from != to {
			w.Changed += n
		}
		if rf {
			w.ReviewBefore += n
		}
		if rt {
			w.ReviewAfter += n
		}
		switch {
		case rt && !rf:
			w.EnterReview += n
		case rf && !rt:
			w.LeaveReview += n
		}
	}
	if mv.Stage == store.StageProduction || mv.Stage == store.StageShadow {
		shifts, err := store.ThresholdShifts(ctx, t, id, mv.Stage == store.StageShadow, w.Since, store.Cutoffs(cur), store.Cutoffs(proposed))
		if err != nil {
			return nil, err
		}
		for _, s := range shifts {
			add(s.From, s.To, s.ReviewFrom, s.ReviewTo, s.N)
		}
		return w, nil
	}
	m, _, err := r.model(ctx, t, id)
	if err != nil {
		return nil, err
	}
	rows, err := store.ScoredSample(ctx, t, store.SampleFilter{Limit: MaxSample, Since: w.Since})
	if err != nil {
		return nil, err
	}
	w.Rescored = true
	scores := make([]float64, len(rows))
	rescore(rows, func(i int, tx *scoring.Transaction) { scores[i] = m.Predict(tx).Score })
	for _, s := range scores {
		add(bandOf(cur, s), bandOf(proposed, s), s >= cur.Review, s >= proposed.Review, 1)
	}
	return w, nil
}

// rescore calls score for every row, spread over the machine's cores
// (a model is safe for concurrent use): a comparison of 50,000
// transactions with a 300-tree model is otherwise most of a second.
func rescore(rows []store.SampleRow, score func(i int, tx *scoring.Transaction)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/1000))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(rows); i += workers {
				score(i, txOf(&rows[i].Transaction))
			}
		}()
	}
	wg.Wait()
}

// txOf is a stored transaction as the model reads it.
func txOf(tx *store.Transaction) *scoring.Transaction {
	return &scoring.Transaction{Step: tx.Step, Type: tx.Type, Amount: tx.Amount, NameOrig: tx.NameOrig,
		OldBalanceOrg: tx.OldBalanceOrg, NewBalanceOrig: tx.NewBalanceOrig, NameDest: tx.NameDest,
		OldBalanceDest: tx.OldBalanceDest, NewBalanceDest: tx.NewBalanceDest}
}

// ScoreBins are the edges of the score distribution's bins: finer near 0,
// where nearly all traffic scores.
var ScoreBins = []float64{0, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.85, 0.95, 1}

func binOf(score float64) int {
	for i := 1; i < len(ScoreBins)-1; i++ {
		if score < ScoreBins[i] {
			return i - 1
		}
	}
	return len(ScoreBins) - 2
}

// Side is one version's results in a comparison.
type Side struct {
	Version    *store.ModelVersion
	Summary    Summary
	Thresholds scoring.Thresholds
	// Bins counts scores by ScoreBins; Bands by band; Review those at or
	// above the version's review threshold.
	Bins   []int64
	Bands  [4]int64
	Review int64
	// LabelAP is the average precision on the analysts' decisions
	// (confirmed fraud against false positive); 0 unless the comparison
	// has Frauds > 0.
	LabelAP float64
	// MeanLatencyUS and P99LatencyUS time the shadow model, from its
	// stored latencies (live shadow comparisons only).
	MeanLatencyUS, P99LatencyUS float64
}

// Comparison sets two versions side by side on the tenant's recent traffic.
type Comparison struct {
	A, B Side
	// Live is true when the scores are those stored by a live production
	// and shadow pair; otherwise the sample was rescored with both.
	Live bool
	// Rows is how many transactions were compared.
	Rows int
	// Agreement[i][j] counts transactions A puts in band i and B in band j.
	Agreement [4][4]int64
	Agree     int64
	// Labelled counts the compared transactions analysts decided
	// (confirmed fraud or false positive), Frauds the confirmed ones.
	Labelled, Frauds int
}

// Compare scores the tenant's n most recent stored transactions (up to
// MaxSample) with versions a and b. When they are the production and the
// shadow version, the scores both gave live are used instead, on the
// transactions the shadow scored.
func (r *Registry) Compare(ctx context.Context, t store.Tenant, a, b string, n int) (*Comparison, error) {
	if n <= 0 || n > MaxSample {
		n = min(max(n, DefaultSample), MaxSample)
	}
	ma, va, err := r.model(ctx, t, a)
	if err != nil {
		return nil, err
	}
	mb, vb, err := r.model(ctx, t, b)
	if err != nil {
		return nil, err
	}
	c := &Comparison{}
	for _, s := range []struct {
		side *Side
		mv   *store.ModelVersion
		m    *scoring.Model
	}{{&c.A, va, ma}, {&c.B, vb, mb}} {
		card, err := r.Card(ctx, t, s.mv.ID)
		if err != nil {
			return nil, err
		}
		*s.side = Side{Version: s.mv, Summary: card.Summary, Thresholds: s.m.Thresholds(), Bins: make([]int64, len(ScoreBins)-1)}
	}
	prod, shadow := va, vb
	if prod.Stage == store.StageShadow {
		prod, shadow = vb, va
	}
	var scoresA, scoresB []float64
	var labels []uint8
	var latencies []float64
	if prod.Stage == store.StageProduction && shadow.Stage == store.StageShadow {
		rows, err := store.ScoredSample(ctx, t, store.SampleFilter{Limit: n, ShadowOf: shadow.ID})
		if err != nil {
			return nil, err
		}
		for i := range rows {
			row := &rows[i]
			if row.ModelVersionID != prod.ID || row.ShadowScore == nil || row.ShadowBand == nil {
				continue
			}
			ps, pb, ss, sb := row.Score, bandIndex(row.Band), *row.ShadowScore, bandIndex(*row.ShadowBand)
			if va.ID == shadow.ID {
				ps, pb, ss, sb = ss, sb, ps, pb
			}
			c.count(row.Label, ps, pb, ss, sb, &scoresA, &scoresB, &labels)
			if row.ShadowLatencyUS != nil {
				latencies = append(latencies, float64(*row.ShadowLatencyUS))
			}
		}
		c.Live = c.Rows > 0
	}
	if !c.Live {
		rows, err := store.ScoredSample(ctx, t, store.SampleFilter{Limit: n})
		if err != nil {
			return nil, err
		}
		results := make([][2]scoring.Result, len(rows))
		rescore(rows, func(i int, tx *scoring.Transaction) { results[i] = [2]scoring.Result{ma.Predict(tx), mb.Predict(tx)} })
		for i, res := range results {
			ra, rb := res[0], res[1]
			c.count(rows[i].Label, ra.Score, bandIndex(string(ra.Band)), rb.Score, bandIndex(string(rb.Band)), &scoresA, &scoresB, &labels)
		}
	}
	if c.Labelled > 0 && c.Frauds > 0 {
		c.A.LabelAP = training.AveragePrecision(scoresA, labels)
		c.B.LabelAP = training.AveragePrecision(scoresB, labels)
	}
	if len(latencies) > 0 {
		side := &c.B
		if va.ID == shadow.ID {
			side = &c.A
		}
		side.MeanLatencyUS, side.P99LatencyUS = meanP99(latencies)
	}
	return c, nil
}

// count adds one transaction scored by both versions; the scores of
// decided ones are kept for the average precision on analysts' labels.
func (c *Comparison) count(label string, sa float64, ba int, sb float64, bb int, scoresA, scoresB *[]float64, labels *[]uint8) {
	c.Rows++
	c.Agreement[ba][bb]++
	if ba == bb {
		c.Agree++
	}
	for _, s := range []struct {
		side  *Side
		score float64
		band  int
	}{{&c.A, sa, ba}, {&c.B, sb, bb}} {
		s.side.Bins[binOf(s.score)]++
		s.side.Bands[s.band]++
		if s.score >= s.side.Thresholds.Review {
			s.side.Review++
		}
	}
	var y uint8
	switch label {
	case store.DecisionConfirmedFraud:
		y = 1
		c.Frauds++
	case store.DecisionFalsePositive:
	default:
		return
	}
	c.Labelled++
	*scoresA = append(*scoresA, sa)
	*scoresB = append(*scoresB, sb)
	*labels = append(*labels, y)
}

func meanP99(v []float64) (mean, p99 float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	for _, x := range s {
		mean += x
	}
	return mean / float64(len(s)), s[min(len(s)-1, int(float64(len(s))*0.99))]
}

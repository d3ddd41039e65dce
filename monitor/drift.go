package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// Drift windows and limits.
const (
	// HistoryWindow is how far back the page and the job look: 30 days.
	HistoryWindow = 30 * 24 * time.Hour
	// TrafficBaselineWindow is how much of a model's first traffic makes its
	// baseline when its bundle has none.
	TrafficBaselineWindow = 7 * 24 * time.Hour
	// HourLimit bounds the transactions one hour's snapshot reads; a busier
	// hour is counted on its first HourLimit transactions.
	HourLimit = 50_000
	// trafficBaselinePerDay bounds the rows a traffic baseline reads per day.
	trafficBaselinePerDay = 5_000
)

// Variable names beside the model's features.
const (
	VarScore = "score"
	VarType  = "type"
)

// HourBins is one variable's counts in one hour: Counts in the baseline's
// bins, or for the type mix, Cats by type.
type HourBins struct {
	Counts []float64          `json:"counts,omitempty"`
	Cats   map[string]float64 `json:"cats,omitempty"`
}

// SnapshotBins is drift_snapshots.bins: the hour's counts and the running
// total of every hour of the model so far (this one included), so that any
// window's counts are the difference of two snapshots' totals and the page
// reads a handful of rows instead of every hour's.
type SnapshotBins struct {
	HourBins
	Total HourBins `json:"total"`
}

// sub returns h minus o.
func (h HourBins) sub(o HourBins) HourBins {
	out := HourBins{Counts: append([]float64(nil), h.Counts...)}
	for i, c := range o.Counts {
		if i < len(out.Counts) {
			out.Counts[i] -= c
		}
	}
	for k, c := range h.Cats {
		if out.Cats == nil {
			out.Cats = map[string]float64{}
		}
		if d := c - o.Cats[k]; d != 0 {
			out.Cats[k] = d
		}
	}
	return out
}

// clone copies h.
func (h HourBins) clone() HourBins {
	out := HourBins{}
	out.add(h)
	if out.Counts == nil && h.Counts != nil {
		out.Counts = []float64{}
	}
	return out
}

func (h *HourBins) add(o HourBins) {
	if len(h.Counts) < len(o.Counts) {
		h.Counts = append(h.Counts, make([]float64, len(o.Counts)-len(h.Counts))...)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	for k, c := range o.Cats {
		if h.Cats == nil {
			h.Cats = map[string]float64{}
		}
		h.Cats[k] += c
	}
}

// N is how many transactions the bins count.
func (h HourBins) N() float64 {
	var n float64
	for _, c := range h.Counts {
		n += c
	}
	for _, c := range h.Cats {
		n += c
	}
	return n
}

// Model is what drift and the tuner read from a production model's bundle.
type Model struct {
	Version  *store.ModelVersion
	Features *scoring.FeatureSet
	Baseline *scoring.Baseline
	// BaselineFrom and BaselineTo are the traffic a computed baseline was
	// made of (zero for a bundle's own).
	BaselineFrom, BaselineTo time.Time
	// FirstTraffic is when the version scored its first transaction, when
	// it has no baseline yet.
	FirstTraffic time.Time
	Curve        *scoring.CurveData
	Thresholds   scoring.Thresholds
}

// Variables lists the variables the baseline covers: each feature, the
// score and, when known, the type mix.
func (m *Model) Variables() []string {
	if m.Baseline == nil {
		return nil
	}
	var out []string
	for _, d := range m.Baseline.Features {
		out = append(out, d.Name)
	}
	out = append(out, VarScore)
	if len(m.Baseline.Types) > 0 {
		out = append(out, VarType)
	}
	return out
}

// Dist returns the baseline distribution of a numeric variable.
func (m *Model) Dist(v string) (scoring.Dist, bool) {
	if v == VarScore {
		return m.Baseline.Score, true
	}
	return m.Baseline.Feature(v)
}

// PSI of a variable's counts against the baseline.
func (m *Model) PSI(v string, h HourBins) (float64, bool) {
	if v == VarType {
		return scoring.CategoryPSI(m.Baseline.Types, m.Baseline.Rows, h.Cats)
	}
	d, ok := m.Dist(v)
	if !ok || len(h.Counts) != len(d.Shares) {
		return 0, false
	}
	return scoring.PSI(d.Shares, m.Baseline.Rows, h.Counts)
}

// bundleParts is the part of a bundle drift reads.
type bundleParts struct {
	Features         []string           `json:"features"`
	Baseline         *scoring.Baseline  `json:"baseline"`
	CalibrationCurve *scoring.CurveData `json:"calibration_curve"`
}

// bundleCache keeps the parsed parts of bundles by version id: a bundle
// never changes.
var bundleCache sync.Map

// ProductionModel loads the tenant's production model with its baseline
// (the bundle's, else one computed from traffic, else none yet).
func ProductionModel(ctx context.Context, t store.Tenant) (*Model, error) {
	info, err := store.LiveModels(ctx, t)
	if err != nil {
		return nil, err
	}
	var mv *store.ModelVersion
	for i := range info {
		if info[i].Stage == store.StageProduction {
			mv = &info[i]
		}
	}
	if mv == nil {
		return nil, fmt.Errorf("monitor: production model: %w", store.ErrNotFound)
	}
	parts, ok := bundleCache.Load(mv.ID)
	if !ok {
		full, err := store.GetModelVersion(ctx, t, mv.ID)
		if err != nil {
			return nil, err
		}
		var p bundleParts
		if err := json.Unmarshal(full.Bundle, &p); err != nil {
			// A plain LightGBM file stored as uploaded: no baseline, and
			// the features come from the registry's feature set.
			p = bundleParts{}
			_ = json.Unmarshal(full.FeatureSet, &p.Features)
		}
		parts, _ = bundleCache.LoadOrStore(mv.ID, &p)
	}
	p := parts.(*bundleParts)
	m := &Model{Version: mv, Baseline: p.Baseline, Curve: p.CalibrationCurve, Thresholds: scoring.DefaultThresholds}
	if len(mv.Thresholds) > 0 {
		_ = json.Unmarshal(mv.Thresholds, &m.Thresholds)
	}
	if len(p.Features) > 0 {
		if m.Features, err = scoring.NewFeatureSet(p.Features); err != nil {
			return nil, err
		}
	}
	if m.Baseline == nil {
		b, err := store.GetDriftBaseline(ctx, t, mv.ID)
		switch {
		case err == nil:
			var base scoring.Baseline
			if err := json.Unmarshal(b.Baseline, &base); err != nil {
				return nil, fmt.Errorf("monitor: baseline of %s: %w", mv.ID, err)
			}
			m.Baseline, m.BaselineFrom, m.BaselineTo = &base, b.TrafficFrom, b.TrafficTo
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return m, nil
}

// hourBins counts rows in the baseline's bins, per variable.
func (m *Model) hourBins(rows []store.DriftRow) map[string]HourBins {
	out := map[string]HourBins{}
	vars := m.Variables()
	for _, v := range vars {
		if v == VarType {
			out[v] = HourBins{Cats: map[string]float64{}}
			continue
		}
		d, _ := m.Dist(v)
		out[v] = HourBins{Counts: make([]float64, len(d.Shares))}
	}
	if m.Features == nil {
		return out
	}
	x := make([]float64, m.Features.Len())
	for i := range rows {
		tx := txOf(&rows[i].Transaction)
		m.Features.Compute(tx, x)
		for f, d := range m.Baseline.Features {
			out[d.Name].Counts[d.Bin(x[f])]++
		}
		out[VarScore].Counts[m.Baseline.Score.Bin(rows[i].Score)]++
		if h, ok := out[VarType]; ok {
			h.Cats[tx.Type]++
		}
	}
	return out
}

// txOf is a stored transaction as the model reads it.
func txOf(tx *store.Transaction) *scoring.Transaction {
	return &scoring.Transaction{Step: tx.Step, Type: tx.Type, Amount: tx.Amount, NameOrig: tx.NameOrig,
		OldBalanceOrg: tx.OldBalanceOrg, NewBalanceOrig: tx.NewBalanceOrig, NameDest: tx.NameDest,
		OldBalanceDest: tx.OldBalanceDest, NewBalanceDest: tx.NewBalanceDest}
}

// DriftJob writes hourly drift snapshots: every tick it adds each complete
// hour not yet written (up to 30 days back), so a replica that takes the
// lease over catches up and an hour is never written twice.
func DriftJob() Job {
	return Job{Name: store.JobDriftSnapshot, Every: 5 * time.Minute, TTL: 15 * time.Minute, Run: Snapshot}
}

// Snapshot writes the tenant's missing hourly snapshots up to the last
// complete hour before now. It returns nil when there is no production
// model or no baseline yet (after trying to compute one from traffic).
func Snapshot(ctx context.Context, t store.Tenant, now time.Time) error {
	m, err := ProductionModel(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Baseline == nil {
		if err := computeTrafficBaseline(ctx, t, m, now); err != nil || m.Baseline == nil {
			return err
		}
	}
	end := now.UTC().Truncate(time.Hour) // the last complete hour ends here
	start := end.Add(-HistoryWindow)
	last, err := store.LastDriftHour(ctx, t, m.Version.ID)
	switch {
	case err == nil:
		start = maxTime(start, last.Add(time.Hour))
	case errors.Is(err, store.ErrNotFound):
		first, err := store.FirstTraffic(ctx, t, m.Version.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		start = maxTime(start, first.Truncate(time.Hour))
	default:
		return err
	}
	if !start.Before(end) {
		return nil
	}
	// The 23 hours before start, for the trailing 24-hour PSI, and the
	// running totals of the last of them.
	window := map[time.Time]map[string]HourBins{}
	totals := map[string]HourBins{}
	prev, err := store.ListDriftSnapshots(ctx, t, m.Version.ID, "", start.Add(-23*time.Hour))
	if err != nil {
		return err
	}
	for _, s := range prev {
		var h SnapshotBins
		if err := json.Unmarshal(s.Bins, &h); err != nil {
			continue
		}
		at := s.WindowStart.UTC()
		if window[at] == nil {
			window[at] = map[string]HourBins{}
		}
		window[at][s.Feature] = h.HourBins
		totals[s.Feature] = h.Total // rows come in time order: the last wins
	}
	for hour := start; hour.Before(end); hour = hour.Add(time.Hour) {
		rows, err := store.DriftRows(ctx, t, m.Version.ID, hour, hour.Add(time.Hour), HourLimit)
		if err != nil {
			return err
		}
		bins := m.hourBins(rows)
		window[hour] = bins
		delete(window, hour.Add(-24*time.Hour))
		var snaps []store.DriftSnapshot
		for _, v := range m.Variables() {
			sum := HourBins{}
			for _, hb := range window {
				sum.add(hb[v])
			}
			psi, _ := m.PSI(v, sum)
			total := totals[v].clone()
			total.add(bins[v])
			totals[v] = total
			raw, err := json.Marshal(SnapshotBins{HourBins: bins[v], Total: total})
			if err != nil {
				return err
			}
			snaps = append(snaps, store.DriftSnapshot{ModelVersionID: m.Version.ID, Feature: v, PSI: psi, Bins: raw,
				WindowStart: hour, WindowEnd: hour.Add(time.Hour), CreatedAt: now.UTC()})
		}
		if _, err := store.SaveDriftHour(ctx, t, snaps); err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// computeTrafficBaseline makes the baseline of a model whose bundle has none
// from its first 7 days of traffic, once those 7 days have passed: up to
// 5,000 transactions of each day (the first of the day, in time order).
func computeTrafficBaseline(ctx context.Context, t store.Tenant, m *Model, now time.Time) error {
	if m.Features == nil {
		return nil
	}
	first, err := store.FirstTraffic(ctx, t, m.Version.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m.FirstTraffic = first
	to := first.Add(TrafficBaselineWindow)
	if now.Before(to) {
		return nil
	}
	var rows []store.DriftRow
	for day := first; day.Before(to); day = day.Add(24 * time.Hour) {
		r, err := store.DriftRows(ctx, t, m.Version.ID, day, day.Add(24*time.Hour), trafficBaselinePerDay)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if len(rows) == 0 {
		return nil
	}
	base := &scoring.Baseline{Source: scoring.BaselineTraffic, Rows: int64(len(rows)), Types: map[string]float64{}}
	x := make([]float64, m.Features.Len())
	cols := make([][]float64, m.Features.Len())
	scores := make([]float64, len(rows))
	for i := range rows {
		tx := txOf(&rows[i].Transaction)
		m.Features.Compute(tx, x)
		for f := range x {
			cols[f] = append(cols[f], x[f])
		}
		scores[i] = rows[i].Score
		base.Types[tx.Type] += 1 / float64(len(rows))
	}
	for f, name := range m.Features.Names() {
		base.Features = append(base.Features, scoring.NewDist(name, cols[f], scoring.BaselineBins))
	}
	base.Score = scoring.NewDist(VarScore, scores, scoring.BaselineBins)
	raw, err := json.Marshal(base)
	if err != nil {
		return err
	}
	if err := store.SaveDriftBaseline(ctx, t, &store.DriftBaseline{ModelVersionID: m.Version.ID, Baseline: raw,
		TrafficFrom: first, TrafficTo: to, ComputedAt: now.UTC()}); err != nil {
		return err
	}
	m.Baseline, m.BaselineFrom, m.BaselineTo = base, first, to
	return nil
}

package training

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// Config is one training run.
type Config struct {
	Data        string
	Name        string
	Features    []string
	Split       string // "stratified" or "temporal"
	CutStep     int
	Params      Params
	SkipBadRows bool
	// Log receives progress lines (stderr in the CLI).
	Log io.Writer
}

// Run trains, calibrates and evaluates a model and returns its bundle:
// early stopping sees only the valid split, calibration only the calib
// split, and the test split is scored exactly once, at the end.
func Run(ctx context.Context, cfg Config) (*scoring.Bundle, *Report, error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	start := time.Now()
	fs, err := scoring.NewFeatureSet(cfg.Features)
	if err != nil {
		return nil, nil, err
	}
	logf("reading %s", cfg.Data)
	d, err := LoadDataset(cfg.Data, fs, LoadOptions{SkipBadRows: cfg.SkipBadRows, Progress: func(n int64) {
		logf("  %d rows read, %.1fs", n, time.Since(start).Seconds())
	}})
	if err != nil {
		return nil, nil, err
	}
	logf("read %d rows (%d frauds) in %.1fs; skipped %d bad rows", d.Rows(), d.Print.Frauds, time.Since(start).Seconds(), d.Skipped)

	var sp Split
	switch cfg.Split {
	case "stratified", "":
		cfg.Split = "stratified"
		sp = StratifiedSplit(d.Labels, cfg.Params.Seed)
	case "temporal":
		if sp, err = TemporalSplit(d.Labels, d.Steps, cfg.CutStep, cfg.Params.Seed); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("training: unknown split %q (want stratified or temporal)", cfg.Split)
	}
	sizes := sp.Sizes(d.Labels)
	for _, part := range []string{"train", "valid", "calib", "test"} {
		if sizes[part].Frauds == 0 {
			return nil, nil, fmt.Errorf("training: the %s split has no frauds (%d rows)", part, sizes[part].Rows)
		}
	}
	logf("split %s: train %d, valid %d, calib %d, test %d rows", cfg.Split, sizes["train"].Rows, sizes["valid"].Rows, sizes["calib"].Rows, sizes["test"].Rows)

	trainStart := time.Now()
	lastLog := time.Time{}
	ens, err := Train(ctx, d, sp.Train, sp.Valid, cfg.Params, func(p Progress) {
		if time.Since(lastLog) < time.Second && p.Iteration < cfg.Params.NumTrees {
			return
		}
		lastLog = time.Now()
		eta := time.Duration(float64(p.Elapsed) / float64(p.Iteration) * float64(cfg.Params.NumTrees-p.Iteration))
		logf("  iteration %d: valid AP %.6f (best %.6f), %.1fs elapsed, at most %s left", p.Iteration, p.ValidAP, p.BestAP,
			p.Elapsed.Seconds(), eta.Round(time.Second))
	})
	if err != nil {
		return nil, nil, err
	}
	trainSecs := time.Since(trainStart).Seconds()
	logf("trained %d trees in %.1fs (valid AP %.6f)", len(ens.Trees), trainSecs, ens.ValidAP)

	text := ens.ModelText()
	model, err := scoring.Load([]byte(text))
	if err != nil {
		return nil, nil, fmt.Errorf("training: the trained model does not load: %w", err)
	}
	margins := func(rows []int32) []float64 {
		m := make([]float64, len(rows))
		parallel(2, func(w int) {
			x := make([]float64, fs.Len())
			out := make([]float64, 1)
			for i := w * len(rows) / 2; i < (w+1)*len(rows)/2; i++ {
				for f := range x {
					x[f] = float64(d.X[f][rows[i]])
				}
				m[i] = model.Margin(x, out)
			}
		})
		return m
	}
	calibMargins := margins(sp.Calib)
	cal, err := scoring.FitCalibration(calibMargins, toFloat(gather(d.Labels, sp.Calib)), nil)
	if err != nil {
		return nil, nil, err
	}
	calibrated := func(ms []float64) []float64 {
		out := make([]float64, len(ms))
		for i, m := range ms {
			out[i] = cal.Apply(m)
		}
		return out
	}
	thr := scoring.DefaultThresholds
	thr.Review = bestReviewThreshold(calibrated(calibMargins), gather(d.Labels, sp.Calib))
	logf("calibration: %d isotonic blocks, tail slope %.4g; review threshold %.2f (best net savings on the calib split)",
		len(cal.X), cal.TailSlope, thr.Review)

	rep := &Report{
		CreatedAt: time.Now().UTC().Format(time.RFC3339), Data: d.Print, SkippedRows: d.Skipped, OverdraftRows: d.Overdrafts,
		Features: fs.Names(), Params: cfg.Params, Split: cfg.Split, SplitSizes: sizes, Trees: len(ens.Trees), TrainSeconds: trainSecs,
		Thresholds: thr, ImportanceGain: ens.GainImportance(), CalibrationSize: len(cal.X), CalibrationTailSlope: cal.TailSlope,
	}
	if cfg.Split == "temporal" {
		rep.CutStep = cfg.CutStep
	}
	rep.Valid = Evaluate(calibrated(margins(sp.Valid)), gather(d.Labels, sp.Valid), nil, thr.Review)
	// The test split, once.
	testMargins, testLabels := margins(sp.Test), gather(d.Labels, sp.Test)
	rep.Test = Evaluate(calibrated(testMargins), testLabels, amountsOf(d, sp.Test), thr.Review)
	rep.TestMarginAP = AveragePrecision(testMargins, testLabels)
	rep.ImportanceSHAP = meanAbsSHAP(model, d, sp.Test)
	logf("test: AP %.6f (raw margin %.6f), ROC-AUC %.6f, Brier %.3g, ECE %.3g, %d distinct scores (%d rows, %d frauds)",
		rep.Test.AveragePrecision, rep.TestMarginAP, rep.Test.ROCAUC, rep.Test.Brier, rep.Test.ECE, rep.Test.DistinctScores,
		rep.Test.Rows, rep.Test.Frauds)

	metrics, err := json.Marshal(map[string]any{"valid_ap": rep.Valid.AveragePrecision, "test_ap": rep.Test.AveragePrecision,
		"test_roc_auc": rep.Test.ROCAUC, "test_brier": rep.Test.Brier, "test_ece": rep.Test.ECE,
		"test_distinct_scores": rep.Test.DistinctScores})
	if err != nil {
		return nil, nil, err
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return nil, nil, err
	}
	fp := d.Print
	b := &scoring.Bundle{
		Name: cfg.Name, CreatedAt: rep.CreatedAt, Features: fs.Names(), Calibration: cal, Thresholds: thr,
		Metrics: metrics, Data: &fp, Report: report, ModelText: text,
	}
	Describe(b, d, sp, func(x []float64) float64 { return cal.Apply(model.Margin(x, make([]float64, 1))) })
	logf("baseline: %d features and the score in quantile bins; calibration curve over %d thresholds", len(b.Baseline.Features), len(scoring.TunerGrid))
	return b, rep, nil
}

// amountsOf returns the amounts of rows when amount is a model feature.
func amountsOf(d *Dataset, rows []int32) []float64 {
	for f, n := range d.Features.Names() {
		if n == "amount" {
			out := make([]float64, len(rows))
			for i, r := range rows {
				out[i] = float64(d.X[f][r])
			}
			return out
		}
	}
	return nil
}

func toFloat(v []uint8) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// bestReviewThreshold picks the threshold with the best net savings under
// the default cost model, between 0.05 and 0.95.
func bestReviewThreshold(probs []float64, labels []uint8) float64 {
	best, bestSave := scoring.DefaultThresholds.Review, math.Inf(-1)
	for _, pt := range CostCurve(probs, labels, nil, DefaultCostModel) {
		if pt.Threshold < 0.05 || pt.Threshold > 0.95 {
			continue
		}
		if pt.NetSavings > bestSave {
			best, bestSave = pt.Threshold, pt.NetSavings
		}
	}
	return best
}

// meanAbsSHAP is each feature's mean |SHAP| over (up to 5,000 evenly spread) test rows.
func meanAbsSHAP(m *scoring.Model, d *Dataset, rows []int32) []Importance {
	step := max(1, len(rows)/5_000)
	n := d.Features.Len()
	sum := make([]float64, n)
	x := make([]float64, n)
	count := 0
	for i := 0; i < len(rows); i += step {
		for f := range x {
			x[f] = float64(d.X[f][rows[i]])
		}
		for f, v := range m.Contributions(x) {
			sum[f] += math.Abs(v)
		}
		count++
	}
	out := make([]Importance, n)
	for f, name := range d.Features.Names() {
		out[f] = Importance{Feature: name, Value: sum[f] / float64(max(count, 1))}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Value > out[b].Value })
	return out
}

// EvalFile scores every row of a labelled file with m and returns the
// metrics; progress, when set, hears every million rows.
func EvalFile(path string, m *scoring.Model, skipBad bool, progress func(rows int64)) (Metrics, int64, error) {
	var probs, amounts []float64
	var labels []uint8
	skipped, err := eachLabelledRow(path, skipBad, progress, func(row *Row) {
		probs = append(probs, m.Predict(&row.Tx).Score)
		labels = append(labels, uint8(row.Label))
		amounts = append(amounts, row.Tx.Amount)
	})
	if err != nil {
		return Metrics{}, skipped, err
	}
	return Evaluate(probs, labels, amounts, m.Thresholds().Review), skipped, nil
}

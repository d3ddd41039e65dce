package training

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// baselineSample bounds how many train rows a baseline reads: quantiles
// and shares of 200,000 evenly spread rows are within a fraction of a
// percent of the whole split's, at a fraction of the scoring time.
const baselineSample = 200_000

// Describe adds to b what drift and the cost tuner compare with: the
// baseline (quantile bins of every feature and of the score, and the type
// mix, on the train split) and the calibration curve (the calib split's
// labelled scores by tuner threshold). score turns a feature row into the
// calibrated score.
func Describe(b *scoring.Bundle, d *Dataset, sp Split, score func(x []float64) float64) {
	fs := d.Features
	rows := sp.Train
	if len(rows) > baselineSample {
		step := float64(len(rows)) / baselineSample
		sample := make([]int32, baselineSample)
		for i := range sample {
			sample[i] = rows[int(float64(i)*step)]
		}
		rows = sample
	}
	scores := scoresOf(d, rows, score)
	base := &scoring.Baseline{Source: scoring.BaselineTraining, Rows: int64(len(rows))}
	types := map[string]float64{}
	for f, name := range fs.Names() {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = float64(d.X[f][r])
		}
		if typ, ok := strings.CutPrefix(name, "type_"); ok {
			var n float64
			for _, x := range v {
				n += x
			}
			types[typ] = n / float64(len(v))
		}
		base.Features = append(base.Features, scoring.NewDist(name, v, scoring.BaselineBins))
	}
	base.Score = scoring.NewDist("score", scores, scoring.BaselineBins)
	if len(types) == len(scoring.Types) {
		base.Types = types
	}
	b.Baseline = base

	calib := &scoring.CurveData{Days: spanDays(d) * float64(len(sp.Calib)) / float64(max(1, d.Rows()))}
	amountF := -1
	for f, name := range fs.Names() {
		if name == "amount" {
			amountF = f
		}
	}
	for i, s := range scoresOf(d, sp.Calib, score) {
		r := sp.Calib[i]
		amount := 0.0
		if amountF >= 0 {
			amount = float64(d.X[amountF][r])
		}
		calib.Add(s, amount, d.Labels[r] == 1)
	}
	b.CalibrationCurve = calib
}

// scoresOf scores rows on both cores.
func scoresOf(d *Dataset, rows []int32, score func(x []float64) float64) []float64 {
	out := make([]float64, len(rows))
	parallel(2, func(w int) {
		x := make([]float64, d.Features.Len())
		for i := w * len(rows) / 2; i < (w+1)*len(rows)/2; i++ {
			for f := range x {
				x[f] = float64(d.X[f][rows[i]])
			}
			out[i] = score(x)
		}
	})
	return out
}

// spanDays is how many days the data's steps (hours) cover.
func spanDays(d *Dataset) float64 {
	if len(d.Steps) == 0 {
		return 1
	}
	lo, hi := d.Steps[0], d.Steps[0]
	for _, s := range d.Steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	return float64(hi-lo+1) / 24
}

// DescribeBundle adds a baseline and calibration curve to an existing
// bundle (one trained before they existed) from the data it was trained
// on: the same split (kind, cut step and seed, read from the bundle's
// report when it has one) gives the same train and calib rows.
func DescribeBundle(ctx context.Context, b *scoring.Bundle, dataPath string, log io.Writer) error {
	raw, err := b.Encode()
	if err != nil {
		return err
	}
	m, err := scoring.Load(raw)
	if err != nil {
		return err
	}
	rep := struct {
		Split   string `json:"split"`
		CutStep int    `json:"cut_step"`
		Params  Params `json:"params"`
	}{Split: "stratified", Params: DefaultParams()}
	if len(b.Report) > 0 {
		if err := json.Unmarshal(b.Report, &rep); err != nil {
			return fmt.Errorf("training: read the bundle's report: %w", err)
		}
	}
	d, err := LoadDataset(dataPath, m.Features(), LoadOptions{})
	if err != nil {
		return err
	}
	var sp Split
	switch rep.Split {
	case "temporal":
		if sp, err = TemporalSplit(d.Labels, d.Steps, rep.CutStep, rep.Params.Seed); err != nil {
			return err
		}
	default:
		sp = StratifiedSplit(d.Labels, rep.Params.Seed)
	}
	if log != nil {
		fmt.Fprintf(log, "read %d rows; %s split with seed %d: train %d, calib %d rows\n", d.Rows(), rep.Split, rep.Params.Seed, len(sp.Train), len(sp.Calib))
	}
	Describe(b, d, sp, func(x []float64) float64 { return m.Calibrate(m.Margin(x, make([]float64, 1))) })
	return ctx.Err()
}

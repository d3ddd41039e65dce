package training_test

import (
	"math"
	"testing"

	"github.com/sentinel-fraud/sentinel/training"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Hand-computed values, checked against scikit-learn's definitions.
func TestMetricsByHand(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.8, 0.4, 0.3, 0.3, 0.1}
	labels := []uint8{1, 0, 1, 0, 1, 0, 0}
	// Thresholds 0.9: tp1 fp0 → R 1/3, P 1; 0.8 (tie): tp2 fp1 → R 2/3, P 2/3;
	// 0.4: tp2 fp2; 0.3 (tie): tp3 fp3 → R 1, P 1/2; 0.1: no recall gain.
	// AP = 1/3·1 + 1/3·2/3 + 1/3·1/2 = 13/18.
	if got := training.AveragePrecision(scores, labels); !near(got, 13.0/18) {
		t.Errorf("AveragePrecision() = %v, want 13/18", got)
	}
	// ROC-AUC: pairs (pos, neg) ordered right, ties count ½. Positives 0.9, 0.8, 0.3;
	// negatives 0.8, 0.4, 0.3, 0.1. 0.9 beats 4; 0.8 beats 3 and ties 1 (3.5);
	// 0.3 beats 1 and ties 1 (1.5). (4+3.5+1.5)/12 = 0.75.
	if got := training.ROCAUC(scores, labels); !near(got, 0.75) {
		t.Errorf("ROCAUC() = %v, want 0.75", got)
	}
	probs := []float64{1, 0.5, 0}
	ys := []uint8{1, 1, 0}
	if got := training.Brier(probs, ys); !near(got, 0.25/3) {
		t.Errorf("Brier() = %v, want 1/12", got)
	}
	if got := training.LogLoss(probs, ys); !near(got, (math.Log(2)-math.Log(1-1e-15)*2)/3) {
		t.Errorf("LogLoss() = %v", got)
	}
	c := training.AtThreshold(scores, labels, 0.8)
	if c.TP != 2 || c.FP != 1 || c.FN != 1 || c.TN != 3 || !near(c.Precision, 2.0/3) || !near(c.Recall, 2.0/3) || !near(c.F1, 2.0/3) {
		t.Errorf("AtThreshold(0.8) = %+v", c)
	}
	if got := training.PrecisionAtK(scores, labels, 2); !near(got, 0.5) {
		t.Errorf("PrecisionAtK(2) = %v, want 0.5", got)
	}
	ece, table := training.ExpectedCalibrationError([]float64{0.05, 0.15, 0.95, 0.95}, []uint8{0, 1, 1, 1}, 10)
	// Bins: [0,.1) mean .05 rate 0; [.1,.2) mean .15 rate 1; [.9,1] mean .95 rate 1.
	// ECE = ¼·.05 + ¼·.85 + ½·.05 = 0.25.
	if !near(ece, 0.25) || table[9].Rows != 2 {
		t.Errorf("ECE = %v (table %+v), want 0.25", ece, table)
	}
	curve := training.CostCurve(scores, labels, []float64{100, 0, 50, 0, 10, 0, 0}, training.DefaultCostModel)
	if len(curve) != 101 {
		t.Fatalf("cost curve has %d points, want 101", len(curve))
	}
	// At 0.50: flags 0.9 (fraud, 100) and both 0.8s (one fraud, 50): 2 caught, 1 false alarm.
	p := curve[50]
	if p.TP != 2 || p.FP != 1 || p.NetSavings != 2*1000-5 || p.AmountNetSavings != 150-3*5 {
		t.Errorf("cost at 0.50 = %+v", p)
	}
	// Evaluate counts the distinct scores (0.9, 0.8, 0.4, 0.3, 0.1) and the largest tie (two rows).
	if m := training.Evaluate(scores, labels, nil, 0.5); m.DistinctScores != 5 || m.LargestTie != 2 || !near(m.AveragePrecision, 13.0/18) {
		t.Errorf("Evaluate() = %d distinct scores, largest tie %d, AP %v; want 5, 2, 13/18", m.DistinctScores, m.LargestTie, m.AveragePrecision)
	}
	if m := training.Evaluate([]float64{0.2, 0.7, 0.2, 0.2}, []uint8{0, 1, 0, 1}, nil, 0.5); m.DistinctScores != 2 || m.LargestTie != 3 {
		t.Errorf("Evaluate(three tied) = %d distinct scores, largest tie %d; want 2, 3", m.DistinctScores, m.LargestTie)
	}
	if got := training.AveragePrecision([]float64{0.5, 0.5}, []uint8{0, 0}); got != 0 {
		t.Errorf("AP without positives = %v, want 0", got)
	}
}

func TestStratifiedSplitKeepsRatesWithoutOverlap(t *testing.T) {
	labels := make([]uint8, 10_000)
	for i := 0; i < 100; i++ {
		labels[i*97] = 1
	}
	s := training.StratifiedSplit(labels, 42)
	seen := map[int32]bool{}
	for _, part := range [][]int32{s.Train, s.Valid, s.Calib, s.Test} {
		for _, r := range part {
			if seen[r] {
				t.Fatalf("row %d is in two parts", r)
			}
			seen[r] = true
		}
	}
	if len(seen) != len(labels) {
		t.Fatalf("%d rows assigned, want %d", len(seen), len(labels))
	}
	sizes := s.Sizes(labels)
	for part, want := range map[string][2]int{"train": {7000, 70}, "valid": {1000, 10}, "calib": {1000, 10}, "test": {1000, 10}} {
		if sizes[part].Rows != want[0] || sizes[part].Frauds != want[1] {
			t.Errorf("%s = %+v, want %d rows, %d frauds", part, sizes[part], want[0], want[1])
		}
	}
	again := training.StratifiedSplit(labels, 42)
	if again.Test[0] != s.Test[0] || again.Test[len(again.Test)-1] != s.Test[len(s.Test)-1] {
		t.Error("the same seed gave another split")
	}
	steps := make([]int32, len(labels))
	for i := range steps {
		steps[i] = int32(i / 100)
	}
	ts, err := training.TemporalSplit(labels, steps, 90, 42)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ts.Test {
		if steps[r] < 90 {
			t.Fatalf("temporal test has row %d from step %d", r, steps[r])
		}
	}
	if len(ts.Test) != 1000 || len(ts.Train)+len(ts.Valid)+len(ts.Calib) != 9000 {
		t.Errorf("temporal sizes: test %d, others %d", len(ts.Test), len(ts.Train)+len(ts.Valid)+len(ts.Calib))
	}
}

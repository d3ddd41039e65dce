package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

type labelled struct {
	score, amount float64
	fraud         bool
}

// bruteForce evaluates a threshold over every row.
func bruteForce(rows []labelled, th, days float64, cm CostModel) CurvePoint {
	var p CurvePoint
	var frauds, missedAmount float64
	for _, r := range rows {
		flagged := r.score >= th
		switch {
		case r.fraud && flagged:
			p.TP++
		case r.fraud:
			p.FN++
			missedAmount += r.amount
		case flagged:
			p.FP++
		}
		if r.fraud {
			frauds++
		}
	}
	p.Threshold, p.Precision = th, 1
	if p.TP+p.FP > 0 {
		p.Precision = p.TP / (p.TP + p.FP)
	}
	if frauds > 0 {
		p.Recall = p.TP / frauds
	}
	p.AlertsPerDay = (p.TP + p.FP) / days
	p.CostPerDay = (cm.MissedShare*missedAmount + cm.MissedFixed*p.FN + cm.ReviewCost*(p.TP+p.FP) + cm.DeclineCost*p.FP) / days
	return p
}

func TestCurveAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []labelled
	for range 5000 {
		fraud := rng.Float64() < 0.05
		s := rng.Float64() * rng.Float64()
		if fraud {
			s = 1 - s*s
		}
		rows = append(rows, labelled{score: s, amount: math.Round(rng.Float64()*10000) / 100, fraud: fraud})
	}
	// Scores exactly on grid thresholds fall at or above them.
	rows = append(rows, labelled{score: 0.5, amount: 10, fraud: true}, labelled{score: 0.01, fraud: false})
	d := &CurveData{Days: 3.5}
	for _, r := range rows {
		d.Add(r.score, r.amount, r.fraud)
	}
	cm := CostModel{MissedShare: 0.8, MissedFixed: 12, ReviewCost: 5, DeclineCost: 30}
	got := d.Curve(cm)
	if len(got) != len(TunerGrid) {
		t.Fatalf("Curve() has %d points, want %d", len(got), len(TunerGrid))
	}
	for i, th := range TunerGrid {
		want := bruteForce(rows, th, 3.5, cm)
		g := got[i]
		for _, c := range [][3]any{{"TP", g.TP, want.TP}, {"FP", g.FP, want.FP}, {"FN", g.FN, want.FN},
			{"precision", g.Precision, want.Precision}, {"recall", g.Recall, want.Recall},
			{"alerts/day", g.AlertsPerDay, want.AlertsPerDay}, {"cost/day", g.CostPerDay, want.CostPerDay}} {
			if a, b := c[1].(float64), c[2].(float64); math.Abs(a-b) > 1e-9*math.Max(1, math.Abs(b)) {
				t.Errorf("threshold %v: %s = %v, want %v (brute force)", th, c[0], a, b)
			}
		}
	}
}

func TestRecommendKnownOptimum(t *testing.T) {
	// Ten frauds of 100 at 0.3 and ten at 0.4; three legitimate payments
	// at 0.35 and a hundred at 0.2. Review 5, a missed fraud its amount, a
	// wrongly held payment 50. Costs a day:
	//   t ≤ 0.20:        123 alerts, 103 legitimate: 615 + 5150 = 5765
	//   0.20 < t ≤ 0.30: 23 alerts, 3 legitimate:     115 + 150 = 265
	//   0.30 < t ≤ 0.35: 10 missed (1000) + 13 alerts + 3 held = 1215
	//   0.35 < t ≤ 0.40: 1000 + 10 alerts = 1050; above 0.40: 2000.
	// The optimum is 265, reached from 0.21 to 0.30: the highest, 0.30.
	d := &CurveData{Days: 1}
	for range 10 {
		d.Add(0.3, 100, true)
		d.Add(0.4, 100, true)
	}
	for range 3 {
		d.Add(0.35, 0, false)
	}
	for range 100 {
		d.Add(0.2, 0, false)
	}
	cm := CostModel{MissedShare: 1, ReviewCost: 5, DeclineCost: 50}
	best, ok := Recommend(d.Curve(cm))
	if !ok || best.Threshold != 0.3 || math.Abs(best.CostPerDay-265) > 1e-9 {
		t.Fatalf("Recommend() = %+v, %v; want threshold 0.3 at cost 265", best, ok)
	}
}

package scoring

import (
	"fmt"
	"math"
	"sort"
)

// CostModel is what each outcome of a review threshold costs a tenant, in
// the currency's major unit: a missed fraud costs MissedShare of its amount
// plus MissedFixed, every alert (a transaction at or above the threshold)
// costs ReviewCost to review, and a legitimate payment among them
// (wrongly held or declined) costs DeclineCost on top.
type CostModel struct {
	MissedShare float64 `json:"missed_share"`
	MissedFixed float64 `json:"missed_fixed"`
	ReviewCost  float64 `json:"review_cost"`
	DeclineCost float64 `json:"decline_cost"`
}

// DefaultCostModel: a missed fraud costs its whole amount, a review 5.
var DefaultCostModel = CostModel{MissedShare: 1, ReviewCost: 5}

// Validate checks that every cost is a finite number, not negative, and
// the share at most 10 (1000% of the amount).
func (c CostModel) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"missed fraud share", c.MissedShare}, {"missed fraud fixed cost", c.MissedFixed}, {"review cost", c.ReviewCost}, {"decline cost", c.DeclineCost}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s must be a number of 0 or more", f.name)
		}
	}
	if c.MissedShare > 10 {
		return fmt.Errorf("missed fraud share must be at most 1000%%")
	}
	return nil
}

// TunerGrid are the thresholds the cost tuner evaluates: fine at the low
// end, where a fraud model puts almost everything, then every 0.01.
var TunerGrid = func() []float64 {
	g := []float64{0, 0.001, 0.002, 0.005}
	for i := 1; i <= 99; i++ {
		g = append(g, float64(i)/100)
	}
	return g
}()

// GridBin is the index of the grid cell that holds score: the last grid
// threshold at or below it.
func GridBin(score float64) int {
	i := sort.Search(len(TunerGrid), func(i int) bool { return score < TunerGrid[i] }) - 1
	return max(i, 0)
}

// CurveBin counts labelled transactions whose score falls in one grid cell.
type CurveBin struct {
	Frauds      float64 `json:"frauds"`
	Legits      float64 `json:"legits"`
	FraudAmount float64 `json:"fraud_amount"`
}

// CurveData is labelled scores summed by grid cell (Bins[i] holds scores
// from TunerGrid[i] up to the next): enough to draw every curve of the
// tuner at the grid's thresholds. Days is how many days of traffic the
// counts stand for (alerts per day divide by it).
type CurveData struct {
	Bins []CurveBin `json:"bins"`
	Days float64    `json:"days"`
}

// Add counts one labelled transaction in.
func (d *CurveData) Add(score, amount float64, fraud bool) {
	if len(d.Bins) != len(TunerGrid) {
		d.Bins = make([]CurveBin, len(TunerGrid))
	}
	b := &d.Bins[GridBin(score)]
	if fraud {
		b.Frauds++
		b.FraudAmount += amount
	} else {
		b.Legits++
	}
}

// Labels is how many labelled transactions the data holds.
func (d *CurveData) Labels() int64 {
	var n float64
	for _, b := range d.Bins {
		n += b.Frauds + b.Legits
	}
	return int64(n)
}

// CurvePoint is the tuner's numbers at one threshold.
type CurvePoint struct {
	Threshold    float64
	TP, FP, FN   float64
	Precision    float64
	Recall       float64
	AlertsPerDay float64
	// CostPerDay is the expected cost of the threshold a day: missed frauds,
	// reviews and wrongly held legitimate payments.
	CostPerDay float64
}

// Curve evaluates every grid threshold under a cost model. Precision is 1
// where there is no alert (nothing flagged wrongly); recall is 0 without
// frauds.
func (d *CurveData) Curve(cm CostModel) []CurvePoint {
	if len(d.Bins) != len(TunerGrid) {
		return nil
	}
	days := d.Days
	if days <= 0 {
		days = 1
	}
	var frauds, amount float64
	for _, b := range d.Bins {
		frauds += b.Frauds
		amount += b.FraudAmount
	}
	out := make([]CurvePoint, len(TunerGrid))
	var tp, fp, tpAmount float64
	for i := len(TunerGrid) - 1; i >= 0; i-- {
		b := d.Bins[i]
		tp, fp, tpAmount = tp+b.Frauds, fp+b.Legits, tpAmount+b.FraudAmount
		p := CurvePoint{Threshold: TunerGrid[i], TP: tp, FP: fp, FN: frauds - tp, Precision: 1}
		if tp+fp > 0 {
			p.Precision = tp / (tp + fp)
		}
		if frauds > 0 {
			p.Recall = tp / frauds
		}
		p.AlertsPerDay = (tp + fp) / days
		missed := cm.MissedShare*(amount-tpAmount) + cm.MissedFixed*p.FN
		p.CostPerDay = (missed + cm.ReviewCost*(tp+fp) + cm.DeclineCost*fp) / days
		out[i] = p
	}
	return out
}

// Recommend is the point of least expected cost; among thresholds of equal
// cost (which flag the same transactions) the highest. ok is false for an
// empty curve.
func Recommend(points []CurvePoint) (CurvePoint, bool) {
	if len(points) == 0 {
		return CurvePoint{}, false
	}
	best := points[0]
	for _, p := range points[1:] {
		if p.CostPerDay <= best.CostPerDay+1e-9*math.Max(1, math.Abs(best.CostPerDay)) {
			best = p
		}
	}
	return best, true
}

// At is the point of the grid threshold nearest to t.
func At(points []CurvePoint, t float64) (CurvePoint, bool) {
	if len(points) == 0 {
		return CurvePoint{}, false
	}
	best := points[0]
	for _, p := range points[1:] {
		if math.Abs(p.Threshold-t) < math.Abs(best.Threshold-t) {
			best = p
		}
	}
	return best, true
}

package monitor

import (
	"context"
	"errors"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// MinLabels is how many labelled transactions the tuner needs before it
// shows their curve: below it the curve says more about chance than about
// the model.
const MinLabels = 50

// TunerSource is one source of the tuner's curves.
type TunerSource struct {
	Data        *scoring.CurveData
	Points      []scoring.CurvePoint
	Recommended scoring.CurvePoint
	Labels      int64
	// Hidden is true when the source has too few labels to show.
	Hidden bool
}

// Tuner is the cost tuner's data: the tenant's cost model and the curves
// of the production model's calibration split (from its bundle) and of the
// tenant's own labelled transactions.
type Tuner struct {
	Cost scoring.CostModel
	// CostRow is the tenant's saved cost model (nil: the defaults).
	CostRow     *store.CostModelRow
	Model       *Model
	Calibration *TunerSource
	Labelled    *TunerSource
}

// CostModelOf is the tenant's cost model, or the defaults.
func CostModelOf(ctx context.Context, t store.Tenant) (scoring.CostModel, *store.CostModelRow, error) {
	row, err := store.GetCostModel(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return scoring.DefaultCostModel, nil, nil
	}
	if err != nil {
		return scoring.CostModel{}, nil, err
	}
	return scoring.CostModel{MissedShare: row.MissedShare, MissedFixed: row.MissedFixed, ReviewCost: row.ReviewCost,
		DeclineCost: row.DeclineCost}, row, nil
}

// LoadTuner computes the tuner's curves under the tenant's cost model, or
// under cm when it is not nil (the form's values before they are saved).
func LoadTuner(ctx context.Context, t store.Tenant, cm *scoring.CostModel) (*Tuner, error) {
	cost, row, err := CostModelOf(ctx, t)
	if err != nil {
		return nil, err
	}
	if cm != nil {
		cost = *cm
	}
	m, err := ProductionModel(ctx, t)
	if err != nil {
		return nil, err
	}
	out := &Tuner{Cost: cost, CostRow: row, Model: m}
	if m.Curve != nil {
		out.Calibration = source(m.Curve, cost)
	}
	lc, err := store.LabelledCurve(ctx, t)
	if err != nil {
		return nil, err
	}
	out.Labelled = source(LabelledData(lc), cost)
	return out, nil
}

func source(d *scoring.CurveData, cost scoring.CostModel) *TunerSource {
	s := &TunerSource{Data: d, Labels: d.Labels()}
	if s.Labels < MinLabels {
		s.Hidden = true
		return s
	}
	s.Points = d.Curve(cost)
	s.Recommended, _ = scoring.Recommend(s.Points)
	return s
}

// LabelledData is the labelled counts as curve data; Days is the span of
// their arrival (at least one day).
func LabelledData(lc *store.LabelledCounts) *scoring.CurveData {
	return &scoring.CurveData{Bins: lc.Bins, Days: max(1, lc.Last.Sub(lc.First).Hours()/24)}
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"

	"gorm.io/gorm/clause"
)

// ActionCostModel is an admin's change of the tenant's cost model.
const ActionCostModel = "settings.cost_model"

// CostModelRow is the tenant's cost model (the cost tuner's form). A tenant
// without one uses the defaults (scoring.DefaultCostModel).
type CostModelRow struct {
	Owned
	MissedShare    float64
	MissedFixed    float64
	ReviewCost     float64
	DeclineCost    float64
	UpdatedByEmail string
	UpdatedAt      time.Time
}

// TableName maps CostModelRow to cost_models.
func (CostModelRow) TableName() string { return "cost_models" }

// GetCostModel returns the tenant's cost model (ErrNotFound without one).
func GetCostModel(ctx context.Context, t Tenant) (*CostModelRow, error) {
	var row CostModelRow
	if err := t.scoped(ctx).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("store: cost model: %w", notFound(err))
	}
	return &row, nil
}

// SetCostModel replaces the tenant's cost model, audited with the old and
// new values.
func SetCostModel(ctx context.Context, t Tenant, a Actor, row CostModelRow) error {
	row.UpdatedByEmail, row.UpdatedAt = a.Email, time.Now().UTC()
	values := func(r *CostModelRow) map[string]any {
		return map[string]any{"missed_share": r.MissedShare, "missed_fixed": r.MissedFixed, "review_cost": r.ReviewCost, "decline_cost": r.DeclineCost}
	}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		details := map[string]any{"new": values(&row), "old": nil}
		var old []CostModelRow
		if err := tx.scoped(ctx).Find(&old).Error; err != nil {
			return Event{}, err
		}
		if len(old) > 0 {
			details["old"] = values(&old[0])
		}
		row.setTenant(tx.id)
		err := tx.db.WithContext(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"missed_share", "missed_fixed", "review_cost", "decline_cost", "updated_by_email", "updated_at"}),
		}).Create(&row).Error
		return Event{Action: ActionCostModel, ObjectType: "tenant", ObjectID: tx.id, Details: details}, err
	})
	if err != nil {
		return fmt.Errorf("store: set cost model: %w", err)
	}
	return nil
}

// LabelledCounts are the tenant's labelled transactions (analyst decisions:
// confirmed fraud or false positive; escalated ones are not labels yet)
// summed by tuner threshold (scoring.TunerGrid): Bins[i] holds the scores
// from TunerGrid[i] up to the next. First and Last are when the earliest
// and latest of them were received.
type LabelledCounts struct {
	Bins        []scoring.CurveBin
	First, Last time.Time
}

// LabelledCurve sums the tenant's labelled transactions by tuner threshold
// in the database: one pass over the partial label index, which covers the
// columns it reads on PostgreSQL (migration 0015), and a hundred rows back.
// The bin of a score is the CASE below, the same comparisons as
// scoring.GridBin.
func LabelledCurve(ctx context.Context, t Tenant) (*LabelledCounts, error) {
	var b strings.Builder
	b.WriteString("CASE")
	args := make([]any, 0, len(scoring.TunerGrid))
	for i := 1; i < len(scoring.TunerGrid); i++ {
		fmt.Fprintf(&b, " WHEN score < ? THEN %d", i-1)
		args = append(args, scoring.TunerGrid[i])
	}
	fmt.Fprintf(&b, " ELSE %d END", len(scoring.TunerGrid)-1)
	var rows []struct {
		Bin    int
		Label  string
		N      int64
		Amount float64
	}
	err := t.scoped(ctx).Model(&Transaction{}).
		Select(b.String()+" AS bin, label, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount", args...).
		Where("label IN ?", []string{DecisionConfirmedFraud, DecisionFalsePositive}).Group("bin, label").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: labelled curve: %w", err)
	}
	out := &LabelledCounts{Bins: make([]scoring.CurveBin, len(scoring.TunerGrid))}
	for _, r := range rows {
		bin := &out.Bins[min(max(r.Bin, 0), len(out.Bins)-1)]
		if r.Label == DecisionConfirmedFraud {
			bin.Frauds += float64(r.N)
			bin.FraudAmount += r.Amount
		} else {
			bin.Legits += float64(r.N)
		}
	}
	// The span, from each label's first and last row along its index.
	for _, label := range []string{DecisionConfirmedFraud, DecisionFalsePositive} {
		for _, order := range []string{"id", "id DESC"} {
			var tx []Transaction
			if err := t.scoped(ctx).Select("received_at").Where("label = ?", label).Order(order).Limit(1).Find(&tx).Error; err != nil {
				return nil, fmt.Errorf("store: labelled curve: %w", err)
			}
			for _, x := range tx {
				if at := x.ReceivedAt.UTC(); out.First.IsZero() || at.Before(out.First) {
					out.First = at
				}
				if at := x.ReceivedAt.UTC(); at.After(out.Last) {
					out.Last = at
				}
			}
		}
	}
	return out, nil
}

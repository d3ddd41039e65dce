package store

import (
	"context"
	"fmt"
	"time"

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

// LabelledRow is a transaction an analyst decided: fraud (confirmed) or
// legitimate (a false positive), with its score and amount.
type LabelledRow struct {
	Score      float64
	Amount     float64
	Fraud      bool
	ReceivedAt time.Time
}

// maxLabelled bounds how many labelled transactions the tuner reads.
const maxLabelled = 100_000

// LabelledTransactions returns up to 100,000 of the tenant's newest
// transactions with a fraud or false-positive decision, read through the
// partial label index (only decided rows are in it). Escalated ones are
// not labels yet.
func LabelledTransactions(ctx context.Context, t Tenant) ([]LabelledRow, error) {
	rs, err := t.scoped(ctx).Model(&Transaction{}).Select("score, amount, label, received_at").
		Where("label IN ?", []string{DecisionConfirmedFraud, DecisionFalsePositive}).
		Order("id DESC").Limit(maxLabelled).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: labelled transactions: %w", err)
	}
	defer rs.Close()
	var out []LabelledRow
	for rs.Next() {
		var r LabelledRow
		var label string
		if err := rs.Scan(&r.Score, &r.Amount, &label, &r.ReceivedAt); err != nil {
			return nil, fmt.Errorf("store: labelled transactions: %w", err)
		}
		r.Fraud = label == DecisionConfirmedFraud
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: labelled transactions: %w", err)
	}
	return out, nil
}

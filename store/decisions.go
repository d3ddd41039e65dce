package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ErrBadDecision is returned for a decision that is not one of Decisions.
var ErrBadDecision = fmt.Errorf("decision must be one of %v", Decisions)

// Decide records the actor's decision on a transaction, makes it the
// transaction's label and writes its audit event, in one database
// transaction.
func Decide(ctx context.Context, t Tenant, a Actor, transactionID, decision, rationale string) (*AnalystDecision, error) {
	if !slices.Contains(Decisions, decision) {
		return nil, ErrBadDecision
	}
	d := &AnalystDecision{ID: NewID(), TransactionID: transactionID, UserID: a.UserID, Decision: decision,
		Rationale: rationale, CreatedAt: time.Now().UTC()}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		res := tx.scoped(ctx).Model(&Transaction{}).Where("id = ?", transactionID).Update("label", decision)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected == 0 {
			return Event{}, ErrNotFound
		}
		return Event{Action: ActionDecision, ObjectType: "transaction", ObjectID: transactionID,
			Details: map[string]any{"decision": decision, "rationale": rationale}}, tx.create(ctx, d)
	})
	if err != nil {
		return nil, fmt.Errorf("store: decide %s: %w", transactionID, err)
	}
	return d, nil
}

// DecisionRow is a decision with who took it.
type DecisionRow struct {
	AnalystDecision
	UserName  string
	UserEmail string
}

// ListDecisions lists a transaction's decisions, newest first.
func ListDecisions(ctx context.Context, t Tenant, transactionID string) ([]DecisionRow, error) {
	var rows []DecisionRow
	err := t.scoped(ctx).Model(&AnalystDecision{}).
		Select("analyst_decisions.*, u.name AS user_name, u.email AS user_email").
		Joins("JOIN users u ON u.id = analyst_decisions.user_id AND u.tenant_id = analyst_decisions.tenant_id").
		Where("analyst_decisions.transaction_id = ?", transactionID).
		Order("analyst_decisions.id DESC").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: decisions of %s: %w", transactionID, err)
	}
	return rows, nil
}

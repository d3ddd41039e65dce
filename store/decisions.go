package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	var d *AnalystDecision
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		targets, err := tx.decisionTargets(ctx, tx.scoped(ctx).Where("transactions.id = ?", transactionID))
		if err != nil {
			return Event{}, err
		}
		if len(targets) == 0 {
			return Event{}, ErrNotFound
		}
		ds, events, err := tx.decide(ctx, a, targets, decision, rationale, nil)
		if err != nil {
			return Event{}, err
		}
		d = &ds[0]
		return events[0], nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: decide %s: %w", transactionID, err)
	}
	return d, nil
}

// decisionTarget is a transaction about to be decided, with what its
// rollup needs from its prediction.
type decisionTarget struct {
	Transaction
	ModelVersionID string
	Score          float64
}

// decisionTargets loads the transactions q selects (a scoped query of this
// handle), in id order, locked for the change on PostgreSQL so that two
// decisions on one transaction take turns: each reads the label the other
// left, which its rollup moves the transaction from. (SQLite has one
// writer at a time.)
func (t Tenant) decisionTargets(ctx context.Context, q *gorm.DB) ([]decisionTarget, error) {
	q = q.Model(&Transaction{}).Select("transactions.*, p.model_version_id").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
		Order("transactions.id")
	if t.db.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "transactions"}})
	}
	var out []decisionTarget
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: transactions to decide: %w", err)
	}
	return out, nil
}

// decide records one decision per target on this handle (inside the
// caller's transaction): the decision rows, the new labels, the rollups
// the transactions move between, and an audit event each, returned for
// the caller to write. details are added to every event (a bulk's id).
func (t Tenant) decide(ctx context.Context, a Actor, targets []decisionTarget, decision, rationale string, details map[string]any) ([]AnalystDecision, []Event, error) {
	now := time.Now().UTC()
	ds := make([]AnalystDecision, len(targets))
	events := make([]Event, len(targets))
	ids := make([]string, len(targets))
	deltas := newRollupChanges()
	for i := range targets {
		tg := &targets[i]
		ids[i] = tg.ID
		ds[i] = AnalystDecision{ID: NewID(), Owned: Owned{TenantID: t.id}, TransactionID: tg.ID, UserID: a.UserID,
			Decision: decision, Rationale: rationale, CreatedAt: now}
		ev := map[string]any{"decision": decision, "rationale": rationale}
		maps.Copy(ev, details)
		events[i] = Event{Action: ActionDecision, ObjectType: "transaction", ObjectID: tg.ID, Details: ev}
		if tg.Label != decision {
			deltas.add(&tg.Transaction, tg.ModelVersionID, tg.Score, tg.Label, -1)
			deltas.add(&tg.Transaction, tg.ModelVersionID, tg.Score, decision, 1)
		}
	}
	for chunk := range slices.Chunk(ids, 500) {
		if err := t.scoped(ctx).Model(&Transaction{}).Where("id IN ?", chunk).Update("label", decision).Error; err != nil {
			return nil, nil, err
		}
	}
	if err := t.db.WithContext(ctx).CreateInBatches(ds, 200).Error; err != nil {
		return nil, nil, err
	}
	if err := deltas.apply(ctx, t); err != nil {
		return nil, nil, err
	}
	return ds, events, nil
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

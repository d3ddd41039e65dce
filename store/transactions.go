package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Scored is a transaction with its frozen prediction.
type Scored struct {
	Transaction Transaction
	Prediction  Prediction
}

// SaveScored stores a transaction and its prediction in one database
// transaction. It is idempotent on the tenant's external id: when the id is
// taken, nothing is written and the stored pair comes back with created false.
func SaveScored(ctx context.Context, t Tenant, tx *Transaction, p *Prediction) (*Scored, bool, error) {
	err := t.Tx(ctx, func(tt Tenant) error {
		if err := tt.create(ctx, tx); err != nil {
			return err
		}
		p.TransactionID = tx.ID
		return tt.create(ctx, p)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		existing, gerr := GetScoredByExternalID(ctx, t, tx.ExternalID)
		if gerr != nil {
			return nil, false, gerr
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: save transaction %s: %w", tx.ExternalID, err)
	}
	return &Scored{Transaction: *tx, Prediction: *p}, true, nil
}

// GetScored loads a transaction of the tenant and its prediction.
func GetScored(ctx context.Context, t Tenant, id string) (*Scored, error) {
	var s Scored
	if err := t.scoped(ctx).Where("id = ?", id).Take(&s.Transaction).Error; err != nil {
		return nil, fmt.Errorf("store: get transaction %s: %w", id, notFound(err))
	}
	if err := t.scoped(ctx).Where("transaction_id = ?", id).Take(&s.Prediction).Error; err != nil {
		return nil, fmt.Errorf("store: get prediction of %s: %w", id, notFound(err))
	}
	return &s, nil
}

// GetScoredByExternalID loads a transaction by the caller's id.
func GetScoredByExternalID(ctx context.Context, t Tenant, externalID string) (*Scored, error) {
	var tx Transaction
	if err := t.scoped(ctx).Where("external_id = ?", externalID).Take(&tx).Error; err != nil {
		return nil, fmt.Errorf("store: get transaction %s: %w", externalID, notFound(err))
	}
	return GetScored(ctx, t, tx.ID)
}

// SaveScoredBatch stores many new transactions and their predictions in one
// database transaction. When any external id is already taken (a race with
// another request) nothing is written and the error wraps ErrDuplicate.
func SaveScoredBatch(ctx context.Context, t Tenant, txs []Transaction, ps []Prediction) error {
	if len(txs) == 0 {
		return nil
	}
	for i := range txs {
		txs[i].setTenant(t.id)
		ps[i].setTenant(t.id)
		ps[i].TransactionID = txs[i].ID
	}
	err := t.Tx(ctx, func(tt Tenant) error {
		if err := tt.db.WithContext(ctx).CreateInBatches(txs, 200).Error; err != nil {
			return err
		}
		return tt.db.WithContext(ctx).CreateInBatches(ps, 200).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("store: save batch: %w", ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: save batch of %d: %w", len(txs), err)
	}
	return nil
}

// ErrDuplicate is returned when an external id is taken.
var ErrDuplicate = errors.New("external id already scored")

// ScoredByExternalIDs loads the tenant's transactions with any of these
// external ids, keyed by external id.
func ScoredByExternalIDs(ctx context.Context, t Tenant, ids []string) (map[string]*Scored, error) {
	out := map[string]*Scored{}
	if len(ids) == 0 {
		return out, nil
	}
	var txs []Transaction
	if err := t.scoped(ctx).Where("external_id IN ?", ids).Find(&txs).Error; err != nil {
		return nil, fmt.Errorf("store: find external ids: %w", err)
	}
	if len(txs) == 0 {
		return out, nil
	}
	txIDs := make([]string, len(txs))
	for i := range txs {
		txIDs[i] = txs[i].ID
	}
	var ps []Prediction
	if err := t.scoped(ctx).Where("transaction_id IN ?", txIDs).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("store: find predictions: %w", err)
	}
	byTx := map[string]Prediction{}
	for _, p := range ps {
		byTx[p.TransactionID] = p
	}
	for _, tx := range txs {
		out[tx.ExternalID] = &Scored{Transaction: tx, Prediction: byTx[tx.ID]}
	}
	return out, nil
}

// CountTransactions counts the tenant's transactions.
func CountTransactions(ctx context.Context, t Tenant) (int64, error) {
	var n int64
	if err := t.scoped(ctx).Model(&Transaction{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count transactions: %w", err)
	}
	return n, nil
}

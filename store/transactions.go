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

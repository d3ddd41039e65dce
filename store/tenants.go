package store

import (
	"context"
	"fmt"
)

// GetTenant loads the row of the scoped tenant itself.
func GetTenant(ctx context.Context, t Tenant) (*TenantRow, error) {
	var row TenantRow
	if err := t.db.WithContext(ctx).Where("id = ?", t.id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("store: get tenant %s: %w", t.id, notFound(err))
	}
	return &row, nil
}

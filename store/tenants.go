package store

import (
	"context"
	"fmt"
	"slices"
)

// GetTenant loads the row of the scoped tenant itself.
func GetTenant(ctx context.Context, t Tenant) (*TenantRow, error) {
	var row TenantRow
	if err := t.db.WithContext(ctx).Where("id = ?", t.id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("store: get tenant %s: %w", t.id, notFound(err))
	}
	return &row, nil
}

// Who must have a second factor, per tenant.
const (
	TwoFactorOptional = "optional"
	TwoFactorAdmins   = "admins"
	TwoFactorEveryone = "everyone"
)

// TwoFactorPolicies lists the tenant settings of TwoFactorRequired.
var TwoFactorPolicies = []string{TwoFactorOptional, TwoFactorAdmins, TwoFactorEveryone}

// ErrBadTwoFactorPolicy is returned for a setting not in TwoFactorPolicies.
var ErrBadTwoFactorPolicy = fmt.Errorf("the second-factor setting must be one of %v", TwoFactorPolicies)

// TwoFactorRequired reports whether a tenant with policy requires a second
// factor of a user with role.
func TwoFactorRequired(policy, role string) bool {
	return policy == TwoFactorEveryone || (policy == TwoFactorAdmins && role == RoleAdmin)
}

// SetTwoFactorPolicy changes who must have a second factor. It applies from
// each user's next sign-in.
func SetTwoFactorPolicy(ctx context.Context, t Tenant, a Actor, policy string) error {
	if !slices.Contains(TwoFactorPolicies, policy) {
		return ErrBadTwoFactorPolicy
	}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		row, err := GetTenant(ctx, tx)
		if err != nil {
			return Event{}, err
		}
		if err := tx.db.WithContext(ctx).Model(&TenantRow{}).Where("id = ?", tx.id).Update("two_factor", policy).Error; err != nil {
			return Event{}, err
		}
		return Event{Action: ActionTwoFactorPolicy, ObjectType: "tenant", ObjectID: tx.id,
			Details: map[string]any{"from": row.TwoFactor, "to": policy}}, nil
	})
	if err != nil {
		return fmt.Errorf("store: two-factor policy: %w", err)
	}
	return nil
}

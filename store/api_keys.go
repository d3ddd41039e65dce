package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API key scopes: what a key may do.
const (
	ScopeScore = "score" // send transactions to be scored
	ScopeRead  = "read"  // read scored transactions back
)

// Scopes lists the API key scopes.
var Scopes = []string{ScopeScore, ScopeRead}

// ErrBadScopes is returned for a key with no scope or an unknown one.
var ErrBadScopes = fmt.Errorf("a key needs one or more of the scopes %v", Scopes)

// HasScope reports whether the key was given scope.
func (k *APIKey) HasScope(scope string) bool {
	return slices.Contains(strings.Split(k.Scopes, ","), scope)
}

// apiKeyPrefixLen is how much of a key is kept in clear to tell keys apart.
const apiKeyPrefixLen = 12

// HashToken is the stored form of a secret token (an API key, a session
// token): its SHA-256 in hex.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey makes a new key for the tenant, audited as the actor's, and
// returns it with its secret, which is shown once and never stored.
func CreateAPIKey(ctx context.Context, t Tenant, a Actor, name string, scopes []string) (*APIKey, string, error) {
	if len(scopes) == 0 {
		return nil, "", ErrBadScopes
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return nil, "", ErrBadScopes
		}
	}
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("store: api key: %w", err)
	}
	secret := "snl_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	k := &APIKey{
		ID: NewID(), Name: name, Prefix: secret[:apiKeyPrefixLen], Hash: HashToken(secret),
		Scopes: strings.Join(scopes, ","), CreatedAt: time.Now().UTC(),
	}
	if a.UserID != "" {
		k.CreatedBy = &a.UserID
	}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		return keyEvent(ActionAPIKeyCreate, k), tx.create(ctx, k)
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: create api key %q: %w", name, err)
	}
	return k, secret, nil
}

// ListAPIKeys lists the tenant's keys, newest first.
func ListAPIKeys(ctx context.Context, t Tenant) ([]APIKey, error) {
	var keys []APIKey
	if err := t.scoped(ctx).Order("created_at DESC, id DESC").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes one of the tenant's keys, audited as the actor's;
// revoking twice keeps the first time.
func RevokeAPIKey(ctx context.Context, t Tenant, a Actor, id string) (*APIKey, error) {
	var k APIKey
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.scoped(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
			return Event{}, notFound(err)
		}
		if k.RevokedAt == nil {
			now := time.Now().UTC()
			if err := tx.scoped(ctx).Model(&APIKey{}).Where("id = ?", id).Update("revoked_at", now).Error; err != nil {
				return Event{}, err
			}
			k.RevokedAt = &now
		}
		return keyEvent(ActionAPIKeyRevoke, &k), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke api key %s: %w", id, err)
	}
	return &k, nil
}

func keyEvent(action string, k *APIKey) Event {
	return Event{Action: action, ObjectType: "api_key", ObjectID: k.ID,
		Details: map[string]any{"name": k.Name, "prefix": k.Prefix, "scopes": k.Scopes}}
}

// AdminAuthenticateAPIKey finds the active key with this secret, across
// tenants (the key is what names the tenant), and notes its use at most once
// a minute.
func AdminAuthenticateAPIKey(ctx context.Context, db *DB, secret string) (*APIKey, error) {
	var k APIKey
	err := db.gorm.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", HashToken(secret)).Take(&k).Error
	if err != nil {
		return nil, fmt.Errorf("store: api key: %w", notFound(err))
	}
	now := time.Now().UTC()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		if err := db.gorm.WithContext(ctx).Model(&APIKey{}).Where("id = ? AND tenant_id = ?", k.ID, k.TenantID).
			Update("last_used_at", now).Error; err != nil {
			return nil, fmt.Errorf("store: api key use: %w", err)
		}
		k.LastUsedAt = &now
	}
	return &k, nil
}

// AdminRevokeAPIKeyByPrefix revokes a tenant's key by its shown prefix (CLI).
func AdminRevokeAPIKeyByPrefix(ctx context.Context, t Tenant, a Actor, prefix string) (*APIKey, error) {
	var k APIKey
	if err := t.scoped(ctx).Where("prefix = ?", prefix).Take(&k).Error; err != nil {
		return nil, fmt.Errorf("store: api key %s: %w", prefix, notFound(err))
	}
	return RevokeAPIKey(ctx, t, a, k.ID)
}

// AdminTenantBySlug finds a tenant by slug (CLI).
func AdminTenantBySlug(ctx context.Context, db *DB, slug string) (*TenantRow, error) {
	var row TenantRow
	if err := db.gorm.WithContext(ctx).Where("slug = ?", slug).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("store: tenant %s: %w", slug, notFound(err))
	}
	return &row, nil
}

// GetAPIKey returns one of the tenant's keys.
func GetAPIKey(ctx context.Context, t Tenant, id string) (*APIKey, error) {
	var k APIKey
	if err := t.scoped(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, fmt.Errorf("store: api key %s: %w", id, notFound(err))
	}
	return &k, nil
}

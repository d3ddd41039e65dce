package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"gorm.io/gorm"
)

// This file holds the only cross-tenant queries: what must run before a
// tenant is known (login, throttling) and platform bootstrap (seed).

// AdminFindLoginUser finds an active user by email across tenants, for login.
func AdminFindLoginUser(ctx context.Context, db *DB, email string) (*User, error) {
	var u User
	err := db.gorm.WithContext(ctx).Where("email = ? AND deleted_at IS NULL", NormalizeEmail(email)).Take(&u).Error
	if err != nil {
		return nil, fmt.Errorf("store: find login user: %w", notFound(err))
	}
	return &u, nil
}

// AdminSeedLock runs fn while no other process seeds the same database: on
// PostgreSQL it holds an advisory lock, so replicas starting together seed
// one after the other and the later one finds the work done. The seed's
// check-then-create steps rely on it.
func AdminSeedLock(ctx context.Context, db *DB, fn func() error) error {
	return db.withLock(ctx, lockSeed, fn)
}

// AdminEnsureTenant returns the tenant with slug, creating it with name when
// it does not exist.
func AdminEnsureTenant(ctx context.Context, db *DB, slug, name string) (*TenantRow, error) {
	var row TenantRow
	err := db.gorm.WithContext(ctx).Where("slug = ?", slug).Take(&row).Error
	if err == nil {
		return &row, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("store: find tenant %s: %w", slug, err)
	}
	row = TenantRow{ID: NewID(), Slug: slug, Name: name, TwoFactor: TwoFactorOptional, CreatedAt: time.Now().UTC()}
	if err := db.gorm.WithContext(ctx).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("store: create tenant %s: %w", slug, err)
	}
	return &row, nil
}

// ErrTenantExists is returned for a new tenant whose slug is taken.
var ErrTenantExists = errors.New("a tenant with this slug exists")

// ErrBadSlug is returned for a slug that is not 2 to 63 lowercase letters,
// digits and inner hyphens.
var ErrBadSlug = errors.New("a slug is 2 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit")

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`)

// AdminCreateTenant creates a tenant, audited in the new tenant's trail.
func AdminCreateTenant(ctx context.Context, db *DB, a Actor, slug, name string) (*TenantRow, error) {
	if !slugPattern.MatchString(slug) {
		return nil, ErrBadSlug
	}
	row := &TenantRow{ID: NewID(), Slug: slug, Name: name, TwoFactor: TwoFactorOptional, CreatedAt: time.Now().UTC()}
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrTenantExists
			}
			return err
		}
		return Tenant{db: tx, id: row.ID}.audit(ctx, a, Event{Action: ActionTenantCreate, ObjectType: "tenant", ObjectID: row.ID,
			Details: map[string]any{"slug": slug, "name": name}})
	})
	if err != nil {
		return nil, fmt.Errorf("store: create tenant %s: %w", slug, err)
	}
	return row, nil
}

// AdminUserExists reports whether an active user with email exists in any tenant.
func AdminUserExists(ctx context.Context, db *DB, email string) (bool, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&User{}).
		Where("email = ? AND deleted_at IS NULL", NormalizeEmail(email)).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: user exists %s: %w", email, err)
	}
	return n > 0, nil
}

// AdminDeleteExpiredSessions removes sessions past their expiry.
func AdminDeleteExpiredSessions(ctx context.Context, db *DB) (int64, error) {
	res := db.gorm.WithContext(ctx).Where("expiry < ?", time.Now().UTC()).Delete(&sessionRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// AdminCountTenants counts all tenants.
func AdminCountTenants(ctx context.Context, db *DB) (int64, error) {
	var n int64
	if err := db.gorm.WithContext(ctx).Model(&TenantRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count tenants: %w", err)
	}
	return n, nil
}

// AdminListTenants lists every tenant (the scoring service preloads their models).
func AdminListTenants(ctx context.Context, db *DB) ([]TenantRow, error) {
	var rows []TenantRow
	if err := db.gorm.WithContext(ctx).Order("slug").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list tenants: %w", err)
	}
	return rows, nil
}

// AdminAnalyze refreshes the planner's statistics of the transaction tables
// (after a bulk load, so that the queue's plans fit the data at once); on
// PostgreSQL it also vacuums them, which lets the queue's counts read their
// partial indexes without visiting the table.
func AdminAnalyze(ctx context.Context, db *DB) error {
	g := db.gorm.WithContext(ctx)
	stmt := "ANALYZE"
	if db.dialect == Postgres {
		stmt = "VACUUM (ANALYZE) transactions, predictions"
	}
	if err := g.Exec(stmt).Error; err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return nil
}

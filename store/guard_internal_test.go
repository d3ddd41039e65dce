package store

import (
	"context"
	"strings"
	"testing"
)

func TestTenantGuardFailsUnscopedStatements(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t)
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := GuardTenantScope(db); err != nil {
		t.Fatal(err)
	}
	tn := ForTenant(db, "tenant-a")
	var n int64
	for name, run := range map[string]func() error{
		"a query":   func() error { return db.gorm.WithContext(ctx).Model(&Transaction{}).Count(&n).Error },
		"raw SQL":   func() error { return db.gorm.WithContext(ctx).Raw("SELECT count(*) FROM predictions").Scan(&n).Error },
		"an update": func() error { return db.gorm.WithContext(ctx).Exec("UPDATE api_keys SET name = 'x'").Error },
		"a delete":  func() error { return db.gorm.WithContext(ctx).Where("id = ?", "x").Delete(&WatchlistEntry{}).Error },
		"a join of only": func() error {
			return db.gorm.WithContext(ctx).Table("users u").Joins("JOIN analyst_decisions d ON d.user_id = u.id").Count(&n).Error
		},
	} {
		if err := run(); err == nil || !strings.Contains(err.Error(), "tenant guard") {
			t.Errorf("%s without a tenant condition: error = %v, want the tenant guard's", name, err)
		}
	}
	if _, err := ListAPIKeys(ctx, tn); err != nil {
		t.Errorf("ListAPIKeys() under the guard = %v, want nil", err)
	}
	if _, err := AdminCountTenants(ctx, db); err != nil {
		t.Errorf("AdminCountTenants() under the guard = %v, want nil (admin functions may cross tenants)", err)
	}
	if err := db.gorm.WithContext(ctx).Model(&loginAttempt{}).Count(&n).Error; err != nil {
		t.Errorf("a query on a table without tenants = %v, want nil", err)
	}
}

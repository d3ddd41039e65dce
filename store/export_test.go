package store

import "context"

// ExecForTest runs raw SQL on db, for tests that break the database on purpose.
func ExecForTest(ctx context.Context, db *DB, sql string) error {
	return db.gorm.WithContext(ctx).Exec(sql).Error
}

// SessionTokensForTest lists the stored session keys.
func SessionTokensForTest(ctx context.Context, db *DB) ([]string, error) {
	var toks []string
	err := db.gorm.WithContext(ctx).Model(&sessionRow{}).Pluck("token", &toks).Error
	return toks, err
}

// QueryRowForTest scans the one value a raw SQL statement returns.
func QueryRowForTest(ctx context.Context, db *DB, sql string, dest ...any) error {
	return db.gorm.WithContext(ctx).Raw(sql).Row().Scan(dest...)
}

// SetHubTransactionsForTest sets how many transactions make a profile keep
// an account's rollups, and returns the previous number.
func SetHubTransactionsForTest(n int64) int64 { return hubTransactions.Swap(n) }

// KeepRollupsForTest keeps the account's rollups from now on.
func KeepRollupsForTest(ctx context.Context, t Tenant, account string) error {
	return t.keepRollups(ctx, account)
}

// RollupsKeptForTest lists the tenant's accounts whose rollups are kept.
func RollupsKeptForTest(ctx context.Context, t Tenant) ([]string, error) {
	var accounts []string
	err := t.db.WithContext(ctx).Raw(`SELECT account FROM account_rollups WHERE tenant_id = ? ORDER BY account`, t.id).
		Scan(&accounts).Error
	return accounts, err
}

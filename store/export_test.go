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
func QueryRowForTest(ctx context.Context, db *DB, sql string, dest any) error {
	return db.gorm.WithContext(ctx).Raw(sql).Row().Scan(dest)
}

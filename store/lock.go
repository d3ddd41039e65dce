package store

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// Classes of the PostgreSQL advisory locks that keep replicas starting
// together from doing the same set-up work at once.
const (
	lockMigrate int32 = 7311 // applying migrations
	lockSeed    int32 = 7312 // seeding demo data
)

// withLock runs fn while this process holds the advisory lock of class on
// PostgreSQL; other processes asking for it wait until fn returns. The lock
// is keyed by the current schema too: replicas of one database and schema
// exclude each other, databases in other schemas (the tests') do not. It is
// held on a connection of its own, so fn uses the pool as usual, and it goes
// away with that connection if the process dies. SQLite, served by one
// process, takes no lock.
func (db *DB) withLock(ctx context.Context, class int32, fn func() error) error {
	if db.dialect != Postgres {
		return fn()
	}
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return fmt.Errorf("store: lock %d: %w", class, err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: lock %d: %w", class, err)
	}
	defer conn.Close()
	const key = "hashtext(coalesce(current_schema(), ''))"
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, "+key+")", class); err != nil {
		return fmt.Errorf("store: lock %d: %w", class, err)
	}
	fnErr := fn()
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, "+key+")", class); err != nil {
		// A connection still holding the lock must not go back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		if fnErr == nil {
			return fmt.Errorf("store: unlock %d: %w", class, err)
		}
	}
	return fnErr
}

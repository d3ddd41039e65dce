// Package storetest gives tests a freshly migrated database: SQLite always,
// and PostgreSQL too when SENTINEL_TEST_POSTGRES_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for schema setup

	"github.com/sentinel-fraud/sentinel/store"
)

// PostgresURLEnv names the variable that turns on the PostgreSQL runs.
const PostgresURLEnv = "SENTINEL_TEST_POSTGRES_URL"

// Each runs fn as a subtest on every configured database, each freshly
// migrated: "sqlite" always, "postgres" when SENTINEL_TEST_POSTGRES_URL is set.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(PostgresURLEnv) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// SQLite opens a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open("", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	guard(t, db)
	return db
}

// Postgres opens a migrated database in a new schema of the server at
// SENTINEL_TEST_POSTGRES_URL, dropped when the test ends. It skips the test
// when the variable is unset.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, _ := PostgresUnmigrated(t)
	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	guard(t, db)
	return db
}

// PostgresUnmigrated is Postgres without the migrations; it also returns the
// connection URL of the schema.
func PostgresUnmigrated(t testing.TB) (*store.DB, string) {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skipf("%s is not set", PostgresURLEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := store.Open(u.String(), "")
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return db, u.String()
}

// guard turns on the tenant guard: a statement on a tenant table without a
// tenant_id condition fails the test that made it.
func guard(t testing.TB, db *store.DB) {
	t.Helper()
	if err := store.GuardTenantScope(db); err != nil {
		t.Fatal(err)
	}
}

// Package storetest gives tests a freshly migrated database: SQLite always,
// and PostgreSQL too when SENTINEL_TEST_POSTGRES_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for schema setup

	"github.com/sentinel-fraud/sentinel/migrations"
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

// Postgres opens a migrated database of its own on the server at
// SENTINEL_TEST_POSTGRES_URL, dropped when the test ends. It is a copy of
// a template database migrated once per set of migrations (template):
// about 0.1 s a test, where a new schema and its migrations took 0.6–0.8 s. It
// skips the test when the variable is unset.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	base, admin := server(t)
	tmpl := template(t, base)
	name := "test_" + randomHex()
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + tmpl); err != nil {
		admin.Close()
		t.Fatalf("create database from %s: %v", tmpl, err)
	}
	db := openThenDrop(t, admin, databaseURL(t, base, name), "DROP DATABASE "+name+" WITH (FORCE)")
	guard(t, db)
	return db
}

// server is the PostgreSQL server at SENTINEL_TEST_POSTGRES_URL and a
// connection to it, or skips the test when the variable is unset.
func server(t testing.TB) (string, *sql.DB) {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skipf("%s is not set", PostgresURLEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	return base, admin
}

// openThenDrop opens the database at dsn and, when the test ends, closes
// it, runs drop on admin and closes admin.
func openThenDrop(t testing.TB, admin *sql.DB, dsn, drop string) *store.DB {
	t.Helper()
	db, err := store.Open(dsn, "")
	if err != nil {
		admin.Close()
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec(drop); err != nil {
			t.Errorf("%s: %v", drop, err)
		}
		admin.Close()
	})
	return db
}

// The template database of this process's tests, made once (templateMu).
var (
	templateMu   sync.Mutex
	templateName string
)

// template is the name of a database migrated with this build's
// migrations, named by their hash, which it makes unless another test
// process has: under an advisory lock, as a database of another name that
// is renamed once migrated, so that no process copies a half-made one.
func template(t testing.TB, base string) string {
	t.Helper()
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateName != "" {
		return templateName
	}
	h := sha256.New()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	name := "sentinel_template_" + hex.EncodeToString(h.Sum(nil))[:16]
	ctx := context.Background()
	_, admin := server(t)
	defer admin.Close()
	conn, err := admin.Conn(ctx) // the lock is the session's
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('sentinel test template'))"); err != nil {
		t.Fatalf("lock the template: %v", err)
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext('sentinel test template'))")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("look for the template: %v", err)
	}
	if !exists {
		making := name + "_making"
		for _, q := range []string{"DROP DATABASE IF EXISTS " + making + " WITH (FORCE)", "CREATE DATABASE " + making} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db, err := store.Open(databaseURL(t, base, making), "")
		if err != nil {
			t.Fatalf("open the template: %v", err)
		}
		err = store.Migrate(ctx, db)
		db.Close()
		if err != nil {
			t.Fatalf("migrate the template: %v", err)
		}
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+making+" RENAME TO "+name); err != nil {
			t.Fatalf("publish the template: %v", err)
		}
	}
	templateName = name
	return name
}

// databaseURL is base with another database.
func databaseURL(t testing.TB, base, database string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	u.Path = "/" + database
	return u.String()
}

// randomHex is 12 random hexadecimal digits, for a unique name.
func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresUnmigrated is Postgres without the migrations; it also returns the
// connection URL of the schema.
func PostgresUnmigrated(t testing.TB) (*store.DB, string) {
	t.Helper()
	base, admin := server(t)
	schema := "test_" + randomHex()
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
	return openThenDrop(t, admin, u.String(), "DROP SCHEMA "+schema+" CASCADE"), u.String()
}

// guard turns on the tenant guard: a statement on a tenant table without a
// tenant_id condition fails the test that made it.
func guard(t testing.TB, db *store.DB) {
	t.Helper()
	if err := store.GuardTenantScope(db); err != nil {
		t.Fatal(err)
	}
}

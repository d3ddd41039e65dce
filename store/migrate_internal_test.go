package store

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open("", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLoadMigrationsPicksTheDialect(t *testing.T) {
	fsys := fstest.MapFS{
		"0002_b.sql":          {Data: []byte("B")},
		"0001_a.sqlite.sql":   {Data: []byte("A-lite")},
		"0001_a.postgres.sql": {Data: []byte("A-pg")},
	}
	for _, tc := range []struct {
		d    Dialect
		want []string
	}{
		{SQLite, []string{"A-lite", "B"}},
		{Postgres, []string{"A-pg", "B"}},
	} {
		got, err := loadMigrations(fsys, tc.d)
		if err != nil {
			t.Fatal(err)
		}
		var sqls []string
		for _, m := range got {
			sqls = append(sqls, m.SQL)
		}
		if !reflect.DeepEqual(sqls, tc.want) {
			t.Errorf("loadMigrations(%s) = %v, want %v", tc.d, sqls, tc.want)
		}
	}
	if _, err := loadMigrations(fstest.MapFS{"1_bad.sql": {Data: []byte("x")}}, SQLite); err == nil {
		t.Error("loadMigrations(badly named) = nil error, want one")
	}
	dup := fstest.MapFS{"0001_a.sql": {Data: []byte("x")}, "0001_b.sql": {Data: []byte("y")}}
	if _, err := loadMigrations(dup, SQLite); err == nil {
		t.Error("loadMigrations(two steps 0001) = nil error, want one")
	}
}

func TestFailingMigrationLeavesDatabaseUnchanged(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	fsys := fstest.MapFS{
		"0001_ok.sql":     {Data: []byte("CREATE TABLE one (id INTEGER PRIMARY KEY);")},
		"0002_broken.sql": {Data: []byte("CREATE TABLE two (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);")},
	}
	err := migrate(ctx, db, fsys)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("migrate() error = %v, want one naming 0002_broken.sql", err)
	}
	m := db.gorm.Migrator()
	if !m.HasTable("one") {
		t.Error("step 0001 was rolled back, want it kept")
	}
	if m.HasTable("two") {
		t.Error("table two exists after its step failed, want it rolled back")
	}
	var versions []string
	db.gorm.Model(&schemaMigration{}).Order("version").Pluck("version", &versions)
	if !reflect.DeepEqual(versions, []string{"0001_ok"}) {
		t.Errorf("recorded versions = %v, want [0001_ok]", versions)
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- comment\nCREATE TABLE a (\n  x INT\n);\n\nCREATE INDEX i ON a (x);\n")
	want := []string{"CREATE TABLE a (\n  x INT\n);", "CREATE INDEX i ON a (x);"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitStatements() = %q, want %q", got, want)
	}
}

// Every model owned by a tenant has a NOT NULL tenant_id column, except
// audit_events, whose pre-login events have no tenant yet.
func TestEveryTenantModelHasTenantColumn(t *testing.T) {
	db := openSQLite(t)
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, model := range tenantModels() {
		stmt := db.gorm.Model(model).Statement
		if err := stmt.Parse(model); err != nil {
			t.Fatal(err)
		}
		table := stmt.Schema.Table
		if stmt.Schema.LookUpField("TenantID") == nil {
			t.Errorf("%T has no TenantID field", model)
			continue
		}
		cols, err := db.gorm.Migrator().ColumnTypes(model)
		if err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		found := false
		for _, c := range cols {
			if c.Name() != "tenant_id" {
				continue
			}
			found = true
			nullable, _ := c.Nullable()
			if nullable != (table == "audit_events") {
				t.Errorf("%s.tenant_id nullable = %v", table, nullable)
			}
		}
		if !found {
			t.Errorf("table %s has no tenant_id column", table)
		}
	}
}

func TestSQLitePathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd#name?x=1%.db")
	db, err := Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
	var mode string
	db.gorm.Raw("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal (the DSN's pragmas were lost)", mode)
	}
}

// The PostgreSQL batch COPY names its columns; a field added to a model
// must be added there too, or PostgreSQL would silently drop it.
func TestCopyColumnsCoverTheModels(t *testing.T) {
	db := openSQLite(t)
	for _, c := range []struct {
		model   any
		columns []string
	}{{&Transaction{}, transactionColumns}, {&Prediction{}, predictionColumns}} {
		stmt := db.gorm.Model(c.model).Statement
		if err := stmt.Parse(c.model); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stmt.Schema.DBNames, c.columns) {
			t.Errorf("%s: COPY columns %v, model columns %v", stmt.Schema.Table, c.columns, stmt.Schema.DBNames)
		}
	}
}

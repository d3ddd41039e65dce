package store

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sentinel-fraud/sentinel/migrations"
)

// migration is one numbered schema step for this database's dialect.
type migration struct {
	Version string // "0001_init"
	File    string
	SQL     string
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   string `gorm:"primaryKey"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// loadMigrations reads the steps for dialect d from fsys in version order. A
// step is either NNNN_name.sql or a NNNN_name.<dialect>.sql pair.
func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	byNumber := map[string]migration{}
	for _, name := range names {
		base := strings.TrimSuffix(name, ".sql")
		version := base
		if i := strings.IndexByte(base, '.'); i >= 0 {
			version = base[:i]
			if base[i+1:] != string(d) {
				continue
			}
		}
		if len(version) < 5 || version[4] != '_' || strings.Trim(version[:4], "0123456789") != "" {
			return nil, fmt.Errorf("store: migration %s: name must start with four digits and _", name)
		}
		number := version[:4]
		if prev, dup := byNumber[number]; dup {
			return nil, fmt.Errorf("store: migration %s: %s already defines step %s", name, prev.File, number)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		byNumber[number] = migration{Version: version, File: name, SQL: string(b)}
	}
	out := make([]migration, 0, len(byNumber))
	for _, m := range byNumber {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration not yet recorded, in order, each
// in its own transaction. It is safe to run again, and from several
// processes at once: on PostgreSQL they take turns (the first applies the
// steps, the others find them recorded).
func Migrate(ctx context.Context, db *DB) error {
	return migrate(ctx, db, migrations.FS)
}

func migrate(ctx context.Context, db *DB, fsys fs.FS) error {
	steps, err := loadMigrations(fsys, db.dialect)
	if err != nil {
		return err
	}
	// The lock comes before everything, schema_migrations included: two
	// PostgreSQL sessions creating that table at once collide even with IF
	// NOT EXISTS.
	return db.withLock(ctx, lockMigrate, func() error {
		g := db.gorm.WithContext(ctx)
		if err := g.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`).Error; err != nil {
			return fmt.Errorf("store: create schema_migrations: %w", err)
		}
		var applied []schemaMigration
		if err := g.Find(&applied).Error; err != nil {
			return fmt.Errorf("store: read schema_migrations: %w", err)
		}
		done := map[string]bool{}
		for _, a := range applied {
			done[a.Version] = true
		}
		for _, m := range steps {
			if done[m.Version] {
				continue
			}
			err := g.Transaction(func(tx *gorm.DB) error {
				for _, stmt := range splitStatements(m.SQL) {
					if err := tx.Exec(stmt).Error; err != nil {
						return err
					}
				}
				return tx.Create(&schemaMigration{Version: m.Version, AppliedAt: time.Now().UTC()}).Error
			})
			if err != nil {
				return fmt.Errorf("store: migration %s failed, database left unchanged: %w", m.File, err)
			}
			slog.Info("migration applied", "version", m.Version, "file", m.File)
		}
		return analyzeNewTables(ctx, db)
	})
}

// analyzeNewTables gathers PostgreSQL's statistics of the tables it has
// never analyzed (new ones; autovacuum does the rest). Without them the
// planner takes a table to be ten pages whatever it holds, and a query
// planned once per connection can keep a plan that reads a whole table
// per row: the key check of each stored prediction (a query PostgreSQL
// prepares per connection) was planned on the amount index of a new
// tenant's transactions and took an upload of 200,000 rows from 10 s to
// 383 s. Analyzed, even empty, a table's size is read as it grows.
func analyzeNewTables(ctx context.Context, db *DB) error {
	if db.dialect != Postgres {
		return nil
	}
	var tables []string
	err := db.gorm.WithContext(ctx).Raw(`SELECT quote_ident(relname) FROM pg_class
		WHERE relkind = 'r' AND reltuples < 0 AND relnamespace = CAST(current_schema() AS regnamespace)`).Scan(&tables).Error
	if err == nil && len(tables) > 0 {
		err = db.gorm.WithContext(ctx).Exec("ANALYZE " + strings.Join(tables, ", ")).Error
	}
	if err != nil {
		return fmt.Errorf("store: analyze new tables: %w", err)
	}
	return nil
}

// splitStatements splits a migration into statements on semicolons that end a
// line, dropping comment-only lines. Migrations keep to that form (no
// semicolons inside string literals or function bodies).
func splitStatements(sqlText string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

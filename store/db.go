// Package store is Sentinel's persistence layer: GORM models, the tenant
// scope, tenant-scoped queries and the migrations runner. It knows nothing of
// HTTP or views.
package store

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrNotFound is returned for a missing row and for another tenant's row alike.
var ErrNotFound = errors.New("not found")

// Dialect names the database behind a DB.
type Dialect string

// The two supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the root database handle. Only the auth layer, store/admin.go and the
// migrations runner use it directly; domain code works through a Tenant.
type DB struct {
	gorm    *gorm.DB
	pool    *sql.DB // GORM's connection pool, for its statistics
	dialect Dialect
	// read serves long reads (exports) that must not hold the one SQLite
	// connection: a read-only pool of its own there, the same pool as gorm
	// on PostgreSQL.
	read *gorm.DB
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// DefaultSQLitePath is where the embedded database lives when no DATABASE_URL is set.
const DefaultSQLitePath = "var/sentinel.db"

// Open connects to PostgreSQL when url starts with postgres:// or
// postgresql://, and otherwise opens (creating if needed) the SQLite file at
// sqlitePath.
func Open(url, sqlitePath string) (*DB, error) {
	cfg := &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		TranslateError: true,
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		// Prepared statements spare PostgreSQL re-planning the hot scoring queries.
		cfg.PrepareStmt = true
		g, err := gorm.Open(postgres.New(postgres.Config{
			DSN: url, OptionOpenDB: []stdlib.OptionOpenDB{stdlib.OptionBeforeConnect(connectionSettings), stdlib.OptionAfterConnect(scanTimesInUTC)},
		}), cfg)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, fmt.Errorf("store: postgres pool: %w", err)
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(time.Hour)
		return &DB{gorm: g, pool: sqlDB, dialect: Postgres, read: g}, nil
	}
	if url != "" {
		return nil, fmt.Errorf("store: DATABASE_URL must start with postgres:// or postgresql://")
	}
	if dir := filepath.Dir(sqlitePath); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	// One connection: SQLite has a single writer, and one connection makes
	// every write wait its turn in Go instead of failing with SQLITE_BUSY.
	dsn := "file:" + uriPath.Replace(sqlitePath) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	g, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", sqlitePath, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("store: sqlite pool: %w", err)
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxIdleTime(0)
	sqlDB.SetConnMaxLifetime(0)
	// Readers of a WAL database see one snapshot each and do not wait for
	// the writer: long reads (an export) take a connection of this pool and
	// leave the writer's free.
	r, err := gorm.Open(sqlite.Open("file:"+uriPath.Replace(sqlitePath)+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)"), cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s for reading: %w", sqlitePath, err)
	}
	readDB, err := r.DB()
	if err != nil {
		return nil, fmt.Errorf("store: sqlite read pool: %w", err)
	}
	readDB.SetMaxOpenConns(4)
	readDB.SetMaxIdleConns(1)
	slog.Debug("sqlite opened", "path", sqlitePath)
	return &DB{gorm: g, pool: sqlDB, dialect: SQLite, read: r}, nil
}

// connectionSettings sets up each new PostgreSQL connection:
//
//   - It reads what PostgreSQL sends through a 64 KiB buffer: pgx reads at
//     most 8 KiB a system call, and a large read (a million-row export
//     sends about 2 GB) spent a fifth of its time in them.
//   - JIT compilation is off. PostgreSQL compiles a statement whose
//     estimated cost passes jit_above_cost, and it overestimates the
//     groupings of an entity profile 60-fold: a hub's counterparty
//     statement spent 31 ms of its 180 compiling, and the page took p95 268
//     instead of 163 ms. Sentinel's statements read index ranges, where
//     compiled expressions save little.
func connectionSettings(_ context.Context, cfg *pgx.ConnConfig) error {
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, 64<<10), w)
	}
	// A map of its own: the configuration's is shared by every connection.
	params := maps.Clone(cfg.RuntimeParams)
	if params == nil {
		params = map[string]string{}
	}
	params["jit"] = "off"
	cfg.RuntimeParams = params
	return nil
}

// scanTimesInUTC makes a new PostgreSQL connection read timestamptz values
// in UTC, as they are written and as SQLite gives them back; pgx's default,
// the process's local zone, would make a stored time read back differently
// from the one just written on a server not running in UTC.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	// A ping may be answered by a pooled connection; run a statement too.
	var one int
	if err := db.gorm.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping query: %w", err)
	}
	return nil
}

// Stats reports the connection pool's statistics (for the metrics
// endpoint). It hands out numbers, not the *sql.DB, so no query can bypass
// the tenant scope through it.
func (db *DB) Stats() sql.DBStats {
	return db.pool.Stats()
}

// Close closes the connection pools.
func (db *DB) Close() error {
	if db.read != db.gorm {
		if readDB, err := db.read.DB(); err == nil {
			_ = readDB.Close()
		}
	}
	sqlDB, err := db.gorm.DB()
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return sqlDB.Close()
}

// IsUnavailable reports whether err says that the database cannot be
// reached right now (down, restarting, refusing or dropping connections),
// as opposed to a query that failed on a working database. It is what turns
// a request's failure into 503 instead of 500. A busy SQLite ("database is
// locked") is not unavailable: it is one writer waiting for another.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	// No new connection: refused, timed out, or turned away by a server
	// that is starting up or shutting down.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is "connection exception"; 57P01-57P03 are a backend
		// terminated by an administrator or a shutdown, a crash, and a
		// server still starting up.
		return strings.HasPrefix(pgErr.Code, "08") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var netErr *net.OpError
	return errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		// The first statement on a pooled connection whose server went
		// away fails while reading the reply.
		errors.Is(err, io.ErrUnexpectedEOF)
}

// uriPath escapes what would end the path of an SQLite file: URI early
// (a "#" in a path once sent tests to a stray database outside their temp dir).
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// notFound maps GORM's not-found error to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

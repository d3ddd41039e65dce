package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteBusyError returns the error a second SQLite writer gets while the
// first holds the write lock and the second does not wait.
func sqliteBusyError(t *testing.T) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busy.db")
	first, err := Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := first.gorm.Exec("CREATE TABLE t (x INT)").Error; err != nil {
		t.Fatal(err)
	}
	// One connection per handle: the pragma stays with it.
	if err := second.gorm.Exec("PRAGMA busy_timeout = 0").Error; err != nil {
		t.Fatal(err)
	}
	tx := first.gorm.Begin()
	defer tx.Rollback()
	if err := tx.Exec("INSERT INTO t VALUES (1)").Error; err != nil {
		t.Fatal(err)
	}
	err = second.gorm.Exec("INSERT INTO t VALUES (2)").Error
	if err == nil {
		t.Fatal("a second writer was let in while the first held the lock")
	}
	return fmt.Errorf("store: save: %w", err)
}

func TestIsUnavailable(t *testing.T) {
	// A real failed connection: nothing listens on port 1.
	_, refused := Open("postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", "")
	if refused == nil {
		t.Fatal("Open(127.0.0.1:1) = nil error, want a refused connection")
	}
	// A connection attempt past its deadline: this listener never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, timedOut := Open("postgres://postgres@"+silent.Addr().String()+"/test?sslmode=disable&connect_timeout=1", "")
	if timedOut == nil {
		t.Fatal("Open(silent server) = nil error, want a timeout")
	}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"a refused PostgreSQL connection is unavailable", refused, true},
		{"a connection attempt past its deadline is unavailable", timedOut, true},
		{"a dial error is unavailable", fmt.Errorf("store: x: %w", dialErr), true},
		{"a connection reset is unavailable", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"a bad pooled connection is unavailable", fmt.Errorf("store: x: %w", driver.ErrBadConn), true},
		{"a closed pgx connection is unavailable", fmt.Errorf("store: x: %w", pgconn.ErrConnClosed), true},
		{"a reply cut short is unavailable", fmt.Errorf("store: x: %w", io.ErrUnexpectedEOF), true},
		{"a backend terminated by an administrator is unavailable", &pgconn.PgError{Code: "57P01"}, true},
		{"a server starting up is unavailable", fmt.Errorf("store: x: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"a connection failure reported by the server is unavailable", &pgconn.PgError{Code: "08006"}, true},
		{"no error is not", nil, false},
		{"a missing row is not", fmt.Errorf("store: x: %w", ErrNotFound), false},
		{"a duplicate key is not", &pgconn.PgError{Code: "23505"}, false},
		{"a query cancelled by its caller is not", fmt.Errorf("store: x: %w", context.Canceled), false},
		{"a query past its deadline is not", fmt.Errorf("store: x: %w", context.DeadlineExceeded), false},
		{"a locked SQLite database is not", sqliteBusyError(t), false},
		{"any other error is not", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsUnavailable(tc.err); got != tc.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestPostgresConnectionsCompileNothing(t *testing.T) {
	url := os.Getenv("SENTINEL_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("SENTINEL_TEST_POSTGRES_URL is not set")
	}
	db, err := Open(url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jit string
	if err := db.gorm.Raw("SHOW jit").Scan(&jit).Error; err != nil || jit != "off" {
		t.Fatalf("SHOW jit = %q, %v; want off (connectionSettings)", jit, err)
	}
}

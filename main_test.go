package main

import (
	"bufio"
	"database/sql"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the checks

	"github.com/sentinel-fraud/sentinel/migrations"
	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// runMainEnv makes the test binary run main() instead of the tests, so a
// test can start real sentinel processes without building the binary.
const runMainEnv = "SENTINEL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveProcess is one `sentinel serve` running as its own OS process.
type serveProcess struct {
	cmd       *exec.Cmd
	mu        sync.Mutex
	log       strings.Builder
	listening chan struct{} // closed when the server logs that it listens
	exited    chan struct{} // closed when its stderr ends
}

func startServe(t *testing.T, databaseURL string, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "DATABASE_URL="+databaseURL, "SENTINEL_LOG_LEVEL=info", "SENTINEL_LOG_FORMAT=text")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, listening: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sentinel serve: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "sentinel listening") {
				close(p.listening)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	return p
}

// stop waits until the server listens, asks it to shut down as a signal
// would, and returns its log; it fails the test if the process failed.
func (p *serveProcess) stop(t *testing.T, name string) string {
	t.Helper()
	select {
	case <-p.listening:
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Errorf("%s: not listening after 2 minutes", name)
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.exited
	err := p.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		t.Errorf("%s exited with %v; its log:\n%s", name, err, p.log.String())
	}
	return p.log.String()
}

// postgresMigrations lists the versions of the PostgreSQL migration steps.
func postgresMigrations(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var versions []string
	for _, name := range names {
		version, dialect, _ := strings.Cut(strings.TrimSuffix(name, ".sql"), ".")
		if (dialect == "" || dialect == "postgres") && !seen[version] {
			seen[version] = true
			versions = append(versions, version)
		}
	}
	return versions
}

// Two replicas started together on an empty PostgreSQL database both come
// up, and the database holds one of everything they set up.
func TestTwoReplicasStartTogetherOnAnEmptyDatabase(t *testing.T) {
	_, url := storetest.PostgresUnmigrated(t)
	a := startServe(t, url, "--demo")
	b := startServe(t, url, "--demo")
	logs := a.stop(t, "replica a") + b.stop(t, "replica b")

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	one := func(what, query string, args ...any) {
		t.Helper()
		var n int
		if err := db.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 1 {
			t.Errorf("%s: %d rows, want 1", what, n)
		}
	}
	versions := postgresMigrations(t)
	var recorded int
	if err := db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(versions) {
		t.Errorf("schema_migrations holds %d rows, want %d", recorded, len(versions))
	}
	for _, v := range versions {
		one("migration "+v, "SELECT count(*) FROM schema_migrations WHERE version = $1", v)
		if n := strings.Count(logs, `msg="migration applied" version=`+v+" "); n != 1 {
			t.Errorf(`the replicas logged "migration applied" for %s %d times, want once`, v, n)
		}
	}
	for _, dt := range seed.Tenants() {
		one("tenant "+dt.Slug, "SELECT count(*) FROM tenants WHERE slug = $1", dt.Slug)
		for _, du := range dt.Users {
			one("user "+du.Email, "SELECT count(*) FROM users WHERE email = $1", du.Email)
		}
		one("default model of "+dt.Slug, `SELECT count(*) FROM model_versions m JOIN tenants t ON t.id = m.tenant_id
			WHERE t.slug = $1 AND m.name = $2`, dt.Slug, models.DefaultName)
		var txs, preds int
		err := db.QueryRow(`SELECT (SELECT count(*) FROM transactions x JOIN tenants t ON t.id = x.tenant_id WHERE t.slug = $1),
			(SELECT count(*) FROM predictions p JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = $1)`, dt.Slug).Scan(&txs, &preds)
		if err != nil {
			t.Fatal(err)
		}
		if txs != seed.DemoTrafficRows || preds != seed.DemoTrafficRows {
			t.Errorf("tenant %s: %d transactions and %d predictions, want %d of each", dt.Slug, txs, preds, seed.DemoTrafficRows)
		}
	}
	if t.Failed() {
		t.Logf("replica logs:\n%s", logs)
	}
}

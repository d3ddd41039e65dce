package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestFindCommand(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		want     string
		wantRest int
	}{
		{nil, "serve", 0},
		{[]string{"--addr", ":0"}, "serve", 2},
		{[]string{"migrate"}, "migrate", 0},
		{[]string{"apikey", "create", "--tenant", "x"}, "apikey create", 2},
		{[]string{"apikey", "revoke"}, "apikey revoke", 0},
		{[]string{"user", "create", "--tenant", "x"}, "user create", 2},
		{[]string{"tenant", "create"}, "tenant create", 0},
		{[]string{"apikey"}, "", 0},
		{[]string{"bogus"}, "", 0},
	} {
		cmd, rest := findCommand(tc.args)
		got := ""
		if cmd != nil {
			got = cmd.name
		}
		if got != tc.want || len(rest) != tc.wantRest {
			t.Errorf("findCommand(%q) = %q with %d args left, want %q with %d", tc.args, got, len(rest), tc.want, tc.wantRest)
		}
	}
}

func TestEveryCommandRegistersItsFlags(t *testing.T) {
	for _, c := range commands {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		var env environ
		if c.flags(fs, &env) == nil || len(env.errs) > 0 {
			t.Errorf("%s: flags() = nil run or errors %v", c.name, env.errs)
		}
	}
}

func TestEnvironmentFailsLoudly(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENTINEL_T_GOOD_FILE", secret)
	t.Setenv("SENTINEL_T_MISSING_FILE", filepath.Join(dir, "missing"))
	t.Setenv("SENTINEL_T_BOOL", "yes please")
	t.Setenv("SENTINEL_T_FLOAT", "fast")
	var env environ
	if got := env.str("SENTINEL_T_GOOD", "def"); got != "s3cret" {
		t.Errorf("str(KEY_FILE) = %q, want the file's content", got)
	}
	if len(env.errs) != 0 {
		t.Fatalf("errors after a good read: %v", env.errs)
	}
	env.str("SENTINEL_T_MISSING", "def")
	env.bool("SENTINEL_T_BOOL", false)
	env.float("SENTINEL_T_FLOAT", 1)
	if len(env.errs) != 3 || !strings.Contains(env.errs[0].Error(), "SENTINEL_T_MISSING_FILE") {
		t.Fatalf("errors = %v, want one each for the unreadable file, the bool and the number", env.errs)
	}
	if code := run([]string{"bogus"}); code != 2 {
		t.Errorf("run(bogus) = %d, want 2", code)
	}
	t.Setenv("SENTINEL_BENCH_KEY_FILE", filepath.Join(dir, "missing"))
	if code := run([]string{"bench"}); code != 2 {
		t.Errorf("run(bench) with an unreadable SENTINEL_BENCH_KEY_FILE = %d, want 2", code)
	}
}

// TestFirstAdminFromTheCommandLine creates a tenant and its first admin as
// an operator would on a fresh database, in real processes.
func TestFirstAdminFromTheCommandLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cli.db")
	sentinel := func(args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.Command(os.Args[0], append(args, "--sqlite-path", path)...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "DATABASE_URL=", "SENTINEL_BASE_URL=https://sentinel.example.test/")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	if _, stderr, err := sentinel("tenant", "create", "--slug", "first-bank", "--name", "First Bank"); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, stderr)
	}
	if _, _, err := sentinel("tenant", "create", "--slug", "first-bank", "--name", "Again"); err == nil {
		t.Error("tenant create with a taken slug succeeded")
	}
	out, stderr, err := sentinel("user", "create", "--tenant", "first-bank", "--email", "Ops@First.example", "--role", "admin")
	if err != nil {
		t.Fatalf("user create: %v\n%s", err, stderr)
	}
	link := strings.TrimSpace(out)
	if !strings.HasPrefix(link, "https://sentinel.example.test/set-password/") {
		t.Fatalf("user create printed %q, want one set-password link", out)
	}
	db, err := store.Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, u, err := store.AdminFindPasswordLink(context.Background(), db, link[strings.LastIndex(link, "/")+1:], time.Now())
	if err != nil || u.Email != "ops@first.example" || u.Role != store.RoleAdmin || u.Name != "ops" {
		t.Fatalf("the link's user = %+v, %v; want the new admin", u, err)
	}
	if _, _, err := sentinel("user", "create", "--tenant", "no-such-bank", "--email", "x@first.example"); err == nil {
		t.Error("user create in a missing tenant succeeded")
	}
}

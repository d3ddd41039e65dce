package handlers

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestMain(m *testing.M) {
	// Request logs would bury test failures.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// A server may run in any time zone; what it stores and answers stays
	// UTC. A zone that is not UTC here catches a time read back in local time.
	time.Local = time.FixedZone("UTC-5", -5*60*60)
	// Demo users hash their password at this cost: fast logins in tests.
	store.PasswordCost = bcrypt.MinCost
	os.Exit(m.Run())
}

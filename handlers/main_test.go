package handlers

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestMain(m *testing.M) {
	// Request logs would bury test failures.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Demo users hash their password at this cost: fast logins in tests.
	store.PasswordCost = bcrypt.MinCost
	os.Exit(m.Run())
}

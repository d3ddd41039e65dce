package store

import (
	"context"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/sentinel-fraud/sentinel/migrations"
)

// MigrateBeforeForTest applies the embedded migrations numbered below
// version ("0008"), for tests of a migration's backfill.
func MigrateBeforeForTest(ctx context.Context, db *DB, version string) error {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return err
	}
	older := fstest.MapFS{}
	for _, n := range names {
		if strings.Compare(n[:4], version) < 0 {
			b, err := fs.ReadFile(migrations.FS, n)
			if err != nil {
				return err
			}
			older[n] = &fstest.MapFile{Data: b}
		}
	}
	return migrate(ctx, db, older)
}

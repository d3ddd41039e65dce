// Package migrations holds Sentinel's numbered, append-only schema steps.
//
// A step is NNNN_name.sql (the same SQL on every database) or a pair
// NNNN_name.sqlite.sql / NNNN_name.postgres.sql where the dialects differ.
// The store runs them in order, each in one transaction, and records each in
// schema_migrations. A step is frozen once it has landed: change the schema
// with a new step.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Tenant is a database handle scoped to one tenant. It is built only by
// ForTenant, so a store function that takes a Tenant cannot run unscoped.
type Tenant struct {
	db *gorm.DB
	id string
	// read is the root's pool for long reads (DB.read); nil uses db.
	read *gorm.DB
}

// ForTenant scopes the root handle to tenant id. Only the authentication
// layer (session or API key) and the seed call it.
func ForTenant(db *DB, id string) Tenant {
	return Tenant{db: db.gorm, id: id, read: db.read}
}

// ID is the tenant's id.
func (t Tenant) ID() string { return t.id }

// scoped starts a fresh query filtered on the tenant of the model's own table
// (clause.CurrentTable keeps the filter unambiguous in joins).
func (t Tenant) scoped(ctx context.Context) *gorm.DB {
	return t.db.WithContext(ctx).Where(clause.Eq{
		Column: clause.Column{Table: clause.CurrentTable, Name: "tenant_id"},
		Value:  t.id,
	})
}

// tenantOwned is implemented by every model that embeds Owned.
type tenantOwned interface{ setTenant(id string) }

// create inserts row with its tenant taken from the handle, never from input.
func (t Tenant) create(ctx context.Context, row tenantOwned) error {
	row.setTenant(t.id)
	return t.db.WithContext(ctx).Create(row).Error
}

// Tx runs fn in one database transaction on the same tenant scope.
func (t Tenant) Tx(ctx context.Context, fn func(t Tenant) error) error {
	return t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(Tenant{db: tx, id: t.id, read: t.read})
	})
}

// ReadTx runs fn in one read-only transaction on the pool for long reads:
// everything fn reads comes from one snapshot (REPEATABLE READ on
// PostgreSQL; on SQLite, a read transaction of a WAL database), and on
// SQLite the writer's connection stays free meanwhile.
func (t Tenant) ReadTx(ctx context.Context, fn func(t Tenant) error) error {
	read := t.read
	if read == nil {
		read = t.db
	}
	var opts *sql.TxOptions
	if read.Dialector.Name() == "postgres" {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(Tenant{db: tx, id: t.id})
	}, opts)
}

// NewIDAt returns a new random id whose time part is at (UUIDv7 keeps
// milliseconds): a transaction received in the past sorts where it belongs.
func NewIDAt(at time.Time) string {
	id, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("store: new id: %v", err))
	}
	ms := uint64(at.UnixMilli())
	for i := 0; i < 6; i++ {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id.String()
}

// NewID returns a new random, time-sortable id (UUIDv7 text).
func NewID() string {
	id, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("store: new id: %v", err))
	}
	return id.String()
}

package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// sessionRow is one scs session. Sessions live in the database so every
// replica shares them, under the SHA-256 of their token: reading the table
// yields no live session.
type sessionRow struct {
	Token  string `gorm:"primaryKey"`
	Data   []byte
	Expiry time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// SessionStore implements scs.CtxStore on the sessions table.
type SessionStore struct{ db *DB }

// NewSessionStore returns an scs store backed by db.
func NewSessionStore(db *DB) *SessionStore { return &SessionStore{db: db} }

// FindCtx returns the data of an unexpired session.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var row sessionRow
	err := s.db.gorm.WithContext(ctx).Where("token = ? AND expiry > ?", HashToken(token), time.Now().UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return row.Data, true, nil
}

// CommitCtx inserts or replaces a session.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	row := sessionRow{Token: HashToken(token), Data: b, Expiry: expiry.UTC()}
	err := s.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "token"}},
		DoUpdates: clause.AssignmentColumns([]string{"data", "expiry"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session; a missing one is not an error.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	if err := s.db.gorm.WithContext(ctx).Where("token = ?", HashToken(token)).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// Find implements scs.Store.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (s *SessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// AdminSweep deletes expired sessions and old sign-in attempts every
// interval until ctx ends.
func AdminSweep(ctx context.Context, db *DB, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := AdminDeleteExpiredSessions(ctx, db); err != nil {
			slog.Warn("sweep sessions", "err", err)
		} else if n > 0 {
			slog.Debug("expired sessions removed", "count", n)
		}
		if n, err := AdminDeleteOldLoginAttempts(ctx, db); err != nil {
			slog.Warn("sweep sign-in attempts", "err", err)
		} else if n > 0 {
			slog.Debug("old sign-in attempts removed", "count", n)
		}
	}
}

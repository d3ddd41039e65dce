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
// yields no live session. A signed-in session also names its tenant, user,
// address and device, so that its user can see and end it and an admin's
// disabling of the user ends it everywhere at once.
type sessionRow struct {
	Token      string `gorm:"primaryKey"`
	ID         string
	Data       []byte
	Expiry     time.Time
	TenantID   *string
	UserID     *string
	IP         string `gorm:"column:ip"`
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// SessionMeta is what the session store writes beside a session's data: who
// it belongs to and where it is used from. Existing says the session was
// found in the store when the request began: committing it then only
// updates it, so a session ended meanwhile (by its user on another device,
// or by an admin) is not brought back by a request that was in flight.
type SessionMeta struct {
	TenantID  string
	UserID    string
	IP        string
	UserAgent string
	Existing  bool
}

type sessionMetaKey struct{}

// WithSessionMeta returns ctx carrying m for the session store's commit.
func WithSessionMeta(ctx context.Context, m SessionMeta) context.Context {
	return context.WithValue(ctx, sessionMetaKey{}, m)
}

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

// CommitCtx inserts or replaces a session, with the SessionMeta of ctx. A
// session that existed when the request began is only updated: if it has
// been ended since, it stays ended.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	m, _ := ctx.Value(sessionMetaKey{}).(SessionMeta)
	now := time.Now().UTC()
	row := sessionRow{Token: HashToken(token), ID: NewID(), Data: b, Expiry: expiry.UTC(),
		TenantID: optional(m.TenantID), UserID: optional(m.UserID), IP: m.IP, UserAgent: truncate(m.UserAgent, 512),
		CreatedAt: now, LastSeenAt: now}
	q := s.db.gorm.WithContext(ctx)
	var err error
	if m.Existing {
		err = q.Model(&sessionRow{}).Where("token = ?", row.Token).Updates(map[string]any{
			"data": row.Data, "expiry": row.Expiry, "tenant_id": row.TenantID, "user_id": row.UserID,
			"ip": row.IP, "user_agent": row.UserAgent, "last_seen_at": now,
		}).Error
	} else {
		err = q.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "token"}},
			DoUpdates: clause.AssignmentColumns([]string{"data", "expiry", "tenant_id", "user_id", "ip", "user_agent", "last_seen_at"}),
		}).Create(&row).Error
	}
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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

// Session is one of a user's signed-in sessions as they see it.
type Session struct {
	ID         string
	IP         string `gorm:"column:ip"`
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Expiry     time.Time
	// Current is the session the list was asked from.
	Current bool `gorm:"-"`
}

// ListSessions lists a user's unexpired sessions, most recently used first;
// the one whose token is currentToken is marked Current.
func ListSessions(ctx context.Context, t Tenant, userID, currentToken string) ([]Session, error) {
	var rows []struct {
		Session
		Token string
	}
	err := t.scoped(ctx).Model(&sessionRow{}).Select("token, id, ip, user_agent, created_at, last_seen_at, expiry").
		Where("user_id = ? AND expiry > ?", userID, time.Now().UTC()).Order("last_seen_at DESC, id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list sessions of %s: %w", userID, err)
	}
	out := make([]Session, len(rows))
	current := HashToken(currentToken)
	for i, r := range rows {
		out[i] = r.Session
		out[i].Current = r.Token == current
	}
	return out, nil
}

// EndSession ends one of the user's sessions by its id; another user's
// session is not found.
func EndSession(ctx context.Context, t Tenant, a Actor, userID, id string) error {
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		res := tx.scoped(ctx).Where("user_id = ? AND id = ?", userID, id).Delete(&sessionRow{})
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected == 0 {
			return Event{}, ErrNotFound
		}
		return Event{Action: ActionSessionEnd, ObjectType: "session", ObjectID: id}, nil
	})
	if err != nil {
		return fmt.Errorf("store: end session %s: %w", id, err)
	}
	return nil
}

// EndOtherSessions ends every session of the user but the one whose token
// is keepToken, and says how many ended.
func EndOtherSessions(ctx context.Context, t Tenant, a Actor, userID, keepToken string) (int64, error) {
	var n int64
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		n, err = tx.endSessions(ctx, userID, keepToken)
		return Event{Action: ActionSessionEnd, ObjectType: "user", ObjectID: userID,
			Details: map[string]any{"sessions_ended": n, "others": true}}, err
	})
	if err != nil {
		return 0, fmt.Errorf("store: end sessions of %s: %w", userID, err)
	}
	return n, nil
}

// endSessions deletes the user's sessions, except the one whose token is
// keepToken when it is not "".
func (t Tenant) endSessions(ctx context.Context, userID, keepToken string) (int64, error) {
	q := t.scoped(ctx).Where("user_id = ?", userID)
	if keepToken != "" {
		q = q.Where("token <> ?", HashToken(keepToken))
	}
	res := q.Delete(&sessionRow{})
	return res.RowsAffected, res.Error
}

package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Sign-in throttling: within LoginWindow, at most LoginMaxPerEmailIP attempts
// that did not succeed for one email from one address, LoginMaxPerIP from one
// address whatever the email, and LoginMaxPerEmail for one email from
// anywhere. The per-pair limit stops guessing; the wider two stop spraying
// without letting one address lock a known email out for everyone.
const (
	LoginWindow        = 15 * time.Minute
	LoginMaxPerEmailIP = 5
	LoginMaxPerIP      = 20
	LoginMaxPerEmail   = 50
)

// Outcomes of a sign-in attempt. A pending attempt counts as a failure until
// it ends: a burst of concurrent tries is counted before any password check.
// A right password that asks for a second factor counts as no failure; each
// code given afterwards is an attempt of its own, so wrong codes count
// against the same limits as wrong passwords.
const (
	loginPending      = "pending"
	loginFailed       = "failed"
	loginSucceeded    = "succeeded"
	loginSecondFactor = "second_factor"
	loginChecked      = "password_checked"
)

// ErrLoginThrottled is returned when an attempt is over a throttle limit.
var ErrLoginThrottled = errors.New("store: too many failed sign-ins")

// loginAttempt is one sign-in try. It belongs to no tenant: it is counted
// before anyone is known.
type loginAttempt struct {
	ID        string `gorm:"primaryKey"`
	Email     string
	IP        string `gorm:"column:ip"`
	Outcome   string
	CreatedAt time.Time
}

// LoginAttempt is a reserved sign-in try, ended by LoginSucceeded,
// AdminLoginFailed, AdminLoginPasswordAccepted or AdminLoginSecondFactor.
// User is the account the email names, nil when none does. SecondFactor,
// when set, is recorded with the attempt's event (which kind of code, or
// why it failed).
type LoginAttempt struct {
	ID           string
	User         *User
	Actor        Actor
	SecondFactor string
}

// AdminBeginLogin reserves a sign-in attempt for the actor's email and
// address. Counting and reserving happen in one transaction that holds a lock
// per email and per address (advisory locks on PostgreSQL, shared by every
// replica; SQLite has one writer), so of any burst at most the limit gets
// through. Over a limit it records the throttled try (in the user's tenant
// when the email names one) and returns ErrLoginThrottled.
func AdminBeginLogin(ctx context.Context, db *DB, a Actor, u *User) (*LoginAttempt, error) {
	now := time.Now().UTC()
	at := &LoginAttempt{ID: NewID(), User: u, Actor: a}
	throttled := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.dialect == Postgres {
			keys := []string{"login:email:" + a.Email, "login:ip:" + a.IP}
			slices.Sort(keys) // one order everywhere: no deadlock between two tries
			for _, k := range keys {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", k).Error; err != nil {
					return err
				}
			}
		}
		count := func(where string, args ...any) (int64, error) {
			var n int64
			err := tx.Model(&loginAttempt{}).Where("outcome IN (?, ?) AND created_at > ?", loginPending, loginFailed, now.Add(-LoginWindow)).
				Where(where, args...).Count(&n).Error
			return n, err
		}
		for _, c := range []struct {
			max   int64
			where string
			args  []any
		}{
			{LoginMaxPerEmailIP, "email = ? AND ip = ?", []any{a.Email, a.IP}},
			{LoginMaxPerIP, "ip = ?", []any{a.IP}},
			{LoginMaxPerEmail, "email = ?", []any{a.Email}},
		} {
			n, err := count(c.where, c.args...)
			if err != nil {
				return err
			}
			if n >= c.max {
				throttled = true
				return loginEvent(ctx, tx, at, ActionLoginThrottled)
			}
		}
		return tx.Create(&loginAttempt{ID: at.ID, Email: a.Email, IP: a.IP, Outcome: loginPending, CreatedAt: now}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: begin login: %w", err)
	}
	if throttled {
		return nil, ErrLoginThrottled
	}
	return at, nil
}

// AdminLoginFailed ends an attempt as failed and records it.
func AdminLoginFailed(ctx context.Context, db *DB, at *LoginAttempt) error {
	return endLogin(ctx, db, at, loginFailed, ActionLoginFailed)
}

// LoginSucceeded ends an attempt as the user's sign-in: it notes the time on
// the user and records the event, in one transaction.
func LoginSucceeded(ctx context.Context, db *DB, at *LoginAttempt) error {
	return endLogin(ctx, db, at, loginSucceeded, ActionLogin)
}

// AdminLoginPasswordAccepted ends an attempt whose password was right for a
// user who must still give a second factor (or set one up): it is no
// failure, and no sign-in yet.
func AdminLoginPasswordAccepted(ctx context.Context, db *DB, at *LoginAttempt) error {
	return endLogin(ctx, db, at, loginSecondFactor, ActionLoginPassword)
}

// AdminPasswordChecked ends an attempt that checked a signed-in user's
// current password (to change it): a wrong one is a failed attempt, counted
// against the sign-in limits (it guesses the same secret) and recorded; a
// right one is no failure, and the change writes its own event.
func AdminPasswordChecked(ctx context.Context, db *DB, at *LoginAttempt, right bool) error {
	if !right {
		return endLogin(ctx, db, at, loginFailed, ActionPasswordChangeRefused)
	}
	if err := db.gorm.WithContext(ctx).Model(&loginAttempt{}).Where("id = ?", at.ID).Update("outcome", loginChecked).Error; err != nil {
		return fmt.Errorf("store: password checked: %w", err)
	}
	return nil
}

func endLogin(ctx context.Context, db *DB, at *LoginAttempt, outcome, action string) error {
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return finishLogin(ctx, tx, at, outcome, action)
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", action, err)
	}
	return nil
}

// finishLogin ends an attempt on tx: its outcome, the user's last sign-in
// when it succeeded, and its event.
func finishLogin(ctx context.Context, tx *gorm.DB, at *LoginAttempt, outcome, action string) error {
	if err := tx.Model(&loginAttempt{}).Where("id = ?", at.ID).Update("outcome", outcome).Error; err != nil {
		return err
	}
	if outcome == loginSucceeded {
		now := time.Now().UTC()
		err := tx.Model(&User{}).Where("id = ? AND tenant_id = ?", at.User.ID, at.User.TenantID).
			Updates(map[string]any{"last_login_at": now, "updated_at": now}).Error
		if err != nil {
			return err
		}
	}
	return loginEvent(ctx, tx, at, action)
}

// loginEvent writes a sign-in event on tx: in the user's tenant when the
// email names a user, unscoped otherwise.
func loginEvent(ctx context.Context, tx *gorm.DB, at *LoginAttempt, action string) error {
	e := Event{Action: action, ObjectType: "user"}
	if at.SecondFactor != "" {
		e.Details = map[string]any{"second_factor": at.SecondFactor}
	}
	if at.User == nil {
		row, err := newAuditEvent(nil, at.Actor, e)
		if err != nil {
			return err
		}
		return tx.WithContext(ctx).Create(row).Error
	}
	e.ObjectID = at.User.ID
	a := at.Actor
	if action == ActionLogin {
		a.UserID = at.User.ID
	}
	return Tenant{db: tx, id: at.User.TenantID}.audit(ctx, a, e)
}

// AdminDeleteOldLoginAttempts removes attempts older than a day: only the
// last LoginWindow counts, the audit trail keeps the history.
func AdminDeleteOldLoginAttempts(ctx context.Context, db *DB) (int64, error) {
	res := db.gorm.WithContext(ctx).Where("created_at < ?", time.Now().UTC().Add(-24*time.Hour)).Delete(&loginAttempt{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: delete old login attempts: %w", res.Error)
	}
	return res.RowsAffected, nil
}

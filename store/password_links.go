package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PasswordLinkLifetime is how long a set-password link stays valid.
const PasswordLinkLifetime = 72 * time.Hour

// Why a set-password link was made.
const (
	LinkInvite = "invite"
	LinkReset  = "reset"
)

// ErrLinkInvalid is returned for a set-password link that is unknown, used
// or expired: the three look the same to whoever holds it.
var ErrLinkInvalid = errors.New("the link is unknown, used or expired")

// newPasswordLink voids the user's unused links and makes a new one; it
// returns the token, which only the link holds.
func (t Tenant) newPasswordLink(ctx context.Context, a Actor, userID, purpose string, now time.Time) (string, error) {
	if err := t.scoped(ctx).Where("user_id = ? AND used_at IS NULL", userID).Delete(&PasswordLink{}).Error; err != nil {
		return "", err
	}
	token := rand.Text() // 128 random bits
	link := &PasswordLink{ID: NewID(), UserID: userID, TokenHash: HashToken(token), Purpose: purpose,
		CreatedAt: now.UTC(), ExpiresAt: now.UTC().Add(PasswordLinkLifetime)}
	if a.UserID != "" {
		link.CreatedBy = &a.UserID
	}
	if err := t.create(ctx, link); err != nil {
		return "", err
	}
	return token, nil
}

// ResetPassword makes a new one-time set-password link for a user and voids
// their older ones; it returns the token. The current password works until
// the link is used.
func ResetPassword(ctx context.Context, t Tenant, a Actor, userID string, now time.Time) (string, error) {
	var token string
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return Event{}, err
		}
		token, err = tx.newPasswordLink(ctx, a, u.ID, LinkReset, now)
		return userEvent(ActionPasswordReset, u, nil), err
	})
	if err != nil {
		return "", fmt.Errorf("store: reset password of %s: %w", userID, err)
	}
	return token, nil
}

// AdminFindPasswordLink finds the valid link with token and its user,
// across tenants: the link is what names the tenant.
func AdminFindPasswordLink(ctx context.Context, db *DB, token string, now time.Time) (*PasswordLink, *User, error) {
	var link PasswordLink
	err := db.gorm.WithContext(ctx).Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", HashToken(token), now.UTC()).Take(&link).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: find password link: %w", err)
	}
	u, err := GetUser(ctx, ForTenant(db, link.TenantID), link.UserID)
	if err != nil {
		return nil, nil, err
	}
	return &link, u, nil
}

// AdminUsePasswordLink sets the password of the link's user, if the
// password passes CheckNewPassword and the link is still valid, and uses the
// link up, in one transaction: of two uses at once, one succeeds. The user's
// sessions end. It is audited as the user's own act.
func AdminUsePasswordLink(ctx context.Context, db *DB, a Actor, token, password string, now time.Time) (*User, error) {
	if err := CheckNewPassword(password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	var u *User
	err = db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var link PasswordLink
		err := g.Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", HashToken(token), now.UTC()).Take(&link).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		tx := Tenant{db: g, id: link.TenantID}
		res := tx.scoped(ctx).Model(&PasswordLink{}).Where("id = ? AND used_at IS NULL", link.ID).Update("used_at", now.UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrLinkInvalid
		}
		if u, err = GetUser(ctx, tx, link.UserID); err != nil {
			return err
		}
		if err := tx.updateUser(ctx, u.ID, map[string]any{"password_hash": hash}); err != nil {
			return err
		}
		ended, err := tx.endSessions(ctx, u.ID, "")
		if err != nil {
			return err
		}
		a.UserID, a.Email = u.ID, u.Email
		return tx.audit(ctx, a, userEvent(ActionPasswordSet, u, map[string]any{"link": link.Purpose, "sessions_ended": ended}))
	})
	if err != nil {
		return nil, fmt.Errorf("store: use password link: %w", err)
	}
	return u, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Roles lists the roles a user can be given.
var Roles = []string{RoleAnalyst, RoleSeniorAnalyst, RoleAdmin, RoleAuditor}

// Refusals of the user management functions.
var (
	ErrEmailTaken  = errors.New("email already registered")
	ErrBadRole     = fmt.Errorf("role must be one of %v", Roles)
	ErrLastAdmin   = errors.New("the tenant's last active admin cannot be disabled or given another role")
	ErrDisableSelf = errors.New("admins cannot disable their own account")
)

// NormalizeEmail lowercases and trims an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NewUser is what CreateUser needs. PasswordHash comes from HashPassword.
type NewUser struct {
	Email        string
	Name         string
	Role         string
	PasswordHash string
}

// CreateUser adds a user to the tenant. It is the seed's: people are added
// through InviteUser, which is audited.
func CreateUser(ctx context.Context, t Tenant, in NewUser) (*User, error) {
	now := time.Now().UTC()
	u := &User{
		ID: NewID(), Email: NormalizeEmail(in.Email), Name: in.Name, Role: in.Role,
		PasswordHash: in.PasswordHash, CreatedAt: now, UpdatedAt: now,
	}
	if err := t.create(ctx, u); err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("store: create user %s: %w", u.Email, err)
	}
	return u, nil
}

// Invite is who an admin invites.
type Invite struct {
	Email string
	Name  string
	Role  string
}

// InviteUser adds a user without a password and makes their one-time
// set-password link, valid for PasswordLinkLifetime from now; it returns the
// user and the link's token, which is shown once and never stored.
func InviteUser(ctx context.Context, t Tenant, a Actor, in Invite, now time.Time) (*User, string, error) {
	if !slices.Contains(Roles, in.Role) {
		return nil, "", ErrBadRole
	}
	now = now.UTC()
	u := &User{ID: NewID(), Email: NormalizeEmail(in.Email), Name: in.Name, Role: in.Role, CreatedAt: now, UpdatedAt: now}
	var token string
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.create(ctx, u); err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Event{}, ErrEmailTaken
			}
			return Event{}, err
		}
		var err error
		token, err = tx.newPasswordLink(ctx, a, u.ID, LinkInvite, now)
		return userEvent(ActionUserInvite, u, map[string]any{"name": u.Name, "role": u.Role}), err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: invite %s: %w", u.Email, err)
	}
	return u, token, nil
}

// GetUser loads a user of the tenant, disabled or not.
func GetUser(ctx context.Context, t Tenant, id string) (*User, error) {
	var u User
	err := t.scoped(ctx).Where("deleted_at IS NULL").Where("id = ?", id).Take(&u).Error
	if err != nil {
		return nil, fmt.Errorf("store: get user %s: %w", id, notFound(err))
	}
	return &u, nil
}

// ListUsers lists the tenant's users by email, disabled ones included.
func ListUsers(ctx context.Context, t Tenant) ([]User, error) {
	var users []User
	if err := t.scoped(ctx).Where("deleted_at IS NULL").Order("email").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// ChangeRole gives a user another role; the tenant's last active admin
// keeps theirs (ErrLastAdmin).
func ChangeRole(ctx context.Context, t Tenant, a Actor, id, role string) (*User, error) {
	if !slices.Contains(Roles, role) {
		return nil, ErrBadRole
	}
	var u *User
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if u, err = tx.lockUsers(ctx, id); err != nil {
			return Event{}, err
		}
		from := u.Role
		if from == RoleAdmin && role != RoleAdmin {
			if err := tx.keepAnAdmin(ctx, u); err != nil {
				return Event{}, err
			}
		}
		if err := tx.updateUser(ctx, u.ID, map[string]any{"role": role}); err != nil {
			return Event{}, err
		}
		u.Role = role
		return userEvent(ActionUserRole, u, map[string]any{"from": from, "to": role}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: change role of %s: %w", id, err)
	}
	return u, nil
}

// DisableUser stops a user from signing in and ends their sessions at
// once, on every replica (sessions live in the database), and voids their
// unused set-password links. Admins cannot disable themselves
// (ErrDisableSelf) nor the tenant's last active admin (ErrLastAdmin).
// Disabling a disabled user changes nothing but is still recorded.
func DisableUser(ctx context.Context, t Tenant, a Actor, id string) (*User, error) {
	if id == a.UserID {
		return nil, ErrDisableSelf
	}
	var u *User
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if u, err = tx.lockUsers(ctx, id); err != nil {
			return Event{}, err
		}
		if u.DisabledAt == nil {
			if u.Role == RoleAdmin {
				if err := tx.keepAnAdmin(ctx, u); err != nil {
					return Event{}, err
				}
			}
			now := time.Now().UTC()
			if err := tx.updateUser(ctx, u.ID, map[string]any{"disabled_at": now}); err != nil {
				return Event{}, err
			}
			u.DisabledAt = &now
		}
		ended, err := tx.endSessions(ctx, u.ID, "")
		if err != nil {
			return Event{}, err
		}
		if err := tx.scoped(ctx).Where("user_id = ? AND used_at IS NULL", u.ID).Delete(&PasswordLink{}).Error; err != nil {
			return Event{}, err
		}
		return userEvent(ActionUserDisable, u, map[string]any{"sessions_ended": ended}), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: disable user %s: %w", id, err)
	}
	return u, nil
}

// EnableUser lets a disabled user sign in again.
func EnableUser(ctx context.Context, t Tenant, a Actor, id string) (*User, error) {
	var u *User
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if u, err = tx.lockUsers(ctx, id); err != nil {
			return Event{}, err
		}
		if err := tx.updateUser(ctx, u.ID, map[string]any{"disabled_at": nil}); err != nil {
			return Event{}, err
		}
		u.DisabledAt = nil
		return userEvent(ActionUserEnable, u, nil), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: enable user %s: %w", id, err)
	}
	return u, nil
}

// ChangePassword sets a user's own new password after checking the current
// one (ErrWrongPassword) and the rules (CheckNewPassword), and ends the
// user's other sessions: every one but the session whose token is keepToken.
func ChangePassword(ctx context.Context, t Tenant, a Actor, id, current, next, keepToken string) error {
	u, err := GetUser(ctx, t, id)
	if err != nil {
		return err
	}
	if !CheckPassword(u, current) {
		return ErrWrongPassword
	}
	if err := CheckNewPassword(next); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	err = change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.updateUser(ctx, u.ID, map[string]any{"password_hash": hash}); err != nil {
			return Event{}, err
		}
		ended, err := tx.endSessions(ctx, u.ID, keepToken)
		return userEvent(ActionPasswordChange, u, map[string]any{"sessions_ended": ended}), err
	})
	if err != nil {
		return fmt.Errorf("store: change password of %s: %w", id, err)
	}
	return nil
}

// lockUsers takes the tenant's user-management lock for the rest of the
// transaction and loads user id. On PostgreSQL it is an advisory lock per
// tenant, so that two admins demoting each other at once cannot both pass
// the last-admin check; SQLite runs one write transaction at a time.
func (t Tenant) lockUsers(ctx context.Context, id string) (*User, error) {
	if t.db.Dialector.Name() == "postgres" {
		if err := t.db.WithContext(ctx).Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "users:"+t.id).Error; err != nil {
			return nil, err
		}
	}
	return GetUser(ctx, t, id)
}

// keepAnAdmin refuses a change that would leave the tenant without an
// active admin other than u.
func (t Tenant) keepAnAdmin(ctx context.Context, u *User) error {
	var n int64
	err := t.scoped(ctx).Model(&User{}).
		Where("role = ? AND disabled_at IS NULL AND deleted_at IS NULL AND id <> ?", RoleAdmin, u.ID).Count(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// updateUser sets columns of one user and its updated_at.
func (t Tenant) updateUser(ctx context.Context, id string, cols map[string]any) error {
	cols["updated_at"] = time.Now().UTC()
	res := t.scoped(ctx).Model(&User{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

func userEvent(action string, u *User, details map[string]any) Event {
	d := map[string]any{"email": u.Email}
	for k, v := range details {
		d[k] = v
	}
	return Event{Action: action, ObjectType: "user", ObjectID: u.ID, Details: d}
}

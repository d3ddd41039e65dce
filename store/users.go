package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// ErrEmailTaken is returned when a new user's email is already registered.
var ErrEmailTaken = errors.New("email already registered")

// PasswordCost is the bcrypt work factor of new password hashes. Tests lower
// it to bcrypt.MinCost; a hash keeps the cost it was made with.
var PasswordCost = 12

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches the user's hash. A nil user
// never matches, after as much work as a real check, so a failed login takes
// as long for an unknown email as for a wrong password.
func CheckPassword(u *User, password string) bool {
	if u == nil {
		_, _ = bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}

// NormalizeEmail lowercases and trims an email address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NewUser is what CreateUser needs. PasswordHash comes from HashPassword.
type NewUser struct {
	Email        string
	Name         string
	Role         string
	PasswordHash string
}

// CreateUser adds a user to the tenant.
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

// GetUser loads an active user of the tenant.
func GetUser(ctx context.Context, t Tenant, id string) (*User, error) {
	var u User
	err := t.scoped(ctx).Where("deleted_at IS NULL").Where("id = ?", id).Take(&u).Error
	if err != nil {
		return nil, fmt.Errorf("store: get user %s: %w", id, notFound(err))
	}
	return &u, nil
}

// ListUsers lists the tenant's active users by email.
func ListUsers(ctx context.Context, t Tenant) ([]User, error) {
	var users []User
	if err := t.scoped(ctx).Where("deleted_at IS NULL").Order("email").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

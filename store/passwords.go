package store

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password rules for every new password: long enough to resist guessing,
// short enough to bound the work, and not one everybody tries first.
const (
	PasswordMinLength = 12
	PasswordMaxLength = 128
)

// Reasons CheckNewPassword refuses a password.
var (
	ErrPasswordTooShort = fmt.Errorf("a password needs at least %d characters", PasswordMinLength)
	ErrPasswordTooLong  = fmt.Errorf("a password has at most %d characters", PasswordMaxLength)
	ErrPasswordCommon   = errors.New("the password is one of the most common ones")
	ErrWrongPassword    = errors.New("the current password is wrong")
)

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the bundled list of the 10,000 most common passwords,
// lowercased (common-passwords.README.md).
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
})

// CheckNewPassword says why password may not become anyone's password, or
// nil when it may. Length counts characters, not bytes. The demo password
// is shorter than the minimum: it stays the demo users' own.
func CheckNewPassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < PasswordMinLength:
		return ErrPasswordTooShort
	case n > PasswordMaxLength:
		return ErrPasswordTooLong
	}
	if _, ok := commonPasswords()[strings.ToLower(password)]; ok {
		return ErrPasswordCommon
	}
	return nil
}

// PasswordCost is the bcrypt work factor of new password hashes. Tests lower
// it to bcrypt.MinCost; a hash keeps the cost it was made with.
var PasswordCost = 12

// bcryptInput is what bcrypt hashes for password. bcrypt reads at most 72
// bytes, so a longer password (up to 128 characters may be 512 bytes) is
// first reduced to its SHA-256: two long passwords that share their first
// 72 bytes must not match. A password of 72 bytes or fewer is hashed as it
// is, as every hash made before this rule was.
func bcryptInput(password string) []byte {
	if len(password) <= 72 {
		return []byte(password)
	}
	sum := sha256.Sum256([]byte(password))
	return []byte("sha256:" + base64.StdEncoding.EncodeToString(sum[:]))
}

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword(bcryptInput(password), PasswordCost)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches the user's hash. A nil
// user, or one without a password yet, never matches, after as much work as
// a real check, so a failed login takes as long for an unknown email as for
// a wrong password.
func CheckPassword(u *User, password string) bool {
	if u == nil || u.PasswordHash == "" {
		_, _ = bcrypt.GenerateFromPassword(bcryptInput(password), PasswordCost)
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), bcryptInput(password)) == nil
}

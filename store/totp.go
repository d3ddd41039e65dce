package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A second factor is TOTP (RFC 6238) as every authenticator app reads it:
// HMAC-SHA-1, six digits, a 30-second step. A code is accepted during its
// step and the one either side (clock drift), and never twice: the step of
// the last code accepted is kept.
const (
	totpPeriod = 30
	totpDigits = 6
	totpSkew   = 1
	// RecoveryCodeCount is how many recovery codes a second factor comes with.
	RecoveryCodeCount = 10
)

// Refusals of the second-factor functions.
var (
	ErrBadCode       = errors.New("the code is wrong or was used already")
	ErrNoPendingTOTP = errors.New("no second factor is being set up")
)

var totpBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226's HOTP of counter under key (RFC 6238 passes the time
// step as counter), with digits decimal digits.
func hotp(key []byte, counter uint64, digits int, h func() hash.Hash) string {
	mac := hmac.New(h, key)
	_ = binary.Write(mac, binary.BigEndian, counter)
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// decodeSecret reads a base32 secret as authenticator apps show it.
func decodeSecret(secret string) ([]byte, error) {
	key, err := totpBase32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return nil, fmt.Errorf("store: totp secret: %w", err)
	}
	return key, nil
}

// TOTPCode is the six-digit code of the base32 secret at time t, as an
// authenticator app would show it.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(totpStep(t)), totpDigits, sha1.New), nil
}

// matchTOTP finds the step, later than after, at which code is the secret's
// code near now; ok is false when there is none.
func matchTOTP(secret, code string, now time.Time, after int64) (step int64, ok bool) {
	key, err := decodeSecret(secret)
	if err != nil || len(code) != totpDigits {
		return 0, false
	}
	cur := totpStep(now)
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want := hotp(key, uint64(s), totpDigits, sha1.New)
		if s > after && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// normalizeCode drops the spaces and dashes people type inside a code and
// lowercases it.
func normalizeCode(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(code))
}

// TOTPURI is the otpauth:// address an authenticator app reads from a QR code.
func TOTPURI(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(totpDigits))
	v.Set("period", fmt.Sprint(totpPeriod))
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}

// BeginTOTP makes a new secret for the user to set up, in place of any
// earlier one being set up; an active second factor stays active until the
// new one is confirmed (EnableTOTP).
func BeginTOTP(ctx context.Context, t Tenant, a Actor, userID string) (string, error) {
	b := make([]byte, 20) // RFC 4226's recommended 160-bit key
	_, _ = rand.Read(b)
	secret := totpBase32.EncodeToString(b)
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return Event{}, err
		}
		return userEvent(ActionTOTPBegin, u, nil), tx.updateUser(ctx, u.ID, map[string]any{"totp_pending_secret": secret})
	})
	if err != nil {
		return "", fmt.Errorf("store: begin totp of %s: %w", userID, err)
	}
	return secret, nil
}

// EnableTOTP makes the secret being set up the user's second factor, if
// code is its current code (ErrBadCode otherwise), and returns its new
// recovery codes, which are shown once and stored hashed; earlier recovery
// codes no longer work.
func EnableTOTP(ctx context.Context, t Tenant, a Actor, userID, code string, now time.Time) ([]string, error) {
	var codes []string
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return Event{}, err
		}
		if u.TOTPPendingSecret == "" {
			return Event{}, ErrNoPendingTOTP
		}
		step, ok := matchTOTP(u.TOTPPendingSecret, normalizeCode(code), now, 0)
		if !ok {
			return Event{}, ErrBadCode
		}
		err = tx.updateUser(ctx, u.ID, map[string]any{"totp_secret": u.TOTPPendingSecret, "totp_pending_secret": "",
			"totp_enabled_at": now.UTC(), "totp_last_step": step})
		if err != nil {
			return Event{}, err
		}
		codes, err = tx.newRecoveryCodes(ctx, u.ID, now)
		return userEvent(ActionTOTPEnable, u, map[string]any{"replaced": u.HasTOTP()}), err
	})
	if err != nil {
		return nil, fmt.Errorf("store: enable totp of %s: %w", userID, err)
	}
	return codes, nil
}

// RemoveTOTP removes the user's second factor, one being set up and the
// recovery codes.
func RemoveTOTP(ctx context.Context, t Tenant, a Actor, userID string) error {
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		u, err := GetUser(ctx, tx, userID)
		if err != nil {
			return Event{}, err
		}
		err = tx.updateUser(ctx, u.ID, map[string]any{"totp_secret": "", "totp_pending_secret": "",
			"totp_enabled_at": nil, "totp_last_step": 0})
		if err != nil {
			return Event{}, err
		}
		if err := tx.scoped(ctx).Where("user_id = ?", u.ID).Delete(&RecoveryCode{}).Error; err != nil {
			return Event{}, err
		}
		return userEvent(ActionTOTPRemove, u, map[string]any{"had": u.HasTOTP()}), nil
	})
	if err != nil {
		return fmt.Errorf("store: remove totp of %s: %w", userID, err)
	}
	return nil
}

// CountRecoveryCodes counts the user's unused recovery codes.
func CountRecoveryCodes(ctx context.Context, t Tenant, userID string) (int64, error) {
	var n int64
	if err := t.scoped(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count recovery codes of %s: %w", userID, err)
	}
	return n, nil
}

// newRecoveryCodes replaces the user's recovery codes with
// RecoveryCodeCount new ones ("xxxxx-xxxxx", 50 random bits each) and
// returns them.
func (t Tenant) newRecoveryCodes(ctx context.Context, userID string, now time.Time) ([]string, error) {
	if err := t.scoped(ctx).Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		_, _ = rand.Read(b)
		s := strings.ToLower(totpBase32.EncodeToString(b))[:10]
		codes[i] = s[:5] + "-" + s[5:]
		if err := t.create(ctx, &RecoveryCode{ID: NewID(), UserID: userID, CodeHash: HashToken(normalizeCode(codes[i])), CreatedAt: now.UTC()}); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// useSecondFactor accepts code for the user, once: a current TOTP code
// (whose step it notes) or an unused recovery code (which it uses up). It
// says which it was, or "" when code is neither.
func (t Tenant) useSecondFactor(ctx context.Context, u *User, code string, now time.Time) (string, error) {
	code = normalizeCode(code)
	if len(code) == totpDigits {
		step, ok := matchTOTP(u.TOTPSecret, code, now, u.TOTPLastStep)
		if !ok {
			return "", nil
		}
		// Conditional on the step: of two requests with one code, one wins.
		res := t.scoped(ctx).Model(&User{}).Where("id = ? AND totp_last_step < ?", u.ID, step).Update("totp_last_step", step)
		if res.Error != nil || res.RowsAffected == 0 {
			return "", res.Error
		}
		return "totp", nil
	}
	res := t.scoped(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", u.ID, HashToken(code)).
		Update("used_at", now.UTC())
	if res.Error != nil || res.RowsAffected == 0 {
		return "", res.Error
	}
	return "recovery_code", nil
}

// AdminLoginSecondFactor ends a sign-in attempt of a user with a second
// factor on the code they gave: accepted, the code is used up and the
// attempt succeeds (as LoginSucceeded); refused, it fails (as
// AdminLoginFailed) and ErrBadCode is returned. Either way in one
// transaction.
func AdminLoginSecondFactor(ctx context.Context, db *DB, at *LoginAttempt, code string, now time.Time) error {
	accepted := false
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u, err := GetUser(ctx, Tenant{db: tx, id: at.User.TenantID}, at.User.ID)
		if err != nil {
			return err
		}
		method := ""
		if u.HasTOTP() {
			if method, err = (Tenant{db: tx, id: u.TenantID}).useSecondFactor(ctx, u, code, now); err != nil {
				return err
			}
		}
		if method == "" {
			at.SecondFactor = "wrong code"
			return finishLogin(ctx, tx, at, loginFailed, ActionLoginFailed)
		}
		accepted, at.SecondFactor = true, method
		return finishLogin(ctx, tx, at, loginSucceeded, ActionLogin)
	})
	if err != nil {
		return fmt.Errorf("store: second factor: %w", err)
	}
	if !accepted {
		return ErrBadCode
	}
	return nil
}

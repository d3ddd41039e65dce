package store

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
	"time"
)

// TestTOTPMatchesRFC6238 checks the code generator against the test vectors
// of RFC 6238 Appendix B: eight digits, SHA-1, SHA-256 and SHA-512, each
// with the RFC's seed of its own length.
func TestTOTPMatchesRFC6238(t *testing.T) {
	seeds := map[string]struct {
		key string
		h   func() hash.Hash
	}{
		"SHA1":   {"12345678901234567890", sha1.New},
		"SHA256": {"12345678901234567890123456789012", sha256.New},
		"SHA512": {"1234567890123456789012345678901234567890123456789012345678901234", sha512.New},
	}
	for _, v := range []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	} {
		s := seeds[v.alg]
		step := totpStep(time.Unix(v.unix, 0))
		if got := hotp([]byte(s.key), uint64(step), 8, s.h); got != v.want {
			t.Errorf("TOTP %s at %d = %s, want %s", v.alg, v.unix, got, v.want)
		}
	}
	t.Run("six digits are the last six of the eight", func(t *testing.T) {
		secret := totpBase32.EncodeToString([]byte("12345678901234567890"))
		got, err := TOTPCode(secret, time.Unix(1111111109, 0))
		if err != nil || got != "081804" {
			t.Fatalf("TOTPCode() = %q, %v; want 081804", got, err)
		}
	})
}

func TestMatchTOTP(t *testing.T) {
	secret := totpBase32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1234567890, 0)
	code := func(at time.Time) string { c, _ := TOTPCode(secret, at); return c }
	for _, c := range []struct {
		name   string
		code   string
		after  int64
		wantOK bool
	}{
		{"accepts the current code", code(now), 0, true},
		{"accepts the previous step's code (clock drift)", code(now.Add(-30 * time.Second)), 0, true},
		{"accepts the next step's code", code(now.Add(30 * time.Second)), 0, true},
		{"refuses a code two steps old", code(now.Add(-61 * time.Second)), 0, false},
		{"refuses a code whose step was used", code(now), totpStep(now), false},
		{"refuses a code of the wrong length", "12345", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := matchTOTP(secret, c.code, now, c.after); ok != c.wantOK {
				t.Errorf("matchTOTP(%q) ok = %v, want %v", c.code, ok, c.wantOK)
			}
		})
	}
}

package scoring_test

import (
	"errors"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestIDProblem(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"C123456789", true},
		{"M-42_é-ü", true},
		{"client 7", true},
		{"C123\u202Egpj.exe", false},                  // right-to-left override (Cf)
		{"C1\u200B23", false},                         // zero-width space (Cf)
		{"\uFEFFC123", false},                         // byte order mark (Cf)
		{"C1\u2028", false},                           // line separator (Zl)
		{"C1\u2029", false},                           // paragraph separator (Zp)
		{"C1\x00", false},                             // NUL (Cc)
		{"C1\n", false},                               // newline (Cc)
		{"C1\t", false},                               // tab (Cc)
		{"C1\x7f", false},                             // delete (Cc)
		{"~ !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", true}, // printable ASCII
		{"C1\u0085", false},                           // next line (Cc)
		{"C1\xff", false},                             // invalid UTF-8
	} {
		if got := scoring.IDProblem(tc.id) == ""; got != tc.ok {
			t.Errorf("IDProblem(%q) accepts = %v, want %v", tc.id, got, tc.ok)
		}
	}
	tx := scoring.Transaction{Step: 1, Type: "PAYMENT", Amount: 10, NameOrig: "C123\u202Egpj.exe", NameDest: "M1\u200D"}
	var ve *scoring.ValidationError
	if err := tx.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("Validate(spoofed account ids) = %v, want errors on nameOrig and nameDest", err)
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"}, {"exactly", 7, "exactly"}, {"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // é is two bytes: not split
		{"日本", 4, "日…"}, {"", 0, ""},
	} {
		if got := scoring.Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

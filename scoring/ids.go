package scoring

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// IDProblem says what is wrong with an identifier (an account id, a
// client's external id), or "" when nothing is: it must be valid UTF-8
// without control or format characters and line or paragraph separators
// (Unicode Cc, Cf, Zl, Zp), which would let "C123\u202Egpj.exe" show as
// another id.
func IDProblem(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] >= 0x20 && s[i] < 0x7f
	}
	if ascii {
		return "" // printable ASCII, as almost every id is: no table lookups
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "must not contain control, format or separator characters"
		}
	}
	return ""
}

// MaxExternalID is the longest external id a client may give, in bytes.
const MaxExternalID = 128

// ExternalIDProblem says what is wrong with a client's external id (its
// length, or what IDProblem refuses), or "" when nothing is.
func ExternalIDProblem(id string) string {
	if len(id) > MaxExternalID {
		return fmt.Sprintf("must be at most %d bytes", MaxExternalID)
	}
	return IDProblem(id)
}

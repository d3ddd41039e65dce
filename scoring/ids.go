package scoring

import (
	"unicode"
	"unicode/utf8"
)

// IDProblem says what is wrong with an identifier (an account id, a
// client's external id), or "" when nothing is: it must be valid UTF-8
// without control or format characters and line or paragraph separators
// (Unicode Cc, Cf, Zl, Zp), which would let "C123\u202Egpj.exe" show as
// another id.
func IDProblem(s string) string {
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

package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring/live"
)

// errBadText is the answer to text that no field may hold.
var errBadText = echo.NewHTTPError(http.StatusBadRequest,
	"The request holds a NUL character or text that is not valid UTF-8. Remove it and try again.")

// maxMultipartBody is the largest multipart body (an upload with its form
// fields): a model file of the largest size and room for the rest.
const maxMultipartBody = live.MaxModelFile + 64<<10

// validText refuses, with 400 at the boundary, a request whose path, query
// or form holds a NUL character or invalid UTF-8: no handler or database
// ever sees one (PostgreSQL would refuse it with an error of its own).
// JSON bodies are checked where they are decoded.
func validText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !cleanText(r.URL.Path) || !cleanValues(r.URL.Query()) {
			return errBadText
		}
		if ct := r.Header.Get(echo.HeaderContentType); strings.HasPrefix(ct, echo.MIMEApplicationForm) {
			if err := r.ParseForm(); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
			}
			if !cleanValues(r.PostForm) {
				return errBadText
			}
		} else if strings.HasPrefix(ct, echo.MIMEMultipartForm) {
			// Read here, within the limit, before anything else (the CSRF
			// check) parses the body without one.
			r.Body = http.MaxBytesReader(c.Response(), r.Body, maxMultipartBody)
			if err := r.ParseMultipartForm(maxMultipartBody); err != nil {
				if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
					return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
						fmt.Sprintf("The upload is larger than the %d MB allowed.", live.MaxModelFile>>20)).SetInternal(err)
				}
				return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
			}
			if !cleanValues(r.MultipartForm.Value) {
				return errBadText
			}
		}
		return next(c)
	}
}

func cleanValues(v url.Values) bool {
	for k, vs := range v {
		if !cleanText(k) {
			return false
		}
		for _, s := range vs {
			if !cleanText(s) {
				return false
			}
		}
	}
	return true
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// cleanJSON reports whether a JSON body is valid UTF-8 and escapes no NUL
// (encoding/json would quietly replace invalid bytes and keep the NUL).
func cleanJSON(b []byte) bool {
	return utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`))
}

// bidiControls are the characters that reorder text on screen: in a
// rationale or a name they can make one text read as another.
const bidiControls = "\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"

// freeTextProblem says what is wrong with free text a person typed (a
// rationale, a note, a name), or "" when nothing is. Line breaks and tabs
// are fine; NUL, invalid UTF-8 and bidirectional controls are not.
func freeTextProblem(field, s string) string {
	switch {
	case !cleanText(s):
		return fmt.Sprintf("The %s holds a NUL character or invalid text.", field)
	case strings.ContainsAny(s, bidiControls):
		return fmt.Sprintf("The %s holds a bidirectional control character, which can make text display as something else. Remove it.", field)
	}
	return ""
}

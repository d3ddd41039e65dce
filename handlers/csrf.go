package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"
)

// sessCSRF is the session key of the CSRF token.
const sessCSRF = "csrf"

// errCSRF is the answer to every refused unsafe request.
var errCSRF = echo.NewHTTPError(http.StatusForbidden,
	"This form has expired or did not come from Sentinel. Reload the page and try again.")

// newCSRFToken returns a fresh random token (128 bits).
func newCSRFToken() string { return rand.Text() }

// csrf guards every unsafe request of the browser routes. The token lives
// in the server-side session (a new one at sign-in), so a cookie planted by
// a sibling site proves nothing; it is accepted only from the X-CSRF-Token
// header or the _csrf form field, never from the query string, and compared
// in constant time. Browsers that send Sec-Fetch-Site must also say the
// request came from this site. Every failure is a 403.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		want := s.sessions.GetString(ctx, sessCSRF)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if want == "" {
				s.sessions.Put(ctx, sessCSRF, newCSRFToken())
			}
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return errCSRF
		}
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.PostFormValue("_csrf") // forms are parsed already (validText)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

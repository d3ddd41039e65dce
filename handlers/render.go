package handlers

import (
	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// isFragmentRequest reports whether htmx asked for a fragment: HX-Request is
// set and the request is neither boosted nor a history restore.
func isFragmentRequest(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") == "" && h.Get("HX-History-Restore-Request") == ""
}

// render writes the full page, or the fragment when htmx asked for one and
// there is one.
func render(c echo.Context, status int, full, fragment templ.Component) error {
	c.Response().Header().Add(echo.HeaderVary, "HX-Request")
	comp := full
	if fragment != nil && isFragmentRequest(c) {
		comp = fragment
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return comp.Render(c.Request().Context(), c.Response())
}

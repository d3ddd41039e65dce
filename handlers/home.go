package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/views"
)

// Home shows who is signed in, with which role, in which tenant.
func (s *Server) Home(c echo.Context) error {
	v, _ := views.CurrentUser(c.Request().Context())
	return render(c, http.StatusOK, views.HomePage(v), nil)
}

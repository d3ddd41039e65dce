package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// SecurityShow is the tenant's sign-in security settings: who must have a
// second factor.
func (s *Server) SecurityShow(c echo.Context) error {
	return s.renderSecurity(c, http.StatusOK, views.SecurityProps{})
}

func (s *Server) renderSecurity(c echo.Context, status int, props views.SecurityProps) error {
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	tenant, err := store.GetTenant(ctx, t)
	if err != nil {
		return err
	}
	users, err := store.ListUsers(ctx, t)
	if err != nil {
		return err
	}
	props.TwoFactor = tenant.TwoFactor
	for i := range users {
		u := &users[i]
		if u.DisabledAt == nil && !u.HasTOTP() && store.TwoFactorRequired(tenant.TwoFactor, u.Role) {
			props.Without = append(props.Without, userRow(u))
		}
	}
	return render(c, status, views.SecurityPage(props), nil)
}

// SecurityUpdate changes who must have a second factor.
func (s *Server) SecurityUpdate(c echo.Context) error {
	p := currentPrincipal(c)
	err := store.SetTwoFactorPolicy(c.Request().Context(), p.Tenant, actorOf(c, p), c.FormValue("two_factor"))
	if errors.Is(err, store.ErrBadTwoFactorPolicy) {
		return s.renderSecurity(c, http.StatusUnprocessableEntity, views.SecurityProps{Error: "Choose who must have a second factor."})
	}
	if err != nil {
		return err
	}
	return s.renderSecurity(c, http.StatusOK, views.SecurityProps{Notice: "Saved. It applies from each person's next sign-in."})
}

package handlers

import (
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// UserList lists the tenant's users, with the invitation form.
func (s *Server) UserList(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, views.UsersProps{Invite: views.InviteForm{Role: store.RoleAnalyst}})
}

func (s *Server) renderUsers(c echo.Context, status int, props views.UsersProps) error {
	users, err := store.ListUsers(c.Request().Context(), currentPrincipal(c).Tenant)
	if err != nil {
		return err
	}
	for i := range users {
		props.Users = append(props.Users, userRow(&users[i]))
	}
	props.Roles = roleChoices()
	return render(c, status, views.UsersPage(props), nil)
}

// UserInvite adds a user without a password and shows the admin, once,
// the one-time link with which the user sets it.
func (s *Server) UserInvite(c echo.Context) error {
	p := currentPrincipal(c)
	form := views.InviteForm{
		Email: store.NormalizeEmail(c.FormValue("email")),
		Name:  strings.TrimSpace(c.FormValue("name")),
		Role:  c.FormValue("role"),
	}
	props := views.UsersProps{Invite: form}
	switch {
	case !validEmail(form.Email):
		props.Error = "Enter the email address the person signs in with."
	case form.Name == "" || utf8.RuneCountInString(form.Name) > 100:
		props.Error = "Enter a name of 1 to 100 characters."
	case freeTextProblem("name", form.Name) != "":
		props.Error = freeTextProblem("name", form.Name)
	case !slices.Contains(store.Roles, form.Role):
		props.Error = "Choose a role."
	}
	if props.Error != "" {
		return s.renderUsers(c, http.StatusUnprocessableEntity, props)
	}
	now := s.now()
	u, token, err := store.InviteUser(c.Request().Context(), p.Tenant, actorOf(c, p),
		store.Invite{Email: form.Email, Name: form.Name, Role: form.Role}, now)
	if errors.Is(err, store.ErrEmailTaken) {
		props.Error = "This email address already has an account."
		return s.renderUsers(c, http.StatusUnprocessableEntity, props)
	}
	if err != nil {
		return err
	}
	return s.renderUsers(c, http.StatusCreated, views.UsersProps{
		Invite: views.InviteForm{Role: store.RoleAnalyst},
		Link:   &views.NewLink{For: u.Name, Email: u.Email, URL: setPasswordURL(c, token), Expires: formatTime(ptr(now.Add(store.PasswordLinkLifetime)))},
	})
}

// validEmail accepts a bare address (no display name) of sane length.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

func ptr[T any](v T) *T { return &v }

// setPasswordURL is the absolute address of a set-password link, on the
// host the admin reached Sentinel through.
func setPasswordURL(c echo.Context, token string) string {
	return c.Scheme() + "://" + c.Request().Host + "/set-password/" + token
}

// UserShow shows one user of the tenant with what an admin can do to them;
// another tenant's id is a 404.
func (s *Server) UserShow(c echo.Context) error {
	return s.renderUser(c, http.StatusOK, views.UserProps{})
}

func (s *Server) renderUser(c echo.Context, status int, props views.UserProps) error {
	p := currentPrincipal(c)
	u, err := store.GetUser(c.Request().Context(), p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	props.User, props.Roles, props.Self = userRow(u), roleChoices(), u.ID == p.User.ID
	return render(c, status, views.UserPage(props), nil)
}

// UserRole gives a user another role, from their next request on.
func (s *Server) UserRole(c echo.Context) error {
	p := currentPrincipal(c)
	role := c.FormValue("role")
	_, err := store.ChangeRole(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id"), role)
	switch {
	case errors.Is(err, store.ErrBadRole):
		return s.renderUser(c, http.StatusUnprocessableEntity, views.UserProps{Error: "Choose a role."})
	case errors.Is(err, store.ErrLastAdmin):
		return s.renderUser(c, http.StatusUnprocessableEntity, views.UserProps{Error: lastAdminMessage})
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UserShow", c.Param("id")))
}

// lastAdminMessage refuses a change that would leave no active admin.
const lastAdminMessage = "This is the tenant's last active admin. Make someone else an admin first."

// UserDisable disables a user and ends their sessions at once.
func (s *Server) UserDisable(c echo.Context) error {
	p := currentPrincipal(c)
	_, err := store.DisableUser(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id"))
	switch {
	case errors.Is(err, store.ErrDisableSelf):
		return s.renderUser(c, http.StatusUnprocessableEntity, views.UserProps{
			Error: "You cannot disable your own account. Ask another admin."})
	case errors.Is(err, store.ErrLastAdmin):
		return s.renderUser(c, http.StatusUnprocessableEntity, views.UserProps{Error: lastAdminMessage})
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UserShow", c.Param("id")))
}

// UserEnable lets a disabled user sign in again.
func (s *Server) UserEnable(c echo.Context) error {
	p := currentPrincipal(c)
	if _, err := store.EnableUser(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UserShow", c.Param("id")))
}

// UserResetPassword makes a new one-time set-password link for a user,
// voiding older ones, and shows it once.
func (s *Server) UserResetPassword(c echo.Context) error {
	p := currentPrincipal(c)
	now := s.now()
	token, err := store.ResetPassword(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id"), now)
	if err != nil {
		return err
	}
	return s.renderUser(c, http.StatusOK, views.UserProps{Link: &views.NewLink{
		URL: setPasswordURL(c, token), Expires: formatTime(ptr(now.Add(store.PasswordLinkLifetime)))}})
}

// UserRemoveTOTP removes a user's second factor, for one who lost it and
// their recovery codes.
func (s *Server) UserRemoveTOTP(c echo.Context) error {
	p := currentPrincipal(c)
	if err := store.RemoveTOTP(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UserShow", c.Param("id")))
}

func userRow(u *store.User) views.UserRow {
	row := views.UserRow{
		ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, RoleLabel: roleLabel(u.Role), Status: views.UserActive, TwoFactor: u.HasTOTP(),
		CreatedAt: formatTime(&u.CreatedAt), LastLogin: formatTime(u.LastLoginAt),
	}
	switch {
	case u.DisabledAt != nil:
		row.Status = views.UserDisabled
	case u.Invited():
		row.Status = views.UserInvited
	}
	return row
}

// formatTime shows a UTC timestamp to the minute, or "never".
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

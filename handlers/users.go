package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// UserList lists the tenant's users.
func (s *Server) UserList(c echo.Context) error {
	p := currentPrincipal(c)
	users, err := store.ListUsers(c.Request().Context(), p.Tenant)
	if err != nil {
		return err
	}
	rows := make([]views.UserRow, len(users))
	for i := range users {
		rows[i] = userRow(&users[i])
	}
	return render(c, http.StatusOK, views.UsersPage(rows), nil)
}

// UserShow shows one user of the tenant; another tenant's id is a 404.
func (s *Server) UserShow(c echo.Context) error {
	p := currentPrincipal(c)
	u, err := store.GetUser(c.Request().Context(), p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.UserPage(userRow(u)), nil)
}

func userRow(u *store.User) views.UserRow {
	return views.UserRow{
		ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role,
		CreatedAt: formatTime(&u.CreatedAt), LastLogin: formatTime(u.LastLoginAt),
	}
}

// formatTime shows a UTC timestamp to the minute, or "never".
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// Login throttling: this many failures for one email or one address within
// the window answer 429.
const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
)

// LoginForm shows the sign-in page.
func (s *Server) LoginForm(c echo.Context) error {
	if currentPrincipal(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return s.renderLogin(c, http.StatusOK, views.LoginProps{Next: safeNext(c.QueryParam("next"))})
}

func (s *Server) renderLogin(c echo.Context, status int, p views.LoginProps) error {
	ok, err := store.AdminUserExists(c.Request().Context(), s.db, seed.DemoAdminEmail)
	if err != nil {
		return err
	}
	if ok {
		p.ShowDemo = true
		for _, u := range seed.DemoUsers() {
			p.DemoUsers = append(p.DemoUsers, views.DemoUser{Email: u.Email, Role: u.Role})
		}
	}
	return render(c, status, views.LoginPage(p), nil)
}

// Login checks the credentials, throttles repeated failures and starts a
// fresh session.
func (s *Server) Login(c echo.Context) error {
	ctx := c.Request().Context()
	email := store.NormalizeEmail(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	actor := store.Actor{Email: email, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	form := views.LoginProps{Email: email, Next: next}

	if email == "" || password == "" {
		form.Error = "Enter your email and password."
		return s.renderLogin(c, http.StatusUnprocessableEntity, form)
	}

	byEmail, byIP, err := store.AdminRecentLoginFailures(ctx, s.db, email, actor.IP, time.Now().UTC().Add(-loginWindow))
	if err != nil {
		return err
	}
	u, err := store.AdminFindLoginUser(ctx, s.db, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		u = nil
	}
	audit := func(action string) error {
		ev := store.Event{Action: action, ObjectType: "user"}
		if u == nil {
			return store.AdminAuditUnscoped(ctx, s.db, actor, ev)
		}
		ev.ObjectID = u.ID
		return store.Record(ctx, store.ForTenant(s.db, u.TenantID), actor, ev)
	}

	if byEmail >= loginMaxFailures || byIP >= loginMaxFailures {
		if err := audit(store.ActionLoginThrottled); err != nil {
			return err
		}
		c.Response().Header().Set("Retry-After", "900")
		form.Error = "Too many failed sign-in attempts. Wait 15 minutes, then try again."
		return s.renderLogin(c, http.StatusTooManyRequests, form)
	}
	if !store.CheckPassword(u, password) {
		if err := audit(store.ActionLoginFailed); err != nil {
			return err
		}
		form.Error = "Email or password is incorrect."
		return s.renderLogin(c, http.StatusUnauthorized, form)
	}

	// A new token at login: a session id planted before login is worthless after it.
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessUserID, u.ID)
	s.sessions.Put(ctx, sessTenantID, u.TenantID)
	t := store.ForTenant(s.db, u.TenantID)
	if err := store.TouchLogin(ctx, t, u.ID); err != nil {
		return err
	}
	actor.UserID = u.ID
	if err := store.Record(ctx, t, actor, store.Event{Action: store.ActionLogin, ObjectType: "user", ObjectID: u.ID}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// Logout ends the session.
func (s *Server) Logout(c echo.Context) error {
	ctx := c.Request().Context()
	if p := currentPrincipal(c); p != nil {
		err := store.Record(ctx, p.Tenant, actorOf(c, p), store.Event{Action: store.ActionLogout, ObjectType: "user", ObjectID: p.User.ID})
		if err != nil {
			return err
		}
	}
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// actorOf describes the signed-in user for the audit trail.
func actorOf(c echo.Context, p *principal) store.Actor {
	return store.Actor{UserID: p.User.ID, Email: p.User.Email, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
}

// safeNext keeps a post-login redirect on this site: a local absolute path only.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

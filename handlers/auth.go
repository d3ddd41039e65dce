package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// LoginForm shows the sign-in page.
func (s *Server) LoginForm(c echo.Context) error {
	if currentPrincipal(c) != nil {
		return c.Redirect(http.StatusSeeOther, routePath(c, "Home"))
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

	u, err := store.AdminFindLoginUser(ctx, s.db, email)
	if errors.Is(err, store.ErrNotFound) {
		u = nil
	} else if err != nil {
		return err
	}
	attempt, err := store.AdminBeginLogin(ctx, s.db, actor, u)
	if errors.Is(err, store.ErrLoginThrottled) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(store.LoginWindow.Seconds())))
		form.Error = "Too many failed sign-in attempts. Wait 15 minutes, then try again."
		return s.renderLogin(c, http.StatusTooManyRequests, form)
	}
	if err != nil {
		return err
	}
	if !store.CheckPassword(u, password) {
		if err := store.AdminLoginFailed(ctx, s.db, attempt); err != nil {
			return err
		}
		form.Error = "Email or password is incorrect."
		return s.renderLogin(c, http.StatusUnauthorized, form)
	}
	if err := store.LoginSucceeded(ctx, s.db, attempt); err != nil {
		return err
	}
	// A new token at login: a session id planted before login is worthless
	// after it, and so is a CSRF token read before it.
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessUserID, u.ID)
	s.sessions.Put(ctx, sessTenantID, u.TenantID)
	s.sessions.Put(ctx, sessCSRF, newCSRFToken())
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
	return c.Redirect(http.StatusSeeOther, routePath(c, "LoginForm"))
}

// actorOf describes the caller for the audit trail: the signed-in user, or
// the API key.
func actorOf(c echo.Context, p *principal) store.Actor {
	a := store.Actor{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	if p.User != nil {
		a.UserID, a.Email = p.User.ID, p.User.Email
	} else if p.APIKey != nil {
		a.APIKeyID, a.Email = p.APIKey.ID, "api key "+p.APIKey.Prefix
	}
	return a
}

// safeNext keeps a post-login redirect on this site: a local absolute path
// with no control character, white space or backslash anywhere, and a path
// that after decoding neither starts with "//" nor holds any of those either
// (a WHATWG URL parser reads "/\t/evil" or "/%2F%2Fevil" as another host).
func safeNext(next string) string {
	path, _, _ := strings.Cut(next, "?")
	dec, err := url.PathUnescape(path)
	if err != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(dec, "//") ||
		!utf8.ValidString(dec) || strings.ContainsFunc(next+dec, unsafeInURL) {
		return "/"
	}
	return next
}

func unsafeInURL(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	p := views.LoginProps{Next: safeNext(c.QueryParam("next"))}
	if c.QueryParam("password") == "set" {
		p.Notice = "Your password is set. Sign in with it."
	}
	return s.renderLogin(c, http.StatusOK, p)
}

func (s *Server) renderLogin(c echo.Context, status int, p views.LoginProps) error {
	ok, err := store.AdminUserExists(c.Request().Context(), s.db, seed.DemoAdminEmail)
	if err != nil {
		return err
	}
	if ok {
		p.ShowDemo = true
		for _, u := range seed.DemoUsers() {
			p.DemoUsers = append(p.DemoUsers, views.DemoUser{Email: u.Email, Role: roleLabel(u.Role)})
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
		form.Error = throttled(c)
		return s.renderLogin(c, http.StatusTooManyRequests, form)
	}
	if err != nil {
		return err
	}
	// A disabled user's password is checked all the same: the answer takes
	// as long, and says as little, as for a wrong password.
	if !store.CheckPassword(u, password) || u.DisabledAt != nil {
		if err := store.AdminLoginFailed(ctx, s.db, attempt); err != nil {
			return err
		}
		form.Error = "Email or password is incorrect."
		return s.renderLogin(c, http.StatusUnauthorized, form)
	}
	t := store.ForTenant(s.db, u.TenantID)
	tenant, err := store.GetTenant(ctx, t)
	if err != nil {
		return err
	}
	switch {
	case u.HasTOTP():
		if err := store.AdminLoginPasswordAccepted(ctx, s.db, attempt); err != nil {
			return err
		}
		if err := s.beginPending(c, u, next, false); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginCodeForm"))
	case store.TwoFactorRequired(tenant.TwoFactor, u.Role):
		// Required and not set up: the user sets it up now, before the
		// sign-in completes.
		if err := store.AdminLoginPasswordAccepted(ctx, s.db, attempt); err != nil {
			return err
		}
		if _, err := store.BeginTOTP(ctx, t, userActor(c, u), u.ID); err != nil {
			return err
		}
		if err := s.beginPending(c, u, next, true); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginEnrollForm"))
	}
	if err := store.LoginSucceeded(ctx, s.db, attempt); err != nil {
		return err
	}
	if err := s.signIn(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// Session keys of a sign-in waiting for its second factor: the password
// was right, the user is not signed in yet.
const (
	sessPendingUserID   = "pending_user_id"
	sessPendingTenantID = "pending_tenant_id"
	sessPendingSince    = "pending_since"
	sessPendingNext     = "pending_next"
	sessPendingEnroll   = "pending_enroll"
)

// pendingLifetime is how long a right password waits for its second factor.
const pendingLifetime = 10 * time.Minute

// beginPending remembers a right password while the second factor is asked
// for (or, with enroll, set up), under a new session token.
func (s *Server) beginPending(c echo.Context, u *store.User, next string, enroll bool) error {
	ctx := c.Request().Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessPendingUserID, u.ID)
	s.sessions.Put(ctx, sessPendingTenantID, u.TenantID)
	s.sessions.Put(ctx, sessPendingSince, s.now().Unix())
	s.sessions.Put(ctx, sessPendingNext, next)
	s.sessions.Put(ctx, sessPendingEnroll, enroll)
	s.sessions.Put(ctx, sessCSRF, newCSRFToken())
	return nil
}

// pending is the sign-in waiting for its second factor, if any.
type pending struct {
	User   *store.User
	Tenant store.Tenant
	Next   string
	Enroll bool
}

// pendingSignIn returns the session's sign-in waiting for its second
// factor, or nil when there is none, it is too old, or its user may no
// longer sign in.
func (s *Server) pendingSignIn(c echo.Context) (*pending, error) {
	ctx := c.Request().Context()
	userID, tenantID := s.sessions.GetString(ctx, sessPendingUserID), s.sessions.GetString(ctx, sessPendingTenantID)
	since := time.Unix(s.sessions.GetInt64(ctx, sessPendingSince), 0)
	if userID == "" || tenantID == "" || s.now().Sub(since) > pendingLifetime {
		return nil, nil
	}
	t := store.ForTenant(s.db, tenantID)
	u, err := store.GetUser(ctx, t, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.DisabledAt != nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &pending{User: u, Tenant: t, Next: safeNext(s.sessions.GetString(ctx, sessPendingNext)),
		Enroll: s.sessions.GetBool(ctx, sessPendingEnroll)}, nil
}

// signIn makes the session the user's, under a new token and CSRF token: a
// session id planted before sign-in is worthless after it, and so is a CSRF
// token read before it.
func (s *Server) signIn(c echo.Context, u *store.User) error {
	ctx := c.Request().Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	// A message left for the next page was someone's, maybe another
	// user's of this browser: it goes too.
	for _, k := range []string{sessPendingUserID, sessPendingTenantID, sessPendingSince, sessPendingNext, sessPendingEnroll, sessFlash} {
		s.sessions.Remove(ctx, k)
	}
	s.sessions.Put(ctx, sessUserID, u.ID)
	s.sessions.Put(ctx, sessTenantID, u.TenantID)
	s.sessions.Put(ctx, sessCSRF, newCSRFToken())
	return nil
}

// secondFactorStep finds the pending sign-in of a second-factor page, or
// answers with where to go instead: home when signed in, the login page when
// nothing is pending.
func (s *Server) secondFactorStep(c echo.Context) (*pending, error) {
	if currentPrincipal(c) != nil {
		return nil, c.Redirect(http.StatusSeeOther, routePath(c, "Home"))
	}
	p, err := s.pendingSignIn(c)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, c.Redirect(http.StatusSeeOther, routePath(c, "LoginForm"))
	}
	return p, nil
}

// LoginCodeForm asks for the second factor after a right password.
func (s *Server) LoginCodeForm(c echo.Context) error {
	p, err := s.secondFactorStep(c)
	if p == nil {
		return err
	}
	if p.Enroll {
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginEnrollForm"))
	}
	return render(c, http.StatusOK, views.LoginCodePage(views.LoginCodeProps{}), nil)
}

// LoginCode checks the second factor, a TOTP code or a recovery code, and
// completes the sign-in. Each try counts against the sign-in throttle.
func (s *Server) LoginCode(c echo.Context) error {
	p, err := s.secondFactorStep(c)
	if p == nil {
		return err
	}
	if p.Enroll {
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginEnrollForm"))
	}
	ctx := c.Request().Context()
	attempt, err := store.AdminBeginLogin(ctx, s.db, store.Actor{Email: p.User.Email, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}, p.User)
	if errors.Is(err, store.ErrLoginThrottled) {
		return render(c, http.StatusTooManyRequests, views.LoginCodePage(views.LoginCodeProps{Error: throttled(c)}), nil)
	}
	if err != nil {
		return err
	}
	err = store.AdminLoginSecondFactor(ctx, s.db, attempt, c.FormValue("code"), s.now())
	if errors.Is(err, store.ErrBadCode) {
		return render(c, http.StatusUnauthorized, views.LoginCodePage(views.LoginCodeProps{
			Error: "That code is not right, or was used already. Try the next code your app shows."}), nil)
	}
	if err != nil {
		return err
	}
	if err := s.signIn(c, p.User); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, p.Next)
}

// LoginEnrollForm shows a user whose tenant requires a second factor, and
// who has none, how to set it up before their sign-in completes.
func (s *Server) LoginEnrollForm(c echo.Context) error {
	p, err := s.secondFactorStep(c)
	if p == nil {
		return err
	}
	if !p.Enroll {
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginCodeForm"))
	}
	props, err := totpSetupProps(p.User)
	if err != nil {
		return err
	}
	props.AtLogin = true
	return render(c, http.StatusOK, views.TOTPSetupPage(props), nil)
}

// LoginEnroll confirms the new second factor with a code from it, completes
// the sign-in and shows the recovery codes once. Wrong codes count against
// the sign-in throttle.
func (s *Server) LoginEnroll(c echo.Context) error {
	p, err := s.secondFactorStep(c)
	if p == nil {
		return err
	}
	if !p.Enroll {
		return c.Redirect(http.StatusSeeOther, routePath(c, "LoginCodeForm"))
	}
	ctx := c.Request().Context()
	props, err := totpSetupProps(p.User)
	if err != nil {
		return err
	}
	props.AtLogin = true
	attempt, err := store.AdminBeginLogin(ctx, s.db, store.Actor{Email: p.User.Email, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}, p.User)
	if errors.Is(err, store.ErrLoginThrottled) {
		props.Error = throttled(c)
		return render(c, http.StatusTooManyRequests, views.TOTPSetupPage(props), nil)
	}
	if err != nil {
		return err
	}
	codes, err := store.EnableTOTP(ctx, p.Tenant, userActor(c, p.User), p.User.ID, c.FormValue("code"), s.now())
	if errors.Is(err, store.ErrBadCode) || errors.Is(err, store.ErrNoPendingTOTP) {
		attempt.SecondFactor = "wrong set-up code"
		if err := store.AdminLoginFailed(ctx, s.db, attempt); err != nil {
			return err
		}
		props.Error = "That code is not right. Enter the code your app shows now."
		return render(c, http.StatusUnauthorized, views.TOTPSetupPage(props), nil)
	}
	if err != nil {
		return err
	}
	attempt.SecondFactor = "set up"
	if err := store.LoginSucceeded(ctx, s.db, attempt); err != nil {
		return err
	}
	if err := s.signIn(c, p.User); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RecoveryCodesPage(views.RecoveryCodesProps{Codes: codes, Continue: p.Next, AtLogin: true}), nil)
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
	if p.User != nil {
		return userActor(c, p.User)
	}
	return store.Actor{APIKeyID: p.APIKey.ID, Email: "api key " + p.APIKey.Prefix, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
}

// userActor describes u, acting from this request, for the audit trail.
func userActor(c echo.Context, u *store.User) store.Actor {
	return store.Actor{UserID: u.ID, Email: u.Email, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
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

// throttled sets Retry-After on the answer to a throttled attempt and
// returns what it tells the user.
func throttled(c echo.Context) string {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(store.LoginWindow.Seconds())))
	return "Too many failed sign-in attempts. Wait 15 minutes, then try again."
}

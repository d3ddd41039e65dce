package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// AccountShow is the signed-in user's own account: password, second factor
// and sessions.
func (s *Server) AccountShow(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, views.AccountProps{})
}

func (s *Server) renderAccount(c echo.Context, status int, props views.AccountProps) error {
	ctx := c.Request().Context()
	p := currentPrincipal(c)
	u, err := store.GetUser(ctx, p.Tenant, p.User.ID)
	if err != nil {
		return err
	}
	tenant, err := store.GetTenant(ctx, p.Tenant)
	if err != nil {
		return err
	}
	sessions, err := store.ListSessions(ctx, p.Tenant, u.ID, s.sessions.Token(ctx))
	if err != nil {
		return err
	}
	props.Name, props.Email, props.Role, props.RoleLabel, props.TenantName = u.Name, u.Email, u.Role, roleLabel(u.Role), tenant.Name
	props.MinPassword, props.MaxPassword = store.PasswordMinLength, store.PasswordMaxLength
	props.TwoFactor, props.TwoFactorRequired = u.HasTOTP(), store.TwoFactorRequired(tenant.TwoFactor, u.Role)
	props.SettingUp = u.TOTPPendingSecret != ""
	if u.HasTOTP() {
		props.TwoFactorSince = formatTime(u.TOTPEnabledAt)
		if props.RecoveryLeft, err = store.CountRecoveryCodes(ctx, p.Tenant, u.ID); err != nil {
			return err
		}
	}
	for _, se := range sessions {
		props.Sessions = append(props.Sessions, views.SessionRow{
			ID: se.ID, Device: deviceOf(se.UserAgent), Address: se.IP, Current: se.Current,
			LastSeen: formatTime(&se.LastSeenAt), Started: formatTime(&se.CreatedAt),
		})
	}
	return render(c, status, views.AccountPage(props), nil)
}

// AccountPassword changes the user's own password, the current one
// required, and ends their other sessions.
func (s *Server) AccountPassword(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	next := c.FormValue("password")
	if next != c.FormValue("confirm") {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountProps{PasswordError: "The two new passwords differ. Type the same one twice."})
	}
	// The current password is a secret worth guessing: each check counts
	// against the sign-in limits of this email and address.
	attempt, err := store.AdminBeginLogin(ctx, s.db, actorOf(c, p), p.User)
	if errors.Is(err, store.ErrLoginThrottled) {
		return s.renderAccount(c, http.StatusTooManyRequests, views.AccountProps{PasswordError: throttled(c)})
	}
	if err != nil {
		return err
	}
	err = store.ChangePassword(ctx, p.Tenant, actorOf(c, p), p.User.ID, c.FormValue("current"), next, s.sessions.Token(ctx))
	if cerr := store.AdminPasswordChecked(ctx, s.db, attempt, !errors.Is(err, store.ErrWrongPassword)); cerr != nil {
		return cerr
	}
	if msg := passwordMessage(err); msg != "" {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountProps{PasswordError: msg})
	}
	if err != nil {
		return err
	}
	return s.renderAccount(c, http.StatusOK, views.AccountProps{PasswordNotice: "Your password is changed. Your other sessions have ended."})
}

// AccountEndSession ends one of the user's own sessions; another user's
// session id is a 404.
func (s *Server) AccountEndSession(c echo.Context) error {
	p := currentPrincipal(c)
	if err := store.EndSession(c.Request().Context(), p.Tenant, actorOf(c, p), p.User.ID, c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "AccountShow"))
}

// AccountEndOtherSessions ends every session of the user but this one.
func (s *Server) AccountEndOtherSessions(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	if _, err := store.EndOtherSessions(ctx, p.Tenant, actorOf(c, p), p.User.ID, s.sessions.Token(ctx)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "AccountShow"))
}

// AccountTOTPBegin starts setting up a second factor (or a replacement for
// the current one) and leads to its QR code.
func (s *Server) AccountTOTPBegin(c echo.Context) error {
	p := currentPrincipal(c)
	if _, err := store.BeginTOTP(c.Request().Context(), p.Tenant, actorOf(c, p), p.User.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "AccountTOTPSetup"))
}

// AccountTOTPSetup shows the second factor being set up: a QR code, the
// secret as text and a field for a code from it.
func (s *Server) AccountTOTPSetup(c echo.Context) error {
	u, err := store.GetUser(c.Request().Context(), currentPrincipal(c).Tenant, currentPrincipal(c).User.ID)
	if err != nil {
		return err
	}
	if u.TOTPPendingSecret == "" {
		return c.Redirect(http.StatusSeeOther, routePath(c, "AccountShow"))
	}
	props, err := totpSetupProps(u)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TOTPSetupPage(props), nil)
}

// AccountTOTPConfirm activates the second factor being set up when the code
// is right, and shows its recovery codes once.
func (s *Server) AccountTOTPConfirm(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	codes, err := store.EnableTOTP(ctx, p.Tenant, actorOf(c, p), p.User.ID, c.FormValue("code"), s.now())
	if errors.Is(err, store.ErrNoPendingTOTP) {
		return c.Redirect(http.StatusSeeOther, routePath(c, "AccountShow"))
	}
	if errors.Is(err, store.ErrBadCode) {
		u, err := store.GetUser(ctx, p.Tenant, p.User.ID)
		if err != nil {
			return err
		}
		props, err := totpSetupProps(u)
		if err != nil {
			return err
		}
		props.Error = "That code is not right. Enter the code your app shows now."
		return render(c, http.StatusUnprocessableEntity, views.TOTPSetupPage(props), nil)
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RecoveryCodesPage(views.RecoveryCodesProps{Codes: codes, Continue: "/account"}), nil)
}

// AccountTOTPRemove removes the user's own second factor, their password
// required, unless the tenant requires one of them.
func (s *Server) AccountTOTPRemove(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	tenant, err := store.GetTenant(ctx, p.Tenant)
	if err != nil {
		return err
	}
	if store.TwoFactorRequired(tenant.TwoFactor, p.User.Role) {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountProps{
			TwoFactorError: "Your team requires a second factor for your role. Set up a new authenticator instead of removing it."})
	}
	if !store.CheckPassword(p.User, c.FormValue("password")) {
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountProps{TwoFactorError: "Your password is not right."})
	}
	if err := store.RemoveTOTP(ctx, p.Tenant, actorOf(c, p), p.User.ID); err != nil {
		return err
	}
	return s.renderAccount(c, http.StatusOK, views.AccountProps{TwoFactorNotice: "Your second factor is removed."})
}

// totpSetupProps shows the user's secret being set up as a QR code and as
// text.
func totpSetupProps(u *store.User) (views.TOTPSetupProps, error) {
	qr, err := qrDataURL(store.TOTPURI("Sentinel", u.Email, u.TOTPPendingSecret))
	if err != nil {
		return views.TOTPSetupProps{}, err
	}
	var groups []string
	for sec := u.TOTPPendingSecret; sec != ""; {
		n := min(4, len(sec))
		groups = append(groups, sec[:n])
		sec = sec[n:]
	}
	return views.TOTPSetupProps{QR: qr, Secret: strings.Join(groups, " "), Replacing: u.HasTOTP(), Email: u.Email}, nil
}

// deviceOf names a browser and system from a User-Agent, roughly, for
// people to recognise their sessions.
func deviceOf(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := "Browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser + " on " + o.name
		}
	}
	return browser
}

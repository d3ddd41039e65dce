package handlers

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// Keys of values that middleware leaves in the Echo context.
const (
	ctxUser = "sentinel.user"
)

// Session keys.
const (
	sessUserID   = "user_id"
	sessTenantID = "tenant_id"
)

// principal is who is calling and their tenant scope: a signed-in user, or
// an API key (User nil).
type principal struct {
	User       *store.User
	APIKey     *store.APIKey
	Tenant     store.Tenant
	TenantName string
}

func currentPrincipal(c echo.Context) *principal {
	p, _ := c.Get(ctxUser).(*principal)
	return p
}

// logRequests writes one structured line per request.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Let the error handler write the response now, so the status is known.
			c.Error(err)
		}
		res := c.Response()
		attrs := []any{
			"request_id", res.Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method,
			"path", logPath(c),
			"status", res.Status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
		}
		if p := currentPrincipal(c); p != nil {
			attrs = append(attrs, "tenant_id", p.Tenant.ID())
			if p.User != nil {
				attrs = append(attrs, "user_id", p.User.ID)
			} else if p.APIKey != nil {
				attrs = append(attrs, "api_key_id", p.APIKey.ID)
			}
		}
		slog.Info("request", attrs...)
		return nil
	}
}

// logPath is the request path as logs show it. A set-password link's token
// is a secret: on a route with one, the route's template stands for it.
func logPath(c echo.Context) string {
	if c.Param("token") != "" {
		return c.Path()
	}
	return c.Request().URL.Path
}

// securityHeaders sets the strict CSP and its companions on every response.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "+
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return next(c)
	}
}

// withRouter lets views build links from route names (views.URL).
func withRouter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(views.WithRouter(c.Request().Context(), c.Echo())))
		return next(c)
	}
}

// noStore keeps every page and API answer out of caches: they hold tenant
// data, CSRF tokens and one-time secrets.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// loadSession loads the scs session into the request context and commits it
// (writing the cookie) just before the response is written, whatever writes
// it: the handler or the error handler.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.Response().Header().Add(echo.HeaderVary, "Cookie")
		var token string
		if ck, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			return err
		}
		loaded := s.sessions.Token(ctx) // "" unless the store had the session
		c.SetRequest(r.WithContext(ctx))
		res := c.Response()
		res.Before(func() {
			switch s.sessions.Status(ctx) {
			case scs.Modified:
				// The store writes who the session belongs to and where it
				// is used from beside its data (the account page lists them).
				meta := store.SessionMeta{
					TenantID: s.sessions.GetString(ctx, sessTenantID), UserID: s.sessions.GetString(ctx, sessUserID),
					IP: c.RealIP(), UserAgent: r.UserAgent(), Existing: loaded != "" && loaded == s.sessions.Token(ctx),
				}
				tok, expiry, err := s.sessions.Commit(store.WithSessionMeta(ctx, meta))
				if err != nil {
					slog.Error("commit session", "err", err)
					return
				}
				s.sessions.WriteSessionCookie(ctx, res.Writer, tok, expiry)
			case scs.Destroyed:
				s.sessions.WriteSessionCookie(ctx, res.Writer, "", time.Time{})
			}
		})
		return next(c)
	}
}

// loadUser resolves the session's user and tenant, if any, and puts the
// viewer and CSRF token where the views read them.
func (s *Server) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if tok := s.sessions.GetString(ctx, sessCSRF); tok != "" {
			ctx = views.WithCSRFToken(ctx, tok)
		}
		userID := s.sessions.GetString(ctx, sessUserID)
		tenantID := s.sessions.GetString(ctx, sessTenantID)
		if userID != "" && tenantID != "" {
			t := store.ForTenant(s.db, tenantID)
			u, err := store.GetUser(ctx, t, userID)
			switch {
			case errors.Is(err, store.ErrNotFound) || (err == nil && u.DisabledAt != nil):
				// The user was removed or disabled: the session ends (the
				// store ended it already; this one may have been in flight).
				if err := s.sessions.Destroy(ctx); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				tenant, err := store.GetTenant(ctx, t)
				if err != nil {
					return err
				}
				p := &principal{User: u, Tenant: t, TenantName: tenant.Name}
				c.Set(ctxUser, p)
				ctx = views.WithViewer(ctx, viewerOf(c, p))
			}
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// requireLogin sends anonymous visitors to the login page.
func (s *Server) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentPrincipal(c) != nil {
			return next(c)
		}
		return toLogin(c)
	}
}

// toLogin sends a request without a signed-in user to the sign-in page
// (an htmx request through HX-Redirect), back to this page afterwards for a
// GET.
func toLogin(c echo.Context) error {
	target := routePath(c, "LoginForm")
	if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
		target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// signedInForFiles sends a file to a route that takes large ones
// (uploadLimits) to the sign-in page before a byte of it is read, unless
// the request comes with the session of a signed-in user: otherwise anyone
// could make the server spool tens of megabytes before requireLogin turns
// them away. The full checks (CSRF, whose token travels in the form's
// body, the role) still run after the body is read.
func (s *Server) signedInForFiles(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		if _, large := uploadLimits[routeName(c)]; !large || mt != echo.MIMEMultipartForm {
			return next(c)
		}
		token := ""
		if ck, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			return err
		}
		if s.sessions.GetString(ctx, sessUserID) == "" {
			return toLogin(c)
		}
		return next(c)
	}
}

// require answers 403 unless the signed-in user's role has permission p.
func (s *Server) require(p Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if pr := currentPrincipal(c); pr == nil || pr.User == nil || !Can(pr.User.Role, p) {
				if p == PermUpload && pr != nil && pr.User != nil {
					s.auditUploadDenial(c, pr)
				}
				return echo.NewHTTPError(http.StatusForbidden, "Your role does not allow this. Ask an admin if you need access.")
			}
			return next(c)
		}
	}
}

// navItems is the sidebar for a role: only pages that exist and that the
// role may open, each linked by its route's name.
func navItems(c echo.Context, role string) []views.NavItem {
	all := []struct {
		item  views.NavItem
		route string
		perm  Permission
	}{
		{views.NavItem{Label: "Home", Section: "Workspace"}, "Home", PermViewHome},
		{views.NavItem{Label: "Queue", Section: "Workspace", Also: []string{"/transactions"}}, "QueueList", PermViewQueue},
		{views.NavItem{Label: "Investigate", Section: "Workspace"}, "InvestigateList", PermInvestigate},
		{views.NavItem{Label: "Cases", Section: "Workspace"}, "CaseList", PermViewCases},
		{views.NavItem{Label: "Watchlists", Section: "Workspace"}, "WatchlistList", PermViewWatchlist},
		{views.NavItem{Label: "Models", Section: "Workspace"}, "ModelList", PermViewModels},
		{views.NavItem{Label: "Upload", Section: "Workspace"}, "UploadList", PermUpload},
		{views.NavItem{Label: "Drift", Section: "Monitoring"}, "DriftShow", PermViewMonitoring},
		{views.NavItem{Label: "Cost tuner", Section: "Monitoring"}, "TunerShow", PermViewMonitoring},
		{views.NavItem{Label: "Alerts", Section: "Monitoring"}, "AlertList", PermViewMonitoring},
		{views.NavItem{Label: "Users", Section: "Admin"}, "UserList", PermViewUsers},
		{views.NavItem{Label: "Sign-in security", Section: "Admin"}, "SecurityShow", PermManageSettings},
		{views.NavItem{Label: "SLA policy", Section: "Admin"}, "SLAShow", PermManageSLA},
		{views.NavItem{Label: "API keys", Section: "Admin"}, "APIKeyList", PermManageAPIKeys},
		{views.NavItem{Label: "Audit trail", Section: "Oversight"}, "AuditList", PermViewAudit},
	}
	var out []views.NavItem
	for _, a := range all {
		if Can(role, a.perm) {
			a.item.Href = c.Echo().Reverse(a.route)
			out = append(out, a.item)
		}
	}
	return out
}

func viewerOf(c echo.Context, p *principal) views.Viewer {
	return views.Viewer{
		Name: p.User.Name, Email: p.User.Email, Role: p.User.Role, RoleLabel: roleLabel(p.User.Role),
		TenantName: p.TenantName, Nav: navItems(c, p.User.Role), Path: c.Request().URL.Path,
	}
}

// routePath is the path of the named route (see views.URL).
func routePath(c echo.Context, name string, params ...string) string {
	return string(views.URL(c.Request().Context(), name, params...))
}

package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sentinel-fraud/sentinel/store"
)

// route is one page or action of the signed-in workspace and the permission it needs.
type route struct {
	Method  string
	Path    string
	Name    string
	Perm    Permission
	Handler func(*Server, echo.Context) error
}

// appRoutes is every route behind login. Each names its permission; the
// permission tests walk this table role by role.
var appRoutes = []route{
	{http.MethodGet, "/", "Home", PermViewHome, (*Server).Home},
	{http.MethodGet, "/queue", "QueueList", PermViewQueue, (*Server).QueueList},
	{http.MethodGet, "/queue/new", "QueueNew", PermViewQueue, (*Server).QueueNew},
	{http.MethodGet, "/transactions/:id", "TransactionShow", PermViewQueue, (*Server).TransactionShow},
	{http.MethodPost, "/transactions/:id/decisions", "TransactionDecide", PermDecide, (*Server).TransactionDecide},
	{http.MethodGet, "/investigate", "InvestigateList", PermInvestigate, (*Server).InvestigateList},
	{http.MethodGet, "/investigate/export.csv", "InvestigateExport", PermExport, (*Server).InvestigateExport},
	{http.MethodPost, "/investigate/bulk", "InvestigateBulk", PermBulkDecide, (*Server).InvestigateBulk},
	{http.MethodGet, "/settings/users", "UserList", PermViewUsers, (*Server).UserList},
	{http.MethodGet, "/settings/users/:id", "UserShow", PermViewUsers, (*Server).UserShow},
	{http.MethodPost, "/settings/users", "UserInvite", PermManageUsers, (*Server).UserInvite},
	{http.MethodPost, "/settings/users/:id/role", "UserRole", PermManageUsers, (*Server).UserRole},
	{http.MethodPost, "/settings/users/:id/disable", "UserDisable", PermManageUsers, (*Server).UserDisable},
	{http.MethodPost, "/settings/users/:id/enable", "UserEnable", PermManageUsers, (*Server).UserEnable},
	{http.MethodPost, "/settings/users/:id/reset-password", "UserResetPassword", PermManageUsers, (*Server).UserResetPassword},
	{http.MethodPost, "/settings/users/:id/remove-2fa", "UserRemoveTOTP", PermManageUsers, (*Server).UserRemoveTOTP},
	{http.MethodGet, "/settings/security", "SecurityShow", PermManageSettings, (*Server).SecurityShow},
	{http.MethodPost, "/settings/security", "SecurityUpdate", PermManageSettings, (*Server).SecurityUpdate},
	{http.MethodGet, "/account", "AccountShow", PermOwnAccount, (*Server).AccountShow},
	{http.MethodPost, "/account/password", "AccountPassword", PermOwnAccount, (*Server).AccountPassword},
	{http.MethodPost, "/account/sessions/:id/end", "AccountEndSession", PermOwnAccount, (*Server).AccountEndSession},
	{http.MethodPost, "/account/sessions/end-others", "AccountEndOtherSessions", PermOwnAccount, (*Server).AccountEndOtherSessions},
	{http.MethodPost, "/account/2fa", "AccountTOTPBegin", PermOwnAccount, (*Server).AccountTOTPBegin},
	{http.MethodGet, "/account/2fa", "AccountTOTPSetup", PermOwnAccount, (*Server).AccountTOTPSetup},
	{http.MethodPost, "/account/2fa/confirm", "AccountTOTPConfirm", PermOwnAccount, (*Server).AccountTOTPConfirm},
	{http.MethodPost, "/account/2fa/remove", "AccountTOTPRemove", PermOwnAccount, (*Server).AccountTOTPRemove},
	{http.MethodGet, "/audit", "AuditList", PermViewAudit, (*Server).AuditList},
	{http.MethodGet, "/audit/export.csv", "AuditExport", PermExportAudit, (*Server).AuditExport},
	{http.MethodGet, "/settings/api-keys", "APIKeyList", PermManageAPIKeys, (*Server).APIKeyList},
	{http.MethodPost, "/settings/api-keys", "APIKeyCreate", PermManageAPIKeys, (*Server).APIKeyCreate},
	{http.MethodGet, "/settings/api-keys/:id/revoke", "APIKeyRevokeConfirm", PermManageAPIKeys, (*Server).APIKeyRevokeConfirm},
	{http.MethodPost, "/settings/api-keys/:id/revoke", "APIKeyRevoke", PermManageAPIKeys, (*Server).APIKeyRevoke},
	{http.MethodGet, "/models", "ModelList", PermViewModels, (*Server).ModelList},
	{http.MethodPost, "/models", "ModelImport", PermManageModels, (*Server).ModelImport},
	{http.MethodGet, "/models/compare", "ModelCompare", PermViewModels, (*Server).ModelCompare},
	{http.MethodGet, "/models/:id", "ModelShow", PermViewModels, (*Server).ModelShow},
	{http.MethodGet, "/models/:id/whatif", "ModelWhatIf", PermManageModels, (*Server).ModelWhatIf},
	{http.MethodPost, "/models/:id/promote", "ModelPromote", PermManageModels, (*Server).ModelPromote},
	{http.MethodPost, "/models/:id/stage", "ModelStage", PermManageModels, (*Server).ModelStage},
	{http.MethodPost, "/models/:id/thresholds", "ModelThresholds", PermManageModels, (*Server).ModelThresholds},
	{http.MethodGet, "/entities/:account", "EntityShow", PermViewEntities, (*Server).EntityShow},
	{http.MethodGet, "/entities/:account/graph", "EntityGraph", PermViewEntities, (*Server).EntityGraph},
	{http.MethodGet, "/watchlists", "WatchlistList", PermViewWatchlist, (*Server).WatchlistList},
	{http.MethodPost, "/watchlists", "WatchlistCreate", PermEditWatchlist, (*Server).WatchlistCreate},
	{http.MethodGet, "/watchlists/export", "WatchlistExport", PermViewWatchlist, (*Server).WatchlistExport},
	{http.MethodPost, "/watchlists/import", "WatchlistImport", PermImportWatchlist, (*Server).WatchlistImport},
	{http.MethodGet, "/watchlists/:id/delete", "WatchlistDeleteConfirm", PermEditWatchlist, (*Server).WatchlistDeleteConfirm},
	{http.MethodPost, "/watchlists/:id/delete", "WatchlistDelete", PermEditWatchlist, (*Server).WatchlistDelete},
	{http.MethodGet, "/cases", "CaseList", PermViewCases, (*Server).CaseList},
	{http.MethodGet, "/cases/new", "CaseNew", PermWorkCases, (*Server).CaseNew},
	{http.MethodPost, "/cases/new", "CaseNewSelected", PermWorkCases, (*Server).CaseNewSelected},
	{http.MethodPost, "/cases", "CaseCreate", PermWorkCases, (*Server).CaseCreate},
	{http.MethodGet, "/cases/:id", "CaseShow", PermViewCases, (*Server).CaseShow},
	{http.MethodPost, "/cases/:id/notes", "CaseNote", PermWorkCases, (*Server).CaseNote},
	{http.MethodPost, "/cases/:id/status", "CaseStatus", PermWorkCases, (*Server).CaseStatus},
	{http.MethodPost, "/cases/:id/priority", "CasePriority", PermWorkCases, (*Server).CasePriority},
	{http.MethodPost, "/cases/:id/assign", "CaseAssign", PermWorkCases, (*Server).CaseAssign},
	{http.MethodPost, "/cases/:id/close", "CaseClose", PermWorkCases, (*Server).CaseClose},
	{http.MethodPost, "/cases/:id/reopen", "CaseReopen", PermReopenCases, (*Server).CaseReopen},
	{http.MethodPost, "/cases/:id/transactions", "CaseLinkTransaction", PermWorkCases, (*Server).CaseLinkTransaction},
	{http.MethodPost, "/cases/:id/transactions/:tx/remove", "CaseUnlinkTransaction", PermWorkCases, (*Server).CaseUnlinkTransaction},
	{http.MethodPost, "/cases/:id/accounts", "CaseLinkAccount", PermWorkCases, (*Server).CaseLinkAccount},
	{http.MethodPost, "/cases/:id/accounts/:account/remove", "CaseUnlinkAccount", PermWorkCases, (*Server).CaseUnlinkAccount},
	{http.MethodGet, "/settings/sla", "SLAShow", PermManageSLA, (*Server).SLAShow},
	{http.MethodPost, "/settings/sla", "SLAUpdate", PermManageSLA, (*Server).SLAUpdate},
	{http.MethodGet, "/upload", "UploadList", PermUpload, (*Server).UploadList},
	{http.MethodPost, "/upload", "UploadCreate", PermUpload, (*Server).UploadCreate},
	{http.MethodGet, "/upload/:id", "UploadShow", PermUpload, (*Server).UploadShow},
	{http.MethodGet, "/upload/:id/errors.csv", "UploadErrors", PermUpload, (*Server).UploadErrors},
	{http.MethodPost, "/upload/:id/cancel", "UploadCancel", PermUpload, (*Server).UploadCancel},
	{http.MethodPost, "/upload/:id/confirm", "UploadConfirm", PermUpload, (*Server).UploadConfirm},
	{http.MethodGet, "/drift", "DriftShow", PermViewMonitoring, (*Server).DriftShow},
	{http.MethodGet, "/tuner", "TunerShow", PermViewMonitoring, (*Server).TunerShow},
	{http.MethodPost, "/tuner/costs", "TunerCosts", PermManageCosts, (*Server).TunerCosts},
	{http.MethodPost, "/tuner/apply", "TunerApply", PermManageModels, (*Server).TunerApply},
	{http.MethodGet, "/alerts", "AlertList", PermViewMonitoring, (*Server).AlertList},
	{http.MethodGet, "/alerts/bell", "AlertBell", PermViewMonitoring, (*Server).AlertBell},
	{http.MethodPost, "/alerts/:id/acknowledge", "AlertAcknowledge", PermAckAlerts, (*Server).AlertAcknowledge},
	{http.MethodGet, "/settings", "SettingsShow", PermViewSettings, (*Server).SettingsShow},
	{http.MethodGet, "/settings/alerts", "AlertRuleList", PermManageAlertRules, (*Server).AlertRuleList},
	{http.MethodPost, "/settings/alerts", "AlertRuleCreate", PermManageAlertRules, (*Server).AlertRuleCreate},
	{http.MethodPost, "/settings/alerts/:id", "AlertRuleUpdate", PermManageAlertRules, (*Server).AlertRuleUpdate},
	{http.MethodPost, "/settings/alerts/:id/delete", "AlertRuleDelete", PermManageAlertRules, (*Server).AlertRuleDelete},
	{http.MethodGet, "/dashboard/ticker", "DashboardTicker", PermViewHome, (*Server).DashboardTicker},
	{http.MethodGet, "/replay", "ReplayShow", PermViewReplay, (*Server).ReplayShow},
	{http.MethodPost, "/replay", "ReplayStart", PermReplay, (*Server).ReplayStart},
	{http.MethodPost, "/replay/stop", "ReplayStop", PermReplay, (*Server).ReplayStop},
}

// apiRoute is one route of the JSON API: the scope an API key needs for it,
// and the permission a signed-in browser session needs.
type apiRoute struct {
	Method  string
	Path    string
	Name    string
	Scope   string
	Perm    Permission
	Handler func(*Server, echo.Context) error
}

// apiRoutes is every route under /api/v1.
var apiRoutes = []apiRoute{
	{http.MethodPost, "/score", "APIScore", store.ScopeScore, PermSubmit, (*Server).APIScore},
	{http.MethodPost, "/score/batch", "APIScoreBatch", store.ScopeScore, PermSubmit, (*Server).APIScoreBatch},
	{http.MethodGet, "/transactions", "APITransactionByExternalID", store.ScopeRead, PermViewQueue, (*Server).APITransactionByExternalID},
	{http.MethodGet, "/transactions/:id", "APITransaction", store.ScopeRead, PermViewQueue, (*Server).APITransaction},
}

// routes registers every route explicitly.
func (s *Server) routes(e *echo.Echo) {
	e.Use(middleware.RequestID())
	e.Use(withRouter) // before anything that may render a page, error pages included
	e.Use(compress()) // outside logRequests, so that error pages are compressed too
	e.Use(s.logRequests)
	e.Use(middleware.Recover())
	e.Use(s.securityHeaders)
	e.Use(s.withUploadLimit) // read by validText's body reader
	e.Use(s.signedInForFiles)
	e.Use(validText)

	e.GET("/health", s.Health).Name = "Health"
	e.GET("/ready", s.Ready).Name = "Ready"
	e.GET("/assets/:hash/:name", s.Asset).Name = "Asset"

	api := e.Group("/api/v1", noStore, s.apiAuth)
	for _, r := range apiRoutes {
		h := func(c echo.Context) error { return r.Handler(s, c) }
		api.Add(r.Method, r.Path, h, s.allowAPI(r.Scope, r.Perm)).Name = r.Name
	}

	web := e.Group("", noStore, s.loadSession, s.csrf, s.loadUser)
	web.GET("/api/openapi.json", s.OpenAPI).Name = "OpenAPI"
	web.GET("/api/docs", s.APIDocs).Name = "APIDocs"
	web.GET("/login", s.LoginForm).Name = "LoginForm"
	web.POST("/login", s.Login).Name = "Login"
	web.POST("/logout", s.Logout).Name = "Logout"
	web.GET("/login/code", s.LoginCodeForm).Name = "LoginCodeForm"
	web.POST("/login/code", s.LoginCode).Name = "LoginCode"
	web.GET("/login/enroll", s.LoginEnrollForm).Name = "LoginEnrollForm"
	web.POST("/login/enroll", s.LoginEnroll).Name = "LoginEnroll"
	web.GET("/set-password/:token", s.SetPasswordForm).Name = "SetPasswordForm"
	web.POST("/set-password/:token", s.SetPassword).Name = "SetPassword"

	app := web.Group("", s.requireLogin)
	for _, r := range appRoutes {
		h := func(c echo.Context) error { return r.Handler(s, c) }
		app.Add(r.Method, r.Path, h, s.require(r.Perm)).Name = r.Name
	}
}

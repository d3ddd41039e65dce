package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/assets"
	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
)

// Who calls, as the columns of the permission table.
const (
	anonymous = iota
	analyst
	senior
	admin
	auditor
	callers
)

var callerEmails = [callers]string{"", "analyst@sentinel.demo", "senior@sentinel.demo", "admin@sentinel.demo", "auditor@sentinel.demo"}

// permRequest is one concrete request of a route: a path with real ids of
// the demo tenant's own objects, and a form or body that succeeds.
type permRequest struct {
	path string
	form url.Values // POST form (the CSRF token is added)
	json string     // POST JSON body, for the API
	// forCaller, when set, makes the request for the caller's own objects
	// (their sessions, their second factor); email is "" for anonymous.
	forCaller func(email string) permRequest
	file      []byte // a multipart upload of this file as field "file", with form
	fileName  string
}

// permRow is a route and the status each caller must get. Allowed cells
// expect the status of success, so a 404 or 500 there fails the test.
type permRow struct {
	method, route string
	want          [callers]int
	// fresh runs the cell in a new browser: the request changes the session.
	fresh bool
	req   func(a *testApp) permRequest
}

// permissionTable is written by hand: it is the specification, not derived
// from the matrix it tests. Every registered route needs a row.
func permissionTable() []permRow {
	var seq atomic.Int64
	next := func() int64 { return seq.Add(1) }
	path := func(p string) func(*testApp) permRequest {
		return func(*testApp) permRequest { return permRequest{path: p} }
	}
	tx := func(a *testApp) string { return a.scoreN("admin@sentinel.demo", 1, fmt.Sprintf("perm%d", next()))[0] }
	newKey := func(a *testApp) string {
		k, _, err := store.CreateAPIKey(context.Background(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID),
			store.Actor{Email: "test"}, fmt.Sprintf("perm %d", next()), store.Scopes)
		if err != nil {
			a.t.Fatal(err)
		}
		return k.ID
	}
	staged := func(a *testApp) string { return a.stagedModel("admin@sentinel.demo") }
	return []permRow{
		{"GET", "/health", [callers]int{200, 200, 200, 200, 200}, false, path("/health")},
		{"GET", "/ready", [callers]int{200, 200, 200, 200, 200}, false, path("/ready")},
		{"GET", "/assets/:hash/:name", [callers]int{200, 200, 200, 200, 200}, false, path(assets.URL("app.css"))},
		{"GET", "/api/openapi.json", [callers]int{200, 200, 200, 200, 200}, false, path("/api/openapi.json")},
		{"GET", "/api/docs", [callers]int{200, 200, 200, 200, 200}, false, path("/api/docs")},
		{"GET", "/login", [callers]int{200, 303, 303, 303, 303}, false, path("/login")},
		{"POST", "/login", [callers]int{303, 303, 303, 303, 303}, true, func(*testApp) permRequest {
			return permRequest{path: "/login", form: url.Values{"email": {"analyst@acme.demo"}, "password": {"demopass123"}}}
		}},
		{"POST", "/logout", [callers]int{303, 303, 303, 303, 303}, true, func(*testApp) permRequest {
			return permRequest{path: "/logout", form: url.Values{}}
		}},
		{"GET", "/", [callers]int{303, 200, 200, 200, 200}, false, path("/")},
		{"GET", "/queue", [callers]int{303, 200, 200, 200, 200}, false, path("/queue")},
		{"GET", "/queue/new", [callers]int{303, 200, 200, 200, 200}, false, path("/queue/new")},
		{"GET", "/transactions/:id", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{path: "/transactions/" + tx(a)}
		}},
		{"POST", "/transactions/:id/decisions", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/transactions/" + tx(a) + "/decisions",
				form: url.Values{"decision": {store.DecisionEscalated}, "rationale": {"permission test"}}}
		}},
		{"GET", "/investigate", [callers]int{303, 200, 200, 200, 200}, false, path("/investigate")},
		{"GET", "/investigate/export.csv", [callers]int{303, 200, 200, 200, 200}, false, path("/investigate/export.csv?type=TRANSFER")},
		{"POST", "/investigate/bulk", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/investigate/bulk",
				form: url.Values{"id": {tx(a)}, "decision": {store.DecisionEscalated}, "rationale": {"permission test"}}}
		}},
		{"GET", "/settings/users", [callers]int{303, 403, 403, 200, 403}, false, path("/settings/users")},
		{"GET", "/settings/users/:id", [callers]int{303, 403, 403, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/settings/users/" + a.user("analyst@sentinel.demo").ID}
		}},
		{"GET", "/audit", [callers]int{303, 403, 403, 200, 200}, false, path("/audit")},
		{"GET", "/audit/export.csv", [callers]int{303, 403, 403, 200, 200}, false, path("/audit/export.csv?action=auth")},
		{"GET", "/settings/api-keys", [callers]int{303, 403, 403, 200, 403}, false, path("/settings/api-keys")},
		{"POST", "/settings/api-keys", [callers]int{303, 403, 403, 201, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/settings/api-keys", form: url.Values{"name": {fmt.Sprintf("perm %d", next())}, "scope": {"score"}}}
		}},
		{"GET", "/settings/api-keys/:id/revoke", [callers]int{303, 403, 403, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/settings/api-keys/" + newKey(a) + "/revoke"}
		}},
		{"POST", "/settings/api-keys/:id/revoke", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/settings/api-keys/" + newKey(a) + "/revoke", form: url.Values{}}
		}},
		{"GET", "/models", [callers]int{303, 200, 200, 200, 200}, false, path("/models")},
		{"POST", "/models", [callers]int{303, 403, 403, 303, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/models", form: url.Values{"name": {fmt.Sprintf("perm-%d", next())}}, file: models.Default, fileName: "model.json"}
		}},
		{"GET", "/models/compare", [callers]int{303, 200, 200, 200, 200}, false, path("/models/compare")},
		{"GET", "/models/:id", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{path: "/models/" + a.productionModel("admin@sentinel.demo")}
		}},
		{"GET", "/models/:id/whatif", [callers]int{303, 403, 403, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/models/" + a.productionModel("admin@sentinel.demo") + "/whatif?review=0.4&medium=0.2&high=0.5&critical=0.8"}
		}},
		{"POST", "/models/:id/promote", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/models/" + staged(a) + "/promote", form: url.Values{}}
		}},
		{"POST", "/models/:id/stage", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/models/" + staged(a) + "/stage", form: url.Values{"stage": {store.StageShadow}}}
		}},
		{"POST", "/models/:id/thresholds", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/models/" + staged(a) + "/thresholds",
				form: url.Values{"review": {"0.4"}, "medium": {"0.2"}, "high": {"0.5"}, "critical": {"0.8"}}}
		}},
		{"POST", "/api/v1/score", [callers]int{401, 403, 201, 201, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/api/v1/score", json: txJSON(fmt.Sprintf("perm-%d", next()))}
		}},
		{"POST", "/api/v1/score/batch", [callers]int{401, 403, 200, 200, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/api/v1/score/batch", json: `{"transactions":[` + txJSON(fmt.Sprintf("perm-%d", next())) + `]}`}
		}},
		{"GET", "/api/v1/transactions", [callers]int{401, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			tx := tx(a)
			s, err := store.GetScored(context.Background(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID), tx)
			if err != nil {
				a.t.Fatal(err)
			}
			return permRequest{path: "/api/v1/transactions?external_id=" + url.QueryEscape(s.Transaction.ExternalID)}
		}},
		{"GET", "/api/v1/transactions/:id", [callers]int{401, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{path: "/api/v1/transactions/" + tx(a)}
		}},
		// Entities and watchlists.
		{"GET", "/entities/:account", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			tx(a)
			return permRequest{path: "/entities/C999"}
		}},
		{"GET", "/entities/:account/graph", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			tx(a)
			return permRequest{path: "/entities/C999/graph?via=C0"}
		}},
		{"GET", "/watchlists", [callers]int{303, 200, 200, 200, 200}, false, path("/watchlists")},
		{"POST", "/watchlists", [callers]int{303, 403, 201, 201, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/watchlists", form: url.Values{"account": {fmt.Sprintf("PERM%d", next())},
				"list": {store.WatchBlocked}, "reason": {"permission test"}}}
		}},
		{"GET", "/watchlists/export", [callers]int{303, 200, 200, 200, 200}, false, path("/watchlists/export")},
		{"POST", "/watchlists/import", [callers]int{303, 403, 403, 200, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/watchlists/import", file: []byte(fmt.Sprintf("account,list,reason\nIMPORT%d,trusted,payroll\n", next())), fileName: "perm.csv"}
		}},
		{"GET", "/watchlists/:id/delete", [callers]int{303, 403, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/watchlists/" + watchEntry(a, next()) + "/delete"}
		}},
		{"POST", "/watchlists/:id/delete", [callers]int{303, 403, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/watchlists/" + watchEntry(a, next()) + "/delete", form: url.Values{}}
		}},
		// Cases.
		{"GET", "/cases", [callers]int{303, 200, 200, 200, 200}, false, path("/cases?status=any&overdue=1")},
		{"GET", "/cases/new", [callers]int{303, 200, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/new?transaction_id=" + tx(a) + "&account=C999"}
		}},
		{"POST", "/cases/new", [callers]int{303, 200, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/new", form: url.Values{"id": {tx(a)}}}
		}},
		{"POST", "/cases", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases", form: url.Values{"title": {"permission test"}, "priority": {store.PriorityHigh},
				"transaction_id": {tx(a)}, "account": {"C999"}}}
		}},
		{"GET", "/cases/:id", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase(tx(a))}
		}},
		{"POST", "/cases/:id/notes", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase() + "/notes", form: url.Values{"content": {"permission test"}}}
		}},
		{"POST", "/cases/:id/status", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase() + "/status", form: url.Values{"status": {store.CaseInvestigating}}}
		}},
		{"POST", "/cases/:id/priority", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase() + "/priority", form: url.Values{"priority": {store.PriorityCritical}}}
		}},
		// Everyone who works cases may take one; giving it to others is in
		// TestCaseAssignment.
		{"POST", "/cases/:id/assign", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{forCaller: func(email string) permRequest {
				id := ""
				if email != "" {
					id = a.user(email).ID
				}
				return permRequest{path: "/cases/" + a.openCase() + "/assign", form: url.Values{"assignee": {id}}}
			}}
		}},
		{"POST", "/cases/:id/close", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase() + "/close", form: url.Values{"outcome": {store.OutcomeNoAction}, "summary": {"permission test"}}}
		}},
		{"POST", "/cases/:id/reopen", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.closedCase() + "/reopen", form: url.Values{}}
		}},
		{"POST", "/cases/:id/transactions", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCase() + "/transactions", form: url.Values{"transaction_id": {tx(a)}}}
		}},
		{"POST", "/cases/:id/transactions/:tx/remove", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			id := tx(a)
			return permRequest{path: "/cases/" + a.openCase(id) + "/transactions/" + id + "/remove", form: url.Values{}}
		}},
		{"POST", "/cases/:id/accounts", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			tx(a)
			return permRequest{path: "/cases/" + a.openCase() + "/accounts", form: url.Values{"account": {"C999"}}}
		}},
		{"POST", "/cases/:id/accounts/:account/remove", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/cases/" + a.openCaseWithAccount(tx(a), "C999") + "/accounts/C999/remove", form: url.Values{}}
		}},
		{"GET", "/settings/sla", [callers]int{303, 403, 403, 200, 403}, false, path("/settings/sla")},
		{"POST", "/settings/sla", [callers]int{303, 403, 403, 303, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/settings/sla", form: url.Values{"critical": {"4"}, "high": {"24"}, "medium": {"72"}, "low": {"168"}}}
		}},
		// Uploads: senior analysts and admins; others 403 (audited).
		{"GET", "/upload", [callers]int{303, 403, 200, 200, 403}, false, path("/upload")},
		{"POST", "/upload", [callers]int{303, 403, 303, 303, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/upload", file: []byte(uploadCSV(fmt.Sprintf("PERMUP%d", next()), 2)), fileName: "perm.csv"}
		}},
		{"GET", "/upload/:id", [callers]int{303, 403, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/upload/" + a.doneUpload(next())}
		}},
		{"GET", "/upload/:id/errors.csv", [callers]int{303, 403, 200, 200, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/upload/" + a.doneUpload(next()) + "/errors.csv"}
		}},
		{"POST", "/upload/:id/cancel", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/upload/" + a.doneUpload(next()) + "/cancel", form: url.Values{}}
		}},
		{"POST", "/upload/:id/confirm", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/upload/" + a.doneUpload(next()) + "/confirm", form: url.Values{}}
		}},
		// Monitoring: drift, the cost tuner, alerts, alert rules and the settings hub.
		{"GET", "/drift", [callers]int{303, 200, 200, 200, 200}, false, path("/drift?feature=amount")},
		{"GET", "/tuner", [callers]int{303, 200, 200, 200, 200}, false, path("/tuner?t=0.3")},
		{"POST", "/tuner/costs", [callers]int{303, 403, 403, 200, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/tuner/costs", form: url.Values{"missed_share": {"100"}, "missed_fixed": {"0"}, "review_cost": {"5"}, "decline_cost": {"0"}}}
		}},
		{"POST", "/tuner/apply", [callers]int{303, 403, 403, 200, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/tuner/apply", form: url.Values{"review": {"0.5"}}}
		}},
		{"GET", "/alerts", [callers]int{303, 200, 200, 200, 200}, false, path("/alerts")},
		{"GET", "/alerts/bell", [callers]int{303, 200, 200, 200, 200}, false, path("/alerts/bell")},
		{"POST", "/alerts/:id/acknowledge", [callers]int{303, 303, 303, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/alerts/" + openAlertForTest(a, "admin@sentinel.demo") + "/acknowledge", form: url.Values{}}
		}},
		{"GET", "/settings", [callers]int{303, 200, 200, 200, 200}, false, path("/settings")},
		{"GET", "/settings/alerts", [callers]int{303, 403, 403, 200, 403}, false, path("/settings/alerts")},
		{"POST", "/settings/alerts", [callers]int{303, 403, 403, 303, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/settings/alerts", form: url.Values{"kind": {"queue_backlog"}, "threshold": {"1000"}}}
		}},
		{"POST", "/settings/alerts/:id", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/settings/alerts/" + alertRuleForTest(a, "admin@sentinel.demo").ID, form: url.Values{"threshold": {"5"}, "enabled": {"1"}}}
		}},
		{"POST", "/settings/alerts/:id/delete", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			return permRequest{path: "/settings/alerts/" + alertRuleForTest(a, "admin@sentinel.demo").ID + "/delete", form: url.Values{}}
		}},
		// The dashboard's ticker and replays: everyone sees them; seniors and
		// admins start and stop (each start first stops the last one, each
		// stop first starts one, so that every allowed cell succeeds).
		{"GET", "/dashboard/ticker", [callers]int{303, 200, 200, 200, 200}, false, path("/dashboard/ticker")},
		{"GET", "/replay", [callers]int{303, 200, 200, 200, 200}, false, path("/replay")},
		{"POST", "/replay", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			a.stopReplay()
			return permRequest{path: "/replay", form: url.Values{"rate": {"5"}, "duration": {"10"}, "fraud_share": {"0.1"}}}
		}},
		{"POST", "/replay/stop", [callers]int{303, 403, 303, 303, 403}, false, func(a *testApp) permRequest {
			a.startReplay()
			return permRequest{path: "/replay/stop", form: url.Values{}}
		}},
		// People. The second-factor steps of signing in send anyone without
		// a pending sign-in to /login, and the signed-in home.
		{"GET", "/login/code", [callers]int{303, 303, 303, 303, 303}, false, path("/login/code")},
		{"POST", "/login/code", [callers]int{303, 303, 303, 303, 303}, false, func(*testApp) permRequest {
			return permRequest{path: "/login/code", form: url.Values{"code": {"123456"}}}
		}},
		{"GET", "/login/enroll", [callers]int{303, 303, 303, 303, 303}, false, path("/login/enroll")},
		{"POST", "/login/enroll", [callers]int{303, 303, 303, 303, 303}, false, func(*testApp) permRequest {
			return permRequest{path: "/login/enroll", form: url.Values{"code": {"123456"}}}
		}},
		{"GET", "/set-password/:token", [callers]int{200, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			_, token := a.invite(store.RoleAnalyst)
			return permRequest{path: "/set-password/" + token}
		}},
		{"POST", "/set-password/:token", [callers]int{303, 303, 303, 303, 303}, false, func(a *testApp) permRequest {
			_, token := a.invite(store.RoleAnalyst)
			return permRequest{path: "/set-password/" + token, form: url.Values{"password": {newPassword}, "confirm": {newPassword}}}
		}},
		{"POST", "/settings/users", [callers]int{303, 403, 403, 201, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/settings/users", form: url.Values{"email": {fmt.Sprintf("perm%d@sentinel.demo", next())},
				"name": {"Perm Test"}, "role": {store.RoleAnalyst}}}
		}},
		{"POST", "/settings/users/:id/role", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			u, _ := a.invite(store.RoleAnalyst)
			return permRequest{path: "/settings/users/" + u.ID + "/role", form: url.Values{"role": {store.RoleSeniorAnalyst}}}
		}},
		{"POST", "/settings/users/:id/disable", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			u, _ := a.invite(store.RoleAnalyst)
			return permRequest{path: "/settings/users/" + u.ID + "/disable", form: url.Values{}}
		}},
		{"POST", "/settings/users/:id/enable", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			u, _ := a.invite(store.RoleAnalyst)
			return permRequest{path: "/settings/users/" + u.ID + "/enable", form: url.Values{}}
		}},
		{"POST", "/settings/users/:id/reset-password", [callers]int{303, 403, 403, 200, 403}, false, func(a *testApp) permRequest {
			u, _ := a.invite(store.RoleAnalyst)
			return permRequest{path: "/settings/users/" + u.ID + "/reset-password", form: url.Values{}}
		}},
		{"POST", "/settings/users/:id/remove-2fa", [callers]int{303, 403, 403, 303, 403}, false, func(a *testApp) permRequest {
			u, _ := a.invite(store.RoleAnalyst)
			return permRequest{path: "/settings/users/" + u.ID + "/remove-2fa", form: url.Values{}}
		}},
		{"GET", "/settings/security", [callers]int{303, 403, 403, 200, 403}, false, path("/settings/security")},
		{"POST", "/settings/security", [callers]int{303, 403, 403, 200, 403}, false, func(*testApp) permRequest {
			return permRequest{path: "/settings/security", form: url.Values{"two_factor": {store.TwoFactorOptional}}}
		}},
		{"GET", "/account", [callers]int{303, 200, 200, 200, 200}, false, path("/account")},
		{"POST", "/account/sessions/:id/end", [callers]int{303, 303, 303, 303, 303}, false, func(a *testApp) permRequest {
			return permRequest{forCaller: func(email string) permRequest {
				if email == "" {
					return permRequest{path: "/account/sessions/none/end", form: url.Values{}}
				}
				return permRequest{path: "/account/sessions/" + a.otherSession(email) + "/end", form: url.Values{}}
			}}
		}},
		{"POST", "/account/sessions/end-others", [callers]int{303, 303, 303, 303, 303}, false, func(*testApp) permRequest {
			return permRequest{path: "/account/sessions/end-others", form: url.Values{}}
		}},
		{"POST", "/account/2fa", [callers]int{303, 303, 303, 303, 303}, false, func(*testApp) permRequest {
			return permRequest{path: "/account/2fa", form: url.Values{}}
		}},
		{"GET", "/account/2fa", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{forCaller: func(email string) permRequest {
				if email != "" {
					a.beginTOTP(email)
				}
				return permRequest{path: "/account/2fa"}
			}}
		}},
		// Confirming turns the callers' second factor on; the next row
		// turns it off before any row signs them in again.
		{"POST", "/account/2fa/confirm", [callers]int{303, 200, 200, 200, 200}, false, func(a *testApp) permRequest {
			return permRequest{forCaller: func(email string) permRequest {
				code := "123456"
				if email != "" {
					code, _ = store.TOTPCode(a.beginTOTP(email), time.Now())
				}
				return permRequest{path: "/account/2fa/confirm", form: url.Values{"code": {code}}}
			}}
		}},
		{"POST", "/account/2fa/remove", [callers]int{303, 200, 200, 200, 200}, false, func(*testApp) permRequest {
			return permRequest{path: "/account/2fa/remove", form: url.Values{"password": {seed.DemoPassword}}}
		}},
		// Last: it changes the callers' passwords, which rows that sign in
		// again would need.
		{"POST", "/account/password", [callers]int{303, 200, 200, 200, 200}, false, func(*testApp) permRequest {
			return permRequest{path: "/account/password", form: url.Values{"current": {seed.DemoPassword}, "password": {newPassword}, "confirm": {newPassword}}}
		}},
	}
}

// TestPermissionTable walks every route as every caller and checks the
// status against the hand-written table, and that the table names every
// registered route.
func TestPermissionTable(t *testing.T) {
	table := permissionTable()
	t.Run("every route has a row", func(t *testing.T) {
		rows := map[string]bool{}
		for _, r := range table {
			rows[r.method+" "+r.route] = true
		}
		var missing []string
		for _, rt := range New(nil, nil, Config{}).Routes() {
			if rt.Method == echo.RouteNotFound {
				continue
			}
			if k := rt.Method + " " + rt.Path; !rows[k] {
				missing = append(missing, k)
			}
			delete(rows, rt.Method+" "+rt.Path)
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("routes without a row in the permission table: %v", missing)
		}
		if len(rows) > 0 {
			t.Errorf("rows for routes that do not exist: %v", rows)
		}
	})
	eachApp(t, func(t *testing.T, a *testApp) {
		var shared [callers]*browser
		open := func(who int) *browser {
			b := a.browser()
			if who == anonymous {
				b.get("/login")
			} else {
				b = a.signedIn(callerEmails[who])
				b.get("/") // the token of the signed-in session
			}
			return b
		}
		for who := range callers {
			shared[who] = open(who)
		}
		for _, r := range table {
			for who := range callers {
				b := shared[who]
				if r.fresh {
					b = open(who)
				}
				req := r.req(a)
				if req.forCaller != nil {
					req = req.forCaller(callerEmails[who])
				}
				res := b.send(r.method, req)
				if want := r.want[who]; res.Status != want {
					t.Errorf("%s %s as %s = %d, want %d\n%.300s", r.method, r.route, callerName(who), res.Status, want, res.Body)
				}
				if res.Status == http.StatusForbidden && !strings.HasPrefix(req.path, "/api/") && !strings.Contains(res.Body, "Not allowed") {
					t.Errorf("%s %s as %s: the 403 page lacks a friendly message", r.method, r.route, callerName(who))
				}
			}
		}
	})
}

func callerName(who int) string {
	if who == anonymous {
		return "anonymous"
	}
	return callerEmails[who]
}

// send makes a table request: GET, a form POST with the CSRF token, or a
// JSON POST with the token in its header, as htmx and the API docs send it.
func (b *browser) send(method string, r permRequest) response {
	b.t.Helper()
	switch {
	case method == http.MethodGet:
		return b.get(r.path)
	case r.file != nil:
		return b.upload(r.path, r.form, r.fileName, r.file)
	case r.json != "":
		req, _ := http.NewRequest(method, b.app.srv.URL+r.path, strings.NewReader(r.json))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", b.csrf)
		return b.do(req)
	default:
		return b.post(r.path, r.form, true)
	}
}

// watchEntry puts a new account on the demo tenant's watchlist and returns
// the entry's id.
func watchEntry(a *testApp, n int64) string {
	a.t.Helper()
	ch, err := store.AddWatch(context.Background(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID),
		store.Actor{Email: "test"}, store.WatchInput{Account: fmt.Sprintf("ENTRY%d", n), Kind: store.WatchBlocked, Reason: "permission test"})
	if err != nil {
		a.t.Fatal(err)
	}
	return ch.Entry.ID
}

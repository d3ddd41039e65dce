package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestAuditorReadsAndExportsButChangesNothing(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		ids := a.scoreN("analyst@sentinel.demo", 3, "aud")
		tn := store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID)
		if login := a.browser().get("/login"); !strings.Contains(login.Body, "auditor@sentinel.demo") {
			t.Error("the login page does not list the demo auditor")
		}
		b := a.signedIn("auditor@sentinel.demo")
		reads := []struct {
			path            string
			wantContains    []string
			wantNotContains []string
		}{
			{"/", []string{"Auditor", `href="/investigate"`, `href="/audit"`}, []string{`href="/settings/users"`, `href="/settings/api-keys"`}},
			{"/queue", []string{`data-testid="queue-table"`}, nil},
			{"/transactions/" + ids[0], []string{`data-testid="label"`}, []string{`data-testid="decision-form"`}},
			{"/investigate", []string{`data-testid="export"`, `data-testid="investigate-stats"`}, []string{`data-testid="bulk-form"`}},
			{"/audit", []string{`data-testid="audit-table"`, `data-testid="audit-export"`, `data-testid="audit-filters"`}, nil},
		}
		for _, r := range reads {
			res := b.get(r.path)
			if res.Status != http.StatusOK {
				t.Errorf("GET %s as the auditor = %d, want 200", r.path, res.Status)
			}
			for _, w := range r.wantContains {
				if !strings.Contains(res.Body, w) {
					t.Errorf("GET %s as the auditor lacks %s", r.path, w)
				}
			}
			for _, w := range r.wantNotContains {
				if strings.Contains(res.Body, w) {
					t.Errorf("GET %s as the auditor shows %s", r.path, w)
				}
			}
		}
		for _, p := range []string{"/investigate/export.csv", "/audit/export.csv"} {
			if res := b.get(p); res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Errorf("GET %s as the auditor = %d %s", p, res.Status, res.Header.Get("Content-Type"))
			}
		}
		keys, err := store.ListAPIKeys(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := store.CreateAPIKey(ctx, tn, store.Actor{Email: "test"}, "kept", store.Scopes)
		if err != nil {
			t.Fatal(err)
		}
		b.get("/investigate")
		changes := []permRequest{
			{path: "/transactions/" + ids[0] + "/decisions", form: url.Values{"decision": {store.DecisionConfirmedFraud}, "rationale": {"x"}}},
			{path: "/investigate/bulk", form: url.Values{"id": {ids[1]}, "decision": {store.DecisionConfirmedFraud}, "rationale": {"x"}}},
			{path: "/investigate/bulk", form: url.Values{"all": {"1"}, "confirm": {"3"}, "decision": {store.DecisionConfirmedFraud}, "rationale": {"x"}}},
			{path: "/settings/api-keys", form: url.Values{"name": {"auditor's"}, "scope": {"score"}}},
			{path: "/settings/api-keys/" + key.ID + "/revoke", form: url.Values{}},
			{path: "/api/v1/score", json: txJSON("auditor-1")},
			{path: "/api/v1/score/batch", json: `{"transactions":[` + txJSON("auditor-2") + `]}`},
		}
		for _, r := range changes {
			if res := b.send(http.MethodPost, r); res.Status != http.StatusForbidden {
				t.Errorf("POST %s as the auditor = %d, want 403", r.path, res.Status)
			}
		}
		for _, id := range ids {
			if s, err := store.GetScored(ctx, tn, id); err != nil || s.Transaction.Label != "" {
				t.Errorf("transaction %s after the auditor's attempts: label %q, %v", id, s.Transaction.Label, err)
			}
		}
		after, err := store.ListAPIKeys(ctx, tn)
		if err != nil || len(after) != len(keys)+1 || slices.ContainsFunc(after, func(k store.APIKey) bool { return k.RevokedAt != nil }) {
			t.Errorf("API keys after the auditor's attempts = %+v, %v", after, err)
		}
		if n, err := store.CountTransactions(ctx, tn); err != nil || n != 3 {
			t.Errorf("transactions after the auditor's attempts = %d, %v; want 3", n, err)
		}
	})
}

var auditRowRe = regexp.MustCompile(`<tr data-testid="audit-row">`)

func TestAuditTrailFiltersPagesAndExport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.user("admin@sentinel.demo")
		tn := store.ForTenant(a.db, admin.TenantID)
		ids := a.scoreN("analyst@sentinel.demo", 2, "trail")
		analyst := store.Actor{UserID: a.user("analyst@sentinel.demo").ID, Email: "analyst@sentinel.demo"}
		if _, err := store.Decide(ctx, tn, analyst, ids[0], store.DecisionFalsePositive, "=HYPERLINK(\"http://x\")"); err != nil {
			t.Fatal(err)
		}
		for i := range 60 {
			if err := store.Record(ctx, tn, store.Actor{Email: fmt.Sprintf("bot%d@x.test", i%3)}, store.Event{Action: "test.tick",
				ObjectType: "clock", ObjectID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		// A user agent that looks like a formula, recorded with a sign-in.
		senior := a.browser()
		senior.header.Set("User-Agent", "=cmd|' /C calc'!A0")
		senior.login("senior@sentinel.demo", "demopass123")
		b := a.signedIn("auditor@sentinel.demo")
		today := time.Now().UTC().Format(time.DateOnly)
		cases := []struct {
			name     string
			query    string
			wantRows int
			want     string // every row holds it
		}{
			{"an actor, by part of the email", "?actor=SENIOR@", 1, "senior@sentinel.demo"},
			{"an action prefix", "?action=auth", 2, "auth.login"},
			{"an action", "?action=transaction.decide", 1, "transaction.decide"},
			{"an object type and id", "?object=transaction+" + ids[0], 1, ids[0]},
			{"an object id", "?object=" + ids[0], 1, ids[0]},
			{"an object type", "?object=clock&actor=bot1", 20, "bot1@x.test"},
			{"days that include today", "?action=auth&from=" + today + "&to=" + today, 2, "auth.login"},
			{"days before today", "?to=2020-01-01", 0, ""},
			{"days after today", "?from=2999-01-01", 0, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := b.get("/audit" + tc.query)
				if res.Status != 200 {
					t.Fatalf("GET /audit%s = %d", tc.query, res.Status)
				}
				rows := auditRowRe.Split(res.Body, -1)[1:]
				if len(rows) != tc.wantRows {
					t.Fatalf("rows = %d, want %d", len(rows), tc.wantRows)
				}
				for _, r := range rows {
					if !strings.Contains(r[:strings.Index(r, "</tr>")], tc.want) {
						t.Errorf("row %.300s lacks %s", r, tc.want)
					}
				}
			})
		}
		t.Run("a bad date is refused", func(t *testing.T) {
			if res := b.get("/audit?from=soon"); res.Status != 422 || !strings.Contains(res.Body, "From must be a date") {
				t.Fatalf("GET /audit?from=soon = %d", res.Status)
			}
		})
		t.Run("pages go both ways, keeping the filters", func(t *testing.T) {
			first := b.get("/audit?action=test")
			if got := len(auditRowRe.FindAllString(first.Body, -1)); got != 50 {
				t.Fatalf("first page = %d rows, want 50", got)
			}
			older := regexp.MustCompile(`href="([^"]+)" data-testid="audit-older"`).FindStringSubmatch(first.Body)
			if older == nil || strings.Contains(first.Body, `data-testid="audit-newer"`) {
				t.Fatal("the first page has no link to older events, or one to newer ones")
			}
			second := b.get(strings.ReplaceAll(older[1], "&amp;", "&"))
			if got := len(auditRowRe.FindAllString(second.Body, -1)); got != 10 || strings.Contains(second.Body, `data-testid="audit-older"`) {
				t.Fatalf("second page = %d rows, want the last 10", got)
			}
			newer := regexp.MustCompile(`href="([^"]+)" data-testid="audit-newer"`).FindStringSubmatch(second.Body)
			if newer == nil {
				t.Fatal("the second page has no link to newer events")
			}
			back := b.get(strings.ReplaceAll(newer[1], "&amp;", "&"))
			if back.Body[strings.Index(back.Body, "<tbody>"):] != first.Body[strings.Index(first.Body, "<tbody>"):] {
				t.Error("the page of newer events is not the first page")
			}
		})
		t.Run("the export keeps to the filters and neutralises formulas", func(t *testing.T) {
			res := b.get("/audit/export.csv?action=auth")
			if cd := res.Header.Get("Content-Disposition"); !regexp.MustCompile(`filename=sentinel-demo-bank-01-audit-\d{8}T\d{6}Z\.csv$`).MatchString(cd) {
				t.Errorf("Content-Disposition = %q", cd)
			}
			recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			if err != nil || len(recs) != 3 || !slices.Equal(recs[0], auditColumns) {
				t.Fatalf("audit export = %v, %v; want the header and 2 sign-ins", recs, err)
			}
			if ua := recs[2][8]; ua != "'=cmd|' /C calc'!A0" || recs[2][2] != "senior@sentinel.demo" {
				t.Errorf("the senior's sign-in exported as %v", recs[2])
			}
			all, err := csv.NewReader(strings.NewReader(b.get("/audit/export.csv?action=transaction").Body)).ReadAll()
			if err != nil || len(all) != 2 || !strings.Contains(all[1][9], `=HYPERLINK`) || strings.HasPrefix(all[1][9], "'") {
				t.Errorf("decision export = %v, %v; want its details as JSON text", all, err)
			}
		})
		t.Run("each export is audited", func(t *testing.T) {
			events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionExportAudit, Limit: 5})
			if err != nil || len(events) != 2 {
				t.Fatalf("audit export events = %d, %v; want 2", len(events), err)
			}
			var d map[string]any
			if err := json.Unmarshal(events[1].Details, &d); err != nil || d["filters"] != "action=auth" || d["rows"] != float64(2) {
				t.Errorf("first audit export's details = %v, %v", d, err)
			}
		})
	})
}

// The trail links what an event changed to its page, for the viewers who
// may open it, and names it without a link otherwise.
func TestAuditTrailLinksObjects(t *testing.T) {
	for typ, r := range auditObjectRoutes {
		i := slices.IndexFunc(appRoutes, func(x route) bool { return x.Name == r.route })
		if i < 0 || appRoutes[i].Perm != r.perm || appRoutes[i].Method != http.MethodGet {
			t.Errorf("%s: route %s with %v is not a page of the route table with that permission", typ, r.route, r.perm)
		}
	}
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 1, "linked")
		b := a.signedIn("analyst@sentinel.demo")
		b.get("/transactions/" + ids[0])
		if res := b.post("/transactions/"+ids[0]+"/decisions", url.Values{"decision": {"confirmed_fraud"}, "rationale": {"checked"}}, true); res.Status >= 400 {
			t.Fatalf("decide = %d", res.Status)
		}
		page := a.signedIn("auditor@sentinel.demo").get("/audit?action=transaction.decide")
		if !strings.Contains(page.Body, `href="/transactions/`+ids[0]+`"`) {
			t.Errorf("the decision's event does not link its transaction:\n%.3000s", page.Body)
		}
		// An account blocked before any transaction of it has no profile:
		// its event links the watchlist, filtered to it, which shows it.
		senior := a.signedIn("senior@sentinel.demo")
		senior.get("/watchlists")
		if res := senior.post("/watchlists", url.Values{"account": {"CNOTXYET01"}, "list": {"blocked"}, "reason": {"tip-off"}}, true); res.Status >= 400 {
			t.Fatalf("add to the watchlist = %d", res.Status)
		}
		auditor := a.signedIn("auditor@sentinel.demo")
		page = auditor.get("/audit?action=watchlist.add")
		if !strings.Contains(page.Body, `href="/watchlists?account=CNOTXYET01"`) {
			t.Errorf("the watchlist event does not link the account's entry:\n%.3000s", page.Body)
		}
		if list := auditor.get("/watchlists?account=CNOTXYET01"); list.Status != http.StatusOK || !strings.Contains(list.Body, "tip-off") {
			t.Errorf("the linked watchlist = %d, without the entry", list.Status)
		}
		// A page the viewer's role cannot open is not linked: an auditor does
		// not see users' pages, so a sign-in's user is named only.
		if !Can(store.RoleAuditor, PermViewUsers) {
			auditor := a.user("auditor@sentinel.demo")
			page := a.signedIn("auditor@sentinel.demo").get("/audit?action=auth.login")
			if !strings.Contains(page.Body, auditor.ID) || strings.Contains(page.Body, `href="/settings/users/`+auditor.ID+`"`) {
				t.Errorf("an auditor's trail links a user's page, or does not name the user")
			}
		}
		// A type without a page is named, not linked.
		tn := a.tenantOf("admin@sentinel.demo")
		if err := store.Record(context.Background(), tn, store.Actor{Email: "bot@x.test"}, store.Event{Action: "test.tick", ObjectType: "clock", ObjectID: "c-17"}); err != nil {
			t.Fatal(err)
		}
		page = a.signedIn("auditor@sentinel.demo").get("/audit?action=test.tick")
		if !strings.Contains(page.Body, "c-17") || strings.Contains(page.Body, `href="c-17"`) || strings.Contains(page.Body, `/c-17"`) {
			t.Errorf("an object without a page:\n%.3000s", page.Body)
		}
	})
}

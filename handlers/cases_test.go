package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// openCaseWith opens a case in email's tenant, as email, at now.
func (a *testApp) openCaseWith(email string, in store.CaseInput, now time.Time) *store.Case {
	a.t.Helper()
	u := a.user(email)
	if in.Title == "" {
		in.Title = "test case"
	}
	if in.Priority == "" {
		in.Priority = store.PriorityHigh
	}
	c, err := store.OpenCase(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{UserID: u.ID, Email: u.Email}, in, now)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// openCase opens a case of the demo tenant with these transactions and
// returns its id.
func (a *testApp) openCase(txIDs ...string) string {
	return a.openCaseWith("admin@sentinel.demo", store.CaseInput{TransactionIDs: txIDs}, time.Now()).ID
}

// openCaseWithAccount opens a demo case with a transaction and an account.
func (a *testApp) openCaseWithAccount(txID, account string) string {
	return a.openCaseWith("admin@sentinel.demo", store.CaseInput{TransactionIDs: []string{txID}, Accounts: []string{account}}, time.Now()).ID
}

// closedCase opens and closes a demo case and returns its id.
func (a *testApp) closedCase() string {
	id := a.openCase()
	u := a.user("admin@sentinel.demo")
	_, _, err := store.CloseCase(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{UserID: u.ID, Email: u.Email}, id,
		store.CloseInput{Outcome: store.OutcomeNoAction, Summary: "closed for a test"}, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

var caseLocation = regexp.MustCompile(`^/cases/([0-9a-f-]{36})$`)

// htmx makes b's next requests as htmx does.
func (b *browser) htmx(on bool) {
	if on {
		b.header.Set("HX-Request", "true")
	} else {
		b.header.Del("HX-Request")
	}
}

func TestCaseFromOpeningToClosing(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start}
	eachClockedApp(t, clk, func(t *testing.T, a *testApp) {
		clk.Set(start) // each database's run starts at the same time
		ids := a.scoreN("analyst@sentinel.demo", 3, "case")
		b := a.signedIn("analyst@sentinel.demo")
		analyst := a.user("analyst@sentinel.demo")

		t.Run("the transaction page opens a case with it and its accounts", func(t *testing.T) {
			page := b.get("/transactions/" + ids[0])
			if !strings.Contains(page.Body, `data-testid="open-case"`) || !strings.Contains(page.Body, "/cases/new?account=C0&amp;account=C999&amp;transaction_id="+ids[0]) {
				t.Fatalf("transaction page has no open-case link:\n%.2000s", page.Body)
			}
			form := b.get("/cases/new?transaction_id=" + ids[0] + "&account=C0&account=C999")
			if form.Status != http.StatusOK || !strings.Contains(form.Body, `value="`+ids[0]+`" checked`) || !strings.Contains(form.Body, "high 1 d") {
				t.Fatalf("new case form = %d\n%.3000s", form.Status, form.Body)
			}
		})

		res := b.post("/cases", url.Values{"title": {"Mule ring <b>C999</b>"}, "priority": {store.PriorityHigh}, "description": {"Three transfers"},
			"assignee": {analyst.ID}, "transaction_id": {ids[0], ids[1]}, "account": {"C999"}}, true)
		m := caseLocation.FindStringSubmatch(res.Header.Get("Location"))
		if res.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("POST /cases = %d %q\n%.2000s", res.Status, res.Header.Get("Location"), res.Body)
		}
		id := m[1]
		path := "/cases/" + id

		t.Run("the case page shows the due time the server computed", func(t *testing.T) {
			page := b.get(path)
			for _, want := range []string{"Mule ring &lt;b&gt;C999&lt;/b&gt;", "2026-11-03 09:00 UTC", "due in 1 d", "Alex Analyst", "case-0", "case-1", "C999", "not on a watchlist"} {
				if !strings.Contains(page.Body, want) {
					t.Errorf("case page lacks %q", want)
				}
			}
			if n := strings.Count(page.Body, `data-testid="case-tx"`); n != 2 {
				t.Errorf("linked transactions = %d, want 2", n)
			}
		})

		b.htmx(true)
		t.Run("a note swaps the case with the note and a timeline entry", func(t *testing.T) {
			res := b.post(path+"/notes", url.Values{"content": {"Called the bank."}}, true)
			if res.Status != http.StatusOK || strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `id="case-body"`) ||
				!strings.Contains(res.Body, "Called the bank.") || !strings.Contains(res.Body, "Note added.") {
				t.Fatalf("note = %d\n%.2000s", res.Status, res.Body)
			}
			res = b.post(path+"/notes", url.Values{"content": {"  "}}, true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Write the note.") {
				t.Errorf("empty note = %d\n%.1000s", res.Status, res.Body)
			}
		})
		t.Run("waiting pauses the clock, the page says so, and resuming adds the pause", func(t *testing.T) {
			clk.Set(start.Add(2 * time.Hour))
			if res := b.post(path+"/status", url.Values{"status": {store.CaseWaiting}}, true); res.Status != http.StatusOK ||
				!strings.Contains(res.Body, "clock paused while waiting: 22 h left") {
				t.Fatalf("waiting = %d\n%.3000s", res.Status, res.Body)
			}
			clk.Set(start.Add(12 * time.Hour))
			res := b.post(path+"/status", url.Values{"status": {store.CaseInvestigating}}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "2026-11-03 19:00 UTC") || !strings.Contains(res.Body, "due in 22 h") {
				t.Fatalf("resume = %d\n%.3000s", res.Status, res.Body)
			}
		})
		t.Run("a refused move answers 422 with the reason", func(t *testing.T) {
			res := b.post(path+"/status", url.Values{"status": {store.CaseOpen}}, true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "cannot move to that status") {
				t.Errorf("investigating → open = %d\n%.1000s", res.Status, res.Body)
			}
		})
		t.Run("a priority change recomputes the due time from the opening", func(t *testing.T) {
			res := b.post(path+"/priority", url.Values{"priority": {store.PriorityCritical}}, true)
			// Opened 09:00 + 4 h + the 10 h pause.
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "2026-11-02 23:00 UTC") {
				t.Fatalf("priority = %d\n%.3000s", res.Status, res.Body)
			}
		})
		t.Run("links are added and removed on the page", func(t *testing.T) {
			ext := "case-2"
			if res := b.post(path+"/transactions", url.Values{"transaction_id": {ext}}, true); res.Status != http.StatusOK || strings.Count(res.Body, `data-testid="case-tx"`) != 3 {
				t.Fatalf("link by external id = %d\n%.2000s", res.Status, res.Body)
			}
			if res := b.post(path+"/transactions", url.Values{"transaction_id": {ext}}, true); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("link twice = %d", res.Status)
			}
			if res := b.post(path+"/transactions/"+ids[1]+"/remove", url.Values{}, true); res.Status != http.StatusOK || strings.Count(res.Body, `data-testid="case-tx"`) != 2 {
				t.Errorf("unlink = %d", res.Status)
			}
			if res := b.post(path+"/accounts", url.Values{"account": {"C0"}}, true); res.Status != http.StatusOK || strings.Count(res.Body, `data-testid="case-account"`) != 2 {
				t.Errorf("link account = %d", res.Status)
			}
			if res := b.post(path+"/accounts/C0/remove", url.Values{}, true); res.Status != http.StatusOK || strings.Count(res.Body, `data-testid="case-account"`) != 1 {
				t.Errorf("unlink account = %d", res.Status)
			}
		})
		t.Run("closing as confirmed fraud decides the undecided transactions", func(t *testing.T) {
			res := b.post(path+"/close", url.Values{"outcome": {store.OutcomeConfirmedFraud}, "summary": {""}}, true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Write the summary.") {
				t.Fatalf("close without summary = %d\n%.1000s", res.Status, res.Body)
			}
			res = b.post(path+"/close", url.Values{"outcome": {store.OutcomeConfirmedFraud}, "summary": {"Ring confirmed with the bank."}, "apply_decision": {"1"}}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "recorded on 2 undecided transactions") || !strings.Contains(res.Body, `data-testid="case-outcome"><strong>Confirmed fraud`) {
				t.Fatalf("close = %d\n%.3000s", res.Status, res.Body)
			}
			for _, tx := range []string{ids[0], ids[2]} {
				if page := b.get("/transactions/" + tx); !strings.Contains(page.Body, "Case #1 closed: Ring confirmed with the bank.") {
					t.Errorf("transaction %s lacks the case's decision", tx)
				}
			}
			if page := b.get("/transactions/" + ids[1]); strings.Contains(page.Body, "Case #1 closed") {
				t.Error("the unlinked transaction was decided")
			}
		})
		t.Run("analysts cannot reopen; the timeline holds every change", func(t *testing.T) {
			if res := b.post(path+"/reopen", url.Values{}, true); res.Status != http.StatusForbidden {
				t.Errorf("analyst reopen = %d, want 403", res.Status)
			}
			b.htmx(false)
			page := b.get(path)
			want := []string{"Opened", "Assignee", "Transaction added", "Transaction added", "Account added", "Note", "Status", "Status",
				"Priority", "Transaction added", "Transaction removed", "Account added", "Account removed", "Status", "Closed with outcome", "Decision applied"}
			got := regexp.MustCompile(`data-testid="case-event"><div class="muted small">[^<]*<strong>[^<]*</strong></div><div>([A-Za-z ]+)`).FindAllStringSubmatch(page.Body, -1)
			var kinds []string
			for _, g := range got {
				kinds = append(kinds, strings.TrimSpace(g[1]))
			}
			if strings.Join(kinds, "|") != strings.Join(want, "|") {
				t.Errorf("timeline = %v\nwant %v", kinds, want)
			}
			actions := a.auditActions("analyst@sentinel.demo")
			for action, n := range map[string]int{"case.opened": 1, "case.note": 1, "case.status": 3, "case.closed": 1, store.ActionDecision: 2} {
				if got := count(actions, action); got != n {
					t.Errorf("audit %s = %d, want %d", action, got, n)
				}
			}
		})
	})
}

func TestCaseOverdueAndBreachRecordedOnce(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start}
	eachClockedApp(t, clk, func(t *testing.T, a *testApp) {
		clk.Set(start)
		c := a.openCaseWith("senior@sentinel.demo", store.CaseInput{Title: "Takeover", Priority: store.PriorityCritical}, start)
		b := a.signedIn("auditor@sentinel.demo")
		clk.Set(start.Add(3 * time.Hour))
		list := b.get("/cases")
		if !strings.Contains(list.Body, "due in 1 h") || !strings.Contains(list.Body, `data-testid="count-overdue"><span class="label">Overdue</span> <span class="value mono">0`) {
			t.Fatalf("before due:\n%.4000s", list.Body)
		}
		clk.Set(start.Add(5*time.Hour + 30*time.Minute))
		for range 3 {
			list = b.get("/cases?overdue=1")
		}
		if !strings.Contains(list.Body, "overdue by 1 h 30 min") || !strings.Contains(list.Body, `<span class="label">Overdue</span> <span class="value mono">1`) ||
			!strings.Contains(list.Body, "Takeover") {
			t.Fatalf("overdue list:\n%.4000s", list.Body)
		}
		page := b.get("/cases/" + c.ID)
		page = b.get("/cases/" + c.ID)
		if n := strings.Count(page.Body, "SLA breached"); n != 1 {
			t.Errorf("breaches on the timeline = %d, want 1", n)
		}
		if n := count(a.auditActions("admin@sentinel.demo"), "case.sla_breached"); n != 1 {
			t.Errorf("breach audit events = %d, want 1", n)
		}
		if strings.Contains(page.Body, `data-testid="case-note-form"`) || strings.Contains(page.Body, `data-testid="case-close-form"`) {
			t.Error("the auditor sees forms that change the case")
		}
	})
}

func TestCaseListFiltersAndCounts(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		now := time.Now()
		analyst := a.user("analyst@sentinel.demo")
		a.openCaseWith("admin@sentinel.demo", store.CaseInput{Title: "Alpha mule", Priority: store.PriorityCritical, AssigneeID: analyst.ID}, now)
		a.openCaseWith("admin@sentinel.demo", store.CaseInput{Title: "Beta takeover", Priority: store.PriorityLow}, now)
		a.openCaseWith("admin@acme.demo", store.CaseInput{Title: "Acme secret"}, now)
		b := a.signedIn("analyst@sentinel.demo")
		for _, tc := range []struct {
			query      string
			want, not_ []string
		}{
			{"", []string{"Alpha mule", "Beta takeover"}, []string{"Acme secret"}},
			{"?assignee=me", []string{"Alpha mule"}, []string{"Beta takeover"}},
			{"?assignee=none", []string{"Beta takeover"}, []string{"Alpha mule"}},
			{"?assignee=" + analyst.ID, []string{"Alpha mule"}, []string{"Beta takeover"}},
			{"?priority=low", []string{"Beta takeover"}, []string{"Alpha mule"}},
			{"?q=MULE", []string{"Alpha mule"}, []string{"Beta takeover"}},
			{"?status=closed", nil, []string{"Alpha mule", "Beta takeover"}},
		} {
			res := b.get("/cases" + tc.query)
			if res.Status != http.StatusOK {
				t.Fatalf("GET /cases%s = %d", tc.query, res.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Body, w) {
					t.Errorf("/cases%s lacks %q", tc.query, w)
				}
			}
			for _, w := range tc.not_ {
				if strings.Contains(res.Body, w) {
					t.Errorf("/cases%s shows %q", tc.query, w)
				}
			}
		}
		res := b.get("/cases")
		for id, n := range map[string]string{"count-open": "2", "count-critical": "1", "count-unassigned": "1", "count-mine": "1", "count-overdue": "0"} {
			if !regexp.MustCompile(`data-testid="` + id + `"><span class="label">[A-Za-z]+</span> <span class="value mono">` + n + `<`).MatchString(res.Body) {
				t.Errorf("count %s is not %s", id, n)
			}
		}
		if !strings.Contains(res.Body, `href="/cases">Cases</a>`) && !strings.Contains(res.Body, `>Cases</a>`) {
			t.Error("the navigation has no Cases link")
		}
		// A user of another tenant in the filter is not found.
		if res := b.get("/cases?assignee=" + a.user("analyst@acme.demo").ID); res.Status != http.StatusNotFound {
			t.Errorf("filter by another tenant's user = %d, want 404", res.Status)
		}
	})
}

func TestCasesOfAnotherTenantAreNotFound(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		acmeTx := a.scoreN("admin@acme.demo", 1, "acme")[0]
		ours := a.scoreN("admin@sentinel.demo", 1, "ours")[0]
		acmeAdmin := a.user("admin@acme.demo")
		// An account only acme knows (on its watchlist).
		if _, err := store.AddWatch(context.Background(), store.ForTenant(a.db, acmeAdmin.TenantID), store.Actor{Email: "test"},
			store.WatchInput{Account: "ONLYACME", Kind: store.WatchBlocked, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		acme := a.openCaseWith("admin@acme.demo", store.CaseInput{Title: "Acme secret case", TransactionIDs: []string{acmeTx}, Accounts: []string{"ONLYACME"}}, time.Now())
		mine := a.openCase(ours)
		b := a.signedIn("admin@sentinel.demo")
		b.get("/cases")
		other := "/cases/" + acme.ID
		for _, r := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", other, nil},
			{"POST", other + "/notes", url.Values{"content": {"x"}}},
			{"POST", other + "/status", url.Values{"status": {store.CaseInvestigating}}},
			{"POST", other + "/priority", url.Values{"priority": {store.PriorityLow}}},
			{"POST", other + "/assign", url.Values{"assignee": {""}}},
			{"POST", other + "/close", url.Values{"outcome": {store.OutcomeNoAction}, "summary": {"x"}}},
			{"POST", other + "/reopen", url.Values{}},
			{"POST", other + "/transactions", url.Values{"transaction_id": {ours}}},
			{"POST", other + "/transactions/" + acmeTx + "/remove", url.Values{}},
			{"POST", other + "/accounts", url.Values{"account": {"C0"}}},
			{"POST", other + "/accounts/C0/remove", url.Values{}},
			// Our case, their ids in a field.
			{"POST", "/cases/" + mine + "/transactions", url.Values{"transaction_id": {acmeTx}}},
			{"POST", "/cases/" + mine + "/transactions", url.Values{"transaction_id": {"acme-0"}}},
			{"POST", "/cases/" + mine + "/assign", url.Values{"assignee": {a.user("analyst@acme.demo").ID}}},
			{"POST", "/cases", url.Values{"title": {"x"}, "priority": {"low"}, "transaction_id": {acmeTx}}},
			{"POST", "/cases", url.Values{"title": {"x"}, "priority": {"low"}, "assignee": {a.user("analyst@acme.demo").ID}}},
			{"POST", "/cases", url.Values{"title": {"x"}, "priority": {"low"}, "account": {"ONLYACME"}}},
			{"POST", "/cases/new", url.Values{"id": {acmeTx}}},
			{"GET", "/cases/new?transaction_id=" + acmeTx, nil},
		} {
			var res response
			if r.method == "GET" {
				res = b.get(r.path)
			} else {
				res = b.post(r.path, r.form, true)
			}
			if res.Status != http.StatusNotFound || strings.Contains(res.Body, "Acme secret") {
				t.Errorf("%s %s %v = %d, want 404\n%.300s", r.method, r.path, r.form, res.Status, res.Body)
			}
		}
		if res := b.post("/cases/"+mine+"/accounts", url.Values{"account": {"ONLYACME"}}, true); res.Status != http.StatusNotFound {
			t.Errorf("link an account only acme knows = %d, want 404", res.Status)
		}
		if n := count(a.auditActions("admin@acme.demo"), "case.note"); n != 0 {
			t.Errorf("acme's case got %d notes", n)
		}
	})
}

func TestCaseAssignment(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		analyst, senior, auditor := a.user("analyst@sentinel.demo"), a.user("senior@sentinel.demo"), a.user("auditor@sentinel.demo")
		an := a.signedIn("analyst@sentinel.demo")
		an.get("/cases")
		se := a.signedIn("senior@sentinel.demo")
		se.get("/cases")
		id := a.openCase()
		for _, tc := range []struct {
			name string
			b    *browser
			to   string
			want int
		}{
			{"an analyst cannot give a case to someone else", an, senior.ID, http.StatusForbidden},
			{"an analyst takes an unassigned case", an, analyst.ID, http.StatusSeeOther},
			{"a senior gives it to someone else", se, senior.ID, http.StatusSeeOther},
			{"an analyst cannot take it from them", an, analyst.ID, http.StatusForbidden},
			{"an analyst cannot unassign someone else", an, "", http.StatusForbidden},
			{"an auditor is no assignee", se, auditor.ID, http.StatusUnprocessableEntity},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if res := tc.b.post("/cases/"+id+"/assign", url.Values{"assignee": {tc.to}}, true); res.Status != tc.want {
					t.Errorf("assign = %d, want %d\n%.300s", res.Status, tc.want, res.Body)
				}
			})
		}
		if res := an.post("/cases", url.Values{"title": {"x"}, "priority": {"low"}, "assignee": {senior.ID}}, true); res.Status != http.StatusForbidden {
			t.Errorf("analyst opens a case for a senior = %d, want 403", res.Status)
		}
		page := an.get("/cases/new")
		if strings.Contains(page.Body, senior.ID) || !strings.Contains(page.Body, analyst.ID) {
			t.Error("the analyst's assignee picker offers others, or not themselves")
		}
	})
}

func TestCaseEntryPoints(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 3, "entry")
		b := a.signedIn("analyst@sentinel.demo")
		inv := b.get("/investigate?decision=any")
		if !strings.Contains(inv.Body, `data-testid="case-selected"`) || !strings.Contains(inv.Body, `type="checkbox" name="id"`) {
			t.Fatalf("investigate has no open-case action for analysts:\n%.500s", inv.Body)
		}
		res := b.post("/cases/new", url.Values{"id": {ids[0], ids[2]}, "decision": {""}}, true)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "Investigation of 2 transactions") ||
			!strings.Contains(res.Body, `value="`+ids[2]+`" checked`) {
			t.Errorf("open a case with the selected rows = %d\n%.1500s", res.Status, res.Body)
		}
		if e := b.get("/entities/C999"); !strings.Contains(e.Body, `href="/cases/new?account=C999"`) {
			t.Error("the entity page has no open-case link")
		}
		au := a.signedIn("auditor@sentinel.demo")
		for _, p := range []string{"/transactions/" + ids[0], "/entities/C999", "/investigate?decision=any", "/cases"} {
			if page := au.get(p); strings.Contains(page.Body, `data-testid="open-case"`) || strings.Contains(page.Body, `data-testid="case-selected"`) ||
				strings.Contains(page.Body, `data-testid="case-new"`) {
				t.Errorf("the auditor is offered to open a case on %s", p)
			}
		}
	})
}

func TestSLAPolicyPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("admin@sentinel.demo")
		page := b.get("/settings/sla")
		if !strings.Contains(page.Body, `name="critical" value="4"`) || !strings.Contains(page.Body, `name="low" value="168"`) {
			t.Fatalf("SLA page lacks the defaults:\n%.2000s", page.Body)
		}
		if res := b.post("/settings/sla", url.Values{"critical": {"0"}, "high": {"24"}, "medium": {"72"}, "low": {"168"}}, true); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("0 hours = %d, want 422", res.Status)
		}
		if res := b.post("/settings/sla", url.Values{"critical": {"2"}, "high": {"24"}, "medium": {"72"}, "low": {"168"}}, true); res.Status != http.StatusSeeOther ||
			res.Header.Get("Location") != "/settings/sla" {
			t.Fatalf("save = %d to %q, want 303 to the SLA page", res.Status, res.Header.Get("Location"))
		}
		if page := b.get("/settings/sla"); !strings.Contains(page.Body, "SLA policy saved") || !strings.Contains(page.Body, `name="critical" value="2"`) {
			t.Fatalf("the SLA page after the save lacks its notice or the new hours:\n%.2000s", page.Body)
		}
		if page := b.get("/settings/sla"); strings.Contains(page.Body, "SLA policy saved") {
			t.Errorf("the save's notice is shown twice")
		}
		now := time.Now().UTC().Truncate(time.Second)
		c := a.openCaseWith("analyst@sentinel.demo", store.CaseInput{Priority: store.PriorityCritical}, now)
		if !c.DueAt.Equal(now.Add(2 * time.Hour)) {
			t.Errorf("due = %v, want %v", c.DueAt, now.Add(2*time.Hour))
		}
		other := a.openCaseWith("analyst@acme.demo", store.CaseInput{Priority: store.PriorityCritical}, now)
		if !other.DueAt.Equal(now.Add(4 * time.Hour)) {
			t.Errorf("acme's due = %v, want the default 4 h", other.DueAt)
		}
		if n := count(a.auditActions("admin@sentinel.demo"), store.ActionSLAPolicy); n != 1 {
			t.Errorf("SLA audit events = %d, want 1", n)
		}
	})
}

package handlers

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// watchEntries reads the demo tenant's watchlist, by account.
func (a *testApp) watchEntries(email string) map[string]store.WatchRow {
	a.t.Helper()
	rows, err := store.ListWatchlist(context.Background(), store.ForTenant(a.db, a.user(email).TenantID), store.WatchFilter{Limit: 500})
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[string]store.WatchRow{}
	for _, r := range rows {
		out[r.Account] = r
	}
	return out
}

func TestWatchlistFormsAddReplaceAndRemove(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const senior = "senior@sentinel.demo"
		b := a.signedIn(senior)
		b.get("/watchlists")
		for _, tc := range []struct {
			name         string
			form         url.Values
			wantStatus   int
			wantContains []string
			wantKind     string
		}{
			{"adds an account to the blocked list", url.Values{"account": {"  C-MULE-1 "}, "list": {"blocked"}, "reason": {"mule network"}},
				http.StatusCreated, []string{"C-MULE-1 is on the blocked list now.", "Its new transactions are critical from now on"}, "blocked"},
			{"replaces the blocked entry with a trusted one and says so", url.Values{"account": {"C-MULE-1"}, "list": {"trusted"}, "reason": {"cleared: payroll"}},
				http.StatusCreated, []string{"C-MULE-1 is on the trusted list now.", "It was on the blocked list (“mule network”): an account is on one list at most, so that entry is replaced."}, "trusted"},
			{"refuses an empty reason", url.Values{"account": {"C-2"}, "list": {"blocked"}, "reason": {"  "}},
				http.StatusUnprocessableEntity, []string{"Write the reason"}, ""},
			{"refuses an unknown list", url.Values{"account": {"C-2"}, "list": {"grey"}, "reason": {"x"}},
				http.StatusUnprocessableEntity, []string{"Choose a list"}, ""},
			{"refuses an expiry in the past", url.Values{"account": {"C-2"}, "list": {"blocked"}, "reason": {"x"}, "expires_at": {"2001-01-01"}},
				http.StatusUnprocessableEntity, []string{"The expiry is in the past"}, ""},
			{"refuses an expiry it cannot read", url.Values{"account": {"C-2"}, "list": {"blocked"}, "reason": {"x"}, "expires_at": {"next week"}},
				http.StatusUnprocessableEntity, []string{"Write the expiry as a date"}, ""},
			{"refuses a reason with a bidirectional control", url.Values{"account": {"C-2"}, "list": {"blocked"}, "reason": {"ok\u202Eevil"}},
				http.StatusUnprocessableEntity, []string{"bidirectional control"}, ""},
			{"refuses an account with a control character", url.Values{"account": {"C-\u200B2"}, "list": {"blocked"}, "reason": {"x"}},
				http.StatusUnprocessableEntity, []string{"The account must not contain control"}, ""},
			{"keeps an expiry", url.Values{"account": {"C-3"}, "list": {"blocked"}, "reason": {"for a month"}, "expires_at": {time.Now().AddDate(0, 1, 0).Format("2006-01-02")}},
				http.StatusCreated, []string{"C-3 is on the blocked list now, until"}, "blocked"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := b.post("/watchlists", tc.form, true)
				if res.Status != tc.wantStatus {
					t.Fatalf("POST /watchlists = %d, want %d\n%.400s", res.Status, tc.wantStatus, res.Body)
				}
				for _, want := range tc.wantContains {
					if !strings.Contains(html.UnescapeString(res.Body), want) {
						t.Errorf("answer lacks %q", want)
					}
				}
				if tc.wantKind != "" {
					acc := strings.TrimSpace(tc.form.Get("account"))
					if got := a.watchEntries(senior)[acc]; got.Kind != tc.wantKind || got.Reason != tc.form.Get("reason") {
						t.Errorf("entry of %s = %+v, want %s", acc, got.WatchlistEntry, tc.wantKind)
					}
				}
			})
		}
		entries := a.watchEntries(senior)
		if len(entries) != 2 {
			t.Fatalf("entries = %v, want C-MULE-1 and C-3", entries)
		}
		if e := entries["C-MULE-1"]; e.CreatorEmail != senior {
			t.Errorf("C-MULE-1 added by %q, want %s", e.CreatorEmail, senior)
		}
		t.Run("lists the entries with who added them, filtered", func(t *testing.T) {
			for _, c := range []struct {
				query        string
				want, absent []string
			}{
				{"", []string{"C-MULE-1", "C-3", "Sam Senior"}, nil},
				{"?list=trusted", []string{"C-MULE-1"}, []string{">C-3<"}},
				{"?reason=PAYROLL", []string{"C-MULE-1"}, []string{">C-3<"}},
				{"?account=c-3", []string{">C-3<"}, []string{"C-MULE-1"}},
				{"?reason=%25", nil, []string{"C-MULE-1", ">C-3<"}},
			} {
				res := b.get("/watchlists" + c.query)
				for _, w := range c.want {
					if !strings.Contains(res.Body, w) {
						t.Errorf("GET /watchlists%s lacks %q", c.query, w)
					}
				}
				for _, w := range c.absent {
					if strings.Contains(res.Body, w) {
						t.Errorf("GET /watchlists%s shows %q", c.query, w)
					}
				}
			}
		})
		t.Run("removes an entry after a confirmation", func(t *testing.T) {
			id := entries["C-3"].ID
			if res := b.get("/watchlists/" + id + "/delete"); res.Status != http.StatusOK || !strings.Contains(res.Body, "from the watchlist?") {
				t.Fatalf("confirmation = %d\n%.300s", res.Status, res.Body)
			}
			res := b.post("/watchlists/"+id+"/delete", url.Values{}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "C-3 is off the blocked list.") {
				t.Fatalf("removal = %d\n%.300s", res.Status, res.Body)
			}
			if _, ok := a.watchEntries(senior)["C-3"]; ok {
				t.Error("C-3 is still on the watchlist")
			}
			if res := b.post("/watchlists/"+id+"/delete", url.Values{}, true); res.Status != http.StatusNotFound {
				t.Errorf("second removal = %d, want 404", res.Status)
			}
		})
		t.Run("writes every change in the audit trail", func(t *testing.T) {
			actions := a.auditActions(senior)
			if n, m := count(actions, store.ActionWatchAdd), count(actions, store.ActionWatchRemove); n != 3 || m != 1 {
				t.Errorf("audit: %d adds and %d removals, want 3 and 1", n, m)
			}
		})
		t.Run("refuses a form without the CSRF token", func(t *testing.T) {
			res := b.post("/watchlists", url.Values{"account": {"C-9"}, "list": {"blocked"}, "reason": {"x"}}, false)
			if res.Status != http.StatusForbidden {
				t.Errorf("POST without token = %d, want 403", res.Status)
			}
		})
		t.Run("answers 404 for another tenant's entry", func(t *testing.T) {
			other := a.signedIn("admin@acme.demo")
			other.get("/watchlists")
			id := entries["C-MULE-1"].ID
			for _, res := range []response{other.get("/watchlists/" + id + "/delete"), other.post("/watchlists/"+id+"/delete", url.Values{}, true)} {
				if res.Status != http.StatusNotFound || strings.Contains(res.Body, "C-MULE-1") {
					t.Errorf("another tenant's entry = %d", res.Status)
				}
			}
			if res := other.get("/watchlists"); strings.Contains(res.Body, "C-MULE-1") {
				t.Error("another tenant's watchlist lists the entry")
			}
		})
	})
}

func TestAnalystsCannotChangeWatchlists(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/watchlists")
		if page.Status != http.StatusOK || strings.Contains(page.Body, `data-testid="watch-form"`) || strings.Contains(page.Body, `data-testid="import-form"`) {
			t.Fatalf("analyst's watchlist page = %d, with forms to change it", page.Status)
		}
		id := watchEntry(a, 1)
		for _, res := range []response{
			b.post("/watchlists", url.Values{"account": {"C1"}, "list": {"blocked"}, "reason": {"x"}}, true),
			b.get("/watchlists/" + id + "/delete"),
			b.post("/watchlists/"+id+"/delete", url.Values{}, true),
			b.upload("/watchlists/import", nil, "w.csv", []byte("account,list,reason\nC1,blocked,x\n")),
		} {
			if res.Status != http.StatusForbidden {
				t.Errorf("an analyst's change = %d, want 403", res.Status)
			}
		}
		if n := len(a.watchEntries("analyst@sentinel.demo")); n != 1 {
			t.Errorf("entries = %d, want the one made for the test", n)
		}
	})
}

// A blocked account makes the next transaction critical through the API
// right after the form saved it; removing the entry, or its expiry, ends
// that.
func TestBlockedThroughTheFormIsCriticalAtOnce(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		payment := func(id, dest string) scoreResponse {
			t.Helper()
			body := `{"external_id":"` + id + `","step":10,"type":"PAYMENT","amount":50,"nameOrig":"C1","oldbalanceOrg":5000,"newbalanceOrig":4950,"nameDest":"` + dest + `","oldbalanceDest":0,"newbalanceDest":0}`
			res := a.api("POST", "/api/v1/score", key, body)
			if res.Status != http.StatusCreated {
				t.Fatalf("POST /api/v1/score = %d %s", res.Status, res.Body)
			}
			return decode[scoreResponse](t, res.Body)
		}
		if got := payment("before", "M-SHOP"); got.Band != "low" {
			t.Fatalf("before blocking: band %s, want low", got.Band)
		}
		b := a.signedIn("admin@sentinel.demo")
		b.get("/watchlists")
		if res := b.post("/watchlists", url.Values{"account": {"M-SHOP"}, "list": {"blocked"}, "reason": {"takeover cash-outs"}}, true); res.Status != http.StatusCreated {
			t.Fatalf("block = %d", res.Status)
		}
		if got := payment("after", "M-SHOP"); got.Band != "critical" || got.Override != scoring.ReasonBlocked {
			t.Errorf("right after blocking: band %s, override %q; want critical, %q", got.Band, got.Override, scoring.ReasonBlocked)
		}
		id := a.watchEntries("admin@sentinel.demo")["M-SHOP"].ID
		if res := b.post("/watchlists/"+id+"/delete", url.Values{}, true); res.Status != http.StatusOK {
			t.Fatalf("remove = %d", res.Status)
		}
		if got := payment("removed", "M-SHOP"); got.Band != "low" {
			t.Errorf("after removal: band %s, want low", got.Band)
		}
		// An entry past its expiry no longer applies (the form refuses a
		// past expiry, so the store writes one).
		past := time.Now().Add(-time.Minute)
		tn := store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID)
		if _, err := store.AddWatch(context.Background(), tn, store.Actor{Email: "test"},
			store.WatchInput{Account: "M-SHOP", Kind: store.WatchBlocked, Reason: "for a while", ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		if got := payment("expired", "M-SHOP"); got.Band != "low" {
			t.Errorf("after expiry: band %s, want low", got.Band)
		}
		if res := b.get("/watchlists"); !strings.Contains(res.Body, ">expired<") {
			t.Error("the watchlist does not show the entry as expired")
		}
	})
}

func TestWatchlistImport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const admin = "admin@sentinel.demo"
		watchEntry(a, 1) // ENTRY1, blocked: the file trusts it
		b := a.signedIn(admin)
		b.get("/watchlists")
		file := "\ufeffAccount,List,Reason,Expires_at\n" +
			"C-GOOD-1,blocked,mule,\n" +
			"C-GOOD-2,TRUSTED,payroll,2099-01-01\n" +
			"ENTRY1,trusted,cleared,\n" +
			",blocked,no account,\n" +
			"C-BAD-2,grey,unknown list,\n" +
			"C-BAD-3,blocked,,\n" +
			"C-BAD-4,blocked,old,2001-01-01\n" +
			"C-GOOD-1,trusted,twice,\n" +
			"'-C-QUOTED,blocked,'=exported,\n" +
			"\n"
		res := b.upload("/watchlists/import", nil, "list.csv", []byte(file))
		if res.Status != http.StatusOK {
			t.Fatalf("import = %d\n%.500s", res.Status, res.Body)
		}
		body := html.UnescapeString(res.Body)
		for _, want := range []string{"list.csv:", "3 accounts added, 1 entry replaced.",
			"line 5: Enter the account.", "line 6: Choose a list", "line 7: Write the reason", "line 8: The expiry is in the past",
			"line 9: The account is on line 2 already."} {
			if !strings.Contains(body, want) {
				t.Errorf("import report lacks %q", want)
			}
		}
		got := a.watchEntries(admin)
		for acc, kind := range map[string]string{"C-GOOD-1": "blocked", "C-GOOD-2": "trusted", "ENTRY1": "trusted", "-C-QUOTED": "blocked"} {
			if got[acc].Kind != kind {
				t.Errorf("%s = %q, want %s", acc, got[acc].Kind, kind)
			}
		}
		if got["-C-QUOTED"].Reason != "=exported" || got["C-GOOD-2"].ExpiresAt == nil {
			t.Errorf("entries read back wrong: %+v, %+v", got["-C-QUOTED"].WatchlistEntry, got["C-GOOD-2"].WatchlistEntry)
		}
		if len(got) != 4 {
			t.Errorf("entries = %d, want 4", len(got))
		}
		actions := a.auditActions(admin)
		if count(actions, store.ActionWatchImport) != 1 || count(actions, store.ActionWatchAdd) != 5 {
			t.Errorf("audit = %v, want one import and an add for each of the 4 lines saved (and the test's own)", actions)
		}
		for _, c := range []struct{ name, file, want string }{
			{"refuses a file without the header", "C1,blocked,x\n", "The first line must name the columns"},
			{"refuses a file with no good line", "account,list,reason\nC1,grey,x\n", "No line could be saved."},
			{"refuses a file that is not UTF-8", "account,list,reason\nC1,blocked,\xff\n", "not UTF-8"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := b.upload("/watchlists/import", nil, "bad.csv", []byte(c.file))
				if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, c.want) {
					t.Errorf("import = %d, want 422 with %q\n%.300s", res.Status, c.want, res.Body)
				}
			})
		}
		if n := len(a.watchEntries(admin)); n != 4 {
			t.Errorf("entries after refused files = %d, want 4", n)
		}
	})
}

func TestWatchlistExportIsSafeForSpreadsheets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		tn := store.ForTenant(a.db, a.user("analyst@sentinel.demo").TenantID)
		for _, in := range []store.WatchInput{
			{Account: "C-PLAIN", Kind: store.WatchTrusted, Reason: "payroll"},
			{Account: "-C-MINUS", Kind: store.WatchBlocked, Reason: "  =HYPERLINK(\"http://x\")"},
			{Account: "C-AT", Kind: store.WatchBlocked, Reason: "＠SUM(A1)"},
		} {
			if _, err := store.AddWatch(context.Background(), tn, store.Actor{Email: "test"}, in); err != nil {
				t.Fatal(err)
			}
		}
		b := a.signedIn("analyst@sentinel.demo")
		res := b.get("/watchlists/export?list=blocked")
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export = %d %v", res.Status, res.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, r := range recs[1:] {
			got[r[0]] = r
		}
		if len(recs) != 3 || got["'-C-MINUS"] == nil || got["'-C-MINUS"][2] != "'  =HYPERLINK(\"http://x\")" || got["C-AT"][2] != "'＠SUM(A1)" {
			t.Errorf("export rows = %q", recs)
		}
		if count(a.auditActions("analyst@sentinel.demo"), store.ActionWatchExport) != 1 {
			t.Error("the export is not in the audit trail")
		}
		// What was exported imports back as it was.
		admin := a.signedIn("admin@sentinel.demo")
		admin.get("/watchlists")
		if res := admin.upload("/watchlists/import", nil, "back.csv", []byte(res.Body)); res.Status != http.StatusOK {
			t.Fatalf("import of the export = %d\n%.400s", res.Status, res.Body)
		}
		// (The form and the import trim a reason's leading spaces.)
		if e := a.watchEntries("admin@sentinel.demo")["-C-MINUS"]; e.Reason != "=HYPERLINK(\"http://x\")" {
			t.Errorf("round trip: %+v", e.WatchlistEntry)
		}
	})
}

// Blocking an account flags its undecided transactions in the queue
// without rescoring them; a trusted account is marked in the queue and on
// the transaction page.
func TestWatchlistInTheQueue(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const analyst = "analyst@sentinel.demo"
		low := a.scoreOne(analyst, "flag-1", smallPayment(120)) // C300 → M400, low, not in the review set
		pay := a.scoreOne(analyst, "flag-2", scoring.Transaction{Step: 10, Type: "PAYMENT", Amount: 80, NameOrig: "C301",
			OldBalanceOrg: 5000, NewBalanceOrig: 4920, NameDest: "M-PAYROLL"})
		senior := a.signedIn("senior@sentinel.demo")
		senior.get("/watchlists")
		for _, f := range []url.Values{
			{"account": {"M400"}, "list": {"blocked"}, "reason": {"cash-out point"}},
			{"account": {"M-PAYROLL"}, "list": {"trusted"}, "reason": {"payroll"}},
		} {
			if res := senior.post("/watchlists", f, true); res.Status != http.StatusCreated {
				t.Fatalf("add = %d", res.Status)
			}
		}
		b := a.signedIn(analyst)
		review := b.get("/queue")
		if strings.Contains(review.Body, "/transactions/"+low) {
			t.Error("the low transaction entered the review set: it was rescored")
		}
		flagged := b.get("/queue?view=review&watch=blocked")
		if !strings.Contains(flagged.Body, "/transactions/"+low) || !strings.Contains(flagged.Body, "blocked receiver") || strings.Contains(flagged.Body, "/transactions/"+pay) {
			t.Errorf("review view, blocked accounts: the undecided transaction of M400 is missing or marked wrong")
		}
		if p := a.prediction(analyst, low); p.Band != "low" {
			t.Errorf("band of the flagged transaction = %s, want it kept", p.Band)
		}
		all := b.get("/queue?view=all&watch=trusted")
		if !strings.Contains(all.Body, "/transactions/"+pay) || !strings.Contains(all.Body, "trusted receiver") || strings.Contains(all.Body, "/transactions/"+low) {
			t.Error("view of all, trusted accounts: wrong rows")
		}
		page := b.get("/transactions/" + pay)
		if !strings.Contains(page.Body, `data-testid="receiver-watch">trusted now`) || !strings.Contains(page.Body, `href="/entities/M-PAYROLL"`) {
			t.Error("the transaction page does not mark the trusted receiver or link it to its profile")
		}
	})
}

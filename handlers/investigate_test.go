package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

var invRowRe = regexp.MustCompile(`data-testid="investigate-row"`)

// statOf reads one statistic of an investigate page.
func statOf(body, testID string) string {
	m := regexp.MustCompile(`data-testid="` + testID + `">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestInvestigatePage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.scoreN("analyst@sentinel.demo", 60, "inv") // 20 critical transfers to C999, 40 low payments to M1
		a.scoreN("analyst@acme.demo", 7, "other")
		b := a.signedIn("analyst@sentinel.demo")
		cases := []struct {
			name         string
			query        string
			wantStatus   int
			wantRows     int
			wantCount    string
			wantContains []string
		}{
			{"everything", "", 200, 50, "60", []string{`data-testid="page-next"`, `data-testid="histogram"`}},
			{"a type", "?type=TRANSFER", 200, 20, "20", nil},
			{"several types", "?type=TRANSFER&type=PAYMENT", 200, 50, "60", nil},
			{"a band", "?band=critical", 200, 20, "20", nil},
			{"an account, as receiver", "?account=C999", 200, 20, "20", nil},
			{"an account, exact", "?account=C1", 200, 1, "1", nil},
			{"an account prefix", "?account=C1*", 200, 11, "11", nil},
			{"an external id", "?external_id=inv-7", 200, 1, "1", nil},
			{"an amount range", "?min_amount=1000&max_amount=1030", 200, 11, "11", nil},
			{"a score range", "?min_score=0.5&max_score=1", 200, 20, "20", nil},
			{"undecided", "?decision=undecided", 200, 50, "60", nil},
			{"confirmed fraud", "?decision=confirmed_fraud", 200, 0, "0", []string{"Nothing matches these filters"}},
			{"the received days up to today", "?from=2020-01-01&to=" + time.Now().UTC().Format(time.DateOnly), 200, 50, "60", nil},
			{"received days before any", "?to=2020-01-01", 200, 0, "0", nil},
			{"a source", "?source=api", 200, 50, "60", nil},
			{"another source", "?source=upload", 200, 0, "0", nil},
			{"a queue view, by changing its path", "?view=review&band=critical&type=TRANSFER&sort=risk", 200, 20, "20", nil},
			{"sorted by amount, lowest first", "?sort=amount&dir=asc", 200, 50, "60", nil},
			{"another tenant's account finds nothing", "?account=C999&external_id=other-0", 200, 0, "0", nil},
			{"a bad score is refused, not guessed", "?min_score=2", 422, 50, "60", []string{"Min score must be a number from 0 to 1."}},
			{"a bad date is refused", "?from=yesterday", 422, 50, "60", []string{"From must be a date"}},
			{"an empty range is reported", "?min_amount=5&max_amount=1", 422, 0, "0", []string{"Min amount is above max amount."}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := b.get("/investigate" + tc.query)
				if res.Status != tc.wantStatus {
					t.Fatalf("GET /investigate%s = %d, want %d", tc.query, res.Status, tc.wantStatus)
				}
				if got := len(invRowRe.FindAllString(res.Body, -1)); got != tc.wantRows {
					t.Errorf("rows = %d, want %d", got, tc.wantRows)
				}
				if got := statOf(res.Body, "stat-count"); got != tc.wantCount {
					t.Errorf("count = %q, want %q", got, tc.wantCount)
				}
				for _, w := range tc.wantContains {
					if !strings.Contains(res.Body, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				if !strings.Contains(tc.query, "other-") && strings.Contains(res.Body, "other-") {
					t.Error("the page shows another tenant's transaction")
				}
			})
		}

		t.Run("statistics describe the whole set", func(t *testing.T) {
			res := b.get("/investigate?type=TRANSFER")
			// Transfers i = 0, 3, ..., 57 of 1,000 + i each: 20,000 + 570.
			if got := statOf(res.Body, "stat-amount"); got != "20,570.00" {
				t.Errorf("total amount = %q, want 20,570.00", got)
			}
			if got := statOf(res.Body, "stat-undecided"); got != "20" {
				t.Errorf("undecided = %q, want 20", got)
			}
		})
		t.Run("pages go both ways and rows link to the transaction and both accounts", func(t *testing.T) {
			first := b.get("/investigate?sort=amount")
			next := regexp.MustCompile(`href="(/investigate\?[^"]*after=[^"]+)"`).FindStringSubmatch(first.Body)
			if next == nil {
				t.Fatal("no link to the next page")
			}
			second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
			if got := len(invRowRe.FindAllString(second.Body, -1)); got != 10 {
				t.Fatalf("second page rows = %d, want 10", got)
			}
			prev := regexp.MustCompile(`href="(/investigate\?[^"]*before=[^"]+)"`).FindStringSubmatch(second.Body)
			if prev == nil {
				t.Fatal("no link to the previous page")
			}
			back := b.get(strings.ReplaceAll(prev[1], "&amp;", "&"))
			if txLinkRe.FindAllString(back.Body, -1)[0] != txLinkRe.FindAllString(first.Body, -1)[0] {
				t.Error("the page before the second is not the first")
			}
			for _, w := range []string{`href="/entities/C999"`, `href="/entities/M1"`, `href="/transactions/`} {
				if !strings.Contains(first.Body, w) {
					t.Errorf("rows lack the link %s", w)
				}
			}
		})
		t.Run("htmx gets the results alone", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/investigate?type=DEBIT", nil)
			req.Header.Set("HX-Request", "true")
			res := b.do(req)
			if res.Status != 200 || strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `data-testid="investigate-stats"`) {
				t.Fatalf("fragment = %d %.200s", res.Status, res.Body)
			}
			// The form's empty fields stay out of the address htmx pushes.
			req, _ = http.NewRequest(http.MethodGet, a.srv.URL+"/investigate?account=&type=DEBIT&decision=any&min_amount=&sort=time&dir=desc", nil)
			req.Header.Set("HX-Request", "true")
			if got := b.do(req).Header.Get("HX-Push-Url"); got != "/investigate?type=DEBIT" {
				t.Errorf("HX-Push-Url = %q, want /investigate?type=DEBIT", got)
			}
		})
		t.Run("analysts export but do not decide in bulk", func(t *testing.T) {
			res := b.get("/investigate")
			if !strings.Contains(res.Body, `data-testid="export"`) || strings.Contains(res.Body, `data-testid="bulk-form"`) {
				t.Error("an analyst's page lacks the export or offers the bulk form")
			}
			senior := a.signedIn("senior@sentinel.demo").get("/investigate?type=TRANSFER")
			if !strings.Contains(senior.Body, `href="/investigate/export.csv?type=TRANSFER"`) || !strings.Contains(senior.Body, `data-testid="bulk-form"`) {
				t.Error("a senior analyst's page lacks the export link or the bulk form")
			}
		})
	})
}

func TestSimilarTransactionsOpenInInvestigate(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 9, "sim")
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/transactions/" + ids[3]) // a critical transfer of 1,003
		m := regexp.MustCompile(`href="([^"]+)" data-testid="similar-investigate"`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatal("the similar transactions have no link to investigate")
		}
		href := strings.ReplaceAll(m[1], "&amp;", "&")
		u := mustURL(href)
		want := url.Values{"type": {"TRANSFER"}, "band": {"critical"}, "min_amount": {"501.5"}, "max_amount": {"1504.5"}}
		if u.Path != "/investigate" || u.Query().Encode() != want.Encode() {
			t.Fatalf("link = %s, want /investigate?%s", href, want.Encode())
		}
		res := b.get(href)
		// Transfers 0, 3 and 6 (1,000, 1,003, 1,006), itself included.
		if got := len(invRowRe.FindAllString(res.Body, -1)); got != 3 {
			t.Fatalf("investigate with the similar criteria = %d rows, want 3", got)
		}
	})
}

// bulkPost posts the bulk form with the page's CSRF token.
func bulkPost(b *browser, form url.Values) response {
	b.get("/investigate")
	return b.post("/investigate/bulk", form, true)
}

func TestInvestigateBulkDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestAppWith(t, db, Config{BulkLimit: 25})
		ids := a.scoreN("analyst@sentinel.demo", 60, "bulk")
		other := a.scoreN("analyst@acme.demo", 2, "other")
		tn := store.ForTenant(a.db, a.user("analyst@sentinel.demo").TenantID)
		label := func(id string) string {
			s, err := store.GetScored(context.Background(), tn, id)
			if err != nil {
				t.Fatal(err)
			}
			return s.Transaction.Label
		}
		senior := a.signedIn("senior@sentinel.demo")
		decisions := func() int { return count(a.auditActions("admin@sentinel.demo"), store.ActionDecision) }

		t.Run("refused without a rationale, and nothing changes", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"id": {ids[1]}, "decision": {store.DecisionFalsePositive}, "rationale": {"  "}})
			if res.Status != 422 || !strings.Contains(res.Body, "Write a rationale") || label(ids[1]) != "" {
				t.Fatalf("bulk without rationale = %d, label %q", res.Status, label(ids[1]))
			}
		})
		t.Run("refused with nothing selected", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"decision": {store.DecisionFalsePositive}, "rationale": {"x"}})
			if res.Status != 422 || !strings.Contains(res.Body, "Select at least one transaction") {
				t.Fatalf("bulk of nothing = %d", res.Status)
			}
		})
		t.Run("ids of another tenant are refused without changing anything", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"id": {ids[1], other[0]}, "decision": {store.DecisionConfirmedFraud}, "rationale": {"ring"}})
			if res.Status != http.StatusNotFound || label(ids[1]) != "" || decisions() != 0 {
				t.Fatalf("bulk with a foreign id = %d, label %q, %d decision events", res.Status, label(ids[1]), decisions())
			}
		})
		t.Run("selected ids each get a decision and an event", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"id": {ids[1], ids[2]}, "decision": {store.DecisionFalsePositive},
				"rationale": {"known merchant"}, "type": {"PAYMENT"}})
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/investigate?type=PAYMENT" {
				t.Fatalf("bulk = %d to %q, want 303 to /investigate?type=PAYMENT", res.Status, res.Header.Get("Location"))
			}
			if label(ids[1]) != store.DecisionFalsePositive || label(ids[2]) != store.DecisionFalsePositive || decisions() != 2 {
				t.Fatalf("labels %q %q, %d events", label(ids[1]), label(ids[2]), decisions())
			}
			page := senior.get(res.Header.Get("Location"))
			if !strings.Contains(page.Body, "Recorded false positive on 2 transactions.") {
				t.Errorf("the page after the bulk does not say how many changed:\n%.2000s", page.Body)
			}
			if again := senior.get("/investigate"); strings.Contains(again.Body, "Recorded false positive") {
				t.Error("the message shows twice")
			}
		})
		t.Run("all matching asks first, naming how many", func(t *testing.T) {
			form := url.Values{"all": {"1"}, "type": {"TRANSFER"}, "decision": {store.DecisionConfirmedFraud}, "rationale": {"takeover ring"}}
			res := bulkPost(senior, form)
			if res.Status != 200 || !strings.Contains(res.Body, "all 20 matching transactions") || label(ids[0]) != "" {
				t.Fatalf("bulk of all = %d, label %q:\n%.3000s", res.Status, label(ids[0]), res.Body)
			}
			stale := url.Values{}
			for k, v := range form {
				stale[k] = v
			}
			stale.Set("confirm", "19")
			res = senior.post("/investigate/bulk", stale, true)
			if res.Status != 200 || !strings.Contains(res.Body, "changed since you confirmed 19") || label(ids[0]) != "" {
				t.Fatalf("bulk confirming 19 of 20 = %d, label %q", res.Status, label(ids[0]))
			}
			form.Set("confirm", "20")
			res = senior.post("/investigate/bulk", form, true)
			if res.Status != http.StatusSeeOther {
				t.Fatalf("confirmed bulk = %d\n%.2000s", res.Status, res.Body)
			}
			for i := 0; i < 60; i += 3 {
				if label(ids[i]) != store.DecisionConfirmedFraud {
					t.Fatalf("transfer %d after the bulk: label %q", i, label(ids[i]))
				}
			}
			if decisions() != 22 {
				t.Errorf("decision events = %d, want 22", decisions())
			}
		})
		t.Run("more than the limit is refused with a clear message", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"all": {"1"}, "type": {"PAYMENT"}, "decision": {store.DecisionEscalated}, "rationale": {"all"}})
			if res.Status != 422 || !strings.Contains(res.Body, "40 transactions match.") || !strings.Contains(res.Body, "at most 25") {
				t.Fatalf("bulk of 40 with a limit of 25 = %d\n%.3000s", res.Status, res.Body)
			}
			res = bulkPost(senior, url.Values{"all": {"1"}, "confirm": {"40"}, "type": {"PAYMENT"}, "decision": {store.DecisionEscalated}, "rationale": {"all"}})
			if res.Status != 422 || !strings.Contains(res.Body, "at most 25") || label(ids[4]) != "" {
				t.Fatalf("confirmed bulk of 40 with a limit of 25 = %d, label %q", res.Status, label(ids[4]))
			}
		})
		t.Run("all of nothing is refused", func(t *testing.T) {
			res := bulkPost(senior, url.Values{"all": {"1"}, "confirm": {"0"}, "type": {"DEBIT"}, "decision": {store.DecisionEscalated}, "rationale": {"x"}})
			if res.Status != 422 || !strings.Contains(res.Body, "nothing to decide") {
				t.Fatalf("confirmed bulk of no transaction = %d", res.Status)
			}
		})
		t.Run("analysts and auditors are refused", func(t *testing.T) {
			for _, email := range []string{"analyst@sentinel.demo", "auditor@sentinel.demo"} {
				res := bulkPost(a.signedIn(email), url.Values{"id": {ids[4]}, "decision": {store.DecisionEscalated}, "rationale": {"x"}})
				if res.Status != http.StatusForbidden || label(ids[4]) != "" {
					t.Errorf("bulk as %s = %d, label %q", email, res.Status, label(ids[4]))
				}
			}
		})
	})
}

// nastyCells are texts a spreadsheet would evaluate, and what the export
// must write for each.
var nastyCells = []struct{ in, want string }{
	{"=1+2", "'=1+2"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"}, {"\t=1", "'\t=1"}, {"\r=1", "'\n=1"},
	{" =1", "' =1"}, {"＝1", "'＝1"}, {"＋1", "'＋1"}, {"－1", "'－1"}, {"＠SUM(A1)", "'＠SUM(A1)"},
	{"plain, \"quoted\"\nand a new line", "plain, \"quoted\"\nand a new line"}, {"1-2", "1-2"},
	{"a line\r\nand\ranother", "a line\nand\nanother"},
}

func TestInvestigateExport(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.user("admin@sentinel.demo")
		tn := store.ForTenant(a.db, admin.TenantID)
		ids := a.scoreN("analyst@sentinel.demo", 30, "exp")
		a.scoreN("analyst@acme.demo", 3, "other")
		// Accounts and external ids that look like formulas, and decisions
		// whose rationales do.
		for i, n := range nastyCells[:8] {
			if strings.ContainsAny(n.in, "\t\r") {
				continue // no account or external id holds a control character
			}
			_, _, _, err := a.scorer.Score(ctx, tn, live.Input{ExternalID: n.in, Tx: scoring.Transaction{Step: 1, Type: "PAYMENT",
				Amount: 5, NameOrig: n.in, OldBalanceOrg: 10, NewBalanceOrig: 5, NameDest: "M" + strconv.Itoa(i)}})
			if err != nil {
				t.Fatal(err)
			}
		}
		analyst := store.Actor{UserID: a.user("analyst@sentinel.demo").ID, Email: "analyst@sentinel.demo"}
		for i, n := range nastyCells {
			if _, err := store.Decide(ctx, tn, analyst, ids[i], store.DecisionEscalated, n.in); err != nil {
				t.Fatal(err)
			}
		}
		auditor := a.signedIn("auditor@sentinel.demo")
		res := auditor.get("/investigate/export.csv?sort=amount&dir=asc")
		if res.Status != 200 {
			t.Fatalf("export = %d\n%.500s", res.Status, res.Body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if cd := res.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename=sentinel-demo-bank-01-transactions-\d{8}T\d{6}Z\.csv$`).MatchString(cd) {
			t.Errorf("Content-Disposition = %q", cd)
		}
		r := csv.NewReader(strings.NewReader(res.Body))
		r.FieldsPerRecord = -1
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("the export is not CSV: %v", err)
		}
		if !slices.Equal(records[0], exportColumns) {
			t.Fatalf("header = %v, want %v", records[0], exportColumns)
		}
		rows := records[1:]
		if len(rows) != 36 {
			t.Fatalf("rows = %d, want 36 (30 and 6 formula-like)", len(rows))
		}
		col := map[string]int{}
		for i, c := range exportColumns {
			col[c] = i
		}
		byID := map[string][]string{}
		for _, row := range rows {
			if len(row) != len(exportColumns) {
				t.Fatalf("row of %d cells: %v", len(row), row)
			}
			byID[row[0]] = row
		}

		t.Run("every column of a row", func(t *testing.T) {
			s, err := store.GetScored(ctx, tn, ids[3])
			if err != nil {
				t.Fatal(err)
			}
			fe, err := live.DecodeFrozen(s)
			if err != nil {
				t.Fatal(err)
			}
			row := byID[ids[3]]
			tx, p := s.Transaction, s.Prediction
			num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
			want := map[string]string{
				"transaction_id": tx.ID, "external_id": "exp-3", "received_at": tx.ReceivedAt.UTC().Format(time.RFC3339Nano),
				"type": "TRANSFER", "amount": "1003", "sender": "C3", "receiver": "C999",
				"sender_balance_before": "1003", "sender_balance_after": "0", "receiver_balance_before": "0", "receiver_balance_after": "0",
				"score": num(p.Score), "raw_margin": num(p.RawMargin), "band": p.Band, "review": strconv.FormatBool(fe.Result.Review),
				"model": fe.Model.Name, "model_version": strconv.Itoa(fe.Model.Version),
				"contribution_1_feature": fe.Explanation.Top[0].Feature, "contribution_1_value": num(fe.Explanation.Top[0].Value),
				"contribution_1_log_odds": num(fe.Explanation.Top[0].Contribution),
				"contribution_3_feature":  fe.Explanation.Top[2].Feature,
				"summary":                 fe.Explanation.Summary, "decision": "escalated", "decided_by": "analyst@sentinel.demo",
				"rationale": "'@SUM(A1)", "source": "api",
			}
			for c, w := range want {
				if got := row[col[c]]; got != w {
					t.Errorf("%s = %q, want %q", c, got, w)
				}
			}
			if at, err := time.Parse(time.RFC3339Nano, row[col["decided_at"]]); err != nil || time.Since(at) > time.Hour {
				t.Errorf("decided_at = %q", row[col["decided_at"]])
			}
			low := byID[ids[1]][col["raw_margin"]]
			if v, err := strconv.ParseFloat(low, 64); err != nil || v >= 0 || !strings.HasPrefix(low, "-") {
				t.Errorf("raw margin of a low payment = %q: a negative number must stay a number", low)
			}
		})
		t.Run("text a spreadsheet would evaluate is neutralised", func(t *testing.T) {
			for i, n := range nastyCells {
				if got := byID[ids[i]][col["rationale"]]; got != n.want {
					t.Errorf("rationale %q exported as %q, want %q", n.in, got, n.want)
				}
			}
			found := 0
			for _, row := range rows {
				for _, n := range nastyCells[:8] {
					if row[col["external_id"]] == n.want && row[col["sender"]] == n.want {
						found++
					}
				}
			}
			if found != 6 {
				t.Errorf("formula-like external ids and accounts neutralised in %d rows, want 6", found)
			}
			for _, row := range rows {
				for i, cell := range row {
					if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+@\t\r＝＋－＠", []rune(c)[0]) {
						t.Errorf("%s = %q starts a formula", exportColumns[i], cell)
					}
				}
			}
		})
		t.Run("is audited with the filters and the row count", func(t *testing.T) {
			events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionExportTransactions, Limit: 5})
			if err != nil || len(events) != 1 {
				t.Fatalf("export events = %d, %v; want 1", len(events), err)
			}
			var d map[string]any
			if err := json.Unmarshal(events[0].Details, &d); err != nil {
				t.Fatal(err)
			}
			if events[0].ActorEmail != "auditor@sentinel.demo" || d["rows"] != float64(36) || d["filters"] != "dir=asc&sort=amount" || d["complete"] != true {
				t.Errorf("export event = %+v, details %v", events[0], d)
			}
		})
		t.Run("keeps to the page's filters", func(t *testing.T) {
			res := auditor.get("/investigate/export.csv?type=TRANSFER&account=C2*")
			recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			if err != nil || len(recs) != 4 || recs[1][col["sender"]] != "C27" || recs[3][col["sender"]] != "C21" {
				t.Fatalf("filtered export = %v, %v; want the header and the transfers of C27, C24 and C21", recs, err)
			}
		})
	})
}

func TestExportStopsAtTheLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestAppWith(t, db, Config{ExportLimit: 4})
		a.scoreN("analyst@sentinel.demo", 6, "lim")
		res := a.signedIn("senior@sentinel.demo").get("/investigate/export.csv")
		r := csv.NewReader(strings.NewReader(res.Body))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 6 {
			t.Fatalf("export with a limit of 4 = %d records, %v; want header, 4 rows and a note", len(recs), err)
		}
		if last := recs[5]; len(last) != 1 || last[0] != "Export stopped at the limit of 4 rows: narrow the filters to export the rest." {
			t.Errorf("last line = %q", last)
		}
	})
}

// A failure after the download started ends the file with a line saying it
// is incomplete (the central error handler logs the error).
func TestExportFailureMidStreamEndsTheFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		u := a.user("auditor@sentinel.demo")
		s := &Server{db: db}
		rec := httptest.NewRecorder()
		e := echo.New()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/investigate/export.csv", nil), rec)
		c.Response().Header().Set(echo.HeaderXRequestID, "req-1")
		c.Set(ctxUser, &principal{User: u, Tenant: store.ForTenant(db, u.TenantID)})
		out, err := newCSVStream(c, "x.csv", []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; !out.started(); n++ {
			if err := out.write(csvRecord{strings.Repeat("x", 100)}); err != nil {
				t.Fatal(err)
			}
		}
		failure := fmt.Errorf("the database went away")
		if err := s.finishExport(c, out, store.ActionExportTransactions, url.Values{}, 100, n, false, failure); err != failure {
			t.Fatalf("finishExport() = %v, want the failure back", err)
		}
		lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\r\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "Export incomplete: it stopped after") || !strings.Contains(last, "req-1") {
			t.Errorf("last line = %q", last)
		}
		if got := count(a.auditActions("admin@sentinel.demo"), store.ActionExportTransactions); got != 1 {
			t.Errorf("export events after a failed export = %d, want 1", got)
		}
	})
}

func TestTextCells(t *testing.T) {
	for _, tc := range append(nastyCells, []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {"   ", "   "}, {"\u00a0=1", "'\u00a0=1"}, {"\n-1", "'\n-1"}, {"C123", "C123"},
	}...) {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			var r csvRecord
			r.text(tc.in)
			if r[0] != tc.want {
				t.Errorf("text(%q) = %q, want %q", tc.in, r[0], tc.want)
			}
		})
	}
}

// A filter that names another tenant's model version answers 404, in the
// page, the export and a bulk decision, as any of its ids does.
func TestInvestigateFilterOfAnotherTenantsModel(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		theirs := a.productionModel("admin@acme.demo")
		b := a.signedIn("senior@sentinel.demo")
		page := b.get("/investigate")
		if page.Status != http.StatusOK {
			t.Fatalf("GET /investigate = %d", page.Status)
		}
		for _, path := range []string{"/investigate?model=" + theirs, "/investigate/export.csv?model=" + theirs} {
			if res := b.get(path); res.Status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, res.Status)
			}
		}
		res := b.post("/investigate/bulk", url.Values{"all": {"1"}, "model": {theirs}, "decision": {store.DecisionEscalated},
			"rationale": {"theirs"}, "confirm": {"1"}}, true)
		if res.Status != http.StatusNotFound {
			t.Errorf("bulk decision with another tenant's model = %d, want 404", res.Status)
		}
		if own := a.productionModel("admin@sentinel.demo"); b.get("/investigate?model="+own).Status != http.StatusOK {
			t.Errorf("the tenant's own model does not filter")
		}
	})
}

// A tenant without traffic or cases is told that nothing has arrived yet,
// not that its filters match nothing, and is offered no empty export.
func TestEmptyTenantPagesSayNoneYet(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("admin@acme.demo")
		inv := b.get("/investigate")
		if !strings.Contains(inv.Body, "No transactions yet") || strings.Contains(inv.Body, "Nothing matches these filters") ||
			strings.Contains(inv.Body, `data-testid="export"`) {
			t.Errorf("investigate of a tenant without transactions:\n%.3000s", inv.Body)
		}
		cases := b.get("/cases")
		if !strings.Contains(cases.Body, "No cases yet") || strings.Contains(cases.Body, "No case matches") {
			t.Errorf("cases of a tenant without cases:\n%.3000s", cases.Body)
		}
		// Once it has traffic and a case, an empty result is the filters'.
		a.scoreN("admin@acme.demo", 1, "none-yet")
		a.openCaseWith("analyst@acme.demo", store.CaseInput{Priority: store.PriorityLow}, time.Now())
		if res := b.get("/investigate?type=DEBIT&min_amount=999999999"); !strings.Contains(res.Body, "Nothing matches these filters") ||
			!strings.Contains(res.Body, `data-testid="export"`) {
			t.Errorf("investigate with traffic and no match does not say the filters match nothing")
		}
		if res := b.get("/cases?priority=critical"); !strings.Contains(res.Body, "No case matches these filters") {
			t.Errorf("cases with a case and no match does not say the filters match nothing")
		}
	})
}

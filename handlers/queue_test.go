package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// scoreN scores n transactions for the tenant of email: every third a
// full-balance transfer (critical), the others small payments (low).
func (a *testApp) scoreN(email string, n int, prefix string) []string {
	a.t.Helper()
	t := store.ForTenant(a.db, a.user(email).TenantID)
	var ids []string
	for i := 0; i < n; i++ {
		tx := scoring.Transaction{Step: i, Type: "PAYMENT", Amount: 100 + float64(i), NameOrig: fmt.Sprintf("C%d", i),
			OldBalanceOrg: 5000, NewBalanceOrig: 4900 - float64(i), NameDest: "M1"}
		if i%3 == 0 {
			tx = scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 1000 + float64(i), NameOrig: fmt.Sprintf("C%d", i),
				OldBalanceOrg: 1000 + float64(i), NameDest: "C999"}
		}
		s, _, _, err := a.scorer.Score(context.Background(), t, live.Input{ExternalID: fmt.Sprintf("%s-%d", prefix, i), Tx: tx})
		if err != nil {
			a.t.Fatal(err)
		}
		ids = append(ids, s.Transaction.ID)
	}
	return ids
}

var rowRe = regexp.MustCompile(`data-testid="queue-row"`)
var txLinkRe = regexp.MustCompile(`<a href="/transactions/([0-9a-f-]+)"`)

func TestQueueFiltersAndPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 60, "q")
		a.scoreN("analyst@acme.demo", 5, "other")
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/queue?view=all&decision=any")
		if got := len(rowRe.FindAllString(page.Body, -1)); got != queuePageSize {
			t.Fatalf("first page rows = %d, want %d", got, queuePageSize)
		}
		links := txLinkRe.FindAllStringSubmatch(page.Body, -1)
		if links[0][1] != ids[len(ids)-1] {
			t.Fatalf("first row %s, want the newest %s", links[0][1], ids[len(ids)-1])
		}
		next := regexp.MustCompile(`href="(/queue\?[^"]*after=[^"]+)"`).FindStringSubmatch(page.Body)
		if next == nil {
			t.Fatal("no link to the next page")
		}
		second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		if got := len(rowRe.FindAllString(second.Body, -1)); got != 10 {
			t.Fatalf("second page rows = %d, want 10", got)
		}
		for _, m := range txLinkRe.FindAllStringSubmatch(second.Body, -1) {
			if m[1] == ids[len(ids)-1] {
				t.Fatal("the second page repeats the first")
			}
		}
		// Score order pages too, without overlap and without going up.
		sp1 := b.get("/queue?view=all&decision=any&sort=score")
		nextScore := regexp.MustCompile(`href="(/queue\?[^"]*after=[^"]+)"`).FindStringSubmatch(sp1.Body)
		if nextScore == nil {
			t.Fatal("no next link in score order")
		}
		sp2 := b.get(strings.ReplaceAll(nextScore[1], "&amp;", "&"))
		scoreRe := regexp.MustCompile(`<td class="num mono q-score">([^<]+)</td>`)
		var scores []float64
		seen := map[string]bool{}
		for _, pg := range []string{sp1.Body, sp2.Body} {
			for _, m := range scoreRe.FindAllStringSubmatch(pg, -1) {
				scores = append(scores, shownScore(t, m[1]))
			}
			for _, m := range txLinkRe.FindAllStringSubmatch(pg, -1) {
				if seen[m[1]] {
					t.Fatalf("transaction %s is on both score pages", m[1])
				}
				seen[m[1]] = true
			}
		}
		if len(seen) != 60 || len(scores) != 60 {
			t.Fatalf("score pages hold %d transactions and %d scores, want 60", len(seen), len(scores))
		}
		for i := 1; i < len(scores); i++ {
			if scores[i] > scores[i-1] {
				t.Fatalf("score order goes up at %d: %g after %g", i, scores[i], scores[i-1])
			}
		}
		crit := b.get("/queue?view=all&decision=any&band=critical")
		if got := len(rowRe.FindAllString(crit.Body, -1)); got != 20 || strings.Contains(crit.Body, `band-low">low</span></td>`) {
			t.Fatalf("critical rows = %d, want 20 and no low band", got)
		}
		if strings.Contains(page.Body, "other-") || strings.Contains(crit.Body, "C999\" ") {
			t.Fatal("the queue shows another tenant's rows")
		}
		acct := b.get("/queue?view=all&decision=any&account=C3")
		if got := len(rowRe.FindAllString(acct.Body, -1)); got != 1 {
			t.Fatalf("account C3 rows = %d, want 1", got)
		}
		byScore := b.get("/queue?view=all&decision=any&sort=score&type=TRANSFER")
		if !strings.Contains(byScore.Body, "<td class=\"q-type\">TRANSFER</td>") || strings.Contains(byScore.Body, "<td class=\"q-type\">PAYMENT</td>") {
			t.Fatal("type filter leaks other types")
		}
		if bad := b.get("/queue?min_score=2"); bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "Min score must be") {
			t.Fatalf("min_score=2 = %d, want 422 with a message", bad.Status)
		}
		// htmx asks for the results fragment only.
		req, _ := http.NewRequest("GET", a.srv.URL+"/queue?view=all&decision=any&band=low", nil)
		req.Header.Set("HX-Request", "true")
		frag := b.do(req)
		if strings.Contains(frag.Body, "<html") || !strings.Contains(frag.Body, "queue-rows") {
			t.Fatal("the htmx answer is not the results fragment")
		}
	})
}

func TestQueuePollReturnsOnlyNewerRows(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		first := a.scoreN("analyst@sentinel.demo", 3, "p")
		b := a.signedIn("analyst@sentinel.demo")
		poll := b.get("/queue/new?view=all&decision=any&sort=time&top=1&newest=" + first[2])
		if rowRe.MatchString(poll.Body) {
			t.Fatal("the poll returned rows that are not newer than the cursor")
		}
		more := a.scoreN("analyst@sentinel.demo", 2, "p2")
		poll = b.get("/queue/new?view=all&decision=any&sort=time&top=1&newest=" + first[2])
		if got := len(rowRe.FindAllString(poll.Body, -1)); got != 2 || !strings.Contains(poll.Body, "is-new") {
			t.Fatalf("poll rows = %d, want the 2 new ones highlighted", got)
		}
		if !strings.Contains(poll.Body, `hx-swap-oob="true"`) || !strings.Contains(poll.Body, "newest="+more[1]) {
			t.Fatal("the poll did not move its cursor to the newest row")
		}
		// Filters hold: a critical-only poll skips the low rows.
		crit := b.get("/queue/new?view=all&decision=any&band=critical&top=1&newest=" + first[2])
		if got := len(rowRe.FindAllString(crit.Body, -1)); got != 1 {
			t.Fatalf("critical poll rows = %d, want 1", got)
		}
	})
}

func TestDecisionFlow(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ids := a.scoreN("analyst@sentinel.demo", 1, "d")
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/transactions/" + ids[0])
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="waterfall"`) || !strings.Contains(page.Body, `href="/entities/C0"`) {
			t.Fatalf("detail page = %d", page.Status)
		}
		req, _ := http.NewRequest("POST", a.srv.URL+"/transactions/"+ids[0]+"/decisions",
			strings.NewReader(url.Values{"decision": {"confirmed_fraud"}, "rationale": {"mule <b>pattern</b>"}, "_csrf": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		res := b.do(req)
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "Confirmed fraud") || !strings.Contains(res.Body, "Alex Analyst") {
			t.Fatalf("decide = %d %s", res.Status, res.Body)
		}
		if strings.Contains(res.Body, "<b>pattern</b>") || !strings.Contains(res.Body, "&lt;b&gt;") {
			t.Fatal("the rationale is not escaped")
		}
		if q := b.get("/queue?view=all&decision=confirmed_fraud"); len(rowRe.FindAllString(q.Body, -1)) != 1 {
			t.Fatal("the decided transaction is not under confirmed fraud")
		}
		if q := b.get("/queue"); rowRe.MatchString(q.Body) {
			t.Fatal("the default (undecided) queue still shows the decided transaction")
		}
		for _, tc := range []struct {
			name string
			form url.Values
		}{
			{"unknown decision", url.Values{"decision": {"maybe"}, "rationale": {"checked the device"}}},
			{"rationale too long", url.Values{"decision": {"escalated"}, "rationale": {strings.Repeat("x", maxRationale+1)}}},
			{"no rationale", url.Values{"decision": {"escalated"}, "rationale": {"  \n "}}},
			{"bidi control in the rationale", url.Values{"decision": {"escalated"}, "rationale": {"ok \u202Echecked the device"}}},
		} {
			r := b.post("/transactions/"+ids[0]+"/decisions", tc.form, true)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s = %d, want 422", tc.name, r.Status)
			}
			if strings.Contains(tc.form.Get("rationale"), "checked the device") && !strings.Contains(r.Body, "checked the device") {
				t.Errorf("%s: the form lost the rationale typed", tc.name)
			}
		}
		if r := b.post("/transactions/"+ids[0]+"/decisions", url.Values{"decision": {"escalated"}, "rationale": {""}}, true); !strings.Contains(r.Body, "Write a rationale") {
			t.Errorf("an empty rationale is refused without saying why: %d", r.Status)
		}
		if r := b.post("/transactions/"+ids[0]+"/decisions", url.Values{"decision": {"escalated"}}, false); r.Status != http.StatusForbidden {
			t.Errorf("decision without CSRF = %d, want 403", r.Status)
		}
		acme := a.signedIn("analyst@acme.demo")
		if r := acme.get("/transactions/" + ids[0]); r.Status != http.StatusNotFound || strings.Contains(r.Body, "C0") {
			t.Errorf("another tenant's transaction page = %d, want 404", r.Status)
		}
		acme.get("/queue")
		if r := acme.post("/transactions/"+ids[0]+"/decisions", url.Values{"decision": {"false_positive"}, "rationale": {"x"}}, true); r.Status != http.StatusNotFound {
			t.Errorf("another tenant deciding = %d, want 404", r.Status)
		}
		if n := count(a.auditActions("analyst@sentinel.demo"), store.ActionDecision); n != 1 {
			t.Errorf("decision audit events = %d, want 1", n)
		}
	})
}

func TestReviewQueueIsTheDefault(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		tn := store.ForTenant(a.db, a.user("analyst@sentinel.demo").TenantID)
		if _, err := store.AddWatch(ctx, tn, store.Actor{Email: "test"}, store.WatchInput{Account: "M-TRUSTED", Kind: store.WatchTrusted, Reason: "payroll"}); err != nil {
			t.Fatal(err)
		}
		ids := a.scoreN("analyst@sentinel.demo", 9, "r") // 0, 3, 6 critical; the rest low
		watched, _, _, err := a.scorer.Score(ctx, tn, live.Input{ExternalID: "watched", Tx: scoring.Transaction{Step: 9, Type: "PAYMENT",
			Amount: 12, NameOrig: "C77", OldBalanceOrg: 500, NewBalanceOrig: 488, NameDest: "M-TRUSTED"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Decide(ctx, tn, store.Actor{Email: "t", UserID: a.user("analyst@sentinel.demo").ID}, ids[6], store.DecisionFalsePositive, "known customer"); err != nil {
			t.Fatal(err)
		}
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/queue")
		var got []string
		for _, m := range txLinkRe.FindAllStringSubmatch(page.Body, -1) {
			got = append(got, m[1])
		}
		// Critical first (the oldest of equal scores first), then the low
		// payment to a watched account; no decided row, no ordinary low row.
		if want := []string{ids[0], ids[3], watched.Transaction.ID}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("default queue rows = %v, want %v", got, want)
		}
		for _, want := range []string{`data-testid="count-critical"`, `<span class="mono">2</span>`, `aria-current="page">Needs review`} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("the default queue lacks %s", want)
			}
		}
		counts := regexp.MustCompile(`data-testid="count-(\w+)"[^>]*>\s*<span[^>]*>\w+</span> <span class="mono">([\d,+]+)</span>`).FindAllStringSubmatch(page.Body, -1)
		var text []string
		for _, c := range counts {
			text = append(text, c[1]+" "+c[2])
		}
		if strings.Join(text, " · ") != "critical 2 · high 0 · medium 0 · low 1" {
			t.Errorf("band counts = %q, want critical 2 · high 0 · medium 0 · low 1", strings.Join(text, " · "))
		}
		all := b.get("/queue?view=all")
		if n := len(rowRe.FindAllString(all.Body, -1)); n != 10 || !strings.Contains(all.Body, `aria-current="page">All transactions`) {
			t.Errorf("view=all rows = %d (current tab marked: %v), want all 10", n, strings.Contains(all.Body, `aria-current="page">All transactions`))
		}
		if other := a.signedIn("analyst@acme.demo").get("/queue"); rowRe.MatchString(other.Body) {
			t.Error("another tenant's queue shows these rows")
		}
	})
}

func TestQueuePagesBothWaysAndPollsOnAnyPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.scoreN("analyst@sentinel.demo", 3*(2*queuePageSize+10), "p") // 110 critical
		b := a.signedIn("analyst@sentinel.demo")
		link := func(body, testID string) string {
			m := regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="` + testID + `"`).FindStringSubmatch(body)
			if m == nil {
				return ""
			}
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
		rowIDs := func(body string) []string {
			var out []string
			for _, m := range txLinkRe.FindAllStringSubmatch(body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		first := b.get("/queue")
		if link(first.Body, "page-prev") != "" || link(first.Body, "page-first") != "" || link(first.Body, "page-next") == "" {
			t.Fatal("the first page should link only to the next page")
		}
		second := b.get(link(first.Body, "page-next"))
		third := b.get(link(second.Body, "page-next"))
		if n := len(rowIDs(third.Body)); n != 10 || link(third.Body, "page-next") != "" {
			t.Fatalf("third page rows = %d (next %q), want the last 10", n, link(third.Body, "page-next"))
		}
		back := b.get(link(third.Body, "page-prev"))
		if strings.Join(rowIDs(back.Body), " ") != strings.Join(rowIDs(second.Body), " ") {
			t.Fatal("going back from the third page does not give the second")
		}
		top := b.get(link(back.Body, "page-prev"))
		if strings.Join(rowIDs(top.Body), " ") != strings.Join(rowIDs(first.Body), " ") || link(top.Body, "page-prev") != "" {
			t.Fatal("going back twice does not give the first page")
		}
		if f := b.get(link(third.Body, "page-first")); strings.Join(rowIDs(f.Body), " ") != strings.Join(rowIDs(first.Body), " ") {
			t.Fatal("the first-page link does not give the first page")
		}

		// A deep page polls for a count and keeps its cursor; the first
		// newest-first page prepends the new rows.
		poll := regexp.MustCompile(`id="queue-poller" hx-get="([^"]+)"`)
		deep := strings.ReplaceAll(poll.FindStringSubmatch(second.Body)[1], "&amp;", "&")
		newestFirst := b.get("/queue?sort=time")
		live := strings.ReplaceAll(poll.FindStringSubmatch(newestFirst.Body)[1], "&amp;", "&")
		if strings.Contains(deep, "top=1") || !strings.Contains(live, "top=1") {
			t.Fatalf("poll links: deep %q, first newest-first %q; want top=1 only on the latter", deep, live)
		}
		if res := b.get(deep); rowRe.MatchString(res.Body) || strings.Contains(res.Body, "new transaction") {
			t.Fatal("a quiet poll announced something")
		}
		a.scoreN("analyst@sentinel.demo", 4, "late") // 2 critical, 2 low
		res := b.get(deep)
		if rowRe.MatchString(res.Body) || !strings.Contains(res.Body, "2 new transactions since this page opened") || strings.Contains(res.Body, "hx-swap-oob") {
			t.Fatalf("deep-page poll = %s, want a notice of 2 and no rows", res.Body)
		}
		res = b.get(live)
		if n := len(rowRe.FindAllString(res.Body, -1)); n != 2 || !strings.Contains(res.Body, `hx-swap-oob="true"`) {
			t.Fatalf("first-page poll rows = %d, want the 2 new review rows", n)
		}
	})
}

// shownScore reads a score as the queue shows it (scoring.FormatScore).
func shownScore(t *testing.T, s string) float64 {
	t.Helper()
	switch s {
	case "&lt; 0.0001":
		return 0.00005
	case "&gt; 0.9999":
		return 0.99995
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("score cell %q: %v", s, err)
	}
	return f
}

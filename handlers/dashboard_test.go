package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/assets"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// placedJSON is a transaction with places, as the API takes it.
func placedJSON(id, oc, or, dc string, amount float64) string {
	return fmt.Sprintf(`{"external_id":%q,"step":1,"type":"TRANSFER","amount":%g,"nameOrig":"C%s","oldbalanceOrg":%g,"newbalanceOrig":0,`+
		`"nameDest":"C77","oldbalanceDest":0,"newbalanceDest":0,"orig_country":%q,"orig_region":%q,"dest_country":%q}`, id, amount, id, amount, oc, or, dc)
}

func TestAPICountries(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		res := a.api("POST", "/api/v1/score", key, placedJSON("p1", "US", "US-NY", "GB", 900))
		if res.Status != http.StatusCreated || !strings.Contains(res.Body, `"orig_country":"US","dest_country":"GB","orig_region":"US-NY"`) {
			t.Fatalf("score with places = %d %s", res.Status, res.Body)
		}
		got := a.api("GET", "/api/v1/transactions?external_id=p1", key, "")
		if !strings.Contains(got.Body, `"orig_region":"US-NY"`) {
			t.Errorf("read back lacks the region: %s", got.Body)
		}
		batch := a.api("POST", "/api/v1/score/batch", key, `{"transactions":[`+placedJSON("p2", "NG", "", "RO", 50)+`,`+placedJSON("p3", "US", "CA-ON", "", 50)+`]}`)
		if batch.Status != http.StatusOK || !strings.Contains(batch.Body, `"orig_country":"NG","dest_country":"RO"`) ||
			!strings.Contains(batch.Body, `"field":"orig_region"`) {
			t.Errorf("batch with places = %d %s", batch.Status, batch.Body)
		}
		bad := a.api("POST", "/api/v1/score", key, placedJSON("p4", "ZZ", "", "", 5))
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `"field":"orig_country"`) {
			t.Errorf("unknown country = %d %s, want 422 naming orig_country", bad.Status, bad.Body)
		}
		// Investigate filters by the sender's country, and exports the places.
		b := a.signedIn("analyst@sentinel.demo")
		page := b.get("/investigate?country=US-NY")
		if page.Status != http.StatusOK || strings.Count(page.Body, `data-testid="investigate-row"`) != 1 {
			t.Errorf("investigate?country=US-NY = %d with %d rows, want 1", page.Status, strings.Count(page.Body, `data-testid="investigate-row"`))
		}
		if res := b.get("/investigate?country=Narnia"); !strings.Contains(res.Body, "Country must be an ISO 3166-1 code") {
			t.Errorf("a bad country is not explained: %d", res.Status)
		}
		csv := b.get("/investigate/export.csv?country=US")
		lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
		if !strings.HasSuffix(strings.TrimSpace(lines[0]), "sender_country,sender_region,receiver_country,receiver_region") ||
			len(lines) < 2 || !strings.HasSuffix(strings.TrimSpace(lines[1]), "US,US-NY,GB,") {
			t.Errorf("export = %q", csv.Body)
		}
	})
}

// kpiValue is the value of a KPI card.
func kpiValue(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="` + id + `"[^>]*>\s*<div class="label">[^<]*</div>\s*<div class="value">([^<]*)</div>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no KPI card %s", id)
	}
	return m[1]
}

func TestDashboardPanelsWindowsAndFallback(t *testing.T) {
	now := time.Now().UTC()
	clock := &now
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		*clock = time.Now().UTC()
		a := newTestAppWith(t, db, Config{Now: func() time.Time { return *clock }})
		b := a.signedIn("auditor@sentinel.demo")

		t.Run("a new tenant sees an explained empty state", func(t *testing.T) {
			res := b.get("/")
			if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="dashboard-empty"`) || !strings.Contains(res.Body, "No transactions yet") {
				t.Fatalf("GET / = %d, want the empty state", res.Status)
			}
		})

		key := a.apiKey("admin@sentinel.demo")
		for i, p := range [][3]string{{"US", "US-NY", "GB"}, {"US", "US-TX", "US"}, {"GB", "", "NG"}, {"NG", "", "RO"}} {
			if res := a.api("POST", "/api/v1/score", key, placedJSON(fmt.Sprintf("d%d", i), p[0], p[1], p[2], float64(100*(i+1)))); res.Status != http.StatusCreated {
				t.Fatalf("score: %d %s", res.Status, res.Body)
			}
		}
		// One decided as fraud.
		tx, err := store.GetScoredByExternalID(t.Context(), a.demoTenant(), "d3")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Decide(t.Context(), a.demoTenant(), store.Actor{UserID: a.user("analyst@sentinel.demo").ID}, tx.Transaction.ID,
			store.DecisionConfirmedFraud, "seen"); err != nil {
			t.Fatal(err)
		}

		t.Run("the panels sum the window", func(t *testing.T) {
			res := b.get("/?window=24h")
			if res.Status != http.StatusOK || strings.Contains(res.Body, "dashboard-empty") || strings.Contains(res.Body, "dashboard-fallback") {
				t.Fatalf("GET / = %d, want panels", res.Status)
			}
			if v := kpiValue(t, res.Body, "kpi-transactions"); v != "4" {
				t.Errorf("transactions = %q, want 4", v)
			}
			// Exposure counts the confirmed fraud (400) and any critical one.
			d, err := store.LoadDashboard(t.Context(), a.demoTenant(), time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Total.Exposure < 400 || d.Total.Fraud != 1 {
				t.Errorf("exposure %g, fraud %d; want at least 400 and 1", d.Total.Exposure, d.Total.Fraud)
			}
			for _, want := range []string{
				`data-testid="chart-geo"`, `data-echarts-map="world"`, `data-echarts-map-src="` + assets.URL("world.geo.json") + `"`,
				`data-testid="chart-heatmap"`, `data-testid="chart-volume"`, `data-testid="chart-risk-mix"`, `data-testid="chart-by-type"`,
				`href="/investigate?country=US&amp;from=`, `href="/queue"`, `data-testid="ticker"`, `hx-trigger="every 2s"`, `data-poll`,
				`data-testid="replay-panel"`,
			} {
				if !strings.Contains(res.Body, want) {
					t.Errorf("the dashboard lacks %s", want)
				}
			}
			us := b.get("/?map=us&metric=fraud")
			if !strings.Contains(us.Body, `data-echarts-map="us-states"`) || !strings.Contains(us.Body, `href="/investigate?country=US-NY&amp;from=`) {
				t.Errorf("the US view lacks its states")
			}
			if strings.Count(res.Body, `data-testid="ticker-row"`) != 4 {
				t.Errorf("the ticker shows %d rows, want 4", strings.Count(res.Body, `data-testid="ticker-row"`))
			}
		})

		t.Run("the ticker marks what the last poll had not seen", func(t *testing.T) {
			first, err := store.GetScoredByExternalID(t.Context(), a.demoTenant(), "d1")
			if err != nil {
				t.Fatal(err)
			}
			res := b.getHX("/dashboard/ticker?since=" + url.QueryEscape(first.Transaction.ID))
			if res.Status != http.StatusOK || strings.Contains(res.Body, "<html") {
				t.Fatalf("ticker poll = %d, want a fragment", res.Status)
			}
			if n := strings.Count(res.Body, `is-new`); n != 2 {
				t.Errorf("%d rows marked new, want the 2 after d1", n)
			}
			newest, _ := store.GetScoredByExternalID(t.Context(), a.demoTenant(), "d3")
			if !strings.Contains(res.Body, "since="+newest.Transaction.ID) {
				t.Errorf("the next poll does not carry the newest id")
			}
			// Arrival order, newest first, not score order.
			if i, j := strings.Index(res.Body, "Cd3"), strings.Index(res.Body, "Cd0"); i < 0 || j < 0 || i > j {
				t.Errorf("ticker order: d3 at %d, d0 at %d", i, j)
			}
		})

		t.Run("an empty window says where the data is", func(t *testing.T) {
			*clock = time.Now().UTC().Add(72 * time.Hour)
			defer func() { *clock = time.Now().UTC() }()
			res := b.get("/?window=24h")
			if !strings.Contains(res.Body, `data-testid="dashboard-fallback"`) || !strings.Contains(res.Body, "No transactions arrived in this window") {
				t.Errorf("an empty window has no fallback")
			}
			if kpiValue(t, res.Body, "kpi-transactions") != "0" {
				t.Errorf("the empty window counts transactions")
			}
			if res := b.get("/?window=7d"); strings.Contains(res.Body, "dashboard-fallback") || kpiValue(t, res.Body, "kpi-transactions") != "4" {
				t.Errorf("the 7-day window misses the transactions")
			}
		})

		t.Run("another tenant sees none of it", func(t *testing.T) {
			res := a.signedIn("analyst@acme.demo").get("/?window=all")
			if !strings.Contains(res.Body, "dashboard-empty") || strings.Contains(res.Body, "Cd3") {
				t.Errorf("acme's dashboard shows the demo bank's data")
			}
		})
	})
}

// externalRef finds a reference to another origin: a URL with a scheme or
// a protocol-relative one in an attribute, in CSS url() or @import.
var externalRef = regexp.MustCompile(`(?i)(?:\b(?:src|href|action|data-echarts-src|data-echarts-map-src|poster|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//))|url\(\s*["']?\s*(?:https?:|//)|@import`)

func TestNoPageReferencesAnExternalURL(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		a.scoreN("admin@sentinel.demo", 3, "ext")
		a.startReplay()
		b := a.signedIn("admin@sentinel.demo")
		pages := []string{"/", "/?window=all&map=us&metric=risk", "/replay", "/dashboard/ticker", "/queue", "/investigate", "/models",
			"/watchlists", "/audit", "/settings/users", "/account", "/api/docs"}
		for _, p := range pages {
			res := b.get(p)
			if res.Status != http.StatusOK {
				t.Errorf("GET %s = %d", p, res.Status)
				continue
			}
			if m := externalRef.FindString(res.Body); m != "" {
				t.Errorf("GET %s references another origin: %q", p, m)
			}
		}
		if m := externalRef.FindString(a.browser().get("/login").Body); m != "" {
			t.Errorf("the login page references another origin: %q", m)
		}
		for _, name := range []string{"app.css", "app.js"} {
			res := b.get(assets.URL(name))
			if m := externalRef.FindString(res.Body); m != "" {
				t.Errorf("%s references another origin: %q", name, m)
			}
		}
		// The scan finds what it looks for.
		for _, bad := range []string{`<script src="https://cdn.example/x.js">`, `<link href="//fonts.example/css">`, `body{background:url("http://x/y.png")}`} {
			if externalRef.FindString(bad) == "" {
				t.Errorf("the scan misses %s", bad)
			}
		}
	})
}

func TestMapGeometryLoadsFromAssets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.browser()
		for _, c := range []struct{ name, feature string }{{"world.geo.json", "NG"}, {"us-states.geo.json", "US-NY"}} {
			res := b.get(assets.URL(c.name))
			if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("GET %s = %d %s", c.name, res.Status, res.Header.Get("Content-Type"))
			}
			var fc struct {
				Type     string
				Features []struct {
					Properties map[string]string
					Geometry   struct{ Type string }
				}
			}
			if err := json.Unmarshal([]byte(res.Body), &fc); err != nil || fc.Type != "FeatureCollection" {
				t.Fatalf("%s is not GeoJSON: %v", c.name, err)
			}
			found := false
			for _, f := range fc.Features {
				found = found || f.Properties["name"] == c.feature
			}
			if !found || len(res.Body) > 400<<10 {
				t.Errorf("%s: feature %s found %v, %d bytes", c.name, c.feature, found, len(res.Body))
			}
		}
	})
}

func TestReplayRoutes(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		senior := a.signedIn("senior@sentinel.demo")
		senior.get("/replay")
		form := func(rate, duration, share string) url.Values {
			return url.Values{"rate": {rate}, "duration": {duration}, "fraud_share": {share}}
		}
		for _, c := range []struct{ rate, duration, share, want string }{
			{"0", "60", "0.1", "Rate must be 1 to 500"}, {"501", "60", "0.1", "Rate must be 1 to 500"},
			{"10", "9", "0.1", "Duration must be 10 to 3600 seconds"}, {"10", "3601", "0.1", "Duration must be 10 to 3600"},
			{"10", "60", "0.6", "Fraud share must be 0 to 0.5"}, {"ten", "60", "0", "Rate must be a whole number"},
		} {
			res := senior.post("/replay", form(c.rate, c.duration, c.share), true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, c.want) {
				t.Errorf("start %v = %d, want 422 with %q", c, res.Status, c.want)
			}
		}
		if res := senior.post("/replay", form("20", "60", "0.1"), true); res.Status != http.StatusSeeOther {
			t.Fatalf("start = %d %s", res.Status, res.Body)
		}
		if res := senior.post("/replay", form("20", "60", "0.1"), true); res.Status != http.StatusConflict || !strings.Contains(res.Body, "already running") {
			t.Errorf("a second start = %d, want 409", res.Status)
		}
		analyst := a.signedIn("analyst@sentinel.demo")
		status := analyst.get("/replay")
		if !strings.Contains(status.Body, `data-testid="replay-state">Running`) || strings.Contains(status.Body, "replay-stop") ||
			strings.Contains(status.Body, "replay-form") || !strings.Contains(status.Body, `hx-trigger="every 2s"`) ||
			!strings.Contains(status.Body, `data-testid="replay-role"`) {
			t.Errorf("an analyst's view of a running replay is wrong (or does not say who may control it)")
		}
		if strings.Contains(senior.get("/replay").Body, `data-testid="replay-role"`) {
			t.Errorf("a senior is told that others control replays")
		}
		if !strings.Contains(senior.get("/replay").Body, `data-testid="replay-stop"`) {
			t.Errorf("a senior sees no stop button")
		}
		if res := senior.post("/replay/stop", url.Values{}, true); res.Status != http.StatusSeeOther {
			t.Fatalf("stop = %d", res.Status)
		}
		after := analyst.get("/replay")
		// (The page's other polls, such as the alert bell's, go on.)
		if !strings.Contains(after.Body, `data-testid="replay-state">Stopped`) || strings.Contains(after.Body, `hx-trigger="every 2s"`) {
			t.Errorf("after stop the panel does not say Stopped, or still polls")
		}
		if res := senior.post("/replay/stop", url.Values{}, true); res.Status != http.StatusConflict {
			t.Errorf("stop with none running = %d, want 409", res.Status)
		}
		// A file, through htmx: the panel comes back.
		file := []byte("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,orig_country\n" +
			"1,PAYMENT,5,C1,10,5,M1,0,0,FR\n1,TRANSFER,50,C2,50,0,C3,0,50,US\n")
		senior.header.Set("HX-Request", "true")
		res := senior.upload("/replay", form("5", "10", "0"), "traffic.csv", file)
		senior.header.Del("HX-Request")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, "File traffic.csv") || strings.Contains(res.Body, "<html") {
			t.Errorf("file start = %d %s", res.Status, res.Body)
		}
		actions := a.auditActions("admin@sentinel.demo")
		if count(actions, store.ActionReplayStart) != 2 || count(actions, store.ActionReplayStop) != 1 {
			t.Errorf("audit: %d starts, %d stops; want 2 and 1", count(actions, store.ActionReplayStart), count(actions, store.ActionReplayStop))
		}
	})
}

// The dashboard's case load counts the tenant's cases as the case list does,
// each count a link to its filter, and a KPI card shows the open and overdue
// ones.
func TestDashboardCaseLoad(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		b := a.signedIn("analyst@sentinel.demo")
		// Traffic, so that the dashboard shows its panels.
		key := a.apiKey("admin@sentinel.demo")
		if res := a.api("POST", "/api/v1/score", key, placedJSON("cl1", "US", "", "", 100)); res.Status != http.StatusCreated {
			t.Fatalf("score = %d %s", res.Status, res.Body)
		}
		analyst := a.user("analyst@sentinel.demo")
		worker := store.Actor{UserID: analyst.ID, Email: analyst.Email}
		tenant := store.ForTenant(a.db, analyst.TenantID)
		// A critical case five hours old (overdue: 4 h SLA), unassigned, and
		// one of the analyst's own; another tenant's case counts nowhere.
		for _, c := range []struct {
			priority, assignee string
			age                time.Duration
		}{{store.PriorityCritical, "", 5 * time.Hour}, {store.PriorityLow, analyst.ID, time.Hour}} {
			if _, err := store.OpenCase(ctx, tenant, worker, store.CaseInput{Title: "load", Priority: c.priority, AssigneeID: c.assignee},
				time.Now().Add(-c.age)); err != nil {
				t.Fatal(err)
			}
		}
		other := a.user("analyst@acme.demo")
		if _, err := store.OpenCase(ctx, store.ForTenant(a.db, other.TenantID), store.Actor{UserID: other.ID, Email: other.Email},
			store.CaseInput{Title: "theirs", Priority: store.PriorityCritical}, time.Now().Add(-9*time.Hour)); err != nil {
			t.Fatal(err)
		}
		want, err := store.CountCases(ctx, tenant, analyst.ID, time.Now())
		if err != nil || want.Open < 2 || want.Overdue < 1 || want.Mine < 1 {
			t.Fatalf("CountCases = %+v, %v", want, err)
		}
		res := b.get("/")
		if res.Status != http.StatusOK {
			t.Fatalf("GET / = %d", res.Status)
		}
		load := regexp.MustCompile(`(?s)data-testid="case-load".*?</section>`).FindString(res.Body)
		for _, c := range []struct {
			testID, href string
			n            int64
		}{
			{"count-open", `/cases"`, want.Open},
			{"count-overdue", `/cases?overdue=1"`, want.Overdue},
			{"count-critical", `/cases?priority=critical"`, want.Critical},
			{"count-unassigned", `/cases?assignee=none"`, want.Unassigned},
			{"count-mine", `/cases?assignee=me"`, want.Mine},
		} {
			link := regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]*data-testid="` + c.testID + `"[^>]*>.*?<span class="value mono">([^<]*)</span>`).
				FindStringSubmatch(load)
			if link == nil || !strings.HasSuffix(link[1]+`"`, c.href) || link[2] != fmt.Sprint(c.n) {
				t.Errorf("case load %s = %v, want %d linking to %s", c.testID, link, c.n, c.href)
			}
		}
		card := regexp.MustCompile(`(?s)data-testid="kpi-cases".*?</a>`).FindString(res.Body)
		if !strings.Contains(card, fmt.Sprintf("%d overdue", want.Overdue)) {
			t.Errorf("open-cases card = %q, want %d overdue", card, want.Overdue)
		}
	})
}

package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// muleTraffic scores a mule pattern for the tenant of email: victims
// V0…V(n-1) each send their whole balance to MULE-1 within the last hours,
// and MULE-1 cashes it all out to two accounts; one ordinary payment of a
// victim goes to a shop. It returns the ids in scoring order.
func (a *testApp) muleTraffic(email string, n int) []string {
	a.t.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, a.scoreOne(email, fmt.Sprintf("mule-in-%d", i), scoring.Transaction{Step: 400, Type: "TRANSFER",
			Amount: 1000 + float64(i), NameOrig: fmt.Sprintf("V%d", i), OldBalanceOrg: 1000 + float64(i), NameDest: "MULE-1"}))
	}
	for i, dest := range []string{"CASHOUT-1", "CASHOUT-2"} {
		ids = append(ids, a.scoreOne(email, fmt.Sprintf("mule-out-%d", i), scoring.Transaction{Step: 401, Type: "CASH_OUT",
			Amount: 3000, NameOrig: "MULE-1", OldBalanceOrg: 3000, NewBalanceOrig: 0, NameDest: dest}))
	}
	ids = append(ids, a.scoreOne(email, "shop", smallPayment(25)))
	return ids
}

func TestEntityPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const analyst = "analyst@sentinel.demo"
		ids := a.muleTraffic(analyst, 8)
		a.scoreN("analyst@acme.demo", 3, "other") // C0 and C999 in the other tenant only
		tn := store.ForTenant(a.db, a.user(analyst).TenantID)
		if _, err := store.Decide(context.Background(), tn, store.Actor{Email: "t", UserID: a.user(analyst).ID}, ids[0],
			store.DecisionConfirmedFraud, "takeover"); err != nil {
			t.Fatal(err)
		}
		b := a.signedIn(analyst)
		res := b.get("/entities/MULE-1")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /entities/MULE-1 = %d\n%.300s", res.Status, res.Body)
		}
		// The numbers, counted by hand from muleTraffic: 8 transfers in
		// (1,000 + i each), 2 cash-outs of 3,000 that empty the balance.
		var in float64
		for i := range 8 {
			in += 1000 + float64(i)
		}
		for _, want := range []string{
			scoring.FormatAmount(in) + `</div><div class="muted small">8 transactions`, // received
			`6,000.00</div><div class="muted small">2 transactions`,                    // sent
			">10<", // distinct counterparties
			`Confirmed fraud</div><div class="value">1</div>`,
			"8 accounts sent money to it in the last 24 hours, 8 in the last 7 days.",
			"It sent money to 2 accounts in the last 24 hours, 2 in the last 7 days.",
			"took 100% of the balance it held before each of them; 2 of them emptied it.",
			"1 of its 10 counterparties took part in a transaction confirmed as fraud; 0 are blocked.",
			"the pattern of a money mule",
			`data-testid="graph"`, `data-testid="activity"`,
			`href="/entities/V0"`,
			`href="/queue?account=MULE-1&amp;decision=any&amp;view=all"`,
		} {
			if !strings.Contains(html.UnescapeString(res.Body), html.UnescapeString(want)) {
				t.Errorf("the profile lacks %q", want)
			}
		}
		if n := strings.Count(res.Body, `data-testid="queue-row"`); n != 10 {
			t.Errorf("transactions listed = %d, want 10", n)
		}
		for _, c := range []struct{ name, path string }{
			{"an account of another tenant", "/entities/C999"},
			{"an unknown account", "/entities/NOBODY"},
			{"an account no transaction can have", "/entities/" + url.PathEscape("C\u202E1")},
			{"the graph of another tenant's account", "/entities/C999/graph?via=C0"},
		} {
			t.Run("answers 404 for "+c.name, func(t *testing.T) {
				res := b.get(c.path)
				if res.Status != http.StatusNotFound || strings.Contains(res.Body, "C999") {
					t.Errorf("GET %s = %d, want 404 without the account's data", c.path, res.Status)
				}
			})
		}
		t.Run("pages through the transactions with htmx", func(t *testing.T) {
			for range 30 {
				a.scoreOne(analyst, fmt.Sprintf("more-%d", time.Now().UnixNano()), scoring.Transaction{Step: 9, Type: "PAYMENT",
					Amount: 10, NameOrig: "MULE-1", OldBalanceOrg: 0, NameDest: "M-9"})
			}
			page := b.get("/entities/MULE-1")
			next := regexp.MustCompile(`hx-get="(/entities/MULE-1\?after=[^"]+)"`).FindStringSubmatch(page.Body)
			if next == nil {
				t.Fatal("no link to older transactions")
			}
			b.header.Set("HX-Request", "true")
			defer b.header.Del("HX-Request")
			frag := b.get(html.UnescapeString(next[1]))
			if frag.Status != http.StatusOK || strings.Contains(frag.Body, "<html") || strings.Count(frag.Body, `data-testid="queue-row"`) != 40-entityPageSize {
				t.Errorf("older page = %d with %d rows", frag.Status, strings.Count(frag.Body, `data-testid="queue-row"`))
			}
		})
		t.Run("adds a counterparty's counterparties to the graph on demand", func(t *testing.T) {
			b.header.Set("HX-Request", "true")
			defer b.header.Del("HX-Request")
			frag := b.get("/entities/V0/graph?via=MULE-1")
			if frag.Status != http.StatusOK || strings.Contains(frag.Body, "<html") {
				t.Fatalf("second hop = %d", frag.Status)
			}
			for _, want := range []string{"CASHOUT-1", "V7", `data-testid="hop-note"`} {
				if !strings.Contains(frag.Body, want) {
					t.Errorf("the second hop lacks %q", want)
				}
			}
		})
		t.Run("shows watchlist actions to senior analysts only", func(t *testing.T) {
			if strings.Contains(res.Body, `data-testid="watch-form"`) {
				t.Error("an analyst sees the watchlist form")
			}
			s := a.signedIn("senior@sentinel.demo")
			page := s.get("/entities/MULE-1")
			if !strings.Contains(page.Body, `data-testid="watch-form"`) {
				t.Fatal("a senior analyst has no watchlist form")
			}
			s.header.Set("HX-Request", "true")
			panel := s.post("/watchlists", url.Values{"account": {"MULE-1"}, "list": {"blocked"}, "reason": {"mule"}, "back": {"entity"}}, true)
			s.header.Del("HX-Request")
			if panel.Status != http.StatusOK || strings.Contains(panel.Body, "<html") || !strings.Contains(panel.Body, "MULE-1 is on the blocked list now.") {
				t.Fatalf("entity panel after adding = %d\n%.300s", panel.Status, panel.Body)
			}
			page = s.get("/entities/MULE-1")
			if !strings.Contains(page.Body, "Set by Sam Senior") || !strings.Contains(page.Body, "mule") {
				t.Error("the profile does not say who set the entry and why")
			}
			if res := s.post("/watchlists", url.Values{"account": {"MULE-1"}, "list": {"trusted"}, "reason": {"cleared"}, "back": {"entity"}}, true); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/entities/MULE-1" {
				t.Errorf("without htmx = %d to %q, want 303 back to the entity", res.Status, res.Header.Get("Location"))
			}
			v0 := b.get("/entities/V0")
			if !strings.Contains(v0.Body, "1 of its 1 counterparty took part in a transaction confirmed as fraud; 0 are blocked.") {
				t.Error("V0's counterparty counts differ")
			}
		})
	})
}

// graphFixture is an account with 30 counterparties as ProfileEntity
// gives it with its 25 riskiest: C03 sent it a critical transfer, C07 a
// high one, C29 dealt both ways; the others, by amount (100·(i+1) each).
func graphFixture() *store.Entity {
	e := &store.Entity{Account: "HUB", CounterpartyCount: 30}
	flow := func(i int) store.Counterparty {
		c := store.Counterparty{Account: fmt.Sprintf("C%02d", i)}
		c.In = store.Flow{Count: 1, Amount: 100 * float64(i+1), Low: 1}
		return c
	}
	c03, c07, c29 := flow(3), flow(7), flow(29)
	c03.In.Low, c03.In.Critical = 0, 1
	c07.In.Low, c07.In.High = 0, 1
	c29.Out = store.Flow{Count: 2, Amount: 50, Medium: 2}
	e.Counterparties = []store.Counterparty{c03, c07, c29}
	for i := 28; len(e.Counterparties) < graphTop; i-- {
		if i != 7 && i != 3 {
			e.Counterparties = append(e.Counterparties, flow(i))
		}
	}
	for i := range e.Counterparties {
		e.Received.Count += e.Counterparties[i].In.Count
	}
	return e
}

func TestCounterpartyGraph(t *testing.T) {
	e := graphFixture()
	nodes, edges := counterpartyGraph(e, map[string][]string{"C07": {store.WatchBlocked}, "C28": {store.WatchTrusted}}, nil)
	t.Run("draws the account and its counterparties, the riskiest at the top", func(t *testing.T) {
		if len(nodes) != 1+graphTop || nodes[0].account != "HUB" || !nodes[0].center {
			t.Fatalf("nodes = %d, first %+v", len(nodes), nodes[0])
		}
		if nodes[1].account != "C03" || nodes[1].y >= nodes[0].y || math.Abs(nodes[1].x-nodes[0].x) > 1e-9 {
			t.Errorf("the riskiest counterparty is not at the top: %+v", nodes[1])
		}
		if nodes[len(nodes)-1].account != "C06" || nodes[1].band != "critical" || nodes[2].watch != store.WatchBlocked {
			t.Errorf("ring = %+v … %+v", nodes[1], nodes[len(nodes)-1])
		}
	})
	t.Run("draws an edge each way money went, coloured by its band", func(t *testing.T) {
		if len(edges) != graphTop+1 {
			t.Errorf("edges = %d, want %d (C29 both ways)", len(edges), graphTop+1)
		}
		var both int
		for _, e := range edges {
			if e.curved {
				both++
			}
			if e.from == "C03" && e.flow.Band() != "critical" {
				t.Errorf("C03's edge band = %s", e.flow.Band())
			}
		}
		if both != 2 {
			t.Errorf("curved edges = %d, want C29's two", both)
		}
	})
	js, err := graphOptions(nodes, edges, func(a string) string { return "/entities/" + a })
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		BaseOption struct {
			Series []struct {
				Layout string `json:"layout"`
				Data   []struct {
					Name   string `json:"name"`
					Href   string `json:"href"`
					Symbol string `json:"symbol"`
					Label  struct {
						Formatter string `json:"formatter"`
					} `json:"label"`
				} `json:"data"`
				Links []struct {
					Source    string `json:"source"`
					LineStyle struct {
						Width float64 `json:"width"`
						Color string  `json:"color"`
					} `json:"lineStyle"`
				} `json:"links"`
			} `json:"series"`
		} `json:"baseOption"`
		Media []json.RawMessage `json:"media"`
	}
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatal(err)
	}
	s := o.BaseOption.Series[0]
	t.Run("builds options that link each node and mark the watchlist", func(t *testing.T) {
		if s.Layout != "none" || len(s.Data) != 1+graphTop || len(s.Links) != graphTop+1 || len(o.Media) != 2 {
			t.Fatalf("options: layout %q, %d nodes, %d links, %d media", s.Layout, len(s.Data), len(s.Links), len(o.Media))
		}
		for _, d := range s.Data {
			if d.Href != "/entities/"+d.Name {
				t.Errorf("node %s links to %q", d.Name, d.Href)
			}
			switch d.Name {
			case "C07":
				if d.Symbol != "diamond" || d.Label.Formatter != "C07 (blocked)" {
					t.Errorf("blocked node = %+v", d)
				}
			case "C28":
				if d.Symbol != "rect" || d.Label.Formatter != "C28 (trusted)" {
					t.Errorf("trusted node = %+v", d)
				}
			}
		}
		widest := s.Links[0]
		for _, l := range s.Links {
			if l.LineStyle.Width > widest.LineStyle.Width {
				widest = l
			}
		}
		if widest.Source != "C29" || widest.LineStyle.Width != 8 {
			t.Errorf("widest edge = %+v, want C29's (the largest amount) at 8 px", widest)
		}
		if s.Links[0].LineStyle.Color != bandColors["critical"] {
			t.Errorf("C03's edge colour = %q", s.Links[0].LineStyle.Color)
		}
	})
	t.Run("adds a counterparty's own counterparties beyond it", func(t *testing.T) {
		via := &store.Entity{Account: "C03", Counterparties: []store.Counterparty{
			{Account: "HUB", Out: store.Flow{Count: 1, Amount: 400, Critical: 1}},
			{Account: "C28", In: store.Flow{Count: 1, Amount: 5, Low: 1}},
			{Account: "FAR", In: store.Flow{Count: 1, Amount: 9, Low: 1}},
		}}
		nodes, edges := counterpartyGraph(e, nil, via)
		if len(nodes) != 1+graphTop+1 || nodes[len(nodes)-1].account != "FAR" || !nodes[1].center {
			t.Errorf("second hop nodes: %d, last %+v", len(nodes), nodes[len(nodes)-1])
		}
		if len(edges) != graphTop+1+2 {
			t.Errorf("second hop edges = %d, want two more (to C28 and FAR; HUB's is drawn)", len(edges))
		}
	})
}

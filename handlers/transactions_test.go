package handlers

import (
	"context"
	"html"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// scoreOne scores tx for the tenant of email and returns its id.
func (a *testApp) scoreOne(email, external string, tx scoring.Transaction) string {
	a.t.Helper()
	s, _, _, err := a.scorer.Score(context.Background(), store.ForTenant(a.db, a.user(email).TenantID), live.Input{ExternalID: external, Tx: tx})
	if err != nil {
		a.t.Fatal(err)
	}
	return s.Transaction.ID
}

// prediction reads back how a transaction scored.
func (a *testApp) prediction(email, id string) store.Prediction {
	a.t.Helper()
	s, err := store.GetScored(context.Background(), store.ForTenant(a.db, a.user(email).TenantID), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return s.Prediction
}

func fullBalanceTransfer(amount float64) scoring.Transaction {
	return scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: amount, NameOrig: "C100", OldBalanceOrg: amount, NameDest: "C200"}
}

func smallPayment(amount float64) scoring.Transaction {
	return scoring.Transaction{Step: 10, Type: "PAYMENT", Amount: amount, NameOrig: "C300", OldBalanceOrg: 50000,
		NewBalanceOrig: 50000 - amount, NameDest: "M400"}
}

func TestTransactionPageFormatsScores(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const analyst = "analyst@sentinel.demo"
		b := a.signedIn(analyst)
		low := a.scoreOne(analyst, "score-low-1", smallPayment(120))
		lowToo := a.scoreOne(analyst, "score-low-2", smallPayment(130))
		p, pToo := a.prediction(analyst, low), a.prediction(analyst, lowToo)
		if p.Score >= 0.01 || pToo.Score >= 0.01 {
			t.Fatalf("small payments score %v and %v; the test needs scores that four decimals would flatten", p.Score, pToo.Score)
		}
		res := b.get("/transactions/" + low)
		if res.Status != http.StatusOK {
			t.Fatalf("GET /transactions/%s = %d", low, res.Status)
		}
		want := html.EscapeString(scoring.FormatScore(p.Score))
		for _, tc := range []struct{ name, wantContains string }{
			{"the headline", `data-testid="score">` + want + `<`},
			{"the scoring card", `<dt>Score</dt><dd class="mono">` + want + `</dd>`},
			{"the calibration sentence", "fraud probability) of " + want + "."},
			{"the review threshold", `<dt>Review threshold at scoring</dt><dd class="mono">` + html.EscapeString(scoring.FormatScore(p.Threshold)) + `</dd>`},
			{"the similar transactions", `<td class="num mono q-score">` + html.EscapeString(scoring.FormatScore(pToo.Score)) + `</td>`},
		} {
			t.Run("formats the score in "+tc.name, func(t *testing.T) {
				if !strings.Contains(res.Body, tc.wantContains) {
					t.Errorf("GET /transactions/%s lacks %q", low, tc.wantContains)
				}
			})
		}
		if old := strconv.FormatFloat(p.Score, 'f', 4, 64); old != scoring.FormatScore(p.Score) && strings.Contains(res.Body, ">"+old+"<") {
			t.Errorf("GET /transactions/%s still shows the score as %s", low, old)
		}
	})
}

func TestTransactionPageHasChartFallback(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const analyst = "analyst@sentinel.demo"
		id := a.scoreOne(analyst, "fallback-1", fullBalanceTransfer(250000))
		res := a.signedIn(analyst).get("/transactions/" + id)
		for _, want := range []string{
			`data-testid="waterfall"`, `data-testid="waterfall-table"`,
			`<th scope="row">Base value (typical transaction)</th>`, `<th scope="row">Moves the whole balance = yes</th>`,
			`<th scope="row">Raw margin (log-odds)</th>`,
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("GET /transactions/%s = %d, lacks %q", id, res.Status, want)
			}
		}
	})
}

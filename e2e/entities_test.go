package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// An analyst opens an account's profile: the counterparty graph is drawn,
// a second hop through one counterparty comes in by htmx (and into the
// address), and on a phone the page does not scroll sideways.
func TestEntityProfileGraphAndSecondHop(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	const hub, via = "C7700000001", "C7700000002"
	for i := range 4 {
		score(fmt.Sprintf("hub-out-%d", i), scoring.Transaction{Step: 300 + i, Type: "TRANSFER", Amount: 9000 + float64(i),
			NameOrig: hub, OldBalanceOrg: 20000, NewBalanceOrig: 11000, NameDest: fmt.Sprintf("C77000001%02d", i)})
	}
	score("hub-in", scoring.Transaction{Step: 310, Type: "TRANSFER", Amount: 5000, NameOrig: via, OldBalanceOrg: 5000, NameDest: hub})
	score("via-out", scoring.Transaction{Step: 311, Type: "CASH_OUT", Amount: 4000, NameOrig: via, OldBalanceOrg: 4000, NameDest: "M7700000009"})
	const canvas = `document.querySelector('[data-testid="hop-form"]') && document.querySelector('[data-testid="hop-form"]').closest('section, div[id]').querySelector('[data-echarts] canvas')`
	const sideways = `document.documentElement.scrollWidth > window.innerWidth`
	var title, summary, note, location string
	var phoneSideways bool
	err := chromedp.Run(ctx,
		login(base, "analyst@sentinel.demo"),
		chromedp.Navigate(base+"/entities/"+hub),
		chromedp.WaitVisible(`[data-testid="entity-summary"]`),
		chromedp.Text(`[data-testid="entity-account"]`, &title),
		chromedp.Text(`[data-testid="entity-summary"]`, &summary),
		waitUntil(`!!(`+canvas+`)`),
		screenshot("entity"),
		chromedp.SetValue(`#hop-via`, via),
		chromedp.Click(`[data-testid="hop-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="hop-note"]`),
		waitUntil(`!!(`+canvas+`)`),
		chromedp.Text(`[data-testid="hop-note"]`, &note),
		chromedp.Location(&location),
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/entities/"+hub),
		chromedp.WaitVisible(`[data-testid="entity-summary"]`),
		waitUntil(`!!(`+canvas+`)`),
		chromedp.Evaluate(sideways, &phoneSideways),
		screenshot("phone-entity"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if title != hub || !strings.Contains(summary, "4") {
		t.Errorf("profile of %q with summary %q, want %s with its 4 transactions sent", title, summary, hub)
	}
	if !strings.Contains(note, via) || !strings.Contains(location, "via="+via) {
		t.Errorf("second hop: note %q at %s, want the hop through %s in the note and the address", note, location, via)
	}
	if phoneSideways {
		t.Error("the entity page scrolls sideways at 390px")
	}
}

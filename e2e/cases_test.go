package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// An analyst opens a case from a transaction, writes a note and moves it
// to waiting: each change swaps the case in place (htmx, with the CSRF
// header from the layout) and lands on its timeline.
func TestOpenAndWorkACase(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	id := score("case-1", scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1000000002", OldBalanceOrg: 181000,
		NewBalanceOrig: 0, NameDest: "C3000000003"})
	var heading, notes, countdown, timeline, url string
	err := chromedp.Run(ctx,
		login(base, "analyst@sentinel.demo"),
		chromedp.Navigate(base+"/transactions/"+id),
		chromedp.Click(`[data-testid="open-case"]`),
		chromedp.WaitVisible(`[data-testid="case-form"]`),
		chromedp.SendKeys(`#case-title`, "Takeover of C1000000002"),
		chromedp.SetValue(`#case-priority`, "critical"),
		chromedp.Click(`[data-testid="case-create"]`),
		chromedp.WaitVisible(`[data-testid="case-heading"]`),
		chromedp.Location(&url),
		chromedp.SendKeys(`#case-note`, "Called the customer."),
		chromedp.Click(`[data-testid="case-note-form"] button[type="submit"]`),
		waitUntil(`document.querySelectorAll('[data-testid="case-note"]').length === 1`),
		chromedp.SetValue(`#case-status`, "waiting"),
		chromedp.Click(`[data-testid="case-status-form"] button[type="submit"]`),
		waitUntil(`document.querySelector('[data-testid="case-status"]').textContent.includes('Waiting')`),
		chromedp.Text(`[data-testid="case-heading"]`, &heading),
		chromedp.Text(`[data-testid="case-notes"]`, &notes),
		chromedp.Text(`[data-testid="case-countdown"]`, &countdown),
		chromedp.Text(`[data-testid="case-timeline"]`, &timeline),
		screenshot("case"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "/cases/") || heading != "Takeover of C1000000002" || !strings.Contains(notes, "Called the customer.") {
		t.Errorf("case at %s: heading %q, notes %q", url, heading, notes)
	}
	if !strings.Contains(countdown, "clock paused while waiting") {
		t.Errorf("countdown = %q", countdown)
	}
	for _, want := range []string{"Opened", "Transaction added: case-1", "Account added: C1000000002", "Note", "Status: Open → Waiting (external)"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
}

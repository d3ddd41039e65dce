package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDriftTunerAndAlerts walks the monitoring pages as an admin: a drift
// variable's distributions open on click, the tuner's slider redraws the
// curves at its threshold from the server, the bell and the settings hub
// are there; any console error (CSP, htmx) fails it.
func TestDriftTunerAndAlerts(t *testing.T) {
	ctx, base := session(t)
	var threshold, bell, hub string
	err := chromedp.Run(ctx,
		login(base, "admin@sentinel.demo"),
		chromedp.WaitVisible(`[data-testid="alert-bell"]`),
		chromedp.Navigate(base+"/drift"),
		chromedp.WaitVisible(`[data-testid="drift-table"]`),
		chromedp.Click(`[data-testid="drift-row-amount"] a`),
		chromedp.WaitVisible(`[data-testid="drift-feature-panel"]`),
		waitUntil(`document.querySelectorAll('[data-testid="drift-feature-panel"] [data-echarts] canvas').length >= 2`),
		waitUntil(`location.search === "?feature=amount"`),
		screenshot("drift"),
		chromedp.Navigate(base+"/tuner"),
		chromedp.WaitVisible(`[data-testid="tuner-calibration-recommended"]`),
		waitUntil(`document.querySelectorAll('[data-testid="tuner-calibration"] [data-echarts] canvas').length >= 1`),
		chromedp.SetValue(`#tuner-threshold`, "0.37"),
		chromedp.Evaluate(`document.querySelector("#tuner-threshold").dispatchEvent(new Event("input", {bubbles: true}))`, nil),
		waitUntil(`document.querySelector('[data-testid="tuner-threshold"]').textContent === "0.37"`),
		waitUntil(`document.querySelectorAll('[data-testid="tuner-calibration"] [data-echarts] canvas').length >= 1`),
		chromedp.Text(`[data-testid="tuner-threshold"]`, &threshold),
		screenshot("tuner"),
		chromedp.Navigate(base+"/alerts"),
		chromedp.WaitVisible(`[data-testid="alerts-none"]`),
		chromedp.Text(`[data-testid="alert-bell"]`, &bell),
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(`[data-testid="settings-links"]`),
		chromedp.Text(`[data-testid="settings-links"]`, &hub),
	)
	if err != nil {
		t.Fatal(err)
	}
	if threshold != "0.37" {
		t.Errorf("threshold after the slider = %q, want 0.37", threshold)
	}
	if !strings.Contains(bell, "No open alerts") {
		t.Errorf("bell = %q, want no open alerts", bell)
	}
	for _, w := range []string{"Users", "API keys", "Alert rules", "Cost model", "Models", "Watchlists"} {
		if !strings.Contains(hub, w) {
			t.Errorf("settings hub lacks %q: %q", w, hub)
		}
	}
}

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestModelPageChartsAndWhatIf(t *testing.T) {
	ctx, base := session(t)
	var canvases, whatIf, compare string
	err := chromedp.Run(ctx,
		login(base, "admin@sentinel.demo"),
		chromedp.Navigate(base+"/models"),
		chromedp.WaitVisible(`[data-testid="models"]`),
		screenshot("models"),
		chromedp.Click(`[data-testid="models"] tbody tr a`),
		chromedp.WaitVisible(`[data-testid="model-card"]`),
		waitUntil(`document.querySelectorAll('[data-testid="model-card"] [data-echarts] canvas').length >= 3`),
		chromedp.Evaluate(`String(document.querySelectorAll('[data-testid="model-card"] [data-echarts] canvas').length)`, &canvases),
		screenshot("model"),
		chromedp.Evaluate(`document.querySelector("#th-review").value = ""`, nil),
		chromedp.SendKeys(`#th-review`, "0.9"),
		chromedp.WaitVisible(`[data-testid="whatif-changed"]`),
		chromedp.Text(`[data-testid="what-if"]`, &whatIf),
		chromedp.Navigate(base+"/models/compare"),
		chromedp.WaitVisible(`#compare-a`),
		chromedp.Text(`body`, &compare),
	)
	if err != nil {
		t.Fatal(err)
	}
	if canvases != "3" {
		t.Errorf("model card charts drawn = %s, want 3", canvases)
	}
	if !strings.Contains(whatIf, "would change band") {
		t.Errorf("what-if after typing = %q", whatIf)
	}
	if !strings.Contains(compare, "Choose two versions") {
		t.Errorf("compare page with one version = %q", compare)
	}
}

// Package e2e drives Sentinel in headless Chromium: it signs in and walks the
// main flows on a real server. It skips when no Chromium is installed
// (.ci/run installs Debian's). Set SENTINEL_E2E_SCREENSHOTS=DIR to keep
// screenshots of each page.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/sentinel-fraud/sentinel/handlers"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium installed")
	return ""
}

// session starts a seeded server and a headless browser; it fails the test
// on any console error (a CSP violation shows up there).
func session(t *testing.T) (context.Context, string) {
	ctx, base, _ := sessionWithScorer(t)
	return ctx, base
}

// sessionWithScorer is session with a function that scores a transaction
// for the demo tenant and returns its id.
func sessionWithScorer(t *testing.T) (context.Context, string, func(external string, tx scoring.Transaction) string) {
	t.Helper()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	store.PasswordCost = bcrypt.MinCost
	db := storetest.SQLite(t)
	if err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	scorer := live.NewScorer(db)
	admin, err := store.AdminFindLoginUser(context.Background(), db, "admin@sentinel.demo")
	if err != nil {
		t.Fatal(err)
	}
	score := func(external string, tx scoring.Transaction) string {
		s, _, _, err := scorer.Score(context.Background(), store.ForTenant(db, admin.TenantID), live.Input{ExternalID: external, Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		return s.Transaction.ID
	}
	srv := httptest.NewServer(handlers.New(db, scorer, handlers.Config{}))
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 860),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })

	var mu sync.Mutex
	var consoleErrors []string
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			mu.Lock()
			consoleErrors = append(consoleErrors, e.ExceptionDetails.Error())
			mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				mu.Lock()
				for _, a := range e.Args {
					consoleErrors = append(consoleErrors, string(a.Value)+a.Description)
				}
				mu.Unlock()
			}
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(consoleErrors) > 0 {
			t.Errorf("browser console errors: %v", consoleErrors)
		}
	})
	return ctx, srv.URL, score
}

func screenshot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		dir := os.Getenv("SENTINEL_E2E_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		var buf []byte
		if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// waitUntil waits, up to 15 s, for a JavaScript condition to hold: a wait
// on what the test needs, never on a guessed time.
func waitUntil(condition string) chromedp.Action {
	return chromedp.Poll(condition, nil, chromedp.WithPollingTimeout(15*time.Second))
}

func login(base, email string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, seed.DemoPassword),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`[data-testid="home-user"]`),
	}
}

func TestSignInThemeAndSignOut(t *testing.T) {
	ctx, base := session(t)
	var user, tenant, theme, themeAfterReload, loginText string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`[data-testid="demo-credentials"]`),
		screenshot("login"),
		login(base, "admin@sentinel.demo"),
		chromedp.Text(`[data-testid="home-user"]`, &user),
		chromedp.Text(`[data-testid="tenant-name"]`, &tenant),
		screenshot("home-light"),
		chromedp.Click(`#theme-toggle`),
		chromedp.AttributeValue(`html`, "data-theme", &theme, nil),
		chromedp.Reload(),
		chromedp.WaitVisible(`[data-testid="home-user"]`),
		chromedp.AttributeValue(`html`, "data-theme", &themeAfterReload, nil),
		screenshot("home-dark"),
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(`[data-testid="audit-table"]`),
		screenshot("audit"),
		chromedp.Click(`[data-testid="user-menu"]`),
		chromedp.Click(`[data-testid="logout"]`),
		chromedp.WaitVisible(`#email`),
		chromedp.Text(`body`, &loginText),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(user, "Avery Admin") || tenant != "Demo Bank" {
		t.Errorf("home shows user %q tenant %q", user, tenant)
	}
	if theme != "dark" || themeAfterReload != "dark" {
		t.Errorf("theme after toggle = %q, after reload = %q; want dark, dark", theme, themeAfterReload)
	}
	if !strings.Contains(loginText, "Sign in") {
		t.Errorf("after sign-out the page is not the login page: %q", loginText)
	}
}

func TestPhoneDrawer(t *testing.T) {
	ctx, base := session(t)
	var before, after string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 800),
		login(base, "analyst@sentinel.demo"),
		chromedp.Evaluate(`document.body.classList.contains("nav-open") ? "open" : "closed"`, &before),
		chromedp.Click(`.menu-btn`),
		chromedp.WaitVisible(`[data-testid="nav"]`),
		waitUntil(`document.querySelector('[data-testid="nav"]').getBoundingClientRect().left >= 0`), // slid in
		chromedp.Evaluate(`document.body.classList.contains("nav-open") ? "open" : "closed"`, &after),
		screenshot("phone-drawer"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if before != "closed" || after != "open" {
		t.Errorf("drawer before/after tap = %s/%s, want closed/open", before, after)
	}
}

func TestQueueDetailAndDecision(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	score("legit-1", scoring.Transaction{Step: 10, Type: "PAYMENT", Amount: 9839.64, NameOrig: "C1000000001", OldBalanceOrg: 170136,
		NewBalanceOrig: 160296.36, NameDest: "M2000000001"})
	score("fraud-1", scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1000000002", OldBalanceOrg: 181000,
		NewBalanceOrig: 0, NameDest: "C3000000003"})
	var rows, label, history, canvas, polled string
	err := chromedp.Run(ctx,
		login(base, "analyst@sentinel.demo"),
		chromedp.Navigate(base+"/queue?view=all&decision=any"),
		chromedp.WaitVisible(`[data-testid="queue-table"]`),
		chromedp.Evaluate(`String(document.querySelectorAll('[data-testid="queue-row"]').length)`, &rows),
		screenshot("queue"),
		chromedp.ActionFunc(func(context.Context) error {
			score("fraud-2", scoring.Transaction{Step: 401, Type: "CASH_OUT", Amount: 181000, NameOrig: "C3000000003", OldBalanceOrg: 181000,
				NewBalanceOrig: 0, NameDest: "M2000000002"})
			return nil
		}),
		waitUntil(`document.querySelectorAll('[data-testid="queue-row"]').length === 3`), // the next poll
		chromedp.Evaluate(`String(document.querySelectorAll('[data-testid="queue-row"]').length)`, &polled),
		chromedp.Click(`[data-testid="queue-row"] a`),
		chromedp.WaitVisible(`[data-testid="waterfall"]`),
		waitUntil(`document.querySelectorAll('[data-testid="waterfall"] canvas').length > 0`),
		chromedp.Evaluate(`String(document.querySelectorAll('[data-testid="waterfall"] canvas').length)`, &canvas),
		screenshot("transaction"),
		chromedp.Click(`input[name="decision"][value="confirmed_fraud"]`),
		chromedp.SendKeys(`#rationale`, "Whole balance to a fresh account, cashed out at once."),
		chromedp.Click(`[data-testid="decision-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="history"]`),
		chromedp.Text(`[data-testid="label"]`, &label),
		chromedp.Text(`[data-testid="history"]`, &history),
		screenshot("decided"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rows != "2" || polled != "3" {
		t.Errorf("queue rows = %s, after one poll %s; want 2 then 3", rows, polled)
	}
	if canvas == "0" {
		t.Error("the waterfall did not render a canvas")
	}
	if label != "Confirmed fraud" || !strings.Contains(history, "Alex Analyst") || !strings.Contains(history, "cashed out at once") {
		t.Errorf("after deciding: label %q, history %q", label, history)
	}
}

// At 390 px the review queue shows each row's score and band without
// sideways scrolling.
func TestReviewQueueOnAPhone(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	score("fraud-1", scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1000000002", OldBalanceOrg: 181000,
		NewBalanceOrig: 0, NameDest: "C3000000003"})
	var overflow, scoreRight, bandRight, rows string
	err := chromedp.Run(ctx,
		login(base, "analyst@sentinel.demo"),
		chromedp.EmulateViewport(390, 800),
		chromedp.Navigate(base+"/queue"),
		chromedp.WaitVisible(`[data-testid="queue-row"]`),
		chromedp.Evaluate(`String(document.querySelectorAll('[data-testid="queue-row"]').length)`, &rows),
		chromedp.Evaluate(`String(document.documentElement.scrollWidth - window.innerWidth)`, &overflow),
		chromedp.Evaluate(`String(Math.ceil(document.querySelector('[data-testid="queue-row"] .q-score').getBoundingClientRect().right))`, &scoreRight),
		chromedp.Evaluate(`String(Math.ceil(document.querySelector('[data-testid="queue-row"] .q-band').getBoundingClientRect().right))`, &bandRight),
		screenshot("phone-queue"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rows != "1" || overflow != "0" {
		t.Errorf("phone queue: %s rows, %s px wider than the screen; want 1 row, 0", rows, overflow)
	}
	for name, right := range map[string]string{"score": scoreRight, "band": bandRight} {
		if n, err := strconv.Atoi(right); err != nil || n > 390 {
			t.Errorf("the %s ends at %s px, beyond the 390 px screen", name, right)
		}
	}
}

// TestPhoneLayouts walks the chart and audit pages at 390 px wide: ECharts
// loads only where a chart is drawn, the waterfall takes its narrow layout
// with its table under it (and gives both up when the window widens), and
// no page scrolls sideways.
func TestPhoneLayouts(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	id := score("phone-1", scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 501430.07, NameOrig: "C1000000002",
		OldBalanceOrg: 501430.07, NameDest: "C3000000003"})
	const sideways = `document.documentElement.scrollWidth > window.innerWidth`
	const echartsScripts = `document.querySelectorAll('script[src*="echarts"]').length`
	var homeECharts, homeScripts, narrow, wide float64
	var homeSideways, txSideways, decidedSideways, auditSideways, auditWraps bool
	var narrowLabel, wideLabel string
	var history string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 844),
		login(base, "admin@sentinel.demo"),
		// The home page is the dashboard (charts); the queue draws none and
		// must not load ECharts.
		chromedp.WaitVisible(`[data-testid="chart-volume"] canvas`),
		// The map's geometry comes from assets and is registered before the map is drawn.
		waitUntil(`!!window.echarts.getMap("world") && !!document.querySelector('[data-testid="chart-geo"] canvas')`),
		chromedp.Evaluate(sideways, &homeSideways),
		chromedp.Navigate(base+"/queue"),
		chromedp.WaitVisible(`[data-testid="queue-filters"]`),
		chromedp.Evaluate(`typeof window.echarts === "undefined" ? 0 : 1`, &homeECharts),
		chromedp.Evaluate(echartsScripts, &homeScripts),
		chromedp.Navigate(base+"/transactions/"+id),
		chromedp.WaitVisible(`[data-testid="waterfall"] canvas`),
		waitUntil(`document.querySelector('[data-testid="waterfall"]')._chart.getOption().yAxis[0].axisLabel.overflow === "break"`),
		chromedp.Evaluate(`document.querySelector('[data-testid="waterfall"]')._chart.getOption().yAxis[0].axisLabel.overflow`, &narrowLabel),
		chromedp.Evaluate(`document.querySelector('[data-testid="waterfall-table"]').getBoundingClientRect().width`, &narrow),
		chromedp.Evaluate(sideways, &txSideways),
		screenshot("phone-transaction"),
		chromedp.SendKeys(`#rationale`, "Whole balance to a fresh account.\nCustomer denies it: https://bank.example/tickets/"+strings.Repeat("X", 80)),
		chromedp.Click(`input[name="decision"][value="confirmed_fraud"]`),
		chromedp.Click(`[data-testid="decision-form"] button[type="submit"]`),
		chromedp.WaitVisible(`[data-testid="history"]`),
		chromedp.Text(`[data-testid="history"]`, &history),
		chromedp.Evaluate(sideways, &decidedSideways),
		screenshot("phone-decided"),
		chromedp.EmulateViewport(1280, 860),
		waitUntil(`document.querySelector('[data-testid="waterfall"]')._chart.getOption().yAxis[0].axisLabel.overflow === "truncate"`),
		chromedp.Evaluate(`document.querySelector('[data-testid="waterfall"]')._chart.getOption().yAxis[0].axisLabel.overflow`, &wideLabel),
		chromedp.Evaluate(`document.querySelector('[data-testid="waterfall-table"]').getBoundingClientRect().width`, &wide),
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(`[data-testid="audit-details"] dl`),
		chromedp.Evaluate(sideways, &auditSideways),
		chromedp.Evaluate(`(function () {
			var d = document.querySelector('[data-testid="audit-details"] dl').getBoundingClientRect();
			return d.right <= window.innerWidth && d.height > 40;
		})()`, &auditWraps),
		screenshot("phone-audit"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if homeECharts != 0 || homeScripts != 0 {
		t.Errorf("the queue loaded ECharts (window.echarts %v, %v script elements)", homeECharts, homeScripts)
	}
	if narrowLabel != "break" || narrow < 300 {
		t.Errorf("at 390px the waterfall's labels overflow = %q and its table is %vpx wide; want labels broken over lines and the table shown", narrowLabel, narrow)
	}
	if wideLabel != "truncate" || wide > 1 {
		t.Errorf("widened to 1280px the waterfall's labels overflow = %q and its table is %vpx wide; want one line each and the table for screen readers only", wideLabel, wide)
	}
	if !strings.Contains(history, "Avery Admin") {
		t.Errorf("the decision was not recorded: history %q", history)
	}
	if homeSideways || txSideways || decidedSideways || auditSideways {
		t.Errorf("pages scroll sideways at 390px: home %v, transaction %v, after a decision with a long URL %v, audit %v",
			homeSideways, txSideways, decidedSideways, auditSideways)
	}
	if !auditWraps {
		t.Error("the audit details do not wrap inside the screen at 390px")
	}
}

// An auditor filters the investigate page (htmx swaps the results and
// pushes the filters into the address) and sees the histogram drawn, on a
// phone too; a senior analyst applies a bulk decision to selected rows.
func TestInvestigateFiltersAndBulkDecision(t *testing.T) {
	ctx, base, score := sessionWithScorer(t)
	for i := range 6 {
		score("inv-"+strconv.Itoa(i), scoring.Transaction{Step: 10, Type: "PAYMENT", Amount: 100 + float64(i), NameOrig: "C10000000" + strconv.Itoa(i),
			OldBalanceOrg: 5000, NewBalanceOrig: 4900 - float64(i), NameDest: "M2000000001"})
	}
	score("inv-t", scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1000000099", OldBalanceOrg: 181000, NameDest: "C2000000002"})
	var count, location, canvas, notice string
	var rows int
	err := chromedp.Run(ctx,
		login(base, "auditor@sentinel.demo"),
		chromedp.Navigate(base+"/investigate"),
		chromedp.WaitVisible(`[data-testid="investigate-stats"]`),
		chromedp.Click(`input[name="type"][value="TRANSFER"]`),
		chromedp.WaitVisible(`[data-testid="stat-count"]`),
		chromedp.Poll(`document.querySelector('[data-testid="stat-count"]').textContent === "1"`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Text(`[data-testid="stat-count"]`, &count),
		chromedp.Evaluate(`location.search`, &location),
		chromedp.Evaluate(`document.querySelector('[data-testid="histogram"] canvas') ? "drawn" : "missing"`, &canvas),
		chromedp.EmulateViewport(390, 844),
		chromedp.Reload(),
		chromedp.WaitVisible(`[data-testid="investigate-stats"]`),
		screenshot("investigate-phone"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if count != "1" || location != "?type=TRANSFER" || canvas != "drawn" {
		t.Errorf("after ticking TRANSFER: count %q, address %q, histogram %s", count, location, canvas)
	}
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 860),
		chromedp.Click(`[data-testid="user-menu"]`),
		chromedp.Click(`[data-testid="logout"]`),
		chromedp.WaitVisible(`#email`),
		login(base, "senior@sentinel.demo"),
		chromedp.Navigate(base+"/investigate?type=PAYMENT"),
		chromedp.WaitVisible(`[data-testid="bulk-form"]`),
		chromedp.Click(`[data-testid="investigate-row"]:nth-child(1) input[name="id"]`),
		chromedp.Click(`[data-testid="investigate-row"]:nth-child(2) input[name="id"]`),
		chromedp.Click(`input[name="decision"][value="false_positive"]`),
		chromedp.SendKeys(`#bulk-rationale`, "Payroll run to a known merchant."),
		chromedp.Click(`[data-testid="bulk-selected"]`),
		chromedp.WaitVisible(`[data-testid="notice"]`),
		chromedp.Text(`[data-testid="notice"]`, &notice),
		chromedp.Evaluate(`document.querySelectorAll('[data-testid="investigate-row"] .q-decision').length`, &rows),
		screenshot("investigate-bulk"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "Recorded false positive on 2 transactions.") || rows != 6 {
		t.Errorf("after the bulk decision: notice %q, %d rows", notice, rows)
	}
}

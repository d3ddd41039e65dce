package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sentinel-fraud/sentinel/store"
)

// TestSecondFactorSetUp sets up a second factor from the account page as a
// person would: the QR code is an image the CSP lets through, and a code
// from the secret shown as text turns it on.
func TestSecondFactorSetUp(t *testing.T) {
	ctx, base := session(t)
	var secret, codes string
	var qrWidth int
	err := chromedp.Run(ctx,
		login(base, "senior@sentinel.demo"),
		chromedp.Click(`[data-testid="user-menu"]`),
		chromedp.Click(`[data-testid="account-link"]`),
		chromedp.WaitVisible(`[data-testid="totp-card"]`),
		screenshot("account"),
		chromedp.Submit(`form[action="/account/2fa"]`),
		chromedp.WaitVisible(`[data-testid="totp-qr"]`),
		chromedp.Evaluate(`document.querySelector('[data-testid="totp-qr"]').naturalWidth`, &qrWidth),
		chromedp.Text(`[data-testid="totp-secret"]`, &secret),
		screenshot("totp-setup"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if qrWidth == 0 {
		t.Fatal("the QR code image did not load")
	}
	code, err := store.TOTPCode(strings.ReplaceAll(secret, " ", ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#code`, code),
		chromedp.Submit(`#code`),
		chromedp.WaitVisible(`[data-testid="recovery-codes"]`),
		chromedp.Text(`[data-testid="recovery-codes"]`, &codes),
		screenshot("recovery-codes"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(codes)); n != store.RecoveryCodeCount {
		t.Errorf("recovery codes shown = %d, want %d", n, store.RecoveryCodeCount)
	}
}

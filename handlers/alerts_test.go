package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/store"
)

// alertRuleForTest adds a queue backlog rule to email's tenant.
func alertRuleForTest(a *testApp, email string) *store.AlertRule {
	a.t.Helper()
	r := &store.AlertRule{Kind: monitor.KindQueueBacklog, Threshold: 1, Enabled: true}
	if err := store.CreateAlertRule(context.Background(), a.tenantOf(email), store.Actor{Email: "test"}, r); err != nil {
		a.t.Fatal(err)
	}
	return r
}

// openAlertForTest opens an alert of a new rule in email's tenant.
func openAlertForTest(a *testApp, email string) string {
	a.t.Helper()
	r := alertRuleForTest(a, email)
	al := &store.Alert{RuleID: r.ID, Kind: r.Kind, Threshold: r.Threshold, Value: 7, OpenedAt: time.Now().UTC()}
	if ok, err := store.OpenAlert(context.Background(), a.tenantOf(email), store.Actor{Email: "test"}, al, nil, r); err != nil || !ok {
		a.t.Fatalf("OpenAlert() = %v, %v", ok, err)
	}
	return al.ID
}

func TestAlertsPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		id := openAlertForTest(a, "admin@sentinel.demo")
		t.Run("the bell counts open alerts", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			res := b.get("/alerts/bell")
			if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="alert-bell-count">1<`) {
				t.Fatalf("GET /alerts/bell = %d\n%s", res.Status, res.Body)
			}
			if res := b.get("/"); !strings.Contains(res.Body, `data-testid="alert-bell"`) {
				t.Errorf("the layout has no bell")
			}
		})
		t.Run("another tenant sees neither the alert nor its count", func(t *testing.T) {
			b := a.signedIn("admin@acme.demo")
			res := b.get("/alerts")
			if strings.Contains(res.Body, id) {
				t.Errorf("acme's alerts page shows demo-bank's alert")
			}
			// Acme has no rule, and its empty page says why and where to add one.
			if !strings.Contains(res.Body, "No alert rule is switched on") || !strings.Contains(res.Body, `href="/settings/alerts"`) {
				t.Errorf("acme's empty alerts page does not say that no rule is on:\n%.3000s", res.Body)
			}
			alertRuleForTest(a, "admin@acme.demo")
			if res := b.get("/alerts"); !strings.Contains(res.Body, "when the one rule that is on passes its threshold") {
				t.Errorf("acme's empty alerts page does not count its rule:\n%.3000s", res.Body)
			}
			if res := a.signedIn("analyst@acme.demo").get("/alerts"); strings.Contains(res.Body, `href="/settings/alerts"`) {
				t.Errorf("an analyst's alerts page links the rules page, which the role cannot open")
			}
			if res := b.get("/alerts/bell"); strings.Contains(res.Body, "alert-bell-count") {
				t.Errorf("acme's bell counts demo-bank's alert:\n%s", res.Body)
			}
			if res := b.post("/alerts/"+id+"/acknowledge", url.Values{}, true); res.Status != http.StatusNotFound {
				t.Errorf("acknowledging another tenant's alert = %d, want 404", res.Status)
			}
		})
		t.Run("an analyst acknowledges an alert once, audited", func(t *testing.T) {
			b := a.signedIn("analyst@sentinel.demo")
			b.get("/alerts")
			if res := b.post("/alerts/"+id+"/acknowledge", url.Values{}, true); res.Status != http.StatusSeeOther {
				t.Fatalf("acknowledge = %d, want 303\n%s", res.Status, res.Body)
			}
			res := b.get("/alerts")
			if !strings.Contains(res.Body, "by analyst@sentinel.demo") {
				t.Errorf("the alerts page does not say who acknowledged it")
			}
			if res := b.post("/alerts/"+id+"/acknowledge", url.Values{}, true); res.Status != http.StatusConflict {
				t.Errorf("second acknowledge = %d, want 409", res.Status)
			}
			if n := count(a.auditActions("analyst@sentinel.demo"), store.ActionAlertAck); n != 1 {
				t.Errorf("%d acknowledge events, want 1", n)
			}
		})
		t.Run("an admin adds a rule with a webhook and sees its secret once", func(t *testing.T) {
			b := a.signedIn("admin@sentinel.demo")
			b.get("/settings/alerts")
			res := b.post("/settings/alerts", url.Values{"kind": {monitor.KindPSI}, "feature": {"amount"}, "threshold": {"0.2"},
				"webhook_url": {"https://hooks.example.com/x"}}, true)
			// The secret is shown in the answer itself, never kept in the session.
			if res.Status != http.StatusCreated || !strings.Contains(res.Body, `data-testid="rule-secret"`) || !strings.Contains(res.Body, "Rule added: PSI of Amount above 0.2") {
				t.Fatalf("create rule = %d\n%.2000s", res.Status, res.Body)
			}
			if res := b.get("/settings/alerts"); strings.Contains(res.Body, `data-testid="rule-secret"`) || strings.Contains(res.Body, "Rule added") {
				t.Errorf("the secret is shown again")
			}
		})
		t.Run("a webhook added to a rule later gets a secret that is kept", func(t *testing.T) {
			b := a.signedIn("admin@sentinel.demo")
			b.get("/settings/alerts")
			// Without a secret to show, a save answers with a redirect, so
			// that a reload does not post the rule again, and says so once.
			if res := b.post("/settings/alerts", url.Values{"kind": {monitor.KindQueueBacklog}, "threshold": {"7"}}, true); res.Status != http.StatusSeeOther ||
				res.Header.Get("Location") != "/settings/alerts" {
				t.Fatalf("create rule = %d to %q, want 303 to the rules page", res.Status, res.Header.Get("Location"))
			}
			if res := b.get("/settings/alerts"); !strings.Contains(res.Body, "Rule added") {
				t.Errorf("the rules page after the save does not say it was added")
			}
			if res := b.get("/settings/alerts"); strings.Contains(res.Body, "Rule added") {
				t.Errorf("the save's notice is shown twice")
			}
			tn := a.tenantOf("admin@sentinel.demo")
			rules, err := store.ListAlertRules(context.Background(), tn)
			if err != nil {
				t.Fatal(err)
			}
			var id string
			for _, r := range rules {
				if r.Kind == monitor.KindQueueBacklog && r.Threshold == 7 {
					id = r.ID
				}
			}
			res := b.post("/settings/alerts/"+id, url.Values{"threshold": {"7"}, "enabled": {"1"}, "webhook_url": {"https://hooks.example.com/later"}}, true)
			shown := regexp.MustCompile(`data-testid="rule-secret"[^>]*>(?s:.*?)<code[^>]*>([0-9a-f]{48})</code>`).FindStringSubmatch(res.Body)
			if res.Status != http.StatusOK || shown == nil {
				t.Fatalf("add a webhook = %d, want 200 with the secret shown\n%.2000s", res.Status, res.Body)
			}
			r, err := store.GetAlertRule(context.Background(), tn, id)
			if err != nil || r.WebhookSecret != shown[1] {
				t.Errorf("stored secret %q, %v; want the one shown, %q", r.WebhookSecret, err, shown[1])
			}
		})
		t.Run("webhook URLs other than http and https are refused", func(t *testing.T) {
			b := a.signedIn("admin@sentinel.demo")
			b.get("/settings/alerts")
			for _, u := range []string{"file:///etc/passwd", "gopher://x", "ftp://x/y", "https://user:pw@x/", "javascript:alert(1)", "http:///nohost"} {
				res := b.post("/settings/alerts", url.Values{"kind": {monitor.KindQueueBacklog}, "threshold": {"3"}, "webhook_url": {u}}, true)
				if res.Status != http.StatusUnprocessableEntity {
					t.Errorf("webhook %q = %d, want 422", u, res.Status)
				}
			}
		})
	})
}

func TestSettingsHub(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		for _, c := range []struct {
			email     string
			want, not []string
		}{
			{"admin@sentinel.demo", []string{"/settings/users", "/settings/api-keys", "/settings/security", "/settings/alerts", "/tuner", "/models", "/watchlists"}, nil},
			{"analyst@sentinel.demo", []string{"/tuner", "/models", "/watchlists"}, []string{"/settings/users", "/settings/api-keys", "/settings/alerts"}},
		} {
			res := a.signedIn(c.email).get("/settings")
			if res.Status != http.StatusOK {
				t.Fatalf("GET /settings as %s = %d", c.email, res.Status)
			}
			i := strings.Index(res.Body, `data-testid="settings-links"`)
			body := res.Body[i:]
			for _, w := range c.want {
				if !strings.Contains(body, `href="`+w+`"`) {
					t.Errorf("%s: hub has no link to %s", c.email, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(body, `href="`+n+`"`) {
					t.Errorf("%s: hub links %s, which the role cannot open", c.email, n)
				}
			}
			// The pages it cannot open are named, so that nobody looks for them.
			note := ""
			if j := strings.Index(body, `data-testid="settings-closed"`); j >= 0 {
				note = body[j : j+strings.Index(body[j:], "</p>")]
			}
			switch {
			case len(c.not) == 0 && note != "":
				t.Errorf("%s: the hub says some pages are closed: %s", c.email, note)
			case len(c.not) > 0 && (!strings.Contains(note, "Users") || !strings.Contains(note, "Alert rules")):
				t.Errorf("%s: the hub does not name the pages its role cannot open: %q", c.email, note)
			}
		}
	})
}

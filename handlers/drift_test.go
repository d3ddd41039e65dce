package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

func TestDriftPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("auditor@sentinel.demo")
		t.Run("before the first snapshot", func(t *testing.T) {
			res := b.get("/drift")
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "The first hourly snapshot has not been written yet") ||
				!strings.Contains(res.Body, "Baseline: the model&#39;s training split") {
				t.Fatalf("GET /drift = %d\n%.3000s", res.Status, res.Body)
			}
		})
		a.scoreN("admin@sentinel.demo", 30, "drift")
		if err := monitor.Snapshot(context.Background(), a.tenantOf("admin@sentinel.demo"), time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		t.Run("PSI by variable and window, from the snapshots", func(t *testing.T) {
			res := b.get("/drift")
			for _, want := range []string{`data-testid="drift-row-amount"`, `data-testid="drift-row-score"`, `data-testid="drift-row-type"`,
				"30 transactions", `data-testid="drift-score"`, `data-testid="drift-history"`, "Laplace"} {
				if !strings.Contains(res.Body, want) {
					t.Errorf("drift page lacks %s", want)
				}
			}
			if !strings.Contains(res.Body, "badge-psi-") {
				t.Errorf("drift page has no PSI reading")
			}
		})
		t.Run("a variable's distributions on click", func(t *testing.T) {
			b.header.Set("HX-Request", "true")
			res := b.get("/drift?feature=amount")
			b.header.Del("HX-Request")
			if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="drift-feature-panel"`) || strings.Contains(res.Body, "<html") {
				t.Fatalf("htmx GET /drift?feature=amount = %d\n%.2000s", res.Status, res.Body)
			}
			if res := b.get("/drift?feature=nope"); res.Status != http.StatusNotFound {
				t.Errorf("unknown variable = %d, want 404", res.Status)
			}
		})
		t.Run("another tenant's page has none of these snapshots", func(t *testing.T) {
			res := a.signedIn("analyst@acme.demo").get("/drift")
			if strings.Contains(res.Body, "30 transactions") {
				t.Errorf("acme's drift page counts demo-bank's traffic")
			}
		})
	})
}

func TestTuner(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.signedIn("admin@sentinel.demo")
		t.Run("the labelled curve is hidden under 50 labels", func(t *testing.T) {
			res := admin.get("/tuner")
			if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="tuner-labelled-hidden"`) ||
				!strings.Contains(res.Body, `data-testid="tuner-calibration-recommended"`) {
				t.Fatalf("GET /tuner = %d\n%.3000s", res.Status, res.Body)
			}
		})
		ids := a.scoreN("admin@sentinel.demo", 50, "tune")
		analyst := a.user("analyst@sentinel.demo")
		decide := func(ids []string) {
			for i, id := range ids {
				d := store.DecisionFalsePositive
				if i%3 == 0 {
					d = store.DecisionConfirmedFraud
				}
				if _, err := store.Decide(ctx, a.tenantOf("analyst@sentinel.demo"), store.Actor{UserID: analyst.ID, Email: analyst.Email}, id, d, "tuner test"); err != nil {
					t.Fatal(err)
				}
			}
		}
		decide(ids[:49])
		if res := admin.get("/tuner"); !strings.Contains(res.Body, `data-testid="tuner-labelled-hidden"`) || !strings.Contains(res.Body, "there are 49") {
			t.Errorf("49 labels: the labelled curve is not hidden")
		}
		decide(ids[49:])
		t.Run("shown from 50 labels, with the numbers at the slider", func(t *testing.T) {
			admin.header.Set("HX-Request", "true")
			res := admin.get("/tuner?t=0.3")
			admin.header.Del("HX-Request")
			if !strings.Contains(res.Body, `data-testid="tuner-labelled-at"`) || strings.Contains(res.Body, "tuner-labelled-hidden") ||
				!strings.Contains(res.Body, `data-testid="tuner-threshold">0.3<`) || strings.Contains(res.Body, `data-testid="cost-model"`) {
				t.Fatalf("htmx GET /tuner?t=0.3:\n%.3000s", res.Body)
			}
		})
		t.Run("the cost model form is audited and validated", func(t *testing.T) {
			admin.get("/tuner")
			res := admin.post("/tuner/costs", url.Values{"missed_share": {"50"}, "missed_fixed": {"10"}, "review_cost": {"7"}, "decline_cost": {"20"}}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "Cost model saved") || !strings.Contains(res.Body, `value="50"`) {
				t.Fatalf("save cost model = %d\n%.2000s", res.Status, res.Body)
			}
			row, err := store.GetCostModel(ctx, a.tenantOf("admin@sentinel.demo"))
			if err != nil || row.MissedShare != 0.5 || row.MissedFixed != 10 || row.ReviewCost != 7 || row.DeclineCost != 20 {
				t.Errorf("stored cost model = %+v, %v", row, err)
			}
			if n := count(a.auditActions("admin@sentinel.demo"), store.ActionCostModel); n != 1 {
				t.Errorf("%d cost model events, want 1", n)
			}
			if res := admin.post("/tuner/costs", url.Values{"missed_share": {"-1"}, "missed_fixed": {"0"}, "review_cost": {"5"}, "decline_cost": {"0"}}, true); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("negative share = %d, want 422", res.Status)
			}
			if res := admin.post("/tuner/costs", url.Values{"missed_share": {"x"}, "missed_fixed": {"0"}, "review_cost": {"5"}, "decline_cost": {"0"}}, true); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("non-number = %d, want 422", res.Status)
			}
			// The other tenant keeps the defaults.
			if _, err := store.GetCostModel(ctx, a.tenantOf("admin@acme.demo")); err == nil {
				t.Errorf("acme has a cost model it never saved")
			}
		})
		t.Run("apply sets the production model's review threshold through the registry", func(t *testing.T) {
			admin.get("/tuner")
			res := admin.post("/tuner/apply", url.Values{"review": {"0.42"}}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "review threshold is now 0.42") {
				t.Fatalf("apply = %d\n%.2000s", res.Status, res.Body)
			}
			mv, err := store.ProductionModel(ctx, a.tenantOf("admin@sentinel.demo"))
			if err != nil {
				t.Fatal(err)
			}
			var th scoring.Thresholds
			if err := json.Unmarshal(mv.Thresholds, &th); err != nil || th.Review != 0.42 {
				t.Errorf("production thresholds = %s, want review 0.42", mv.Thresholds)
			}
			if n := count(a.auditActions("admin@sentinel.demo"), store.ActionModelThresholds); n != 1 {
				t.Errorf("%d threshold events, want 1", n)
			}
			if res := admin.post("/tuner/apply", url.Values{"review": {"1.5"}}, true); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("review 1.5 = %d, want 422", res.Status)
			}
		})
	})
}

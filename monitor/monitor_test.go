package monitor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// fixture is a seeded database and the demo bank's tenant and production
// model.
type fixture struct {
	t     *testing.T
	db    *store.DB
	bank  store.Tenant
	model *Model
	n     int
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	tenants, err := store.AdminListTenants(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db}
	for _, tr := range tenants {
		if tr.Slug == "demo-bank-01" {
			f.bank = store.ForTenant(db, tr.ID)
		}
	}
	if f.model, err = ProductionModel(ctx, f.bank); err != nil {
		t.Fatal(err)
	}
	if f.model.Baseline == nil {
		t.Fatal("the shipped model has no baseline")
	}
	return f
}

// traffic stores n scored transactions received at at.
type traffic struct {
	label     string
	typ       string
	amount    float64
	score     float64
	band      string
	latencyUS int64
}

func (f *fixture) add(at time.Time, n int, tr traffic) []store.Transaction {
	f.t.Helper()
	txs := make([]store.Transaction, n)
	ps := make([]store.Prediction, n)
	for i := range txs {
		f.n++
		txs[i] = store.Transaction{ID: store.NewIDAt(at), ExternalID: fmt.Sprintf("fx-%d", f.n), Step: 10, Type: tr.typ, Amount: tr.amount, Label: tr.label,
			NameOrig: "C1", OldBalanceOrg: tr.amount, NameDest: "C2", ReceivedAt: at.UTC()}
		ps[i] = store.Prediction{ID: store.NewID(), ModelVersionID: f.model.Version.ID, Score: tr.score, Band: tr.band,
			Threshold: 0.5, LatencyUS: tr.latencyUS, CreatedAt: at.UTC()}
	}
	if err := store.SaveScoredBatch(context.Background(), f.bank, txs, ps); err != nil {
		f.t.Fatal(err)
	}
	return txs
}

func (f *fixture) snapshots() int64 {
	f.t.Helper()
	n, err := store.CountDriftSnapshots(context.Background(), f.bank, f.model.Version.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

var start = time.Date(2026, 1, 10, 10, 30, 0, 0, time.UTC)

func TestSnapshotOncePerHourAcrossWorkers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.add(start.Add(-135*time.Minute), 5, traffic{typ: "TRANSFER", amount: 1000, score: 0.9, band: "critical"}) // 08:15
		f.add(start.Add(-70*time.Minute), 5, traffic{typ: "PAYMENT", amount: 10, score: 0.001, band: "low"})        // 09:20
		clk := &clock{now: start}
		a, b := NewRunner(db, "worker-a", clk.Now), NewRunner(db, "worker-b", clk.Now)
		vars := int64(len(f.model.Variables()))

		// Both at once: one takes the lease, the other runs nothing.
		var wg sync.WaitGroup
		ran := make([]int, 2)
		for i, r := range []*Runner{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := r.Tick(ctx, DriftJob())
				if err != nil {
					t.Error(err)
				}
				ran[i] = n
			}()
		}
		wg.Wait()
		if ran[0]+ran[1] != 2 { // one run per tenant, two tenants
			t.Errorf("runs of the two workers = %v, want 2 in all (one per tenant)", ran)
		}
		if got, want := f.snapshots(), 2*vars; got != want {
			t.Fatalf("snapshot rows after 10:30 = %d, want %d (hours 08 and 09)", got, want)
		}
		// The lease expires; the other worker takes over in the same hour
		// and writes nothing new.
		clk.Add(20 * time.Minute)
		if _, err := b.Tick(ctx, DriftJob()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Tick(ctx, DriftJob()); err != nil {
			t.Fatal(err)
		}
		if got, want := f.snapshots(), 2*vars; got != want {
			t.Fatalf("snapshot rows at 10:50 = %d, want %d", got, want)
		}
		// Past 11:00, hour 10 is written once, even by a worker racing
		// without the lease.
		clk.Add(30 * time.Minute)
		for _, r := range []*Runner{a, b} {
			if _, err := r.Tick(ctx, DriftJob()); err != nil {
				t.Fatal(err)
			}
		}
		if err := Snapshot(ctx, f.bank, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if got, want := f.snapshots(), 3*vars; got != want {
			t.Fatalf("snapshot rows at 11:20 = %d, want %d (hours 08, 09, 10 once each)", got, want)
		}

		// Hour 08's type mix: five transfers, and the PSI of the 24 hours
		// up to it (only hour 08 has traffic) against the baseline's mix.
		rows, err := store.ListDriftSnapshots(ctx, f.bank, f.model.Version.ID, VarType, start.Add(-3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var h HourBins
		if err := json.Unmarshal(rows[0].Bins, &h); err != nil {
			t.Fatal(err)
		}
		if h.Cats["TRANSFER"] != 5 || len(h.Cats) != 1 {
			t.Errorf("hour 08's type counts = %v, want 5 transfers", h.Cats)
		}
		want, _ := scoring.CategoryPSI(f.model.Baseline.Types, f.model.Baseline.Rows, map[string]float64{"TRANSFER": 5})
		if math.Abs(rows[0].PSI-want) > 1e-9 {
			t.Errorf("hour 08's type PSI = %v, want %v", rows[0].PSI, want)
		}
		// Hour 09's trailing PSI counts both hours.
		want, _ = scoring.CategoryPSI(f.model.Baseline.Types, f.model.Baseline.Rows, map[string]float64{"TRANSFER": 5, "PAYMENT": 5})
		if math.Abs(rows[1].PSI-want) > 1e-9 {
			t.Errorf("hour 09's type PSI = %v, want %v (24 hours trailing)", rows[1].PSI, want)
		}

		// The page's view sums the snapshots per window.
		v, err := View(ctx, f.bank, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		score, _ := v.Var(VarScore)
		if score.N[0] != 10 || !score.OK[0] {
			t.Errorf("score over 24 hours: %v transactions (ok %v), want 10", score.N[0], score.OK[0])
		}
		if len(score.History) != 3 {
			t.Errorf("score history has %d points, want 3", len(score.History))
		}
	})
}

// rule adds an enabled rule.
func (f *fixture) rule(kind, feature string, threshold float64, webhook string) *store.AlertRule {
	f.t.Helper()
	r := &store.AlertRule{Kind: kind, Feature: feature, Threshold: threshold, Enabled: true, WebhookURL: webhook, WebhookSecret: "s3cret"}
	if err := store.CreateAlertRule(context.Background(), f.bank, store.Actor{Email: "test"}, r); err != nil {
		f.t.Fatal(err)
	}
	return r
}

// alerts lists the rule's alerts.
func (f *fixture) alerts(ruleID string) []store.Alert {
	f.t.Helper()
	all, err := store.ListAlerts(context.Background(), f.bank, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []store.Alert
	for _, a := range all {
		if a.RuleID == ruleID {
			out = append(out, a)
		}
	}
	return out
}

func TestRulesOpenAndResolveOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		clk := &clock{now: start}
		ev := &Evaluator{}
		evaluate := func() {
			t.Helper()
			if err := ev.Evaluate(ctx, f.bank, clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// Every rule holds for a while.
		// A complete hour of drifted traffic for the snapshot (low band: not
		// queued, not high risk), and three slow critical transactions.
		f.add(start.Add(-70*time.Minute), 20, traffic{typ: "DEBIT", amount: 5e6, score: 0.0001, band: "low", latencyUS: 1000})
		queued := f.add(start.Add(-time.Minute), 3, traffic{typ: "TRANSFER", amount: 5e6, score: 0.95, band: "critical", latencyUS: 120_000})
		if err := Snapshot(ctx, f.bank, start); err != nil {
			t.Fatal(err)
		}
		// A critical case opened five hours ago: due an hour ago (SLA 4 h).
		analyst, err := store.AdminFindLoginUser(ctx, db, "analyst@sentinel.demo")
		if err != nil {
			t.Fatal(err)
		}
		worker := store.Actor{UserID: analyst.ID, Email: analyst.Email}
		late, err := store.OpenCase(ctx, f.bank, worker, store.CaseInput{Title: "late", Priority: store.PriorityCritical},
			start.Add(-5*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		rules := map[string]*store.AlertRule{
			KindPSI:          f.rule(KindPSI, "", 0.25, ""),
			KindHighRiskHour: f.rule(KindHighRiskHour, "", 2, ""),
			KindLatencyP99:   f.rule(KindLatencyP99, "", 50, ""),
			KindQueueBacklog: f.rule(KindQueueBacklog, "", 2, ""),
			KindOverdueCases: f.rule(KindOverdueCases, "", 0, ""),
		}
		f.rule(KindPSI, VarType, 1e9, "") // never holds
		for range 3 {
			evaluate()
			clk.Add(time.Minute)
		}
		for kind, r := range rules {
			got := f.alerts(r.ID)
			if len(got) != 1 || got[0].ResolvedAt != nil {
				t.Fatalf("%s: alerts after three minutes = %+v, want one open", kind, got)
			}
		}
		if n, _ := store.CountOpenAlerts(ctx, f.bank); n != 5 {
			t.Errorf("open alerts = %d, want 5", n)
		}
		// Latency: nothing scored for 5 minutes.
		clk.Add(5 * time.Minute)
		evaluate()
		if a := f.alerts(rules[KindLatencyP99].ID); len(a) != 1 || a[0].ResolvedAt == nil {
			t.Errorf("latency alert after 8 quiet minutes = %+v, want resolved", a)
		}
		// Queue backlog: analysts decide two of the three.
		for _, tx := range queued[:2] {
			if _, err := store.Decide(ctx, f.bank, store.Actor{UserID: analyst.ID, Email: analyst.Email}, tx.ID, store.DecisionConfirmedFraud, "test"); err != nil {
				t.Fatal(err)
			}
		}
		evaluate()
		if a := f.alerts(rules[KindQueueBacklog].ID); len(a) != 1 || a[0].ResolvedAt == nil {
			t.Errorf("backlog alert after decisions = %+v, want resolved", a)
		}
		// Overdue cases: the late case is closed.
		if _, _, err := store.CloseCase(ctx, f.bank, worker, late.ID,
			store.CloseInput{Outcome: store.OutcomeNoAction, Summary: "done"}, clk.Now()); err != nil {
			t.Fatal(err)
		}
		evaluate()
		if a := f.alerts(rules[KindOverdueCases].ID); len(a) != 1 || a[0].ResolvedAt == nil {
			t.Errorf("overdue-cases alert after closing the case = %+v, want resolved", a)
		}
		// High risk: the hour passes.
		clk.Add(time.Hour)
		evaluate()
		if a := f.alerts(rules[KindHighRiskHour].ID); len(a) != 1 || a[0].ResolvedAt == nil {
			t.Errorf("high-risk alert an hour later = %+v, want resolved", a)
		}
		// PSI: a day without traffic leaves the trailing window empty.
		clk.Add(25 * time.Hour)
		if err := Snapshot(ctx, f.bank, clk.Now()); err != nil {
			t.Fatal(err)
		}
		evaluate()
		evaluate()
		for kind, r := range rules {
			got := f.alerts(r.ID)
			if len(got) != 1 || got[0].ResolvedAt == nil {
				t.Errorf("%s: alerts at the end = %+v, want the one alert, resolved", kind, got)
			}
		}
		if n, _ := store.CountOpenAlerts(ctx, f.bank); n != 0 {
			t.Errorf("open alerts at the end = %d, want 0", n)
		}
		var opens, resolves int
		events, err := store.ListAudit(ctx, f.bank, store.AuditFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			switch e.Action {
			case store.ActionAlertOpen:
				opens++
			case store.ActionAlertResolve:
				resolves++
			}
		}
		if opens != 5 || resolves != 5 {
			t.Errorf("audit: %d opens and %d resolves, want 5 and 5", opens, resolves)
		}
	})
}

func TestWebhookSignatureAndRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		type hit struct {
			body          []byte
			sig, ts, kind string
		}
		var mu sync.Mutex
		var hits []hit
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			hits = append(hits, hit{body, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), r.Header.Get("Content-Type")})
			n := len(hits)
			mu.Unlock()
			if n == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		f.add(start.Add(-time.Minute), 3, traffic{typ: "TRANSFER", amount: 10, score: 0.95, band: "critical"})
		r := f.rule(KindQueueBacklog, "", 1, srv.URL+"/hook")
		clk := &clock{now: start}
		ev := &Evaluator{Webhooks: NewWebhooks(true)}
		if err := ev.Evaluate(ctx, f.bank, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 {
			t.Fatalf("%d posts after the alert opened, want 1", len(hits))
		}
		d, err := store.ListDeliveries(ctx, f.bank, r.ID, 10)
		if err != nil || len(d) != 1 || d[0].State != store.DeliveryPending || d[0].LastStatus != 503 || d[0].Attempts != 1 ||
			!d[0].NextAttemptAt.Equal(start.Add(time.Minute)) {
			t.Fatalf("delivery after a 503 = %+v, %v; want pending, attempt 1, next at +1m", d, err)
		}
		clk.Add(30 * time.Second) // not due yet
		if err := ev.Evaluate(ctx, f.bank, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 {
			t.Fatalf("%d posts before the backoff ended, want 1", len(hits))
		}
		clk.Add(31 * time.Second)
		if err := ev.Evaluate(ctx, f.bank, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 {
			t.Fatalf("%d posts after the backoff, want 2", len(hits))
		}
		d, _ = store.ListDeliveries(ctx, f.bank, r.ID, 10)
		if d[0].State != store.DeliveryDelivered || d[0].Attempts != 2 || d[0].LastStatus != 204 {
			t.Errorf("delivery after the retry = %+v, want delivered on attempt 2", d[0])
		}
		h := hits[1]
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write([]byte(h.ts + "."))
		mac.Write(h.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.sig != want {
			t.Errorf("signature = %q, want %q", h.sig, want)
		}
		if ts, _ := strconv.ParseInt(h.ts, 10, 64); ts != clk.Now().Unix() {
			t.Errorf("timestamp = %s, want %d", h.ts, clk.Now().Unix())
		}
		var p Payload
		if err := json.Unmarshal(h.body, &p); err != nil || p.Event != "opened" || p.Alert.RuleID != r.ID || p.Alert.Value != 3 || h.kind != "application/json" {
			t.Errorf("payload = %s (%v), content type %q; want the opened alert of the rule, value 3, JSON", h.body, err, h.kind)
		}
	})
}

func TestWebhookBackoffEndsInFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		defer srv.Close()
		f.add(start.Add(-time.Minute), 3, traffic{typ: "TRANSFER", amount: 10, score: 0.95, band: "critical"})
		r := f.rule(KindQueueBacklog, "", 1, srv.URL)
		clk := &clock{now: start}
		ev := &Evaluator{Webhooks: NewWebhooks(true)}
		for range 20 {
			if err := ev.Evaluate(ctx, f.bank, clk.Now()); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
		}
		d, _ := store.ListDeliveries(ctx, f.bank, r.ID, 10)
		if len(d) != 1 || d[0].State != store.DeliveryFailed || d[0].Attempts != MaxAttempts {
			t.Errorf("delivery after 20 minutes of 500s = %+v, want failed after %d attempts (1+2+4+8 minutes apart)", d, MaxAttempts)
		}
	})
}

func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		posted := false
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posted = true }))
		defer srv.Close()
		f.add(start.Add(-time.Minute), 3, traffic{typ: "TRANSFER", amount: 10, score: 0.95, band: "critical"})
		r := f.rule(KindQueueBacklog, "", 1, srv.URL) // 127.0.0.1
		ev := &Evaluator{Webhooks: NewWebhooks(false)}
		if err := ev.Evaluate(ctx, f.bank, start); err != nil {
			t.Fatal(err)
		}
		d, _ := store.ListDeliveries(ctx, f.bank, r.ID, 10)
		if posted || len(d) != 1 || d[0].LastError != ErrPrivateAddress.Error() {
			t.Errorf("post to loopback: posted %v, delivery %+v; want refused with %q", posted, d, ErrPrivateAddress)
		}
	})
}

func TestValidateWebhookURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://hooks.example.com/x": true, "http://example.com:8080/a?b=c": true,
		"file:///etc/passwd": false, "gopher://x": false, "javascript:alert(1)": false, "https://u:p@x.com/": false,
		"http:///path": false, "//example.com": false, "": false,
	} {
		if err := ValidateWebhookURL(u); (err == nil) != ok {
			t.Errorf("ValidateWebhookURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
}

func TestBaselineFromTraffic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		// A bundle without a baseline (as trained before them) in production.
		var b scoring.Bundle
		if err := json.Unmarshal(models.Default, &b); err != nil {
			t.Fatal(err)
		}
		b.Baseline, b.CalibrationCurve = nil, nil
		raw, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := scoring.Load(raw); err != nil {
			t.Fatalf("a bundle without a baseline does not load: %v", err)
		}
		mv, err := store.RegisterModel(ctx, f.bank, store.NewModelVersion{Name: "old", Bundle: raw, Stage: store.StageProduction})
		if err != nil {
			t.Fatal(err)
		}
		f.model.Version = mv
		first := start.Add(-9 * 24 * time.Hour)
		for d := range 9 {
			typ := "PAYMENT"
			if d%2 == 1 {
				typ = "CASH_OUT"
			}
			f.add(first.Add(time.Duration(d)*24*time.Hour), 4, traffic{typ: typ, amount: float64(100 * (d + 1)), score: 0.01 * float64(d+1), band: "low"})
		}
		// Six days in, there is no baseline yet, and no snapshot.
		if err := Snapshot(ctx, f.bank, first.Add(6*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		m, err := ProductionModel(ctx, f.bank)
		if err != nil || m.Baseline != nil {
			t.Fatalf("baseline after 6 days = %+v, %v; want none yet", m.Baseline, err)
		}
		// From 7 days on, the first 7 days of traffic make it, once.
		if err := Snapshot(ctx, f.bank, start); err != nil {
			t.Fatal(err)
		}
		m, err = ProductionModel(ctx, f.bank)
		if err != nil || m.Baseline == nil {
			t.Fatalf("baseline after 9 days = nil, %v", err)
		}
		if m.Baseline.Source != scoring.BaselineTraffic || m.Baseline.Rows != 28 || !m.BaselineFrom.Equal(first) || !m.BaselineTo.Equal(first.Add(7*24*time.Hour)) {
			t.Errorf("baseline = %s, %d rows, %v to %v; want traffic, 28 rows (7 days × 4), the first 7 days", m.Baseline.Source, m.Baseline.Rows, m.BaselineFrom, m.BaselineTo)
		}
		if math.Abs(m.Baseline.Types["PAYMENT"]-16.0/28) > 1e-9 || math.Abs(m.Baseline.Types["CASH_OUT"]-12.0/28) > 1e-9 {
			t.Errorf("type mix = %v, want PAYMENT 16/28, CASH_OUT 12/28", m.Baseline.Types)
		}
		if n := f.snapshots(); n == 0 {
			t.Errorf("no snapshots once the baseline exists")
		}
	})
}

func TestLatencyP99(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for ms := 1; ms <= 200; ms++ { // p99 of 1..200 ms by nearest rank: the 198th, 198 ms
			f.add(start.Add(-time.Minute), 1, traffic{typ: "PAYMENT", amount: 1, score: 0.01, band: "low", latencyUS: int64(ms) * 1000})
		}
		f.add(start.Add(-10*time.Minute), 5, traffic{typ: "PAYMENT", amount: 1, score: 0.01, band: "low", latencyUS: 9_000_000}) // outside the window
		p99, n, err := store.LatencyP99Since(ctx, f.bank, start.Add(-5*time.Minute))
		if err != nil || n != 200 || p99 != 198_000 {
			t.Errorf("LatencyP99Since() = %d µs over %d, %v; want 198000 over 200", p99, n, err)
		}
	})
}

func TestViewWindowsFromTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		t0 := start.Add(-10 * 24 * time.Hour)
		f.add(t0, 5, traffic{typ: "PAYMENT", amount: 10, score: 0.01, band: "low"})
		f.add(t0.Add(8*24*time.Hour), 4, traffic{typ: "PAYMENT", amount: 10, score: 0.01, band: "low"})
		f.add(start.Add(-2*time.Hour), 3, traffic{typ: "TRANSFER", amount: 10, score: 0.01, band: "low"})
		if err := Snapshot(ctx, f.bank, start); err != nil {
			t.Fatal(err)
		}
		v, err := View(ctx, f.bank, start)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{VarScore, VarType, "amount"} {
			vd, _ := v.Var(name)
			if vd.N != [3]float64{3, 7, 12} {
				t.Errorf("%s: transactions per window (24 h, 7 d, 30 d) = %v, want [3 7 12]", name, vd.N)
			}
		}
		typ, _ := v.Var(VarType)
		want, _ := scoring.CategoryPSI(f.model.Baseline.Types, f.model.Baseline.Rows, map[string]float64{"PAYMENT": 4, "TRANSFER": 3})
		if math.Abs(typ.PSI[1]-want) > 1e-9 || typ.Recent.Cats["PAYMENT"] != 4 || typ.Recent.Cats["TRANSFER"] != 3 {
			t.Errorf("7-day type PSI = %v with %v, want %v from 4 payments and 3 transfers", typ.PSI[1], typ.Recent.Cats, want)
		}
	})
}

func TestLabelledCurveMatchesGridBins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		want := &scoring.CurveData{}
		scores := []float64{0, 0.0005, 0.001, 0.0019999, 0.002, 0.005, 0.0099, 0.01, 0.29, 0.28999999, 0.3, 0.5, 0.95, 0.99, 0.999, 1}
		for i, s := range scores {
			label, fraud := store.DecisionFalsePositive, i%3 == 0
			if fraud {
				label = store.DecisionConfirmedFraud
			}
			amount := float64(10 * (i + 1))
			f.add(start.Add(time.Duration(i)*time.Hour), 1, traffic{label: label, typ: "PAYMENT", amount: amount, score: s, band: "low"})
			want.Add(s, amount, fraud)
		}
		f.add(start, 2, traffic{label: store.DecisionEscalated, typ: "PAYMENT", amount: 1, score: 0.5, band: "low"}) // not a label
		got, err := store.LabelledCurve(ctx, f.bank)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.Bins {
			if got.Bins[i] != want.Bins[i] {
				t.Errorf("bin %d (from %v) = %+v, want %+v", i, scoring.TunerGrid[i], got.Bins[i], want.Bins[i])
			}
		}
		if !got.First.Equal(start) || !got.Last.Equal(start.Add(time.Duration(len(scores)-1)*time.Hour)) {
			t.Errorf("span = %v to %v, want %v to %v", got.First, got.Last, start, start.Add(time.Duration(len(scores)-1)*time.Hour))
		}
	})
}

func TestPublicAddress(t *testing.T) {
	for _, c := range []struct {
		host string
		want bool
	}{
		{"93.184.216.34", true}, {"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"100.100.100.200", false}, {"0.0.0.1", false}, {"198.18.0.5", false},
		{"::1", false}, {"fe80::1", false}, {"fd00::1", false}, {"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, {"2002:a00:1::1", false}, {"224.0.0.1", false}, {"not an address", false},
	} {
		if got := publicAddress(c.host); got != c.want {
			t.Errorf("publicAddress(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}

// A tenant's deliveries stop when their time is spent: the rest wait, due,
// for the next run (other tenants' alerts do not wait behind a slow
// receiver).
func TestDeliveriesStopWhenTheirTimeIsSpent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		var posts atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1); w.WriteHeader(http.StatusNoContent) }))
		defer srv.Close()
		f.add(start.Add(-time.Minute), 3, traffic{typ: "TRANSFER", amount: 10, score: 0.95, band: "critical"})
		r := f.rule(KindQueueBacklog, "", 1, srv.URL)
		w := NewWebhooks(true)
		w.budget = -time.Second // already spent
		if err := (&Evaluator{Webhooks: w}).Evaluate(ctx, f.bank, start); err != nil {
			t.Fatal(err)
		}
		d, err := store.ListDeliveries(ctx, f.bank, r.ID, 10)
		if err != nil || posts.Load() != 0 || len(d) != 1 || d[0].Attempts != 0 || d[0].State != store.DeliveryPending {
			t.Fatalf("over budget: %d posts, deliveries %+v, %v; want none sent, one pending", posts.Load(), d, err)
		}
		w.budget = deliverBudget
		if err := (&Evaluator{Webhooks: w}).Evaluate(ctx, f.bank, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d, _ := store.ListDeliveries(ctx, f.bank, r.ID, 10); posts.Load() != 1 || len(d) != 1 || d[0].State != store.DeliveryDelivered {
			t.Errorf("next run: %d posts, deliveries %+v; want the waiting one delivered", posts.Load(), d)
		}
	})
}

func TestDeliveryProblemsNameNoInternalAddress(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://hooks.example.com/sentinel", Err: err}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "hooks.example.com", Server: "10.255.255.53:53", IsNotFound: true}}),
			"the host name hooks.example.com could not be resolved"},
		{wrap(&net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			"the connection was refused"},
		{wrap(context.DeadlineExceeded), "no answer in time"},
		{wrap(fmt.Errorf("dial: %w", ErrPrivateAddress)), ErrPrivateAddress.Error()},
		{wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), "the server's TLS certificate was not accepted"},
		{wrap(errors.New("read tcp 10.0.0.5:51234->203.0.113.9:443: connection reset by peer")), "the request failed before an answer came (the server log has the details)"},
	} {
		got := deliveryProblem(tc.err)
		if got != tc.want {
			t.Errorf("deliveryProblem(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "10.") || strings.Contains(got, ":53") {
			t.Errorf("deliveryProblem(%v) = %q names an internal address", tc.err, got)
		}
	}
}

package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// RuleKind is one kind of alert rule: what it measures. A rule holds while
// the measure is above the rule's threshold. To add a kind (the overdue
// cases rule once cases exist), append a row here: the settings form, the
// evaluator and the alerts page read this table.
type RuleKind struct {
	ID    string
	Label string
	// Unit describes the threshold in the form ("PSI", "transactions", "ms").
	Unit string
	// HasFeature rules take a variable ("" for any).
	HasFeature bool
	// Measure returns the rule's current value; ok false means it cannot be
	// measured now (no data), which leaves an alert as it is.
	Measure func(ctx context.Context, t store.Tenant, r *store.AlertRule, now time.Time) (value float64, ok bool, err error)
}

// Rule kind ids.
const (
	KindPSI          = "psi"
	KindHighRiskHour = "high_risk_hour"
	KindLatencyP99   = "latency_p99"
	KindQueueBacklog = "queue_backlog"
	KindOverdueCases = "overdue_cases"
)

// RuleKinds is every kind of alert rule, in the form's order.
var RuleKinds = []RuleKind{
	{ID: KindPSI, Label: "PSI of a feature or the score (latest 24 hours) above", Unit: "PSI", HasFeature: true, Measure: measurePSI},
	{ID: KindHighRiskHour, Label: "Critical or high transactions in the last hour above", Unit: "transactions", Measure: measureHighRisk},
	{ID: KindLatencyP99, Label: "p99 scoring latency over 5 minutes above", Unit: "ms", Measure: measureLatency},
	{ID: KindQueueBacklog, Label: "Review queue backlog above", Unit: "transactions", Measure: measureBacklog},
	{ID: KindOverdueCases, Label: "Overdue cases above", Unit: "cases", Measure: measureOverdueCases},
}

// KindByID looks a rule kind up.
func KindByID(id string) (RuleKind, bool) {
	for _, k := range RuleKinds {
		if k.ID == id {
			return k, true
		}
	}
	return RuleKind{}, false
}

// measurePSI is the highest trailing 24-hour PSI of the latest snapshot hour
// (of the rule's variable, or of any).
func measurePSI(ctx context.Context, t store.Tenant, r *store.AlertRule, now time.Time) (float64, bool, error) {
	m, err := ProductionModel(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	last, err := store.LastDriftHour(ctx, t, m.Version.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	snaps, err := store.ListDriftSnapshots(ctx, t, m.Version.ID, r.Feature, last)
	if err != nil {
		return 0, false, err
	}
	best, ok := math.Inf(-1), false
	for _, s := range snaps {
		if s.PSI > best {
			best, ok = s.PSI, true
		}
	}
	return best, ok, nil
}

func measureHighRisk(ctx context.Context, t store.Tenant, _ *store.AlertRule, now time.Time) (float64, bool, error) {
	n, err := store.CountHighRiskSince(ctx, t, now.Add(-time.Hour))
	return float64(n), err == nil, err
}

// measureLatency is the p99 of the latency stored with the predictions of
// the last 5 minutes, from every replica (0 when nothing was scored: no
// scoring is slow then).
func measureLatency(ctx context.Context, t store.Tenant, _ *store.AlertRule, now time.Time) (float64, bool, error) {
	p99, _, err := store.LatencyP99Since(ctx, t, now.Add(-5*time.Minute))
	if err != nil {
		return 0, false, err
	}
	return float64(p99) / 1000, true, nil
}

func measureBacklog(ctx context.Context, t store.Tenant, _ *store.AlertRule, _ time.Time) (float64, bool, error) {
	n, err := store.CountBacklog(ctx, t)
	return float64(n), err == nil, err
}

// measureOverdueCases counts the cases past due and not closed, as the
// case list counts them.
func measureOverdueCases(ctx context.Context, t store.Tenant, _ *store.AlertRule, now time.Time) (float64, bool, error) {
	c, err := store.CountCases(ctx, t, "", now)
	return float64(c.Overdue), err == nil, err
}

// evaluatorActor is who opens and resolves alerts in the audit trail.
var evaluatorActor = store.Actor{Email: "system:alert-evaluator"}

// Evaluator checks a tenant's rules every minute and delivers webhooks.
type Evaluator struct {
	Webhooks *Webhooks
}

// Job is the evaluator as a singleton job: every minute, lease of 2.
func (e *Evaluator) Job() Job {
	return Job{Name: store.JobAlertEvaluate, Every: time.Minute, TTL: 2 * time.Minute, Run: e.Evaluate}
}

// Evaluate checks every enabled rule of the tenant once: it opens an alert
// for a rule that holds and has none open, resolves the open alert of a
// rule that stopped holding, then sends the webhook deliveries due.
func (e *Evaluator) Evaluate(ctx context.Context, t store.Tenant, now time.Time) error {
	rules, err := store.ListAlertRules(ctx, t)
	if err != nil {
		return err
	}
	open, err := store.OpenAlerts(ctx, t)
	if err != nil {
		return err
	}
	byRule := map[string]*store.Alert{}
	for i := range open {
		byRule[open[i].RuleID] = &open[i]
	}
	var errs []error
	for i := range rules {
		r := &rules[i]
		kind, ok := KindByID(r.Kind)
		if !ok {
			continue
		}
		cur := byRule[r.ID]
		if !r.Enabled && cur == nil {
			continue // off, and nothing to resolve
		}
		value, measured, err := kind.Measure(ctx, t, r, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		holds := r.Enabled && measured && value > r.Threshold
		switch {
		case holds && cur == nil:
			al := &store.Alert{RuleID: r.ID, Kind: r.Kind, Feature: r.Feature, Threshold: r.Threshold, Value: value, OpenedAt: now.UTC()}
			_, err = store.OpenAlert(ctx, t, evaluatorActor, al, payloadOf("opened"), r)
		case cur != nil && !holds && (measured || !r.Enabled):
			_, err = store.ResolveAlert(ctx, t, evaluatorActor, cur, value, now, payloadOf("resolved"), r)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if e.Webhooks != nil {
		if err := e.Webhooks.Deliver(ctx, t, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Payload is the JSON body of a webhook post.
type Payload struct {
	Event string       `json:"event"`
	Alert AlertPayload `json:"alert"`
}

// AlertPayload is the alert in a webhook post.
type AlertPayload struct {
	ID         string     `json:"id"`
	RuleID     string     `json:"rule_id"`
	Kind       string     `json:"kind"`
	Feature    string     `json:"feature,omitempty"`
	Threshold  float64    `json:"threshold"`
	Value      float64    `json:"value"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

func payloadOf(event string) func(*store.Alert) string {
	return func(a *store.Alert) string {
		b, _ := json.Marshal(Payload{Event: event, Alert: AlertPayload{ID: a.ID, RuleID: a.RuleID, Kind: a.Kind,
			Feature: a.Feature, Threshold: a.Threshold, Value: a.Value, OpenedAt: a.OpenedAt.UTC(), ResolvedAt: a.ResolvedAt}})
		return string(b)
	}
}

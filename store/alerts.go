package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"gorm.io/gorm"
)

// Audit actions of alert rules and alerts.
const (
	ActionAlertRuleCreate = "alert_rule.create"
	ActionAlertRuleUpdate = "alert_rule.update"
	ActionAlertRuleDelete = "alert_rule.delete"
	ActionAlertOpen       = "alert.open"
	ActionAlertResolve    = "alert.resolve"
	ActionAlertAck        = "alert.acknowledge"
)

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// ErrAlreadyAcknowledged is returned when acknowledging an acknowledged alert.
var ErrAlreadyAcknowledged = errors.New("this alert was acknowledged already")

// AlertRule is one condition the evaluator checks every minute. Kind names
// what it measures (monitor.RuleKinds); Feature narrows a PSI rule to one
// variable ("" is any). WebhookSecret signs the rule's webhook posts.
type AlertRule struct {
	ID string `gorm:"primaryKey"`
	Owned
	Kind           string
	Feature        string
	Threshold      float64
	Enabled        bool
	WebhookURL     string `gorm:"column:webhook_url"`
	WebhookSecret  string
	CreatedByEmail string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Alert is a rule that held: open until it stops holding (ResolvedAt).
type Alert struct {
	ID string `gorm:"primaryKey"`
	Owned
	RuleID              string
	Kind                string
	Feature             string
	Threshold           float64
	Value               float64
	OpenedAt            time.Time
	ResolvedAt          *time.Time
	AcknowledgedAt      *time.Time
	AcknowledgedByEmail string
}

// WebhookDelivery is one alert event posted to a rule's webhook, with its
// attempts so far.
type WebhookDelivery struct {
	ID string `gorm:"primaryKey"`
	Owned
	RuleID        string
	AlertID       string
	Event         string
	URL           string `gorm:"column:url"`
	Payload       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// The webhook appears by its host only: a URL's path or query may carry the
// receiver's own token (Slack's do), which auditors need not read.
func ruleDetails(r *AlertRule) map[string]any {
	host := ""
	if u, err := url.Parse(r.WebhookURL); err == nil {
		host = u.Host
	}
	return map[string]any{"kind": r.Kind, "feature": r.Feature, "threshold": r.Threshold, "enabled": r.Enabled,
		"webhook_host": host}
}

// CreateAlertRule stores a new rule, audited.
func CreateAlertRule(ctx context.Context, t Tenant, a Actor, r *AlertRule) error {
	now := time.Now().UTC()
	r.ID, r.CreatedAt, r.UpdatedAt, r.CreatedByEmail = NewID(), now, now, a.Email
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		return Event{Action: ActionAlertRuleCreate, ObjectType: "alert_rule", ObjectID: r.ID, Details: ruleDetails(r)}, tx.create(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("store: create alert rule: %w", err)
	}
	return nil
}

// UpdateAlertRule changes a rule's threshold, feature, webhook and whether it
// is on, audited with the old and new values.
func UpdateAlertRule(ctx context.Context, t Tenant, a Actor, r *AlertRule) error {
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		old, err := tx.alertRule(ctx, r.ID)
		if err != nil {
			return Event{}, err
		}
		r.UpdatedAt = time.Now().UTC()
		err = tx.scoped(ctx).Model(&AlertRule{}).Where("id = ?", r.ID).Updates(map[string]any{
			"feature": r.Feature, "threshold": r.Threshold, "enabled": r.Enabled, "webhook_url": r.WebhookURL,
			"webhook_secret": r.WebhookSecret, "updated_at": r.UpdatedAt,
		}).Error
		return Event{Action: ActionAlertRuleUpdate, ObjectType: "alert_rule", ObjectID: r.ID,
			Details: map[string]any{"old": ruleDetails(old), "new": ruleDetails(r)}}, err
	})
	if err != nil {
		return fmt.Errorf("store: update alert rule %s: %w", r.ID, err)
	}
	return nil
}

// DeleteAlertRule removes a rule with its alerts and deliveries, audited.
func DeleteAlertRule(ctx context.Context, t Tenant, a Actor, id string) error {
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		old, err := tx.alertRule(ctx, id)
		if err != nil {
			return Event{}, err
		}
		for _, m := range []any{&WebhookDelivery{}, &Alert{}} {
			if err := tx.scoped(ctx).Where("rule_id = ?", id).Delete(m).Error; err != nil {
				return Event{}, err
			}
		}
		err = tx.scoped(ctx).Where("id = ?", id).Delete(&AlertRule{}).Error
		return Event{Action: ActionAlertRuleDelete, ObjectType: "alert_rule", ObjectID: id, Details: ruleDetails(old)}, err
	})
	if err != nil {
		return fmt.Errorf("store: delete alert rule %s: %w", id, err)
	}
	return nil
}

func (t Tenant) alertRule(ctx context.Context, id string) (*AlertRule, error) {
	var r AlertRule
	if err := t.scoped(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

// GetAlertRule returns one of the tenant's rules.
func GetAlertRule(ctx context.Context, t Tenant, id string) (*AlertRule, error) {
	r, err := t.alertRule(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("store: alert rule %s: %w", id, err)
	}
	return r, nil
}

// ListAlertRules lists the tenant's rules, oldest first.
func ListAlertRules(ctx context.Context, t Tenant) ([]AlertRule, error) {
	var rows []AlertRule
	if err := t.scoped(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list alert rules: %w", err)
	}
	return rows, nil
}

// OpenAlerts lists the tenant's open alerts, newest first.
func OpenAlerts(ctx context.Context, t Tenant) ([]Alert, error) {
	var rows []Alert
	if err := t.scoped(ctx).Where("resolved_at IS NULL").Order("opened_at DESC, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: open alerts: %w", err)
	}
	return rows, nil
}

// CountOpenAlerts counts the tenant's open alerts (the bell).
func CountOpenAlerts(ctx context.Context, t Tenant) (int64, error) {
	var n int64
	if err := t.scoped(ctx).Model(&Alert{}).Where("resolved_at IS NULL").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count open alerts: %w", err)
	}
	return n, nil
}

// ListAlerts lists the tenant's latest alerts, open and resolved, newest
// first.
func ListAlerts(ctx context.Context, t Tenant, limit int) ([]Alert, error) {
	var rows []Alert
	if err := t.scoped(ctx).Order("opened_at DESC, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list alerts: %w", err)
	}
	return rows, nil
}

// OpenAlert opens an alert for a rule that holds, with a webhook delivery
// when the rule has a webhook (payload from the caller), audited as the
// evaluator's. It reports false when the rule has an open alert already:
// the partial unique index allows one per rule, so two evaluators racing
// open it once.
func OpenAlert(ctx context.Context, t Tenant, a Actor, al *Alert, payload func(*Alert) string, rule *AlertRule) (bool, error) {
	al.ID = NewID()
	errOpen := errors.New("open already")
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var n int64
		if err := tx.scoped(ctx).Model(&Alert{}).Where("rule_id = ? AND resolved_at IS NULL", al.RuleID).Count(&n).Error; err != nil {
			return Event{}, err
		}
		if n > 0 {
			return Event{}, errOpen
		}
		if err := tx.create(ctx, al); err != nil {
			return Event{}, err
		}
		if err := tx.queueDelivery(ctx, rule, al, "opened", payload, al.OpenedAt); err != nil {
			return Event{}, err
		}
		return Event{Action: ActionAlertOpen, ObjectType: "alert", ObjectID: al.ID, Details: map[string]any{
			"rule_id": al.RuleID, "kind": al.Kind, "feature": al.Feature, "value": al.Value, "threshold": al.Threshold}}, nil
	})
	switch {
	case errors.Is(err, errOpen), errors.Is(err, gorm.ErrDuplicatedKey):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: open alert of rule %s: %w", al.RuleID, err)
	}
	return true, nil
}

// ResolveAlert closes an open alert whose rule stopped holding, audited, with
// a webhook delivery when the rule has a webhook. It reports false when the
// alert was resolved already (by another evaluator).
func ResolveAlert(ctx context.Context, t Tenant, a Actor, al *Alert, value float64, at time.Time, payload func(*Alert) string, rule *AlertRule) (bool, error) {
	errGone := errors.New("resolved already")
	at = at.UTC()
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		res := tx.scoped(ctx).Model(&Alert{}).Where("id = ? AND resolved_at IS NULL", al.ID).Update("resolved_at", at)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected != 1 {
			return Event{}, errGone
		}
		al.ResolvedAt, al.Value = &at, value
		if err := tx.queueDelivery(ctx, rule, al, "resolved", payload, at); err != nil {
			return Event{}, err
		}
		return Event{Action: ActionAlertResolve, ObjectType: "alert", ObjectID: al.ID, Details: map[string]any{
			"rule_id": al.RuleID, "value": value}}, nil
	})
	switch {
	case errors.Is(err, errGone):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: resolve alert %s: %w", al.ID, err)
	}
	return true, nil
}

// queueDelivery adds a pending webhook delivery of an alert event when the
// rule has a webhook.
func (t Tenant) queueDelivery(ctx context.Context, rule *AlertRule, al *Alert, event string, payload func(*Alert) string, at time.Time) error {
	if rule == nil || rule.WebhookURL == "" || payload == nil {
		return nil
	}
	d := &WebhookDelivery{ID: NewID(), RuleID: rule.ID, AlertID: al.ID, Event: event, URL: rule.WebhookURL,
		State: DeliveryPending, NextAttemptAt: at.UTC(), CreatedAt: at.UTC()}
	d.Payload = payload(al)
	return t.create(ctx, d)
}

// AcknowledgeAlert marks an alert as seen by the actor, audited.
func AcknowledgeAlert(ctx context.Context, t Tenant, a Actor, id string, at time.Time) error {
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var al Alert
		if err := tx.scoped(ctx).Where("id = ?", id).Take(&al).Error; err != nil {
			return Event{}, notFound(err)
		}
		if al.AcknowledgedAt != nil {
			return Event{}, ErrAlreadyAcknowledged
		}
		err := tx.scoped(ctx).Model(&Alert{}).Where("id = ?", id).Updates(map[string]any{
			"acknowledged_at": at.UTC(), "acknowledged_by_email": a.Email}).Error
		return Event{Action: ActionAlertAck, ObjectType: "alert", ObjectID: id, Details: map[string]any{
			"rule_id": al.RuleID, "kind": al.Kind}}, err
	})
	if err != nil {
		return fmt.Errorf("store: acknowledge alert %s: %w", id, err)
	}
	return nil
}

// DueDeliveries returns up to limit pending deliveries whose next attempt is
// due at now.
func DueDeliveries(ctx context.Context, t Tenant, now time.Time, limit int) ([]WebhookDelivery, error) {
	var rows []WebhookDelivery
	err := t.scoped(ctx).Where("state = ? AND next_attempt_at <= ?", DeliveryPending, now.UTC()).
		Order("next_attempt_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: due deliveries: %w", err)
	}
	return rows, nil
}

// RecordDeliveryAttempt saves the outcome of one attempt: its state
// (pending with the next attempt's time, delivered or failed), status and
// error.
func RecordDeliveryAttempt(ctx context.Context, t Tenant, d *WebhookDelivery) error {
	err := t.scoped(ctx).Model(&WebhookDelivery{}).Where("id = ?", d.ID).Updates(map[string]any{
		"state": d.State, "attempts": d.Attempts, "next_attempt_at": d.NextAttemptAt.UTC(), "last_status": d.LastStatus,
		"last_error": d.LastError, "delivered_at": d.DeliveredAt,
	}).Error
	if err != nil {
		return fmt.Errorf("store: record delivery %s: %w", d.ID, err)
	}
	return nil
}

// ListDeliveries lists a rule's latest deliveries ("" for every rule),
// newest first.
func ListDeliveries(ctx context.Context, t Tenant, ruleID string, limit int) ([]WebhookDelivery, error) {
	q := t.scoped(ctx)
	if ruleID != "" {
		q = q.Where("rule_id = ?", ruleID)
	}
	var rows []WebhookDelivery
	if err := q.Order("created_at DESC, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list deliveries: %w", err)
	}
	return rows, nil
}

// CountHighRiskSince counts transactions received from since on that scored
// high or critical (by the model's bands, before watchlist overrides: the
// prediction's band).
func CountHighRiskSince(ctx context.Context, t Tenant, since time.Time) (int64, error) {
	var n int64
	err := t.scoped(ctx).Model(&Prediction{}).Where("band IN ? AND created_at >= ?", []string{"high", "critical"}, since.UTC()).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: count high risk: %w", err)
	}
	return n, nil
}

// LatencyP99Since is the 99th percentile (nearest rank) of the scoring
// latency (µs) of the transactions received from since on, and how many
// there were. Predictions are written by every replica, so this is the
// fleet's percentile. The window is found on the transactions' (tenant,
// id) index, ids carrying their time (predictions have no index on their
// time alone, and one would cost every insert); the one latency at the
// percentile's rank is read with a top-N sort of the window.
func LatencyP99Since(ctx context.Context, t Tenant, since time.Time) (p99 int64, n int64, err error) {
	window := func() *gorm.DB {
		return t.scoped(ctx).Model(&Transaction{}).
			Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
			Where("transactions.id >= ? AND transactions.received_at >= ?", idAt(since.Add(-idSlack)), since.UTC())
	}
	if err := window().Count(&n).Error; err != nil {
		return 0, 0, fmt.Errorf("store: latency p99: %w", err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	var v []int64
	// Rank ceil(0.99·n) from the bottom is rank n − ceil(0.99·n) + 1 from the top.
	skip := n - (99*n+99)/100
	err = window().Order("p.latency_us DESC").Offset(int(skip)).Limit(1).Pluck("p.latency_us", &v).Error
	if err != nil {
		return 0, 0, fmt.Errorf("store: latency p99: %w", err)
	}
	if len(v) == 0 {
		return 0, n, nil
	}
	return v[0], n, nil
}

package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// ruleText says what a rule (or its alert) watches, in words.
func ruleText(kind, feature string, threshold float64) string {
	th := strconv.FormatFloat(threshold, 'g', 6, 64)
	switch kind {
	case monitor.KindPSI:
		v := "any variable"
		if feature != "" {
			v = variableLabel(feature)
		}
		return fmt.Sprintf("PSI of %s above %s", v, th)
	case monitor.KindHighRiskHour:
		return fmt.Sprintf("More than %s critical or high transactions in an hour", th)
	case monitor.KindLatencyP99:
		return fmt.Sprintf("p99 scoring latency over 5 minutes above %s ms", th)
	case monitor.KindQueueBacklog:
		return fmt.Sprintf("Review queue backlog above %s", th)
	case monitor.KindOverdueCases:
		return fmt.Sprintf("More than %s overdue cases", th)
	}
	if k, ok := monitor.KindByID(kind); ok {
		return k.Label + " " + th
	}
	return kind + " above " + th
}

func alertValue(kind string, v float64) string {
	switch kind {
	case monitor.KindPSI:
		return fmt.Sprintf("%.3f", v)
	case monitor.KindLatencyP99:
		return fmt.Sprintf("%.1f ms", v)
	}
	return formatCount(int64(math.Round(v)))
}

// AlertList is the alerts page: open alerts (acknowledge) and the latest
// resolved ones.
func (s *Server) AlertList(c echo.Context) error {
	return s.renderAlerts(c, http.StatusOK, "", "")
}

func (s *Server) renderAlerts(c echo.Context, status int, notice, problem string) error {
	p := currentPrincipal(c)
	rows, err := store.ListAlerts(c.Request().Context(), p.Tenant, 100)
	if err != nil {
		return err
	}
	rules, err := store.ListAlertRules(c.Request().Context(), p.Tenant)
	if err != nil {
		return err
	}
	props := views.AlertsProps{CanAcknowledge: Can(p.User.Role, PermAckAlerts), CanManageRules: Can(p.User.Role, PermManageAlertRules),
		Notice: notice, Error: problem}
	for _, r := range rules {
		if r.Enabled {
			props.RulesOn++
		}
	}
	for i := range rows {
		a := &rows[i]
		row := views.AlertRow{ID: a.ID, Rule: ruleText(a.Kind, a.Feature, a.Threshold), Value: alertValue(a.Kind, a.Value),
			Opened: a.OpenedAt.UTC().Format(timeFormat), Resolved: whenUTC(a.ResolvedAt)}
		if a.AcknowledgedAt != nil {
			row.Acknowledged = fmt.Sprintf("%s by %s", whenUTC(a.AcknowledgedAt), a.AcknowledgedByEmail)
		}
		if a.ResolvedAt == nil {
			props.Open = append(props.Open, row)
		} else {
			props.Recent = append(props.Recent, row)
		}
	}
	return render(c, status, views.AlertsPage(props), nil)
}

// AlertBell is the top bar's bell with the number of open alerts.
func (s *Server) AlertBell(c echo.Context) error {
	n, err := store.CountOpenAlerts(c.Request().Context(), currentPrincipal(c).Tenant)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AlertBell(n, true), views.AlertBell(n, true))
}

// AlertAcknowledge marks an alert as seen, audited.
func (s *Server) AlertAcknowledge(c echo.Context) error {
	p := currentPrincipal(c)
	err := store.AcknowledgeAlert(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id"), s.now())
	if errors.Is(err, store.ErrAlreadyAcknowledged) {
		return s.renderAlerts(c, http.StatusConflict, "", "This alert was acknowledged already.")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "AlertList"))
}

// variableChoices are the variables a PSI rule may watch: any, the score,
// the type mix and every registry feature.
func variableChoices() []views.Option {
	out := []views.Option{{Value: "", Label: "Any variable"}, {Value: monitor.VarScore, Label: "Score"}, {Value: monitor.VarType, Label: "Type mix"}}
	for _, f := range scoring.Registry() {
		out = append(out, views.Option{Value: f.Name, Label: f.Label})
	}
	return out
}

func validVariable(v string) bool {
	for _, o := range variableChoices() {
		if o.Value == v {
			return true
		}
	}
	return false
}

// newRuleForm is the add-a-rule form as a fresh rules page shows it.
var newRuleForm = views.AlertRuleForm{Kind: monitor.KindPSI, Threshold: "0.25"}

// AlertRuleList is the alert rules page with the webhook delivery log, and
// what the last save said (a save answers with a redirect here, so that
// reloading the page does not post the rule again).
func (s *Server) AlertRuleList(c echo.Context) error {
	return s.renderRules(c, http.StatusOK, views.AlertRulesProps{Form: newRuleForm,
		Notice: s.sessions.PopString(c.Request().Context(), sessFlash)}, "", "")
}

// rulesSaved answers a save: back to the rules page with notice, or, when
// the save made a webhook secret, the rules page at once with the secret
// shown this one time. A secret never goes through the session, where a
// failed page or a concurrent request's save of the session could lose it
// (a rule's secret is made only once) or show it again.
func (s *Server) rulesSaved(c echo.Context, status int, notice, secret string) error {
	if secret != "" {
		return s.renderRules(c, status, views.AlertRulesProps{Form: newRuleForm,
			Notice: notice, Secret: secret}, "", "")
	}
	s.sessions.Put(c.Request().Context(), sessFlash, notice)
	return c.Redirect(http.StatusSeeOther, routePath(c, "AlertRuleList"))
}

func (s *Server) renderRules(c echo.Context, status int, props views.AlertRulesProps, errRule, errText string) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	rules, err := store.ListAlertRules(ctx, p.Tenant)
	if err != nil {
		return err
	}
	open, err := store.OpenAlerts(ctx, p.Tenant)
	if err != nil {
		return err
	}
	isOpen := map[string]bool{}
	for _, a := range open {
		isOpen[a.RuleID] = true
	}
	for _, k := range monitor.RuleKinds {
		props.Kinds = append(props.Kinds, views.Option{Value: k.ID, Label: k.Label + " (" + k.Unit + ")"})
	}
	props.Features = variableChoices()
	names := map[string]string{}
	for i := range rules {
		r := &rules[i]
		k, _ := monitor.KindByID(r.Kind)
		names[r.ID] = ruleText(r.Kind, r.Feature, r.Threshold)
		row := views.AlertRuleRow{ID: r.ID, Kind: names[r.ID], Feature: r.Feature, Threshold: strconv.FormatFloat(r.Threshold, 'f', -1, 64),
			Enabled: r.Enabled, WebhookURL: r.WebhookURL, Open: isOpen[r.ID], HasFeature: k.HasFeature, Features: props.Features}
		if r.ID == errRule {
			row.Error = errText
		}
		props.Rules = append(props.Rules, row)
	}
	deliveries, err := store.ListDeliveries(ctx, p.Tenant, "", 50)
	if err != nil {
		return err
	}
	for _, d := range deliveries {
		row := views.DeliveryRow{Rule: names[d.RuleID], Event: d.Event, URL: d.URL, State: d.State, Attempts: strconv.Itoa(d.Attempts),
			Error: d.LastError, Created: d.CreatedAt.UTC().Format(timeFormat)}
		if d.LastStatus != 0 {
			row.Status = strconv.Itoa(d.LastStatus)
		}
		if d.State == store.DeliveryPending {
			row.Next = d.NextAttemptAt.UTC().Format(timeFormat)
		}
		props.Deliveries = append(props.Deliveries, row)
	}
	return render(c, status, views.AlertRulesPage(props), nil)
}

// readRule reads a rule form: threshold, variable and webhook URL.
func readRule(c echo.Context, kind string) (threshold float64, feature, webhook, problem string) {
	text := strings.TrimSpace(c.FormValue("threshold"))
	threshold, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(threshold) || math.IsInf(threshold, 0) || threshold < 0 {
		return 0, "", "", "The threshold must be a number of 0 or more."
	}
	k, _ := monitor.KindByID(kind)
	if k.HasFeature {
		feature = c.FormValue("feature")
		if !validVariable(feature) {
			return 0, "", "", "Choose a variable from the list."
		}
	}
	webhook = strings.TrimSpace(c.FormValue("webhook_url"))
	if webhook != "" {
		if err := monitor.ValidateWebhookURL(webhook); err != nil {
			return 0, "", "", strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + "."
		}
	}
	return threshold, feature, webhook, ""
}

// AlertRuleCreate adds a rule; a webhook gets a new signing secret, shown
// once.
func (s *Server) AlertRuleCreate(c echo.Context) error {
	p := currentPrincipal(c)
	form := views.AlertRuleForm{Kind: c.FormValue("kind"), Feature: c.FormValue("feature"), Threshold: c.FormValue("threshold"), WebhookURL: c.FormValue("webhook_url")}
	if _, ok := monitor.KindByID(form.Kind); !ok {
		form.Error = "Choose what the rule watches from the list."
		return s.renderRules(c, http.StatusUnprocessableEntity, views.AlertRulesProps{Form: form}, "", "")
	}
	threshold, feature, webhook, problem := readRule(c, form.Kind)
	if problem != "" {
		form.Error = problem
		return s.renderRules(c, http.StatusUnprocessableEntity, views.AlertRulesProps{Form: form}, "", "")
	}
	r := &store.AlertRule{Kind: form.Kind, Feature: feature, Threshold: threshold, Enabled: true, WebhookURL: webhook}
	secret := ""
	if webhook != "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("handlers: webhook secret: %w", err)
		}
		secret = hex.EncodeToString(b)
		r.WebhookSecret = secret
	}
	if err := store.CreateAlertRule(c.Request().Context(), p.Tenant, actorOf(c, p), r); err != nil {
		return err
	}
	return s.rulesSaved(c, http.StatusCreated, "Rule added: "+ruleText(r.Kind, r.Feature, r.Threshold)+".", secret)
}

// AlertRuleUpdate changes a rule's threshold, variable, webhook and switch.
func (s *Server) AlertRuleUpdate(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	r, err := store.GetAlertRule(ctx, p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	threshold, feature, webhook, problem := readRule(c, r.Kind)
	if problem != "" {
		return s.renderRules(c, http.StatusUnprocessableEntity, views.AlertRulesProps{Form: newRuleForm}, r.ID, problem)
	}
	secret := ""
	if webhook != "" && r.WebhookSecret == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("handlers: webhook secret: %w", err)
		}
		secret = hex.EncodeToString(b)
		r.WebhookSecret = secret
	}
	r.Threshold, r.Feature, r.WebhookURL, r.Enabled = threshold, feature, webhook, c.FormValue("enabled") != ""
	if err := store.UpdateAlertRule(ctx, p.Tenant, actorOf(c, p), r); err != nil {
		return err
	}
	return s.rulesSaved(c, http.StatusOK, "Rule saved: "+ruleText(r.Kind, r.Feature, r.Threshold)+".", secret)
}

// AlertRuleDelete removes a rule with its alerts and deliveries.
func (s *Server) AlertRuleDelete(c echo.Context) error {
	p := currentPrincipal(c)
	if err := store.DeleteAlertRule(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "AlertRuleList"))
}

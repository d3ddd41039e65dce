package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Case statuses, in the order a case usually moves through them.
const (
	CaseOpen          = "open"
	CaseInvestigating = "investigating"
	// CaseWaiting waits on an external party: the SLA clock stands still.
	CaseWaiting   = "waiting"
	CaseEscalated = "escalated"
	CaseClosed    = "closed"
)

// CaseStatuses lists the statuses in order.
var CaseStatuses = []string{CaseOpen, CaseInvestigating, CaseWaiting, CaseEscalated, CaseClosed}

// Case priorities, most urgent first.
const (
	PriorityCritical = "critical"
	PriorityHigh     = "high"
	PriorityMedium   = "medium"
	PriorityLow      = "low"
)

// CasePriorities lists the priorities, most urgent first.
var CasePriorities = []string{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow}

// Case outcomes. The first two are also decisions: closing with one may
// apply it to the case's undecided transactions.
const (
	OutcomeConfirmedFraud = DecisionConfirmedFraud
	OutcomeFalsePositive  = DecisionFalsePositive
	OutcomeNoAction       = "no_action"
	OutcomeSARFiled       = "sar_filed"
	OutcomeReferred       = "referred_law_enforcement"
)

// CaseOutcomes lists the outcomes a case can be closed with.
var CaseOutcomes = []string{OutcomeConfirmedFraud, OutcomeFalsePositive, OutcomeNoAction, OutcomeSARFiled, OutcomeReferred}

// DefaultSLA is the time to resolve a case of each priority when the
// tenant's admin has not set one.
var DefaultSLA = map[string]time.Duration{
	PriorityCritical: 4 * time.Hour,
	PriorityHigh:     24 * time.Hour,
	PriorityMedium:   72 * time.Hour,
	PriorityLow:      7 * 24 * time.Hour,
}

// NoDue is Case.SortDue of a case whose clock stands still (waiting or
// closed): after every real due time.
var NoDue = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Kinds of timeline events; the audit action of each is "case." + kind.
const (
	CaseEventOpened            = "opened"
	CaseEventStatus            = "status"
	CaseEventPriority          = "priority"
	CaseEventAssignee          = "assignee"
	CaseEventNote              = "note"
	CaseEventTransactionAdded  = "transaction_added"
	CaseEventTransactionRemove = "transaction_removed"
	CaseEventAccountAdded      = "account_added"
	CaseEventAccountRemoved    = "account_removed"
	CaseEventClosed            = "closed"
	CaseEventReopened          = "reopened"
	CaseEventDecisions         = "decisions_applied"
	CaseEventBreach            = "sla_breached"
)

// ActionSLAPolicy is the audit action of a change of the SLA policy.
const ActionSLAPolicy = "case_sla.update"

// Case errors.
var (
	ErrBadPriority   = fmt.Errorf("priority must be one of %v", CasePriorities)
	ErrBadOutcome    = fmt.Errorf("outcome must be one of %v", CaseOutcomes)
	ErrBadTransition = errors.New("the case cannot move to that status from its current one")
	ErrCaseClosed    = errors.New("the case is closed; reopen it first")
	ErrCaseNotClosed = errors.New("the case is not closed")
	// ErrBadAssignee: the user is disabled or an auditor (who changes nothing).
	ErrBadAssignee = errors.New("cases go to active analysts, senior analysts and admins")
	// ErrNotYourCase: an analyst may take an unassigned case or give up
	// their own, nothing else.
	ErrNotYourCase = errors.New("the case is someone else's to give")
	ErrLinked      = errors.New("already linked to the case")
	ErrNotLinked   = errors.New("not linked to the case")
)

// caseTransitions are the moves of the status route; closing and
// reopening have routes of their own.
var caseTransitions = map[string][]string{
	CaseOpen:          {CaseInvestigating, CaseWaiting, CaseEscalated},
	CaseInvestigating: {CaseWaiting, CaseEscalated},
	CaseWaiting:       {CaseInvestigating, CaseEscalated},
	CaseEscalated:     {CaseInvestigating, CaseWaiting},
}

// CaseTransitions lists the statuses a case in status may move to with
// SetCaseStatus.
func CaseTransitions(status string) []string { return caseTransitions[status] }

// Overdue reports whether the case is past its due time at now and not
// closed. While the clock stands still the time left is frozen, so a
// waiting case is overdue only if it was when it began waiting.
func (c *Case) Overdue(now time.Time) bool {
	return c.Status != CaseClosed && c.Remaining(now) < 0
}

// Remaining is the time left before the due time (negative when past),
// counting only the time the clock runs.
func (c *Case) Remaining(now time.Time) time.Duration {
	if c.PausedAt != nil {
		return c.DueAt.Sub(*c.PausedAt)
	}
	return c.DueAt.Sub(now)
}

// overdueSQL keeps the cases Overdue at its one parameter, now. A clock
// stands still only from a time in the past (paused_at <= now), so a
// waiting case overdue (due before it began to wait) is due before now
// too: the condition on due_at alone is a range of an index.
const overdueSQL = "cases.status <> 'closed' AND " + pastDueSQL

// pastDueSQL is overdueSQL for a case known not to be closed.
const pastDueSQL = "cases.due_at < ? AND (cases.paused_at IS NULL OR cases.due_at < cases.paused_at)"

func utc(now time.Time) time.Time { return now.UTC().Truncate(time.Microsecond) }

// pause stops the clock at now, if it runs.
func (c *Case) pause(now time.Time) {
	if c.PausedAt == nil {
		c.PausedAt = &now
	}
	c.SortDue = NoDue
}

// resume starts the clock at now: the pause is added to the due time.
func (c *Case) resume(now time.Time) {
	if c.PausedAt != nil {
		d := now.Sub(*c.PausedAt)
		c.PausedSeconds += int64(d / time.Second)
		c.DueAt = c.DueAt.Add(d.Truncate(time.Second))
		c.PausedAt = nil
	}
	c.SortDue = c.DueAt
}

// SLAPolicy is the tenant's time to resolve a case of each priority, the
// defaults where the admin set none.
func SLAPolicy(ctx context.Context, t Tenant) (map[string]time.Duration, error) {
	out := make(map[string]time.Duration, len(DefaultSLA))
	for p, d := range DefaultSLA {
		out[p] = d
	}
	var rows []CaseSLAPolicy
	if err := t.scoped(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: sla policy: %w", err)
	}
	for _, r := range rows {
		out[r.Priority] = time.Duration(r.ResolveMinutes) * time.Minute
	}
	return out, nil
}

// SetSLAPolicy saves the tenant's time to resolve each priority given
// (whole minutes), audited. Cases already open keep their due time until
// their priority changes.
func SetSLAPolicy(ctx context.Context, t Tenant, a Actor, policy map[string]time.Duration, now time.Time) error {
	now = utc(now)
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		old, err := SLAPolicy(ctx, tx)
		if err != nil {
			return Event{}, err
		}
		details := map[string]any{}
		for _, p := range CasePriorities {
			d, ok := policy[p]
			if !ok {
				continue
			}
			if d < time.Minute {
				return Event{}, fmt.Errorf("%s: at least a minute", p)
			}
			row := CaseSLAPolicy{Priority: p, ResolveMinutes: int(d / time.Minute), UpdatedAt: now}
			if a.UserID != "" {
				row.UpdatedBy = &a.UserID
			}
			row.setTenant(tx.id)
			err := tx.db.WithContext(ctx).Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "priority"}},
				DoUpdates: clause.AssignmentColumns([]string{"resolve_minutes", "updated_by", "updated_at"}),
			}).Create(&row).Error
			if err != nil {
				return Event{}, err
			}
			details[p] = map[string]any{"old_minutes": int(old[p] / time.Minute), "new_minutes": row.ResolveMinutes}
		}
		return Event{Action: ActionSLAPolicy, ObjectType: "tenant", ObjectID: tx.id, Details: details}, nil
	})
	if err != nil {
		return fmt.Errorf("store: set sla policy: %w", err)
	}
	return nil
}

// CaseInput is a case to open.
type CaseInput struct {
	Title, Description, Priority string
	// AssigneeID is "" for none.
	AssigneeID     string
	TransactionIDs []string
	Accounts       []string
}

// caseChange is one timeline entry about to be written.
type caseChange struct{ Kind, Old, New string }

// OpenCase opens a case at now with its due time from the tenant's SLA
// policy, links its transactions and accounts, and writes its timeline and
// audit events, in one transaction. A transaction, account or assignee the
// tenant does not have is ErrNotFound.
func OpenCase(ctx context.Context, t Tenant, a Actor, in CaseInput, now time.Time) (*Case, error) {
	now = utc(now)
	if !slices.Contains(CasePriorities, in.Priority) {
		return nil, ErrBadPriority
	}
	var c *Case
	var err error
	for range 3 { // two cases opened at once may pick the same number
		c, err = openCase(ctx, t, a, in, now)
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open case: %w", err)
	}
	return c, nil
}

func openCase(ctx context.Context, t Tenant, a Actor, in CaseInput, now time.Time) (*Case, error) {
	c := &Case{ID: NewIDAt(now), Title: in.Title, Description: in.Description, Status: CaseOpen, Priority: in.Priority,
		CreatedBy: a.UserID, OpenedAt: now, CreatedAt: now, UpdatedAt: now}
	err := changeMany(ctx, t, a, func(tx Tenant) ([]Event, error) {
		policy, err := SLAPolicy(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.DueAt = now.Add(policy[c.Priority])
		c.SortDue = c.DueAt
		var assignee string
		if in.AssigneeID != "" {
			u, err := tx.assignable(ctx, in.AssigneeID)
			if err != nil {
				return nil, err
			}
			c.AssigneeID, assignee = &u.ID, u.Name
		}
		var max struct{ N int64 }
		if err := tx.scoped(ctx).Model(&Case{}).Select("COALESCE(MAX(number), 0) AS n").Scan(&max).Error; err != nil {
			return nil, err
		}
		c.Number = max.N + 1
		if err := tx.create(ctx, c); err != nil {
			return nil, err
		}
		changes := []caseChange{{Kind: CaseEventOpened, New: c.Priority + ", due " + formatDue(c.DueAt)}}
		if assignee != "" {
			changes = append(changes, caseChange{Kind: CaseEventAssignee, New: assignee})
		}
		for _, id := range dedupe(in.TransactionIDs) {
			ch, err := tx.linkTransaction(ctx, a, c, id, now)
			if err != nil {
				return nil, err
			}
			changes = append(changes, ch)
		}
		for _, acc := range dedupe(in.Accounts) {
			ch, err := tx.linkAccount(ctx, a, c, acc, now)
			if err != nil {
				return nil, err
			}
			changes = append(changes, ch)
		}
		if c.TransactionCount > 0 {
			if err := tx.scoped(ctx).Model(c).UpdateColumn("transaction_count", c.TransactionCount).Error; err != nil {
				return nil, err
			}
		}
		return tx.caseEvents(ctx, a, c, changes, now)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// formatDue writes a due time for the timeline.
func formatDue(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// assignable loads a user who may be given a case: the tenant's, active,
// not an auditor.
func (t Tenant) assignable(ctx context.Context, id string) (*User, error) {
	u, err := GetUser(ctx, t, id)
	if err != nil {
		return nil, err
	}
	if u.DisabledAt != nil || u.Role == RoleAuditor {
		return nil, ErrBadAssignee
	}
	return u, nil
}

// linkTransaction links one of the tenant's transactions to c.
func (t Tenant) linkTransaction(ctx context.Context, a Actor, c *Case, id string, now time.Time) (caseChange, error) {
	var tx Transaction
	if err := t.scoped(ctx).Select("id", "external_id").Where("id = ?", id).Take(&tx).Error; err != nil {
		return caseChange{}, fmt.Errorf("transaction %s: %w", id, notFound(err))
	}
	var n int64
	if err := t.scoped(ctx).Model(&CaseTransaction{}).Where("case_id = ? AND transaction_id = ?", c.ID, id).Count(&n).Error; err != nil {
		return caseChange{}, err
	}
	if n > 0 {
		return caseChange{}, ErrLinked
	}
	link := &CaseTransaction{CaseID: c.ID, TransactionID: id, AddedAt: now}
	if a.UserID != "" {
		link.AddedBy = &a.UserID
	}
	if err := t.create(ctx, link); err != nil {
		return caseChange{}, err
	}
	c.TransactionCount++
	return caseChange{Kind: CaseEventTransactionAdded, New: tx.ExternalID}, nil
}

// linkAccount links an account the tenant knows (in a transaction or on
// its watchlist) to c.
func (t Tenant) linkAccount(ctx context.Context, a Actor, c *Case, account string, now time.Time) (caseChange, error) {
	known, err := t.knowsAccount(ctx, account)
	if err != nil {
		return caseChange{}, err
	}
	if !known {
		return caseChange{}, fmt.Errorf("account %s: %w", account, ErrNotFound)
	}
	var n int64
	if err := t.scoped(ctx).Model(&CaseAccount{}).Where("case_id = ? AND account = ?", c.ID, account).Count(&n).Error; err != nil {
		return caseChange{}, err
	}
	if n > 0 {
		return caseChange{}, ErrLinked
	}
	link := &CaseAccount{CaseID: c.ID, Account: account, AddedAt: now}
	if a.UserID != "" {
		link.AddedBy = &a.UserID
	}
	if err := t.create(ctx, link); err != nil {
		return caseChange{}, err
	}
	return caseChange{Kind: CaseEventAccountAdded, New: account}, nil
}

// knowsAccount reports whether the account sent or received one of the
// tenant's transactions, or is on its watchlist.
func (t Tenant) knowsAccount(ctx context.Context, account string) (bool, error) {
	for _, q := range []*gorm.DB{
		t.scoped(ctx).Model(&Transaction{}).Where("name_orig = ?", account),
		t.scoped(ctx).Model(&Transaction{}).Where("name_dest = ?", account),
		t.scoped(ctx).Model(&WatchlistEntry{}).Where("account = ?", account),
	} {
		var n int64
		if err := q.Select("1").Limit(1).Scan(&n).Error; err != nil {
			return false, fmt.Errorf("account %s: %w", account, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// caseEvents writes c's timeline entries and returns their audit events.
func (t Tenant) caseEvents(ctx context.Context, a Actor, c *Case, changes []caseChange, now time.Time) ([]Event, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	// Ids from the wall clock (UUIDv7, increasing within this process), not
	// from now: the timeline reads in the order the changes were written.
	rows := make([]CaseEvent, len(changes))
	events := make([]Event, len(changes))
	for i, ch := range changes {
		rows[i] = CaseEvent{ID: NewID(), Owned: Owned{TenantID: t.id}, CaseID: c.ID, ActorEmail: a.Email,
			Kind: ch.Kind, OldValue: ch.Old, NewValue: ch.New, CreatedAt: now}
		if a.UserID != "" {
			rows[i].ActorID = &a.UserID
		}
		d := map[string]any{"case": c.Number}
		if ch.Old != "" {
			d["old"] = ch.Old
		}
		if ch.New != "" {
			d["new"] = ch.New
		}
		events[i] = Event{Action: "case." + ch.Kind, ObjectType: "case", ObjectID: c.ID, Details: d}
	}
	if err := t.db.WithContext(ctx).CreateInBatches(rows, 200).Error; err != nil {
		return nil, fmt.Errorf("case events: %w", err)
	}
	return events, nil
}

// lockCase loads a case for a change, locked on PostgreSQL so that two
// changes of one case take turns.
func (t Tenant) lockCase(ctx context.Context, id string) (*Case, error) {
	q := t.scoped(ctx).Where("id = ?", id)
	if t.db.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var c Case
	if err := q.Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// changeCase runs fn on the locked case, saves it (with UpdatedAt = now),
// and writes fn's timeline entries and their audit events (and fn's own
// extra events), all in one transaction.
func changeCase(ctx context.Context, t Tenant, a Actor, id string, now time.Time, what string,
	fn func(tx Tenant, c *Case) ([]caseChange, []Event, error)) (*Case, error) {
	now = utc(now)
	var out *Case
	err := changeMany(ctx, t, a, func(tx Tenant) ([]Event, error) {
		c, err := tx.lockCase(ctx, id)
		if err != nil {
			return nil, err
		}
		changes, extra, err := fn(tx, c)
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 && len(extra) == 0 {
			out = c // nothing changed: the case keeps its time of change
			return nil, nil
		}
		c.UpdatedAt = now // UpdateColumns: GORM would set its own clock's time
		err = tx.scoped(ctx).Model(c).
			Select("*").Omit("id", "tenant_id", "number", "created_at", "created_by", "opened_at").UpdateColumns(c).Error
		if err != nil {
			return nil, err
		}
		events, err := tx.caseEvents(ctx, a, c, changes, now)
		if err != nil {
			return nil, err
		}
		out = c
		return append(events, extra...), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s case %s: %w", what, id, err)
	}
	return out, nil
}

// GetCase loads one of the tenant's cases.
func GetCase(ctx context.Context, t Tenant, id string) (*Case, error) {
	var c Case
	if err := t.scoped(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, fmt.Errorf("store: get case %s: %w", id, notFound(err))
	}
	return &c, nil
}

// SetCaseStatus moves a case to another open status (CaseTransitions).
// Waiting stops the SLA clock; leaving waiting starts it again and adds
// the pause to the due time.
func SetCaseStatus(ctx context.Context, t Tenant, a Actor, id, status string, now time.Time) (*Case, error) {
	now = utc(now)
	return changeCase(ctx, t, a, id, now, "status of", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		if !slices.Contains(caseTransitions[c.Status], status) {
			return nil, nil, ErrBadTransition
		}
		old := c.Status
		c.Status = status
		if status == CaseWaiting {
			c.pause(now)
		} else {
			c.resume(now)
		}
		return []caseChange{{Kind: CaseEventStatus, Old: old, New: status}}, nil, nil
	})
}

// SetCasePriority changes a case's priority and recomputes its due time
// from when it was opened: opened + the policy's time for the new priority
// + the pauses so far.
func SetCasePriority(ctx context.Context, t Tenant, a Actor, id, priority string, now time.Time) (*Case, error) {
	if !slices.Contains(CasePriorities, priority) {
		return nil, ErrBadPriority
	}
	return changeCase(ctx, t, a, id, now, "priority of", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		if c.Priority == priority {
			return nil, nil, nil
		}
		policy, err := SLAPolicy(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		oldDue := c.DueAt
		old := c.Priority
		c.Priority = priority
		c.DueAt = c.OpenedAt.Add(policy[priority] + time.Duration(c.PausedSeconds)*time.Second)
		if c.PausedAt == nil {
			c.SortDue = c.DueAt
		}
		return []caseChange{{Kind: CaseEventPriority, Old: old + ", due " + formatDue(oldDue), New: priority + ", due " + formatDue(c.DueAt)}}, nil, nil
	})
}

// AssignCase gives a case to a user of the tenant ("" for nobody). With
// ownOnly (an analyst) the actor may only take an unassigned case or give
// up their own: anything else is ErrNotYourCase.
func AssignCase(ctx context.Context, t Tenant, a Actor, id, assigneeID string, ownOnly bool, now time.Time) (*Case, error) {
	return changeCase(ctx, t, a, id, now, "assign", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		// Checked on the locked row: a case given to someone else between
		// the analyst's page and this request stays theirs.
		if ownOnly && ((c.AssigneeID != nil && *c.AssigneeID != a.UserID) || (assigneeID != "" && assigneeID != a.UserID)) {
			return nil, nil, ErrNotYourCase
		}
		var name, oldName string
		if assigneeID != "" {
			u, err := tx.assignable(ctx, assigneeID)
			if err != nil {
				return nil, nil, err
			}
			name = u.Name
		}
		if c.AssigneeID != nil {
			if *c.AssigneeID == assigneeID {
				return nil, nil, nil
			}
			u, err := GetUser(ctx, tx, *c.AssigneeID)
			if err != nil {
				return nil, nil, err
			}
			oldName = u.Name
		} else if assigneeID == "" {
			return nil, nil, nil
		}
		c.AssigneeID = nil
		if assigneeID != "" {
			c.AssigneeID = &assigneeID
		}
		return []caseChange{{Kind: CaseEventAssignee, Old: oldName, New: name}}, nil, nil
	})
}

// CloseInput is how a case ends: its outcome, a summary, and whether to
// apply the outcome (confirmed fraud or false positive) as the decision on
// its undecided transactions.
type CloseInput struct {
	Outcome, Summary string
	ApplyDecision    bool
}

// CloseCase closes a case with an outcome and a summary and stops its
// clock. With ApplyDecision and an outcome that is a decision, it records
// that decision (audited, as TransactionDecide does) on every linked
// undecided transaction, in the same transaction. It returns the case and
// how many transactions it decided.
func CloseCase(ctx context.Context, t Tenant, a Actor, id string, in CloseInput, now time.Time) (*Case, int, error) {
	if !slices.Contains(CaseOutcomes, in.Outcome) {
		return nil, 0, ErrBadOutcome
	}
	now = utc(now)
	decided := 0
	c, err := changeCase(ctx, t, a, id, now, "close", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		old := c.Status
		c.Status, c.Outcome, c.Summary, c.ClosedAt = CaseClosed, in.Outcome, in.Summary, &now
		c.ClosedBy = nil
		if a.UserID != "" {
			c.ClosedBy = &a.UserID
		}
		c.pause(now)
		changes := []caseChange{{Kind: CaseEventStatus, Old: old, New: CaseClosed}, {Kind: CaseEventClosed, New: in.Outcome}}
		var extra []Event
		if in.ApplyDecision && (in.Outcome == OutcomeConfirmedFraud || in.Outcome == OutcomeFalsePositive) {
			linked := tx.db.Model(&CaseTransaction{}).Select("transaction_id").Where("tenant_id = ? AND case_id = ?", tx.id, c.ID)
			targets, err := tx.decisionTargets(ctx, tx.scoped(ctx).Where("transactions.label = ''").Where("transactions.id IN (?)", linked))
			if err != nil {
				return nil, nil, err
			}
			if len(targets) > 0 {
				rationale := truncate(fmt.Sprintf("Case #%d closed: %s", c.Number, in.Summary), 2000)
				_, events, err := tx.decide(ctx, a, targets, in.Outcome, rationale, map[string]any{"case_id": c.ID})
				if err != nil {
					return nil, nil, err
				}
				extra, decided = events, len(targets)
				changes = append(changes, caseChange{Kind: CaseEventDecisions, New: fmt.Sprintf("%s on %d transactions", in.Outcome, len(targets))})
			}
		}
		return changes, extra, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return c, decided, nil
}

// ReopenCase opens a closed case again: its outcome is cleared (the
// timeline keeps it) and its clock runs again from where it stopped.
func ReopenCase(ctx context.Context, t Tenant, a Actor, id string, now time.Time) (*Case, error) {
	now = utc(now)
	return changeCase(ctx, t, a, id, now, "reopen", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status != CaseClosed {
			return nil, nil, ErrCaseNotClosed
		}
		old := c.Outcome
		c.Status, c.Outcome, c.Summary, c.ClosedAt, c.ClosedBy = CaseOpen, "", "", nil, nil
		c.resume(now)
		return []caseChange{{Kind: CaseEventReopened, Old: old, New: CaseOpen}}, nil, nil
	})
}

// AddCaseNote writes a note on a case (closed ones too).
func AddCaseNote(ctx context.Context, t Tenant, a Actor, id, body string, now time.Time) (*Case, error) {
	now = utc(now)
	return changeCase(ctx, t, a, id, now, "note on", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		n := &CaseNote{ID: NewID(), CaseID: c.ID, UserID: a.UserID, Body: body, CreatedAt: now}
		if err := tx.create(ctx, n); err != nil {
			return nil, nil, err
		}
		return []caseChange{{Kind: CaseEventNote, New: truncate(body, 200)}}, nil, nil
	})
}

// LinkCaseTransaction adds one of the tenant's transactions to an open case.
func LinkCaseTransaction(ctx context.Context, t Tenant, a Actor, id, transactionID string, now time.Time) (*Case, error) {
	now = utc(now)
	return changeCase(ctx, t, a, id, now, "link to", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		ch, err := tx.linkTransaction(ctx, a, c, transactionID, now)
		return []caseChange{ch}, nil, err
	})
}

// UnlinkCaseTransaction takes a transaction off an open case.
func UnlinkCaseTransaction(ctx context.Context, t Tenant, a Actor, id, transactionID string, now time.Time) (*Case, error) {
	return changeCase(ctx, t, a, id, now, "unlink from", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		var txn Transaction
		if err := tx.scoped(ctx).Select("id", "external_id").Where("id = ?", transactionID).Take(&txn).Error; err != nil {
			return nil, nil, notFound(err)
		}
		res := tx.scoped(ctx).Where("case_id = ? AND transaction_id = ?", c.ID, transactionID).Delete(&CaseTransaction{})
		if res.Error != nil {
			return nil, nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, nil, ErrNotLinked
		}
		c.TransactionCount--
		return []caseChange{{Kind: CaseEventTransactionRemove, Old: txn.ExternalID}}, nil, nil
	})
}

// LinkCaseAccount adds an account the tenant knows to an open case.
func LinkCaseAccount(ctx context.Context, t Tenant, a Actor, id, account string, now time.Time) (*Case, error) {
	now = utc(now)
	return changeCase(ctx, t, a, id, now, "link to", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		ch, err := tx.linkAccount(ctx, a, c, account, now)
		return []caseChange{ch}, nil, err
	})
}

// UnlinkCaseAccount takes an account off an open case.
func UnlinkCaseAccount(ctx context.Context, t Tenant, a Actor, id, account string, now time.Time) (*Case, error) {
	return changeCase(ctx, t, a, id, now, "unlink from", func(tx Tenant, c *Case) ([]caseChange, []Event, error) {
		if c.Status == CaseClosed {
			return nil, nil, ErrCaseClosed
		}
		res := tx.scoped(ctx).Where("case_id = ? AND account = ?", c.ID, account).Delete(&CaseAccount{})
		if res.Error != nil {
			return nil, nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, nil, ErrNotFound
		}
		return []caseChange{{Kind: CaseEventAccountRemoved, Old: account}}, nil, nil
	})
}

// breachActor is who writes an SLA breach: the system.
var breachActor = Actor{Email: "system", UserAgent: "sentinel sla"}

// RecordBreaches writes an SLA breach to the timeline (and the audit
// trail) of every case overdue at now whose breach is not written yet,
// once per case: the row's breach_recorded_at is set by the statement
// that claims it, so two readers at once write it once. The list and the
// case page call it before they read.
func RecordBreaches(ctx context.Context, t Tenant, now time.Time) (int, error) {
	now = utc(now)
	var ids []string
	if err := t.scoped(ctx).Model(&Case{}).Where("breach_recorded_at IS NULL").Where(overdueSQL, now).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("store: cases past due: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	err := changeMany(ctx, t, breachActor, func(tx Tenant) ([]Event, error) {
		var events []Event
		for _, id := range ids {
			res := tx.scoped(ctx).Model(&Case{}).Where("id = ? AND breach_recorded_at IS NULL", id).Where(overdueSQL, now).
				UpdateColumn("breach_recorded_at", now) // not a change of the case: updated_at stays
			if res.Error != nil {
				return nil, res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			c, err := GetCase(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			ev, err := tx.caseEvents(ctx, breachActor, c, []caseChange{{Kind: CaseEventBreach, Old: "due " + formatDue(c.DueAt)}}, now)
			if err != nil {
				return nil, err
			}
			events = append(events, ev...)
			n++
		}
		return events, nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: record breaches: %w", err)
	}
	return n, nil
}

// Assignee filter values of CaseFilter beside a user id.
const (
	AssigneeMe   = "me"
	AssigneeNone = "none"
)

// Status filter values of CaseFilter beside a status.
const (
	CaseStatusActive = "" // every status but closed
	CaseStatusAny    = "any"
)

// CaseFilter narrows ListCases.
type CaseFilter struct {
	// Status is CaseStatusActive, CaseStatusAny or one status.
	Status   string
	Priority string
	// Assignee is "" (anyone), AssigneeMe (UserID's), AssigneeNone, or a
	// user id.
	Assignee string
	UserID   string
	// Overdue keeps cases past due; DueSoon those due within 24 hours of
	// Now (running clocks only).
	Overdue, DueSoon bool
	// Text is part of the title, in any case.
	Text string
	Now  time.Time
	// After is the keyset cursor: the id of the last case of the page
	// before.
	After string
	Limit int
}

// CaseRow is a case as the list shows it.
type CaseRow struct {
	Case
	AssigneeName string
}

// casesQuery selects the cases f keeps, in no order.
func (t Tenant) casesQuery(ctx context.Context, f CaseFilter) *gorm.DB {
	q := t.scoped(ctx).Model(&Case{})
	switch f.Status {
	case CaseStatusActive:
		q = q.Where("cases.status <> ?", CaseClosed)
	case CaseStatusAny:
	default:
		q = q.Where("cases.status = ?", f.Status)
	}
	if f.Priority != "" {
		q = q.Where("cases.priority = ?", f.Priority)
	}
	switch f.Assignee {
	case "":
	case AssigneeMe:
		q = q.Where("cases.assignee_id = ?", f.UserID)
	case AssigneeNone:
		q = q.Where("cases.assignee_id IS NULL")
	default:
		q = q.Where("cases.assignee_id = ?", f.Assignee)
	}
	now := utc(f.Now)
	if f.Overdue {
		q = q.Where(overdueSQL, now)
	}
	if f.DueSoon {
		q = q.Where("cases.status <> 'closed' AND cases.paused_at IS NULL AND cases.due_at >= ? AND cases.due_at < ?", now, now.Add(24*time.Hour))
	}
	if s := strings.TrimSpace(f.Text); s != "" {
		q = q.Where("lower(cases.title) LIKE lower(?) ESCAPE '\\'", "%"+escapeLike(s)+"%")
	}
	return q
}

// ListCases lists the cases f keeps, by due time (cases whose clock stands
// still last), then latest change first: up to f.Limit after f.After.
// It returns one more row than f.Limit when there is a next page.
func ListCases(ctx context.Context, t Tenant, f CaseFilter) ([]CaseRow, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := t.casesQuery(ctx, f)
	if f.After != "" {
		c, err := GetCase(ctx, t, f.After)
		if err != nil {
			return nil, err
		}
		q = q.Where("(cases.sort_due > ? OR (cases.sort_due = ? AND (cases.updated_at < ? OR (cases.updated_at = ? AND cases.id < ?))))",
			c.SortDue, c.SortDue, c.UpdatedAt, c.UpdatedAt, c.ID)
	}
	var rows []CaseRow
	err := q.Select("cases.*, u.name AS assignee_name").
		Joins("LEFT JOIN users u ON u.id = cases.assignee_id AND u.tenant_id = cases.tenant_id").
		Order("cases.sort_due ASC, cases.updated_at DESC, cases.id DESC").Limit(f.Limit + 1).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list cases: %w", err)
	}
	return rows, nil
}

// CaseCounts is a tenant's case load: cases not closed, and among them
// those past due, critical, without an owner, and the user's.
type CaseCounts struct {
	Open, Overdue, Critical, Unassigned, Mine int64
}

// HasCases says whether the tenant has any case, closed ones included.
func HasCases(ctx context.Context, t Tenant) (bool, error) {
	var ids []string
	if err := t.scoped(ctx).Model(&Case{}).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("store: any case: %w", err)
	}
	return len(ids) > 0, nil
}

// CountCases counts the tenant's case load at now; Mine counts userID's.
// It reads the cases that are not closed from one partial index alone
// (cases_open_idx), however many are closed.
func CountCases(ctx context.Context, t Tenant, userID string, now time.Time) (CaseCounts, error) {
	var c CaseCounts
	err := t.scoped(ctx).Model(&Case{}).Where("cases.status <> ?", CaseClosed).Select(
		"COUNT(*) AS open, "+
			"COALESCE(SUM(CASE WHEN "+pastDueSQL+" THEN 1 ELSE 0 END), 0) AS overdue, "+
			"COALESCE(SUM(CASE WHEN cases.priority = 'critical' THEN 1 ELSE 0 END), 0) AS critical, "+
			"COALESCE(SUM(CASE WHEN cases.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned, "+
			"COALESCE(SUM(CASE WHEN cases.assignee_id = ? THEN 1 ELSE 0 END), 0) AS mine", utc(now), userID).
		Scan(&c).Error
	if err != nil {
		return CaseCounts{}, fmt.Errorf("store: count cases: %w", err)
	}
	return c, nil
}

// CaseTransactionRow is a transaction linked to a case, with its score,
// band and decision.
type CaseTransactionRow struct {
	ID, ExternalID, Type string
	Amount               float64
	NameOrig, NameDest   string
	ReceivedAt           time.Time
	Label                string
	Score                float64
	Band                 string
}

// CaseAccountRow is an account linked to a case, with its watchlist
// kinds now.
type CaseAccountRow struct {
	Account string
	AddedAt time.Time
	Watch   []string
}

// CaseNoteRow is a note with its author.
type CaseNoteRow struct {
	CaseNote
	UserName string
}

// CaseEventRow is a timeline entry with who made it ("" for the system).
type CaseEventRow struct {
	CaseEvent
	ActorName string
}

// CaseDetail is everything the case page shows.
type CaseDetail struct {
	Case
	AssigneeName, CreatorName, CloserName string
	Transactions                          []CaseTransactionRow
	Accounts                              []CaseAccountRow
	Notes                                 []CaseNoteRow
	Events                                []CaseEventRow
}

// GetCaseDetail loads a case with its transactions (oldest first), its
// accounts, its notes and its timeline (both newest last), from one
// snapshot.
func GetCaseDetail(ctx context.Context, t Tenant, id string) (*CaseDetail, error) {
	var d CaseDetail
	err := t.ReadTx(ctx, func(tx Tenant) error {
		c, err := GetCase(ctx, tx, id)
		if err != nil {
			return err
		}
		d.Case = *c
		names := map[string][]*string{}
		for _, p := range []struct {
			id  *string
			out *string
		}{{c.AssigneeID, &d.AssigneeName}, {&c.CreatedBy, &d.CreatorName}, {c.ClosedBy, &d.CloserName}} {
			if p.id != nil && *p.id != "" {
				names[*p.id] = append(names[*p.id], p.out)
			}
		}
		for uid, outs := range names {
			var u User
			if err := tx.scoped(ctx).Select("name").Where("id = ?", uid).Take(&u).Error; err != nil {
				return fmt.Errorf("user %s: %w", uid, err)
			}
			for _, out := range outs {
				*out = u.Name
			}
		}
		err = tx.scoped(ctx).Model(&Transaction{}).
			Select("transactions.id, transactions.external_id, transactions.type, transactions.amount, transactions.name_orig, "+
				"transactions.name_dest, transactions.received_at, transactions.label, p.score, p.band").
			Joins("JOIN case_transactions ct ON ct.transaction_id = transactions.id AND ct.tenant_id = transactions.tenant_id").
			Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
			Where("ct.case_id = ?", id).Order("transactions.received_at, transactions.id").Scan(&d.Transactions).Error
		if err != nil {
			return fmt.Errorf("transactions: %w", err)
		}
		var accs []CaseAccount
		if err := tx.scoped(ctx).Where("case_id = ?", id).Order("account").Find(&accs).Error; err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		list := make([]string, len(accs))
		for i, a := range accs {
			list[i] = a.Account
		}
		kinds, err := WatchKinds(ctx, tx, list)
		if err != nil {
			return err
		}
		for _, a := range accs {
			d.Accounts = append(d.Accounts, CaseAccountRow{Account: a.Account, AddedAt: a.AddedAt, Watch: kinds[a.Account]})
		}
		err = tx.scoped(ctx).Model(&CaseNote{}).Select("case_notes.*, u.name AS user_name").
			Joins("LEFT JOIN users u ON u.id = case_notes.user_id AND u.tenant_id = case_notes.tenant_id").
			Where("case_notes.case_id = ?", id).Order("case_notes.id").Scan(&d.Notes).Error
		if err != nil {
			return fmt.Errorf("notes: %w", err)
		}
		err = tx.scoped(ctx).Model(&CaseEvent{}).Select("case_events.*, u.name AS actor_name").
			Joins("LEFT JOIN users u ON u.id = case_events.actor_id AND u.tenant_id = case_events.tenant_id").
			Where("case_events.case_id = ?", id).Order("case_events.id").Scan(&d.Events).Error
		if err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: case %s: %w", id, err)
	}
	return &d, nil
}

// CasesOfTransaction lists the cases a transaction is linked to, newest
// first.
func CasesOfTransaction(ctx context.Context, t Tenant, transactionID string) ([]Case, error) {
	var out []Case
	err := t.scoped(ctx).Model(&Case{}).
		Joins("JOIN case_transactions ct ON ct.case_id = cases.id AND ct.tenant_id = cases.tenant_id").
		Where("ct.transaction_id = ?", transactionID).Order("cases.id DESC").Limit(20).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: cases of %s: %w", transactionID, err)
	}
	return out, nil
}

// AssignableUsers lists the tenant's users who may be given a case
// (active, not auditors), by name.
func AssignableUsers(ctx context.Context, t Tenant) ([]User, error) {
	var out []User
	err := t.scoped(ctx).Where("deleted_at IS NULL AND disabled_at IS NULL AND role <> ?", RoleAuditor).
		Order("name, email").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: assignable users: %w", err)
	}
	return out, nil
}

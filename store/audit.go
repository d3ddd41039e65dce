package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"gorm.io/datatypes"
)

// Audit actions written by the platform. Every state change writes one.
const (
	ActionLogin          = "auth.login"
	ActionLogout         = "auth.logout"
	ActionLoginFailed    = "auth.login_failed"
	ActionLoginThrottled = "auth.login_throttled"
	ActionAPIKeyCreate   = "api_key.create"
	ActionAPIKeyRevoke   = "api_key.revoke"
	ActionDecision       = "transaction.decide"
	ActionWatchAdd       = "watchlist.add"
	ActionScoreBatch     = "transaction.score_batch"

	// ActionLoginPassword is a right password of a user who has a second
	// factor to give (or to set up) before the sign-in is complete.
	ActionLoginPassword   = "auth.login_password"
	ActionSessionEnd      = "auth.session_end"
	ActionUserInvite      = "user.invite"
	ActionUserRole        = "user.role"
	ActionUserDisable     = "user.disable"
	ActionUserEnable      = "user.enable"
	ActionPasswordReset   = "user.password_reset"
	ActionPasswordSet     = "user.password_set"
	ActionPasswordChange  = "user.password_change"
	ActionTOTPBegin       = "user.totp_begin"
	ActionTOTPEnable      = "user.totp_enable"
	ActionTOTPRemove      = "user.totp_remove"
	ActionTenantCreate    = "tenant.create"
	ActionTwoFactorPolicy = "tenant.two_factor"
)

// Actor is who did something and from where: a signed-in user (UserID),
// or a machine through an API key (APIKeyID, recorded in the event's details).
type Actor struct {
	UserID    string
	APIKeyID  string
	Email     string
	IP        string
	UserAgent string
}

// Event is what is recorded: an action on an object with optional details.
type Event struct {
	Action     string
	ObjectType string
	ObjectID   string
	Details    map[string]any
}

func newAuditEvent(tenantID *string, a Actor, e Event) (*AuditEvent, error) {
	row := &AuditEvent{
		ID: NewID(), TenantID: tenantID, ActorEmail: a.Email, Action: e.Action,
		ObjectType: e.ObjectType, ObjectID: e.ObjectID, IP: a.IP, UserAgent: truncate(a.UserAgent, 512),
		CreatedAt: time.Now().UTC(),
	}
	if a.UserID != "" {
		row.ActorID = &a.UserID
	}
	if a.APIKeyID != "" {
		e.Details = maps.Clone(e.Details)
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["api_key_id"] = a.APIKeyID
	}
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return nil, fmt.Errorf("store: audit details: %w", err)
		}
		row.Details = datatypes.JSON(b)
	}
	return row, nil
}

// change runs fn in one database transaction and writes the audit event it
// returns inside the same transaction: the change and its record are saved
// together or not at all. Every store function that changes a tenant's state
// goes through it.
func change(ctx context.Context, t Tenant, a Actor, fn func(tx Tenant) (Event, error)) error {
	return t.Tx(ctx, func(tx Tenant) error {
		e, err := fn(tx)
		if err != nil {
			return err
		}
		return tx.audit(ctx, a, e)
	})
}

// audit writes one event on this handle (inside the caller's transaction).
func (t Tenant) audit(ctx context.Context, a Actor, e Event) error {
	row, err := newAuditEvent(&t.id, a, e)
	if err != nil {
		return err
	}
	if err := t.db.WithContext(ctx).Create(row).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// Record writes an event for an action that changes no stored state of its
// own: a failed or throttled sign-in, a sign-out, an export, a batch of
// API requests. A state change never uses it: its store function writes the
// event in the change's transaction.
func Record(ctx context.Context, t Tenant, a Actor, e Event) error {
	return t.audit(ctx, a, e)
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	Action string
	Before string // id cursor: only events older than this one
	Limit  int
}

// ListAudit lists the tenant's audit events, newest first.
func ListAudit(ctx context.Context, t Tenant, f AuditFilter) ([]AuditEvent, error) {
	q := t.scoped(ctx).Order("id DESC") // ids are UUIDv7: time-ordered
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var rows []AuditEvent
	if err := q.Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return rows, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

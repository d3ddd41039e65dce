package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/datatypes"
	"gorm.io/gorm"
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
	ActionLoginPassword  = "auth.login_password"
	ActionSessionEnd     = "auth.session_end"
	ActionUserInvite     = "user.invite"
	ActionUserRole       = "user.role"
	ActionUserDisable    = "user.disable"
	ActionUserEnable     = "user.enable"
	ActionPasswordReset  = "user.password_reset"
	ActionPasswordSet    = "user.password_set"
	ActionPasswordChange = "user.password_change"
	// ActionPasswordChangeRefused is a change of one's own password refused
	// for a wrong current password: a guess, counted as a failed sign-in.
	ActionPasswordChangeRefused = "user.password_change_refused"
	ActionTOTPBegin             = "user.totp_begin"
	ActionTOTPEnable            = "user.totp_enable"
	ActionTOTPRemove            = "user.totp_remove"
	ActionTenantCreate          = "tenant.create"
	ActionTwoFactorPolicy       = "tenant.two_factor"
	// Exports change nothing; their events say who took which rows.
	ActionExportTransactions = "transaction.export"
	ActionExportAudit        = "audit.export"
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

// changeMany is change for a change that writes several events: a bulk
// decision writes one per transaction. fn's events are written in the same
// transaction as its change.
func changeMany(ctx context.Context, t Tenant, a Actor, fn func(tx Tenant) ([]Event, error)) error {
	return t.Tx(ctx, func(tx Tenant) error {
		events, err := fn(tx)
		if err != nil {
			return err
		}
		rows := make([]*AuditEvent, len(events))
		for i, e := range events {
			if rows[i], err = newAuditEvent(&tx.id, a, e); err != nil {
				return err
			}
		}
		if len(rows) == 0 {
			return nil
		}
		if err := tx.db.WithContext(ctx).CreateInBatches(rows, 200).Error; err != nil {
			return fmt.Errorf("store: audit %d events: %w", len(rows), err)
		}
		return nil
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

// AuditFilter narrows ListAudit and ExportAudit.
type AuditFilter struct {
	// Actor is part of the actor's email, in any case.
	Actor string
	// Action is an action ("auth.login"), or what comes before its dot
	// ("auth": every auth.* action).
	Action string
	// Object is an object type ("transaction"), an object id, or both
	// separated by a space, as the trail shows them.
	Object string
	// From and To bound when the events happened: From <= created_at < To;
	// zero leaves that side open.
	From, To time.Time
	// Before is a cursor: only events older than this id. After, for the
	// page before it, keeps only newer ones (the page is still listed
	// newest first).
	Before, After string
	Limit         int
}

// auditQuery selects the events f keeps, in no order.
func (t Tenant) auditQuery(ctx context.Context, f AuditFilter) *gorm.DB {
	q := t.scoped(ctx).Model(&AuditEvent{})
	if a := strings.TrimSpace(f.Actor); a != "" {
		q = q.Where("lower(actor_email) LIKE lower(?) ESCAPE '\\'", "%"+escapeLike(a)+"%")
	}
	if a := strings.TrimSpace(f.Action); a != "" {
		q = q.Where("(action = ? OR action LIKE ? ESCAPE '\\')", a, escapeLike(a)+".%")
	}
	if o := strings.TrimSpace(f.Object); o != "" {
		if typ, id, ok := strings.Cut(o, " "); ok {
			q = q.Where("object_type = ? AND object_id = ?", typ, strings.TrimSpace(id))
		} else {
			q = q.Where("(object_type = ? OR object_id = ?)", o, o)
		}
	}
	if !f.From.IsZero() {
		q = q.Where("created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("created_at < ?", f.To.UTC())
	}
	return q
}

// ListAudit lists the tenant's audit events, newest first: up to f.Limit
// older than f.Before, or the f.Limit oldest newer than f.After.
func ListAudit(ctx context.Context, t Tenant, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := t.auditQuery(ctx, f)
	back := f.Before == "" && f.After != ""
	switch {
	case back:
		q = q.Where("id > ?", f.After).Order("id ASC")
	case f.Before != "":
		q = q.Where("id < ?", f.Before).Order("id DESC") // ids are UUIDv7: time-ordered
	default:
		q = q.Order("id DESC")
	}
	var rows []AuditEvent
	if err := q.Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	if back {
		slices.Reverse(rows)
	}
	return rows, nil
}

// ExportAudit calls fn with each event f keeps, newest first, from one
// snapshot, as the rows are read (memory stays flat whatever their
// number), stopping after limit. It reports how many fn received and
// whether more were left.
func ExportAudit(ctx context.Context, t Tenant, f AuditFilter, limit int, fn func(*AuditEvent) error) (n int, more bool, err error) {
	err = t.ReadTx(ctx, func(tx Tenant) error {
		rows, err := tx.auditQuery(ctx, f).Order("id DESC").Limit(limit + 1).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		var e AuditEvent
		for rows.Next() {
			if n == limit {
				more = true
				break
			}
			e = AuditEvent{}
			if err := tx.db.ScanRows(rows, &e); err != nil {
				return err
			}
			if err := fn(&e); err != nil {
				return err
			}
			n++
		}
		return rows.Err()
	})
	if err != nil {
		return n, more, fmt.Errorf("store: export audit: %w", err)
	}
	return n, more, nil
}

// escapeLike escapes LIKE's wildcards (and the escape character) in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
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

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Watchlist kinds.
const (
	WatchBlocked = "blocked"
	WatchTrusted = "trusted"
)

// Audit actions of the watchlist beside ActionWatchAdd: an entry taken
// off, a file of entries imported (each entry also writes its own
// ActionWatchAdd), the list exported.
const (
	ActionWatchRemove = "watchlist.remove"
	ActionWatchImport = "watchlist.import"
	ActionWatchExport = "watchlist.export"
)

// WatchKindList lists the watchlist kinds.
var WatchKindList = []string{WatchBlocked, WatchTrusted}

// Watchlist errors.
var (
	// ErrBadWatchKind: the kind is neither blocked nor trusted.
	ErrBadWatchKind = errors.New("list must be blocked or trusted")
	// ErrWatchChanged: another request changed the account's entry meanwhile.
	ErrWatchChanged = errors.New("the account's watchlist entry changed meanwhile")
)

// WatchStatus tells which of two accounts are blocked or trusted now.
type WatchStatus struct {
	SenderBlocked, ReceiverBlocked, SenderTrusted, ReceiverTrusted bool
}

// Watch looks both accounts of a transaction up on the tenant's watchlist.
func Watch(ctx context.Context, t Tenant, sender, receiver string) (WatchStatus, error) {
	kinds, err := WatchKinds(ctx, t, []string{sender, receiver})
	if err != nil {
		return WatchStatus{}, err
	}
	return StatusOf(kinds, sender, receiver), nil
}

// StatusOf reads a transaction's watch status from WatchKinds' answer.
func StatusOf(kinds map[string][]string, sender, receiver string) WatchStatus {
	var w WatchStatus
	for _, k := range kinds[sender] {
		w.SenderBlocked = w.SenderBlocked || k == WatchBlocked
		w.SenderTrusted = w.SenderTrusted || k == WatchTrusted
	}
	for _, k := range kinds[receiver] {
		w.ReceiverBlocked = w.ReceiverBlocked || k == WatchBlocked
		w.ReceiverTrusted = w.ReceiverTrusted || k == WatchTrusted
	}
	return w
}

// WatchInput is one entry to put on the watchlist: the account, its kind
// (WatchBlocked or WatchTrusted), why, and when it stops applying (nil:
// never).
type WatchInput struct {
	Account   string
	Kind      string
	Reason    string
	ExpiresAt *time.Time
}

// WatchChange is what AddWatch did: the entry saved and the one it
// replaced, if the account had one (of either kind, expired or not).
type WatchChange struct {
	Entry    WatchlistEntry
	Replaced *WatchlistEntry
}

// AddWatch puts an account on the tenant's watchlist, audited as the
// actor's in the same transaction. An account is on one list at most: an
// entry it already has (blocked or trusted, expired or not) is replaced,
// and the change says which. Scoring reads the watchlist for every
// transaction, so the entry applies from the commit on, on every replica.
func AddWatch(ctx context.Context, t Tenant, a Actor, in WatchInput) (*WatchChange, error) {
	var out *WatchChange
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		ch, err := tx.putWatch(ctx, a, in)
		if err != nil {
			return Event{}, err
		}
		out = ch
		return watchEvent(ActionWatchAdd, ch, ""), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: watch %s: %w", in.Account, err)
	}
	return out, nil
}

// putWatch replaces the account's entry, if any, with a new one, inside
// the caller's transaction.
func (t Tenant) putWatch(ctx context.Context, a Actor, in WatchInput) (*WatchChange, error) {
	if in.Kind != WatchBlocked && in.Kind != WatchTrusted {
		return nil, ErrBadWatchKind
	}
	ch := &WatchChange{Entry: WatchlistEntry{ID: NewID(), Account: in.Account, Kind: in.Kind, Reason: in.Reason,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}}
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		ch.Entry.ExpiresAt = &e
	}
	if a.UserID != "" {
		ch.Entry.CreatedBy = &a.UserID
	}
	var old []WatchlistEntry
	if err := t.scoped(ctx).Where("account = ?", in.Account).Limit(1).Find(&old).Error; err != nil {
		return nil, err
	}
	if len(old) > 0 {
		ch.Replaced = &old[0]
		if err := t.scoped(ctx).Where("id = ?", old[0].ID).Delete(&WatchlistEntry{}).Error; err != nil {
			return nil, err
		}
	}
	if err := t.create(ctx, &ch.Entry); err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, ErrWatchChanged
		}
		return nil, err
	}
	return ch, nil
}

// watchEvent is the audit event of one watchlist entry saved.
func watchEvent(action string, ch *WatchChange, source string) Event {
	d := map[string]any{"kind": ch.Entry.Kind, "reason": ch.Entry.Reason}
	if ch.Entry.ExpiresAt != nil {
		d["expires_at"] = ch.Entry.ExpiresAt.Format(time.RFC3339)
	}
	if ch.Replaced != nil {
		d["replaced"] = ch.Replaced.Kind
		d["replaced_reason"] = ch.Replaced.Reason
	}
	if source != "" {
		d["source"] = source
	}
	return Event{Action: action, ObjectType: "account", ObjectID: ch.Entry.Account, Details: d}
}

// RemoveWatch takes an entry off the tenant's watchlist, audited as the
// actor's in the same transaction. Another tenant's id is ErrNotFound.
func RemoveWatch(ctx context.Context, t Tenant, a Actor, id string) (*WatchlistEntry, error) {
	var e WatchlistEntry
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.scoped(ctx).Where("id = ?", id).Take(&e).Error; err != nil {
			return Event{}, notFound(err)
		}
		if err := tx.scoped(ctx).Where("id = ?", id).Delete(&WatchlistEntry{}).Error; err != nil {
			return Event{}, err
		}
		return Event{Action: ActionWatchRemove, ObjectType: "account", ObjectID: e.Account,
			Details: map[string]any{"kind": e.Kind, "reason": e.Reason}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: remove watch %s: %w", id, err)
	}
	return &e, nil
}

// WatchImport is the outcome of ImportWatchlist.
type WatchImport struct {
	Added, Replaced int
}

// ImportWatchlist saves many entries in one transaction, as AddWatch saves
// one (each replaces the account's entry, if any): all or none. Each entry
// writes its own audit event and the import one more (with the file's name
// and SHA-256, and the counts), all in the same transaction. The caller
// checks the rows first; an account twice in rows is refused.
func ImportWatchlist(ctx context.Context, t Tenant, a Actor, rows []WatchInput, file, sha256 string) (WatchImport, error) {
	var out WatchImport
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if seen[r.Account] {
			return WatchImport{}, fmt.Errorf("store: import watchlist: account %s twice", r.Account)
		}
		seen[r.Account] = true
	}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		for _, r := range rows {
			ch, err := tx.putWatch(ctx, a, r)
			if err != nil {
				return Event{}, fmt.Errorf("%s: %w", r.Account, err)
			}
			if ch.Replaced != nil {
				out.Replaced++
			} else {
				out.Added++
			}
			if err := tx.audit(ctx, a, watchEvent(ActionWatchAdd, ch, "import")); err != nil {
				return Event{}, err
			}
		}
		return Event{Action: ActionWatchImport, ObjectType: "watchlist", ObjectID: file, Details: map[string]any{
			"rows": len(rows), "added": out.Added, "replaced": out.Replaced, "sha256": sha256}}, nil
	})
	if err != nil {
		return WatchImport{}, fmt.Errorf("store: import watchlist: %w", err)
	}
	return out, nil
}

// WatchKinds returns the current watchlist kind of each listed account that
// is on the tenant's watchlist (expired entries do not count).
func WatchKinds(ctx context.Context, t Tenant, accounts []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(accounts) == 0 {
		return out, nil
	}
	var rows []WatchlistEntry
	var q *gorm.DB
	if t.db.Dialector.Name() == "postgres" {
		// One array parameter, not one per account: a batch asks for 2,000.
		q = t.scoped(ctx).Where("account = ANY(CAST(? AS text[]))", textArray(accounts))
	} else {
		q = t.scoped(ctx).Where("account IN ?", accounts)
	}
	err := q.Where("expires_at IS NULL OR expires_at > ?", time.Now().UTC()).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: watchlist: %w", err)
	}
	for _, r := range rows {
		out[r.Account] = append(out[r.Account], r.Kind)
	}
	return out, nil
}

// WatchRow is a watchlist entry as pages show it: with who added it.
type WatchRow struct {
	WatchlistEntry
	CreatorName  string
	CreatorEmail string
}

// Expired reports whether the entry no longer applies at now.
func (e *WatchlistEntry) Expired(now time.Time) bool {
	return e.ExpiresAt != nil && !e.ExpiresAt.After(now)
}

// WatchFilter narrows ListWatchlist.
type WatchFilter struct {
	Kind    string // "" for both
	Account string // part of the account, any case
	Reason  string // part of the reason, any case
	// After is the cursor of the next page: the id of the last entry of
	// this one (entries are listed newest first).
	After string
	Limit int
}

// ListWatchlist lists the tenant's watchlist entries, expired ones too,
// newest first, with who added each. It returns one more than f.Limit when
// more follow.
func ListWatchlist(ctx context.Context, t Tenant, f WatchFilter) ([]WatchRow, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := t.scoped(ctx).Model(&WatchlistEntry{}).
		Select("watchlist_entries.*, u.name AS creator_name, u.email AS creator_email").
		Joins("LEFT JOIN users u ON u.id = watchlist_entries.created_by AND u.tenant_id = watchlist_entries.tenant_id")
	if f.Kind != "" {
		q = q.Where("watchlist_entries.kind = ?", f.Kind)
	}
	if s := strings.TrimSpace(f.Account); s != "" {
		q = q.Where("lower(watchlist_entries.account) LIKE lower(?) ESCAPE '\\'", containsPattern(s))
	}
	if s := strings.TrimSpace(f.Reason); s != "" {
		q = q.Where("lower(watchlist_entries.reason) LIKE lower(?) ESCAPE '\\'", containsPattern(s))
	}
	if f.After != "" {
		q = q.Where("watchlist_entries.id < ?", f.After)
	}
	var rows []WatchRow
	if err := q.Order("watchlist_entries.id DESC").Limit(f.Limit + 1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list watchlist: %w", err)
	}
	return rows, nil
}

// ExportWatchlist calls fn with every entry of the tenant's watchlist that
// f keeps (its cursor and limit aside), newest first, in pages.
func ExportWatchlist(ctx context.Context, t Tenant, f WatchFilter, fn func(*WatchRow) error) error {
	f.After, f.Limit = "", 500
	for {
		rows, err := ListWatchlist(ctx, t, f)
		if err != nil {
			return err
		}
		for i := range rows[:min(len(rows), f.Limit)] {
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		if len(rows) <= f.Limit {
			return nil
		}
		f.After = rows[f.Limit-1].ID
	}
}

// containsPattern is a LIKE pattern (escaped with \) matching any text
// that contains s.
func containsPattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s) + "%"
}

// GetWatch loads one of the tenant's watchlist entries with who added it.
func GetWatch(ctx context.Context, t Tenant, id string) (*WatchRow, error) {
	return t.watchRow(ctx, "watchlist_entries.id = ?", id)
}

// WatchOf is the account's watchlist entry (expired or not), with who
// added it; ErrNotFound when it has none.
func WatchOf(ctx context.Context, t Tenant, account string) (*WatchRow, error) {
	return t.watchRow(ctx, "watchlist_entries.account = ?", account)
}

func (t Tenant) watchRow(ctx context.Context, cond string, arg string) (*WatchRow, error) {
	var rows []WatchRow
	err := t.scoped(ctx).Model(&WatchlistEntry{}).
		Select("watchlist_entries.*, u.name AS creator_name, u.email AS creator_email").
		Joins("LEFT JOIN users u ON u.id = watchlist_entries.created_by AND u.tenant_id = watchlist_entries.tenant_id").
		Where(cond, arg).Limit(1).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: watchlist entry %s: %w", arg, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("store: watchlist entry %s: %w", arg, ErrNotFound)
	}
	return &rows[0], nil
}

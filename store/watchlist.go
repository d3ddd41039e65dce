package store

import (
	"context"
	"fmt"
	"time"
)

// Watchlist kinds.
const (
	WatchBlocked = "blocked"
	WatchTrusted = "trusted"
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

// AddWatch puts an account on the tenant's watchlist, audited as the actor's.
func AddWatch(ctx context.Context, t Tenant, a Actor, account, kind, reason string) (*WatchlistEntry, error) {
	e := &WatchlistEntry{ID: NewID(), Account: account, Kind: kind, Reason: reason, CreatedAt: time.Now().UTC()}
	if a.UserID != "" {
		e.CreatedBy = &a.UserID
	}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		return Event{Action: ActionWatchAdd, ObjectType: "account", ObjectID: account,
			Details: map[string]any{"kind": kind, "reason": reason}}, tx.create(ctx, e)
	})
	if err != nil {
		return nil, fmt.Errorf("store: watch %s: %w", account, err)
	}
	return e, nil
}

// WatchKinds returns the current watchlist kind of each listed account that
// is on the tenant's watchlist.
func WatchKinds(ctx context.Context, t Tenant, accounts []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(accounts) == 0 {
		return out, nil
	}
	var rows []WatchlistEntry
	err := t.scoped(ctx).Where("account IN ?", accounts).
		Where("expires_at IS NULL OR expires_at > ?", time.Now().UTC()).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: watchlist: %w", err)
	}
	for _, r := range rows {
		out[r.Account] = append(out[r.Account], r.Kind)
	}
	return out, nil
}

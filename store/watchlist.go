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
	var rows []WatchlistEntry
	err := t.scoped(ctx).Where("account IN ?", []string{sender, receiver}).
		Where("expires_at IS NULL OR expires_at > ?", time.Now().UTC()).Find(&rows).Error
	if err != nil {
		return WatchStatus{}, fmt.Errorf("store: watchlist: %w", err)
	}
	var w WatchStatus
	for _, r := range rows {
		blocked, trusted := r.Kind == WatchBlocked, r.Kind == WatchTrusted
		if r.Account == sender {
			w.SenderBlocked, w.SenderTrusted = w.SenderBlocked || blocked, w.SenderTrusted || trusted
		}
		if r.Account == receiver {
			w.ReceiverBlocked, w.ReceiverTrusted = w.ReceiverBlocked || blocked, w.ReceiverTrusted || trusted
		}
	}
	return w, nil
}

// AddWatch puts an account on the tenant's watchlist.
func AddWatch(ctx context.Context, t Tenant, account, kind, reason string, by *string) (*WatchlistEntry, error) {
	e := &WatchlistEntry{ID: NewID(), Account: account, Kind: kind, Reason: reason, CreatedBy: by, CreatedAt: time.Now().UTC()}
	if err := t.create(ctx, e); err != nil {
		return nil, fmt.Errorf("store: watch %s: %w", account, err)
	}
	return e, nil
}

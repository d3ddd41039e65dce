package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// WatchKinds, which scoring asks for every batch's accounts, finds the
// tenant's entries that still apply among them, and nothing else.
func TestWatchKinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, ub := twoTenants(t, db)
		for _, w := range []struct {
			tn store.Tenant
			u  *store.User
			in store.WatchInput
		}{
			{a, ua, store.WatchInput{Account: "C1", Kind: store.WatchBlocked, Reason: "mule"}},
			{a, ua, store.WatchInput{Account: "M2", Kind: store.WatchTrusted, Reason: "payroll"}},
			{a, ua, store.WatchInput{Account: "C3", Kind: store.WatchBlocked, Reason: "expired below"}},
			{b, ub, store.WatchInput{Account: "C4", Kind: store.WatchBlocked, Reason: "the other tenant's"}},
		} {
			if _, err := store.AddWatch(ctx, w.tn, store.Actor{UserID: w.u.ID, Email: w.u.Email}, w.in); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.ExecForTest(ctx, db, `UPDATE watchlist_entries SET expires_at = '2001-01-01 00:00:00+00' WHERE account = 'C3'`); err != nil {
			t.Fatal(err)
		}
		accounts := []string{"C1", "M2", "C3", "C4", "C5", "C1"}
		for i := range 2000 {
			accounts = append(accounts, "C"+string(rune('a'+i%26))) // a batch asks for 2,000 accounts
		}
		got, err := store.WatchKinds(ctx, a, accounts)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"C1": {store.WatchBlocked}, "M2": {store.WatchTrusted}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("WatchKinds() = %v, want %v", got, want)
		}
	})
}

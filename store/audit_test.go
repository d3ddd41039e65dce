package store_test

import (
	"context"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// TestChangesAndTheirAuditEventsCommitTogether breaks the audit trail and
// shows that no change is saved without its event.
func TestChangesAndTheirAuditEventsCommitTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		mv := productionModel(t, a)
		txs, ps := scoredRows(mv, "ext", 1)
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		key, _, err := store.CreateAPIKey(ctx, a, actor, "before", store.Scopes)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.ExecForTest(ctx, db, "DROP TABLE audit_events"); err != nil {
			t.Fatal(err)
		}

		if _, err := store.Decide(ctx, a, actor, txs[0].ID, store.DecisionConfirmedFraud, "seen before"); err == nil {
			t.Error("Decide() with no audit trail = nil error")
		}
		got, err := store.GetScored(ctx, a, txs[0].ID)
		if err != nil || got.Transaction.Label != "" {
			t.Errorf("label after a failed audit = %q, %v; want undecided", got.Transaction.Label, err)
		}
		if ds, err := store.ListDecisions(ctx, a, txs[0].ID); err != nil || len(ds) != 0 {
			t.Errorf("ListDecisions() after a failed audit = %d rows, %v; want none", len(ds), err)
		}

		more, morePs := scoredRows(mv, "batch", 3)
		if err := store.SaveScoredBatchAudited(ctx, a, more, morePs, actor, store.Event{Action: store.ActionScoreBatch}); err == nil {
			t.Error("SaveScoredBatchAudited() with no audit trail = nil error")
		}
		if n, err := store.CountTransactions(ctx, a); err != nil || n != 1 {
			t.Errorf("transactions after a failed audited batch = %d, %v; want only the first", n, err)
		}

		if _, _, err := store.CreateAPIKey(ctx, a, actor, "after", store.Scopes); err == nil {
			t.Error("CreateAPIKey() with no audit trail = nil error")
		}
		if _, err := store.RevokeAPIKey(ctx, a, actor, key.ID); err == nil {
			t.Error("RevokeAPIKey() with no audit trail = nil error")
		}
		keys, err := store.ListAPIKeys(ctx, a)
		if err != nil || len(keys) != 1 || keys[0].Name != "before" || keys[0].RevokedAt != nil {
			t.Errorf("keys after failed audits = %+v, %v; want only %q, active", keys, err, "before")
		}
	})
}

package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// TestStoreFunctionsStayInTheirTenant gives tenant a one of everything and
// calls every tenant-scoped store function as tenant b with a's ids: each
// must find nothing and change nothing.
func TestStoreFunctionsStayInTheirTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, ub := twoTenants(t, db)
		actorA := store.Actor{UserID: ua.ID, Email: ua.Email}
		actorB := store.Actor{UserID: ub.ID, Email: ub.Email}
		mv := productionModel(t, a)
		txs, ps := scoredRows(mv, "iso", 2)
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Decide(ctx, a, actorA, txs[0].ID, store.DecisionConfirmedFraud, "a's decision"); err != nil {
			t.Fatal(err)
		}
		key, _, err := store.CreateAPIKey(ctx, a, actorA, "a's key", store.Scopes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddWatch(ctx, a, actorA, store.WatchInput{Account: txs[0].NameOrig, Kind: store.WatchBlocked, Reason: "a's reason"}); err != nil {
			t.Fatal(err)
		}
		aScored, err := store.GetScored(ctx, a, txs[1].ID)
		if err != nil {
			t.Fatal(err)
		}

		notFound := func(name string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s as another tenant: error = %v, want ErrNotFound", name, err)
			}
		}
		empty := func(name string, n int, err error) {
			t.Helper()
			if err != nil || n != 0 {
				t.Errorf("%s as another tenant = %d rows, %v; want none", name, n, err)
			}
		}

		_, err = store.GetScored(ctx, b, txs[0].ID)
		notFound("GetScored", err)
		_, err = store.GetScoredByExternalID(ctx, b, txs[0].ExternalID)
		notFound("GetScoredByExternalID", err)
		known, err := store.ScoredByExternalIDs(ctx, b, []string{txs[0].ExternalID, txs[1].ExternalID})
		empty("ScoredByExternalIDs", len(known), err)
		n, err := store.CountTransactions(ctx, b)
		empty("CountTransactions", int(n), err)
		page, err := store.ListQueue(ctx, b, store.QueueFilter{Decision: "any", Account: txs[0].NameOrig})
		if err != nil || len(page.Rows) != 0 {
			t.Errorf("ListQueue as another tenant = %+v, %v; want no rows", page, err)
		}
		counts, err := store.CountQueueBands(ctx, b, store.QueueFilter{Decision: "any"}, 100)
		for band, n := range counts {
			if n != 0 {
				t.Errorf("CountQueueBands as another tenant: %s = %d, want 0 (%v)", band, n, err)
			}
		}
		if newest, err := store.NewestTransactionID(ctx, b); newest != "" {
			t.Errorf("NewestTransactionID as another tenant = %q, %v; want none", newest, err)
		}
		if n, err := store.CountBacklog(ctx, b); err != nil || n != 0 {
			t.Errorf("CountBacklog as another tenant = %d, %v; want 0", n, err)
		}
		similar, err := store.SimilarTransactions(ctx, b, aScored, 10)
		empty("SimilarTransactions", len(similar), err)
		decisions, err := store.ListDecisions(ctx, b, txs[0].ID)
		empty("ListDecisions", len(decisions), err)
		_, err = store.Decide(ctx, b, actorB, txs[1].ID, store.DecisionFalsePositive, "b's decision")
		notFound("Decide", err)
		keys, err := store.ListAPIKeys(ctx, b)
		empty("ListAPIKeys", len(keys), err)
		_, err = store.GetAPIKey(ctx, b, key.ID)
		notFound("GetAPIKey", err)
		_, err = store.RevokeAPIKey(ctx, b, actorB, key.ID)
		notFound("RevokeAPIKey", err)
		kinds, err := store.WatchKinds(ctx, b, []string{txs[0].NameOrig})
		empty("WatchKinds", len(kinds), err)
		if w, err := store.Watch(ctx, b, txs[0].NameOrig, txs[0].NameDest); err != nil || w != (store.WatchStatus{}) {
			t.Errorf("Watch as another tenant = %+v, %v; want nothing", w, err)
		}
		_, err = store.ProductionModel(ctx, b)
		notFound("ProductionModel", err)
		live, err := store.LiveModels(ctx, b)
		empty("LiveModels", len(live), err)
		if has, err := store.HasModelNamed(ctx, b, "m"); err != nil || has {
			t.Errorf("HasModelNamed as another tenant = %v, %v; want false", has, err)
		}
		events, err := store.ListAudit(ctx, b, store.AuditFilter{Limit: 100})
		empty("ListAudit", len(events), err)
		n2, _, err := store.ExportAudit(ctx, b, store.AuditFilter{}, 100, func(*store.AuditEvent) error { return nil })
		empty("ExportAudit", n2, err)
		inv, err := store.ListInvestigate(ctx, b, store.InvestigateFilter{Account: txs[0].NameOrig})
		if err != nil || len(inv.Rows) != 0 {
			t.Errorf("ListInvestigate as another tenant = %+v, %v; want no rows", inv, err)
		}
		for _, f := range []store.InvestigateFilter{{}, {Account: txs[0].NameOrig}} {
			if st, err := store.CountInvestigate(ctx, b, f); err != nil || st.Count != 0 {
				t.Errorf("CountInvestigate(%+v) as another tenant = %+v, %v; want none", f, st, err)
			}
		}
		n2, _, err = store.ExportTransactions(ctx, b, store.InvestigateFilter{}, 100, func(*store.ExportRow) error { return nil })
		empty("ExportTransactions", n2, err)
		choices, err := store.ListModelChoices(ctx, b)
		empty("ListModelChoices", len(choices), err)
		_, err = store.BulkDecide(ctx, b, actorB, store.BulkSelection{IDs: []string{txs[1].ID}}, store.DecisionFalsePositive, "b's bulk", 10)
		notFound("BulkDecide", err)
		all := store.InvestigateFilter{}
		if _, err := store.BulkDecide(ctx, b, actorB, store.BulkSelection{Filter: &all, Expect: 2}, store.DecisionFalsePositive, "b's bulk", 10); err == nil {
			t.Error("BulkDecide of all a's transactions as another tenant succeeded")
		}
		if _, err := store.AddWatch(ctx, b, actorB, store.WatchInput{Account: txs[1].NameDest, Kind: store.WatchTrusted, Reason: "b's reason"}); err != nil {
			t.Fatal(err)
		}

		// Tenant a still has all of it, untouched.
		got, err := store.GetScored(ctx, a, txs[1].ID)
		if err != nil || got.Transaction.Label != "" {
			t.Errorf("a's undecided transaction after b's attempt: label %q, %v", got.Transaction.Label, err)
		}
		if k, err := store.GetAPIKey(ctx, a, key.ID); err != nil || k.RevokedAt != nil {
			t.Errorf("a's key after b's attempt = %+v, %v; want active", k, err)
		}
		if w, err := store.Watch(ctx, a, txs[1].NameOrig, txs[1].NameDest); err != nil || w.ReceiverTrusted {
			t.Errorf("b's watchlist entry reached a: %+v, %v", w, err)
		}
		if events, err := store.ListAudit(ctx, a, store.AuditFilter{Limit: 100}); err != nil || len(events) != 3 {
			t.Errorf("a's audit trail = %d events, %v; want its decision, key and watch", len(events), err)
		}
	})
}

package store_test

import (
	"context"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func TestSimilarTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, _, _ := twoTenants(t, db)
		var models [2]*store.ModelVersion
		for i, tn := range []store.Tenant{a, b} {
			mv, err := store.RegisterModel(ctx, tn, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
			if err != nil {
				t.Fatal(err)
			}
			models[i] = mv
		}
		// Rows in id (time) order: what each is, and whether it is similar to
		// the last one (TRANSFER, high, 100.25).
		rows := []struct {
			typ, band string
			amount    float64
			similar   bool
		}{
			{"TRANSFER", "high", 60, true},
			{"TRANSFER", "high", 49, false},  // amount below half
			{"TRANSFER", "high", 151, false}, // above one and a half
			{"CASH_OUT", "high", 100, false}, // other type
			{"TRANSFER", "low", 100, false},  // other band
			{"TRANSFER", "high", 150, true},
			{"TRANSFER", "high", 100.25, false}, // itself
		}
		txs, ps := scoredRows(models[0], "s", len(rows))
		for i, r := range rows {
			txs[i].Type, txs[i].Amount, ps[i].Band = r.typ, r.amount, r.band
		}
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		// The same in tenant b: never listed for a.
		btxs, bps := scoredRows(models[1], "s", 1)
		btxs[0].Type, btxs[0].Amount, bps[0].Band = "TRANSFER", 100, "high"
		if err := store.SaveScoredBatch(ctx, b, btxs, bps); err != nil {
			t.Fatal(err)
		}
		self := &store.Scored{Transaction: txs[6], Prediction: ps[6]}
		got, err := store.SimilarTransactions(ctx, a, self, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != txs[5].ID || got[1].ID != txs[0].ID {
			t.Fatalf("SimilarTransactions() = %+v, want rows 5 and 0, newest first", got)
		}
		if got, _ := store.SimilarTransactions(ctx, a, self, 1); len(got) != 1 || got[0].ID != txs[5].ID {
			t.Fatalf("SimilarTransactions(limit 1) = %+v, want row 5", got)
		}

		t.Run("only the latest window is searched", func(t *testing.T) {
			defer func(w int) { store.SimilarWindow = w }(store.SimilarWindow)
			store.SimilarWindow = 3 // rows 4, 5 and 6
			got, err := store.SimilarTransactions(ctx, a, self, 10)
			if err != nil || len(got) != 1 || got[0].ID != txs[5].ID {
				t.Fatalf("SimilarTransactions(window 3) = %+v, %v; want row 5 only", got, err)
			}
		})
	})
}

func TestCountBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		mv, err := store.RegisterModel(ctx, a, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
		if err != nil {
			t.Fatal(err)
		}
		bands := []string{"low", "medium", "high", "critical", "critical", "high"}
		txs, ps := scoredRows(mv, "q", len(bands))
		for i, band := range bands {
			ps[i].Band = band
		}
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			decide []int // rows an analyst decides first (the cases run in order)
			t      store.Tenant
			want   int64
		}{
			{"counts undecided transactions outside the low band", nil, a, 5},
			{"leaves out decided transactions", []int{3, 5}, a, 3},
			{"is not moved by a decision in the low band", []int{0}, a, 3},
			{"never counts another tenant's transactions", nil, b, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, i := range tc.decide {
					if _, err := store.Decide(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email}, txs[i].ID, store.DecisionFalsePositive, "checked"); err != nil {
						t.Fatal(err)
					}
				}
				if got, err := store.CountBacklog(ctx, tc.t); err != nil || got != tc.want {
					t.Fatalf("CountBacklog() = %d, %v; want %d", got, err, tc.want)
				}
			})
		}
	})
}

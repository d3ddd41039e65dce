package store_test

import (
	"context"
	"maps"
	"math"
	"slices"
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
			mv := productionModel(t, tn)
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

func TestReviewQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		// In id (arrival) order. The review threshold is 0.5 for all but the
		// one whose model reviewed from 0.55.
		rows := []struct {
			name      string
			band      string
			score     float64
			threshold float64
			watch     bool
			decided   bool
		}{
			{"low below the threshold", "low", 0.1, 0.5, false, false},
			{"low at the threshold", "low", 0.5, 0.5, false, false},
			{"medium", "medium", 0.35, 0.5, false, false},
			{"older high", "high", 0.7, 0.5, false, false},
			{"critical", "critical", 0.9, 0.5, false, false},
			{"decided critical", "critical", 0.95, 0.5, false, true},
			{"low on the watchlist", "low", 0.05, 0.5, true, false},
			{"blocked account (critical, low score)", "critical", 0.05, 0.5, true, false},
			{"newer high, same score", "high", 0.7, 0.5, false, false},
			{"low below its model's threshold", "low", 0.52, 0.55, false, false},
		}
		txs, ps := scoredRows(mv, "r", len(rows))
		for i, r := range rows {
			ps[i].Band, ps[i].Score, ps[i].Threshold = r.band, r.score, r.threshold
			txs[i].ReviewPriority = store.ReviewPriority(r.band, r.score, r.threshold, r.watch)
		}
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Decide(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email}, txs[5].ID, store.DecisionConfirmedFraud, "seen"); err != nil {
			t.Fatal(err)
		}
		// Another tenant's review rows never show.
		mb, _ := store.RegisterModel(ctx, b, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
		btxs, bps := scoredRows(mb, "r", 3)
		for i := range btxs {
			bps[i].Band, bps[i].Score = "critical", 0.99
			btxs[i].ReviewPriority = store.ReviewPriority("critical", 0.99, 0.5, false)
		}
		if err := store.SaveScoredBatch(ctx, b, btxs, bps); err != nil {
			t.Fatal(err)
		}
		name := map[string]string{}
		for i, r := range rows {
			name[txs[i].ID] = r.name
		}
		names := func(p *store.QueuePage) []string {
			var out []string
			for _, r := range p.Rows {
				out = append(out, name[r.ID])
			}
			return out
		}
		list := func(f store.QueueFilter) *store.QueuePage {
			t.Helper()
			p, err := store.ListQueue(ctx, a, f)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		byRisk := []string{"critical", "blocked account (critical, low score)", "older high", "newer high, same score",
			"medium", "low at the threshold", "low on the watchlist"}

		t.Run("holds what needs an analyst, highest risk first, then oldest", func(t *testing.T) {
			got := names(list(store.QueueFilter{Review: true, Sort: store.SortRisk}))
			if !slices.Equal(byRisk, got) {
				t.Fatalf("ListQueue(review) = %v, want %v", got, byRisk)
			}
		})
		t.Run("reads newest first when asked", func(t *testing.T) {
			got := names(list(store.QueueFilter{Review: true, Sort: store.SortTime}))
			want := []string{"newer high, same score", "blocked account (critical, low score)", "low on the watchlist", "critical",
				"older high", "medium", "low at the threshold"}
			if !slices.Equal(want, got) {
				t.Fatalf("ListQueue(review, time) = %v, want %v", got, want)
			}
		})
		t.Run("filters bands as ranges of the priority", func(t *testing.T) {
			for _, tc := range []struct {
				bands []string
				want  []string
			}{
				{[]string{"high"}, []string{"older high", "newer high, same score"}},
				{[]string{"critical", "high"}, byRisk[:4]},
				{[]string{"critical", "medium"}, []string{"critical", "blocked account (critical, low score)", "medium"}},
				{[]string{"low"}, []string{"low at the threshold", "low on the watchlist"}},
			} {
				got := names(list(store.QueueFilter{Review: true, Bands: tc.bands, Sort: store.SortRisk}))
				if !slices.Equal(tc.want, got) {
					t.Errorf("ListQueue(review, %v) = %v, want %v", tc.bands, got, tc.want)
				}
			}
		})
		t.Run("keeps each band's top with a minimum score", func(t *testing.T) {
			want := []string{"critical", "older high", "newer high, same score", "low at the threshold"}
			if got := names(list(store.QueueFilter{Review: true, MinScore: 0.5, Sort: store.SortRisk})); !slices.Equal(want, got) {
				t.Fatalf("ListQueue(review, min score 0.5) = %v, want %v", got, want)
			}
			f := store.QueueFilter{Review: true, MinScore: 0.5, Sort: store.SortRisk, Limit: 3}
			first := list(f)
			f.After = first.Rows[2].ID
			if got := names(list(f)); !slices.Equal(want[3:], got) {
				t.Fatalf("second page of min score 0.5 = %v, want %v", got, want[3:])
			}
			if got, _ := store.CountQueueBands(ctx, a, store.QueueFilter{Review: true, MinScore: 0.5}, 1000); !maps.Equal(got, map[string]int64{"critical": 1, "high": 2, "medium": 0, "low": 1}) {
				t.Fatalf("CountQueueBands(review, min score 0.5) = %v", got)
			}
		})
		t.Run("pages bands that do not touch", func(t *testing.T) {
			f := store.QueueFilter{Review: true, Bands: []string{"critical", "medium", "low"}, Sort: store.SortRisk, Limit: 2}
			want := []string{"critical", "blocked account (critical, low score)", "medium", "low at the threshold", "low on the watchlist"}
			var got []string
			var pages []*store.QueuePage
			for {
				p := list(f)
				pages = append(pages, p)
				got = append(got, names(p)...)
				if !p.HasNext {
					break
				}
				f.After = p.Rows[len(p.Rows)-1].ID
			}
			if !slices.Equal(want, got) || len(pages) != 3 {
				t.Fatalf("pages of critical, medium and low = %v in %d pages, want %v in 3", got, len(pages), want)
			}
			f.After, f.Before = "", pages[2].Rows[0].ID
			if back := list(f); !slices.Equal(names(back), want[2:4]) || !back.HasPrev {
				t.Fatalf("back from the last page = %v (prev %v), want %v", names(back), back.HasPrev, want[2:4])
			}
		})
		t.Run("filters bands of all transactions from the priority", func(t *testing.T) {
			for _, tc := range []struct {
				bands []string
				want  int
			}{{[]string{"high"}, 2}, {[]string{"critical"}, 3}, {[]string{"low"}, 4}, {[]string{"low", "medium"}, 5}, {allBands(), 10}} {
				if got := list(store.QueueFilter{Bands: tc.bands}); len(got.Rows) != tc.want {
					t.Errorf("ListQueue(all, %v) = %d rows, want %d", tc.bands, len(got.Rows), tc.want)
				}
			}
			got, err := store.CountQueueBands(ctx, a, store.QueueFilter{Type: "TRANSFER"}, 1000)
			if want := map[string]int64{"critical": 3, "high": 2, "medium": 1, "low": 4}; err != nil || !maps.Equal(want, got) {
				t.Fatalf("CountQueueBands(all, TRANSFER) = %v, %v; want %v", got, err, want)
			}
		})
		t.Run("counts each band under the other filters", func(t *testing.T) {
			got, err := store.CountQueueBands(ctx, a, store.QueueFilter{Review: true, Bands: []string{"high"}}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int64{"critical": 2, "high": 2, "medium": 1, "low": 2}; !maps.Equal(want, got) {
				t.Fatalf("CountQueueBands(review) = %v, want %v", got, want)
			}
			got, _ = store.CountQueueBands(ctx, a, store.QueueFilter{Review: true}, 1)
			if want := map[string]int64{"critical": 2, "high": 2, "medium": 1, "low": 2}; !maps.Equal(want, got) {
				t.Fatalf("CountQueueBands(review, cap 1) = %v, want %v (cap+1 past the cap)", got, want)
			}
			got, _ = store.CountQueueBands(ctx, a, store.QueueFilter{Decision: "any"}, 1000)
			if want := map[string]int64{"critical": 3, "high": 2, "medium": 1, "low": 4}; !maps.Equal(want, got) {
				t.Fatalf("CountQueueBands(all) = %v, want %v", got, want)
			}
		})
		t.Run("pages both ways", func(t *testing.T) {
			f := store.QueueFilter{Review: true, Sort: store.SortRisk, Limit: 3}
			first := list(f)
			if !slices.Equal(byRisk[:3], names(first)) || first.HasPrev || !first.HasNext {
				t.Fatalf("first page %v (prev %v, next %v), want %v with only a next page", names(first), first.HasPrev, first.HasNext, byRisk[:3])
			}
			f.After = first.Rows[2].ID
			second := list(f)
			if !slices.Equal(byRisk[3:6], names(second)) || !second.HasPrev || !second.HasNext {
				t.Fatalf("second page %v (prev %v, next %v), want %v with both", names(second), second.HasPrev, second.HasNext, byRisk[3:6])
			}
			f.After = second.Rows[2].ID
			last := list(f)
			if !slices.Equal(byRisk[6:], names(last)) || !last.HasPrev || last.HasNext {
				t.Fatalf("last page %v (prev %v, next %v), want %v with only a previous page", names(last), last.HasPrev, last.HasNext, byRisk[6:])
			}
			f.After, f.Before = "", last.Rows[0].ID
			back := list(f)
			if !slices.Equal(byRisk[3:6], names(back)) || !back.HasPrev || !back.HasNext {
				t.Fatalf("back from the last page %v (prev %v, next %v), want %v with both", names(back), back.HasPrev, back.HasNext, byRisk[3:6])
			}
			f.Before = back.Rows[0].ID
			top := list(f)
			if !slices.Equal(byRisk[:3], names(top)) || top.HasPrev || !top.HasNext {
				t.Fatalf("back to the top %v (prev %v, next %v), want %v with no previous page", names(top), top.HasPrev, top.HasNext, byRisk[:3])
			}
			// Newest first, backwards too.
			tf := store.QueueFilter{Review: true, Sort: store.SortTime, Limit: 2}
			p1 := list(tf)
			tf.After = p1.Rows[1].ID
			p2 := list(tf)
			tf.After, tf.Before = "", p2.Rows[0].ID
			if got := list(tf); !slices.Equal(names(got), names(p1)) || got.HasPrev {
				t.Fatalf("newer page = %v (prev %v), want %v", names(got), got.HasPrev, names(p1))
			}
		})
		t.Run("polls for rows newer than the cursor", func(t *testing.T) {
			got := names(list(store.QueueFilter{Review: true, Sort: store.SortTime, NewerThan: txs[6].ID}))
			if want := []string{"newer high, same score", "blocked account (critical, low score)"}; !slices.Equal(want, got) {
				t.Fatalf("poll = %v, want %v", got, want)
			}
		})
	})
}

func TestReviewPriority(t *testing.T) {
	for _, tc := range []struct {
		name      string
		band      string
		score     float64
		threshold float64
		watch     bool
		want      *float64
	}{
		{"a low score below the threshold needs no review", "low", 0.2, 0.5, false, nil},
		{"a low band at the threshold is reviewed last", "low", 0.5, 0.5, false, ptr(3.25)},
		{"a watchlist hit is reviewed", "low", 0, 0.5, true, ptr(3.5)},
		{"medium", "medium", 0.4, 0.9, false, ptr(2.3)},
		{"critical with score 1 comes first", "critical", 1, 0.5, false, ptr(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := store.ReviewPriority(tc.band, tc.score, tc.threshold, tc.watch)
			if (got == nil) != (tc.want == nil) || (got != nil && math.Abs(*got-*tc.want) > 1e-12) {
				t.Fatalf("ReviewPriority(%s, %v, %v, %v) = %v, want %v", tc.band, tc.score, tc.threshold, tc.watch, deref(got), deref(tc.want))
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

// allBands lists every band.
func allBands() []string { return slices.Clone(store.QueueBands) }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestCountBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		bands := []string{"low", "medium", "high", "critical", "critical", "high"}
		txs, ps := scoredRows(mv, "q", len(bands))
		for i, band := range bands {
			// Score 0.1 under a review threshold of 0.4: the low row needs no analyst.
			ps[i].Band, ps[i].Score = band, 0.1
			txs[i].ReviewPriority = store.ReviewPriority(band, 0.1, 0.4, false)
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
			{"counts the undecided review set", nil, a, 5},
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

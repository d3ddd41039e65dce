package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// invRow is a transaction of the investigate tests as the test knows it.
type invRow struct {
	tx    store.Transaction
	p     store.Prediction
	label string
}

// invData stores 60 varied transactions in a (40 in one batch, 20 one by
// one, so both write paths keep the rollups) and a few in b, and returns
// a's as the test knows them.
func invData(t *testing.T, db *store.DB) (a, b store.Tenant, ua *store.User, rows []*invRow, models [2]string) {
	t.Helper()
	ctx := context.Background()
	a, b, ua, _ = twoTenants(t, db)
	for i := range models {
		mv := productionModel(t, a)
		models[i] = mv.ID
	}
	scores := []struct {
		band  string
		score float64
	}{{"low", 0.0005}, {"low", 0.005}, {"medium", 0.03}, {"high", 0.25}, {"high", 0.55}, {"critical", 0.93}, {"critical", 0.999}, {"high", 0.25}, {"low", 0.2}}
	types := []string{"TRANSFER", "CASH_OUT", "PAYMENT", "DEBIT", "CASH_IN"}
	sources := []string{store.SourceSeed, store.SourceAPI, store.SourceUpload}
	base := time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)
	for i := range 60 {
		received := base.Add(-time.Duration(i) * 7 * time.Hour).Add(time.Duration(i) * time.Millisecond * 3)
		s := scores[i%len(scores)]
		tx := store.Transaction{ID: store.NewIDAt(received), ExternalID: fmt.Sprintf("x-%d", i), Step: i, Type: types[i%len(types)],
			Amount: 10 + float64(i*37%50)*13.5, NameOrig: fmt.Sprintf("C%03d", i%10), OldBalanceOrg: 1000, NewBalanceOrig: 500,
			NameDest: fmt.Sprintf("M%d", i%4), ReceivedAt: received, Source: sources[i%len(sources)],
			ReviewPriority: store.ReviewPriority(s.band, s.score, 0.5, i%13 == 0)}
		if i%11 == 0 {
			tx.NameDest = "C003" // an account that also sends
		}
		p := store.Prediction{ID: store.NewID(), ModelVersionID: models[min(i%3, 1)], Score: s.score, RawMargin: -2,
			Band: s.band, Threshold: 0.5, Explanation: []byte(`{"n":1}`), LatencyUS: 5, CreatedAt: received}
		rows = append(rows, &invRow{tx: tx, p: p})
	}
	var txs []store.Transaction
	var ps []store.Prediction
	for _, r := range rows[:40] {
		txs, ps = append(txs, r.tx), append(ps, r.p)
	}
	if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[40:] {
		tx, p := r.tx, r.p
		if _, _, err := store.SaveScored(ctx, a, &tx, &p); err != nil {
			t.Fatal(err)
		}
	}
	// Tenant b has lookalikes that a never sees.
	mb := productionModel(t, b)
	btxs, bps := scoredRows(mb, "x", 3)
	for i := range btxs {
		btxs[i].NameOrig, btxs[i].ReceivedAt = "C003", base
		btxs[i].ID = store.NewIDAt(base)
	}
	if err := store.SaveScoredBatch(ctx, b, btxs, bps); err != nil {
		t.Fatal(err)
	}
	// Decisions, one at a time and in bulk, move rows between rollups.
	actor := store.Actor{UserID: ua.ID, Email: ua.Email}
	decide := func(i int, d string) {
		if _, err := store.Decide(ctx, a, actor, rows[i].tx.ID, d, "seen"); err != nil {
			t.Fatal(err)
		}
		rows[i].label = d
	}
	decide(5, store.DecisionConfirmedFraud)
	decide(6, store.DecisionEscalated)
	decide(6, store.DecisionConfirmedFraud)
	decide(14, store.DecisionFalsePositive)
	res, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{IDs: []string{rows[3].tx.ID, rows[14].tx.ID, rows[23].tx.ID}},
		store.DecisionEscalated, "bulk", 100)
	if err != nil || res.Decided != 3 || res.Changed != 3 {
		t.Fatalf("BulkDecide(ids) = %+v, %v; want 3 decided, 3 changed", res, err)
	}
	for _, i := range []int{3, 14, 23} {
		rows[i].label = store.DecisionEscalated
	}
	return a, b, ua, rows, models
}

// matches is the brute-force reading of a filter.
func (r *invRow) matches(f store.InvestigateFilter) bool {
	tx, p := &r.tx, &r.p
	if a := f.Account; a != "" {
		if f.AccountPrefix && !strings.HasPrefix(tx.NameOrig, a) && !strings.HasPrefix(tx.NameDest, a) {
			return false
		}
		if !f.AccountPrefix && tx.NameOrig != a && tx.NameDest != a {
			return false
		}
	}
	switch {
	case f.ExternalID != "" && tx.ExternalID != f.ExternalID,
		len(f.Types) > 0 && !slices.Contains(f.Types, tx.Type),
		len(f.Bands) > 0 && !slices.Contains(f.Bands, p.Band),
		f.Decision == "undecided" && r.label != "",
		f.Decision != "" && f.Decision != "any" && f.Decision != "undecided" && r.label != f.Decision,
		f.Review && (r.label != "" || tx.ReviewPriority == nil),
		f.MinAmount != nil && tx.Amount < *f.MinAmount, f.MaxAmount != nil && tx.Amount > *f.MaxAmount,
		f.MinScore != nil && p.Score < *f.MinScore, f.MaxScore != nil && p.Score > *f.MaxScore,
		!f.From.IsZero() && tx.ReceivedAt.Before(f.From), !f.To.IsZero() && !tx.ReceivedAt.Before(f.To),
		f.ModelVersionID != "" && p.ModelVersionID != f.ModelVersionID,
		f.Source != "" && tx.Source != f.Source:
		return false
	}
	return true
}

// expected lists the ids f keeps in f's order.
func expected(rows []*invRow, f store.InvestigateFilter) []string {
	var keep []*invRow
	for _, r := range rows {
		if r.matches(f) {
			keep = append(keep, r)
		}
	}
	slices.SortFunc(keep, func(x, y *invRow) int {
		var c int
		switch f.Sort {
		case store.SortScore:
			c = cmp.Or(cmp.Compare(x.p.Score, y.p.Score), cmp.Compare(x.p.ID, y.p.ID))
		case store.SortAmount:
			c = cmp.Or(cmp.Compare(x.tx.Amount, y.tx.Amount), cmp.Compare(x.tx.ID, y.tx.ID))
		default:
			c = cmp.Compare(x.tx.ID, y.tx.ID)
		}
		if !f.Asc {
			c = -c
		}
		return c
	})
	ids := make([]string, len(keep))
	for i, r := range keep {
		ids[i] = r.tx.ID
	}
	return ids
}

// investigateFilters are the filters the tests walk: each alone, then
// combined.
func investigateFilters(models [2]string) []struct {
	name string
	f    store.InvestigateFilter
} {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	return []struct {
		name string
		f    store.InvestigateFilter
	}{
		{"everything", store.InvestigateFilter{}},
		{"an account as sender or receiver", store.InvestigateFilter{Account: "C003"}},
		{"a receiving account", store.InvestigateFilter{Account: "M1"}},
		{"an account prefix", store.InvestigateFilter{Account: "C00", AccountPrefix: true}},
		{"a prefix with a LIKE wildcard matches it literally", store.InvestigateFilter{Account: "C0_", AccountPrefix: true}},
		{"a prefix with a GLOB wildcard matches it literally", store.InvestigateFilter{Account: "C0*", AccountPrefix: true}},
		{"an external id", store.InvestigateFilter{ExternalID: "x-7"}},
		{"two types", store.InvestigateFilter{Types: []string{"TRANSFER", "DEBIT"}}},
		{"the critical band", store.InvestigateFilter{Bands: []string{"critical"}}},
		{"the low and high bands", store.InvestigateFilter{Bands: []string{"low", "high"}}},
		{"undecided", store.InvestigateFilter{Decision: "undecided"}},
		{"confirmed fraud", store.InvestigateFilter{Decision: store.DecisionConfirmedFraud}},
		{"escalated", store.InvestigateFilter{Decision: store.DecisionEscalated}},
		{"needs review", store.InvestigateFilter{Review: true}},
		{"an amount range", store.InvestigateFilter{MinAmount: ptr(100), MaxAmount: ptr(400)}},
		{"a minimum score on a bucket edge", store.InvestigateFilter{MinScore: ptr(0.2)}},
		{"a minimum score between edges", store.InvestigateFilter{MinScore: ptr(0.25)}},
		{"a maximum score", store.InvestigateFilter{MaxScore: ptr(0.25)}},
		{"a maximum score on a bucket edge", store.InvestigateFilter{MaxScore: ptr(0.2)}},
		{"a score range inside one bucket", store.InvestigateFilter{MinScore: ptr(0.0002), MaxScore: ptr(0.0007)}},
		{"an amount range on bucket edges", store.InvestigateFilter{MinAmount: ptr(100), MaxAmount: ptr(500)}},
		{"a minimum amount", store.InvestigateFilter{MinAmount: ptr(300)}},
		{"amount and score ranges between edges", store.InvestigateFilter{MinAmount: ptr(123.5), MaxAmount: ptr(456),
			MinScore: ptr(0.015), MaxScore: ptr(0.6)}},
		{"whole received days", store.InvestigateFilter{From: day, To: day.AddDate(0, 0, 4)}},
		{"received from a time of day", store.InvestigateFilter{From: day.Add(13 * time.Hour)}},
		{"received before a day", store.InvestigateFilter{To: day}},
		{"a model version", store.InvestigateFilter{ModelVersionID: models[0]}},
		{"a source", store.InvestigateFilter{Source: store.SourceUpload}},
		{"type, bands, undecided and source", store.InvestigateFilter{Types: []string{"TRANSFER", "CASH_OUT"},
			Bands: []string{"high", "critical"}, Decision: "undecided", Source: store.SourceSeed}},
		{"account prefix and minimum score", store.InvestigateFilter{Account: "C00", AccountPrefix: true, MinScore: ptr(0.02)}},
		{"an account with types, bands and decision", store.InvestigateFilter{Account: "C003", Types: []string{"TRANSFER", "DEBIT", "CASH_IN"},
			Bands: []string{"low", "critical"}, Decision: "undecided"}},
		{"account prefix, a score range and received times", store.InvestigateFilter{Account: "C", AccountPrefix: true,
			MinScore: ptr(0.004), MaxScore: ptr(0.6), From: day.Add(-9 * 24 * time.Hour).Add(5 * time.Hour), To: day.Add(7 * time.Hour)}},
		{"an account and a model version", store.InvestigateFilter{Account: "C003", ModelVersionID: models[1]}},
		{"days, model and review", store.InvestigateFilter{From: day, To: day.AddDate(0, 0, 9), ModelVersionID: models[1], Review: true}},
	}
}

func TestListInvestigateFiltersSortsAndPagesBothWays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, _, rows, models := invData(t, db)
		for _, c := range investigateFilters(models) {
			for _, sort := range []string{store.SortTime, store.SortScore, store.SortAmount} {
				for _, asc := range []bool{false, true} {
					for _, few := range []bool{false, true} {
						f := c.f
						f.Sort, f.Asc, f.Limit = sort, asc, 4
						name := fmt.Sprintf("%s by %s, ascending %v", c.name, sort, asc)
						if few {
							// Told how few match, it reads them all and sorts.
							f.Matching = int64(len(expected(rows, f)))
							name += ", few"
						}
						t.Run(name, func(t *testing.T) {
							want := expected(rows, f)
							// Forwards, page by page.
							var got, firsts []string
							for page := 0; ; page++ {
								p, err := store.ListInvestigate(ctx, a, f)
								if err != nil {
									t.Fatal(err)
								}
								if p.HasPrev != (page > 0) {
									t.Fatalf("page %d: HasPrev = %v", page, p.HasPrev)
								}
								for _, r := range p.Rows {
									got = append(got, r.ID)
								}
								if len(p.Rows) > 0 {
									firsts = append(firsts, p.Rows[0].ID)
								}
								if !p.HasNext {
									break
								}
								f.After = p.Rows[len(p.Rows)-1].ID
							}
							if !slices.Equal(got, want) {
								t.Fatalf("ListInvestigate() forwards = %v, want %v", got, want)
							}
							// Backwards from the last page's first row, page by page.
							var back []string
							f.After = ""
							for i := len(firsts) - 1; i > 0; i-- {
								f.Before = firsts[i]
								p, err := store.ListInvestigate(ctx, a, f)
								if err != nil {
									t.Fatal(err)
								}
								if !p.HasNext || p.HasPrev != (i > 1) || len(p.Rows) == 0 || p.Rows[0].ID != firsts[i-1] {
									t.Fatalf("page before %d = %+v", i, p)
								}
								var ids []string
								for _, r := range p.Rows {
									ids = append(ids, r.ID)
								}
								back = append(ids, back...)
							}
							if n := len(firsts); n > 1 && !slices.Equal(back, want[:len(back)]) || n > 1 && len(back) != 4*(n-1) {
								t.Fatalf("ListInvestigate() backwards = %v, want %v", back, want)
							}
							// Another tenant finds none of it.
							f.Before = ""
							p, err := store.ListInvestigate(ctx, b, f)
							if err != nil || slices.ContainsFunc(p.Rows, func(r store.QueueRow) bool { return slices.Contains(want, r.ID) }) {
								t.Fatalf("ListInvestigate() as another tenant = %+v, %v", p, err)
							}
						})
					}
				}
			}
		}
	})
}

// bruteStats computes the statistics of f's set in Go.
func bruteStats(rows []*invRow, f store.InvestigateFilter) store.InvestigateStats {
	s := store.InvestigateStats{ByDecision: map[string]int64{}, Buckets: make([]int64, len(store.ScoreEdges)+1)}
	for _, r := range rows {
		if !r.matches(f) {
			continue
		}
		s.Count++
		s.Amount += r.tx.Amount
		s.ScoreSum += r.p.Score
		s.ByDecision[r.label]++
		b := 0
		for b < len(store.ScoreEdges) && r.p.Score >= store.ScoreEdges[b] {
			b++
		}
		s.Buckets[b]++
	}
	return s
}

func sameStats(got *store.InvestigateStats, want store.InvestigateStats) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	for k, v := range want.ByDecision {
		if got.ByDecision[k] != v {
			return false
		}
	}
	for k, v := range got.ByDecision {
		if want.ByDecision[k] != v {
			return false
		}
	}
	return got.Count == want.Count && close(got.Amount, want.Amount) && close(got.ScoreSum, want.ScoreSum) &&
		slices.Equal(got.Buckets, want.Buckets)
}

func TestCountInvestigateEqualsABruteForceCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, rows, models := invData(t, db)
		// A bulk decision by filter moves more rows between rollups.
		all := store.InvestigateFilter{Types: []string{"PAYMENT"}, Bands: []string{"critical"}}
		n := len(expected(rows, all))
		res, err := store.BulkDecide(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email},
			store.BulkSelection{Filter: &all, Expect: n}, store.DecisionFalsePositive, "bulk by filter", 100)
		if err != nil || res.Decided != n || n == 0 {
			t.Fatalf("BulkDecide(filter) = %+v, %v; want %d decided", res, err, n)
		}
		for _, r := range rows {
			if r.matches(all) {
				r.label = store.DecisionFalsePositive
			}
		}
		rollups := 0
		for _, c := range investigateFilters(models) {
			t.Run(c.name, func(t *testing.T) {
				want := bruteStats(rows, c.f)
				got, err := store.CountInvestigate(ctx, a, c.f)
				if err != nil || !sameStats(got, want) {
					t.Fatalf("CountInvestigate() = %+v, %v; want %+v", got, err, want)
				}
				if got.FromRollups {
					rollups++
					// The same set read row by row agrees.
					exact, err := store.CountInvestigateRowsForTest(ctx, a, c.f)
					if err != nil || !sameStats(exact, want) {
						t.Fatalf("CountInvestigate() from the rows = %+v, %v; want %+v", exact, err, want)
					}
				}
				if other, err := store.CountInvestigate(ctx, b, c.f); err != nil || other.Count > 3 {
					t.Fatalf("CountInvestigate() as another tenant = %+v, %v", other, err)
				}
			})
		}
		if rollups < 10 {
			t.Errorf("the rollups answered %d filters, want most of them", rollups)
		}
	})
}

func TestBulkDecide(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, rows, _ := invData(t, db)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		labels := func(tn store.Tenant, ids ...string) []string {
			var out []string
			for _, id := range ids {
				s, err := store.GetScored(ctx, tn, id)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, s.Transaction.Label)
			}
			return out
		}
		events := func() int {
			evs, err := store.ListAudit(ctx, a, store.AuditFilter{Action: store.ActionDecision, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		before := events()

		t.Run("ids of another tenant are refused and nothing changes", func(t *testing.T) {
			bPage, err := store.ListInvestigate(ctx, b, store.InvestigateFilter{})
			if err != nil || len(bPage.Rows) == 0 {
				t.Fatal(err)
			}
			_, err = store.BulkDecide(ctx, a, actor, store.BulkSelection{IDs: []string{rows[30].tx.ID, bPage.Rows[0].ID}},
				store.DecisionConfirmedFraud, "mixed", 100)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("BulkDecide(a's and b's ids) = %v, want ErrNotFound", err)
			}
			if got := labels(a, rows[30].tx.ID); got[0] != "" {
				t.Errorf("a's transaction after a refused bulk: label %q", got[0])
			}
			if got := labels(b, bPage.Rows[0].ID); got[0] != "" {
				t.Errorf("b's transaction after a's bulk: label %q", got[0])
			}
			if events() != before {
				t.Errorf("audit events after a refused bulk = %d, want %d", events(), before)
			}
		})
		t.Run("more than the limit is refused", func(t *testing.T) {
			f := store.InvestigateFilter{}
			if _, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{Filter: &f, Expect: 60}, store.DecisionEscalated, "all", 10); !errors.Is(err, store.ErrBulkTooMany) {
				t.Fatalf("BulkDecide(60 rows, limit 10) = %v, want ErrBulkTooMany", err)
			}
			ids := []string{rows[1].tx.ID, rows[2].tx.ID, rows[4].tx.ID}
			if _, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{IDs: ids}, store.DecisionEscalated, "ids", 2); !errors.Is(err, store.ErrBulkTooMany) {
				t.Fatalf("BulkDecide(3 ids, limit 2) = %v, want ErrBulkTooMany", err)
			}
		})
		t.Run("a set that changed since it was confirmed is refused", func(t *testing.T) {
			f := store.InvestigateFilter{Types: []string{"DEBIT"}}
			n := len(expected(rows, f))
			if _, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{Filter: &f, Expect: n - 1}, store.DecisionEscalated, "all", 100); !errors.Is(err, store.ErrBulkChanged) {
				t.Fatalf("BulkDecide(expecting %d of %d) = %v, want ErrBulkChanged", n-1, n, err)
			}
		})
		t.Run("a bad decision is refused", func(t *testing.T) {
			if _, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{IDs: []string{rows[1].tx.ID}}, "maybe", "x", 10); !errors.Is(err, store.ErrBadDecision) {
				t.Fatalf("BulkDecide(maybe) = %v, want ErrBadDecision", err)
			}
		})
		if events() != before {
			t.Fatalf("audit events after refused bulks = %d, want %d", events(), before)
		}
		t.Run("each transaction gets its decision and its event naming the bulk", func(t *testing.T) {
			ids := []string{rows[1].tx.ID, rows[2].tx.ID, rows[2].tx.ID, rows[5].tx.ID} // 5 is confirmed already
			res, err := store.BulkDecide(ctx, a, actor, store.BulkSelection{IDs: ids}, store.DecisionConfirmedFraud, "ring", 10)
			if err != nil || res.Decided != 3 || res.Changed != 2 {
				t.Fatalf("BulkDecide() = %+v, %v; want 3 decided, 2 changed", res, err)
			}
			if got := labels(a, ids...); slices.ContainsFunc(got, func(l string) bool { return l != store.DecisionConfirmedFraud }) {
				t.Errorf("labels after the bulk = %v", got)
			}
			for _, id := range ids[:3] {
				ds, err := store.ListDecisions(ctx, a, id)
				if err != nil || len(ds) == 0 || ds[0].Rationale != "ring" || ds[0].UserID != ua.ID {
					t.Errorf("decisions of %s = %+v, %v", id, ds, err)
				}
			}
			evs, err := store.ListAudit(ctx, a, store.AuditFilter{Action: store.ActionDecision, Limit: 3})
			if err != nil || len(evs) != 3 {
				t.Fatalf("ListAudit() = %d events, %v", len(evs), err)
			}
			for _, e := range evs {
				if !strings.Contains(string(e.Details), res.ID) || !strings.Contains(string(e.Details), store.DecisionConfirmedFraud) ||
					e.ActorEmail != ua.Email || !slices.Contains(ids, e.ObjectID) {
					t.Errorf("event %+v does not name the bulk %s, its decision and actor", e, res.ID)
				}
			}
		})
	})
}

func TestExportTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, rows, _ := invData(t, db)
		f := store.InvestigateFilter{Sort: store.SortAmount, Asc: true}
		want := expected(rows, f)
		var got []string
		n, more, err := store.ExportTransactions(ctx, a, f, 1000, func(r *store.ExportRow) error {
			got = append(got, r.ID)
			var known *invRow
			for _, x := range rows {
				if x.tx.ID == r.ID {
					known = x
				}
			}
			switch {
			case known == nil:
				return fmt.Errorf("row %s is not a's", r.ID)
			case r.Label != known.label, r.Score != known.p.Score, r.Band != known.p.Band, string(r.Explanation) != `{"n":1}`,
				!r.ReceivedAt.Equal(known.tx.ReceivedAt), r.Amount != known.tx.Amount, r.Source != known.tx.Source:
				return fmt.Errorf("row %s = %+v, want %+v", r.ID, r, known)
			case known.label != "" && (r.DecidedBy != ua.Email || r.Rationale == "" || r.DecidedAt.IsZero() || time.Since(r.DecidedAt) > time.Hour):
				return fmt.Errorf("decided row %s: by %q at %v, rationale %q", r.ID, r.DecidedBy, r.DecidedAt, r.Rationale)
			case known.label == "" && (r.DecidedBy != "" || !r.DecidedAt.IsZero()):
				return fmt.Errorf("undecided row %s names a decision", r.ID)
			}
			return nil
		})
		if err != nil || n != 60 || more || !slices.Equal(got, want) {
			t.Fatalf("ExportTransactions() = %d, more %v, %v; order %v, want %v", n, more, err, got, want)
		}
		n, more, err = store.ExportTransactions(ctx, a, f, 7, func(*store.ExportRow) error { return nil })
		if err != nil || n != 7 || !more {
			t.Fatalf("ExportTransactions(limit 7) = %d, more %v, %v; want 7 and more", n, more, err)
		}
	})
}

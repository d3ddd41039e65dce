package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// placedRows stores n transactions of tenant a with countries and regions,
// half in one batch and half one by one, received an hour apart back from
// base, and returns them.
func placedRows(t *testing.T, a store.Tenant, model string, base time.Time, n int) []store.Transaction {
	t.Helper()
	ctx := context.Background()
	places := [][2]string{{"US", "US-NY"}, {"US", "US-CA"}, {"GB", ""}, {"NG", ""}, {"", ""}}
	scores := []struct {
		band  string
		score float64
	}{{"low", 0.0005}, {"medium", 0.03}, {"high", 0.55}, {"critical", 0.97}}
	var txs []store.Transaction
	var ps []store.Prediction
	for i := range n {
		at := base.Add(-time.Duration(i) * 53 * time.Minute)
		s := scores[i%len(scores)]
		pl := places[i%len(places)]
		txs = append(txs, store.Transaction{ID: store.NewIDAt(at), ExternalID: fmt.Sprintf("geo-%d", i), Type: []string{"TRANSFER", "CASH_OUT", "PAYMENT"}[i%3],
			Amount: 100 + float64(i)*7.25, NameOrig: fmt.Sprintf("C%d", i%7), NameDest: "M1", ReceivedAt: at, Source: store.SourceAPI,
			ReviewPriority: store.ReviewPriority(s.band, s.score, 0.5, false), OrigCountry: pl[0], OrigRegion: pl[1], DestCountry: "GB"})
		ps = append(ps, store.Prediction{ID: store.NewID(), ModelVersionID: model, Score: s.score, Band: s.band, Threshold: 0.5,
			Explanation: []byte(`{}`), CreatedAt: at})
	}
	if err := store.SaveScoredBatch(ctx, a, txs[:n/2], ps[:n/2]); err != nil {
		t.Fatal(err)
	}
	for i := n / 2; i < n; i++ {
		if _, _, err := store.SaveScored(ctx, a, &txs[i], &ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	return txs
}

func sameRollups(t *testing.T, a store.Tenant) {
	t.Helper()
	ctx := context.Background()
	gotH, gotP, err := store.DashboardRollupsForTest(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	wantH, wantP, err := store.BruteDashboardRollupsForTest(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantH) == 0 || len(wantP) == 0 {
		t.Fatal("no rollups to compare")
	}
	hours := map[string]store.HourlyRollup{}
	for _, r := range wantH {
		hours[r.Hour+" "+r.Type+" "+r.Band] = r
	}
	for _, g := range gotH {
		k := g.Hour + " " + g.Type + " " + g.Band
		w, ok := hours[k]
		delete(hours, k)
		if !ok || g.N != w.N || g.Flagged != w.Flagged || g.Fraud != w.Fraud || g.FalsePos != w.FalsePos || g.Escalated != w.Escalated ||
			g.Histogram() != w.Histogram() || math.Abs(g.Amount-w.Amount) > 1e-6 || math.Abs(g.Score-w.Score) > 1e-9 ||
			math.Abs(g.FraudAmount-w.FraudAmount) > 1e-6 {
			t.Errorf("hourly rollup %s = %+v, brute force %+v", k, g, w)
		}
	}
	if len(hours) > 0 {
		t.Errorf("hourly rollups missing: %v", hours)
	}
	places := map[string]store.PlaceRollup{}
	for _, r := range wantP {
		places[r.Hour+" "+r.Country+" "+r.Region] = r
	}
	for _, g := range gotP {
		k := g.Hour + " " + g.Country + " " + g.Region
		w, ok := places[k]
		delete(places, k)
		if !ok || g.N != w.N || g.Risky != w.Risky || g.Fraud != w.Fraud || math.Abs(g.Amount-w.Amount) > 1e-6 || math.Abs(g.Score-w.Score) > 1e-9 {
			t.Errorf("place rollup %s = %+v, brute force %+v", k, g, w)
		}
	}
	if len(places) > 0 {
		t.Errorf("place rollups missing: %v", places)
	}
}

func TestHourlyRollupsEqualABruteForceAggregate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _, models := invData(t, db) // both write paths, decisions one by one and in bulk
		txs := placedRows(t, a, models[0], time.Date(2026, 3, 21, 12, 10, 0, 0, time.UTC), 40)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		for i, d := range []string{store.DecisionConfirmedFraud, store.DecisionFalsePositive, store.DecisionConfirmedFraud} {
			if _, err := store.Decide(ctx, a, actor, txs[i*3].ID, d, "seen"); err != nil {
				t.Fatal(err)
			}
		}
		// A decision changed again moves the transaction once more.
		if _, err := store.Decide(ctx, a, actor, txs[0].ID, store.DecisionEscalated, "again"); err != nil {
			t.Fatal(err)
		}
		sameRollups(t, a)
		sameRollups(t, b)
	})
}

func TestLoadDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		base := time.Date(2026, 3, 21, 12, 10, 0, 0, time.UTC)
		txs := placedRows(t, a, mv.ID, base, 40)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		if _, err := store.Decide(ctx, a, actor, txs[2].ID, store.DecisionConfirmedFraud, "seen"); err != nil {
			t.Fatal(err)
		}
		txs[2].Label = store.DecisionConfirmedFraud

		t.Run("sums the window by hour, type and band, and country", func(t *testing.T) {
			from := base.Add(-10 * time.Hour).Truncate(time.Hour)
			d, err := store.LoadDashboard(ctx, a, from, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var want store.DashboardSums
			byCountry := map[[2]string]int64{}
			hours := map[string]bool{}
			for _, tx := range txs {
				if tx.ReceivedAt.Before(from) {
					continue
				}
				want.N++
				want.Amount += tx.Amount
				band := "low"
				if tx.ReviewPriority != nil {
					want.Flagged++
					band = map[bool]string{true: "critical", false: "high"}[*tx.ReviewPriority < 1]
					if *tx.ReviewPriority >= 2 {
						band = "medium"
					}
				}
				if band == "high" || band == "critical" {
					want.Risky++
				}
				if band == "critical" || tx.Label == store.DecisionConfirmedFraud {
					want.Exposure += tx.Amount
				}
				if tx.Label == store.DecisionConfirmedFraud {
					want.Fraud++
				}
				byCountry[[2]string{tx.OrigCountry, tx.OrigRegion}]++
				hours[tx.ReceivedAt.Format(store.HourLayout)] = true
			}
			got := d.Total
			if got.N != want.N || got.Flagged != want.Flagged || got.Risky != want.Risky || got.Fraud != want.Fraud ||
				math.Abs(got.Exposure-want.Exposure) > 1e-6 || math.Abs(got.Amount-want.Amount) > 1e-6 {
				t.Errorf("LoadDashboard().Total = %+v, want %+v", got, want)
			}
			if want.N != 12 || want.Fraud != 1 {
				t.Fatalf("fixture: %d in the window, %d fraud; want 12 and 1", want.N, want.Fraud)
			}
			var tbN int64
			for _, r := range d.TypeBands {
				tbN += r.N
				var h int64
				for _, x := range r.H {
					h += x
				}
				if h != r.N {
					t.Errorf("type %s band %s: histogram holds %d, want %d", r.Type, r.Band, h, r.N)
				}
			}
			if tbN != want.N {
				t.Errorf("type and band sums hold %d, want %d", tbN, want.N)
			}
			for _, c := range d.Countries {
				if byCountry[[2]string{c.Country, c.Region}] != c.N {
					t.Errorf("country %q region %q = %d, want %d", c.Country, c.Region, c.N, byCountry[[2]string{c.Country, c.Region}])
				}
				delete(byCountry, [2]string{c.Country, c.Region})
			}
			if len(byCountry) > 0 {
				t.Errorf("countries missing: %v", byCountry)
			}
			if len(d.Hours) != len(hours) {
				t.Errorf("%d hours, want %d", len(d.Hours), len(hours))
			}
			if d.Latest != base.Format(store.HourLayout) {
				t.Errorf("Latest = %q, want %q", d.Latest, base.Format(store.HourLayout))
			}
		})
		t.Run("an empty window still knows the latest hour", func(t *testing.T) {
			d, err := store.LoadDashboard(ctx, a, base.Add(24*time.Hour), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Total.N != 0 || len(d.Hours) != 0 || d.Latest != base.Format(store.HourLayout) {
				t.Errorf("empty window: total %d, %d hours, latest %q", d.Total.N, len(d.Hours), d.Latest)
			}
		})
		t.Run("another tenant sees nothing", func(t *testing.T) {
			d, err := store.LoadDashboard(ctx, b, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Total.N != 0 || d.Latest != "" || len(d.Countries) != 0 {
				t.Errorf("tenant b's dashboard = %+v, want empty", d)
			}
		})
		t.Run("investigate filters by the sender's country or region", func(t *testing.T) {
			for _, c := range []struct {
				country string
				want    int
			}{{"US", 16}, {"US-NY", 8}, {"NG", 8}, {"FR", 0}} {
				page, err := store.ListInvestigate(ctx, a, store.InvestigateFilter{Country: c.country, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Rows) != c.want {
					t.Errorf("country %s: %d rows, want %d", c.country, len(page.Rows), c.want)
				}
				st, err := store.CountInvestigate(ctx, a, store.InvestigateFilter{Country: c.country})
				if err != nil {
					t.Fatal(err)
				}
				if st.Count != int64(c.want) {
					t.Errorf("country %s: statistics count %d, want %d", c.country, st.Count, c.want)
				}
			}
		})
	})
}

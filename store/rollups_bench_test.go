package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// BenchmarkRollupWriteCost stores batches of 256 scored transactions (the
// group writer's largest) through SaveScoredBatch, with and without the
// dashboard's rollups, on SQLite and (with SENTINEL_TEST_POSTGRES_URL) on
// PostgreSQL's COPY path. The rows have 5 types, 5 score levels and 30
// countries; "live" ones arrived in the last ten minutes, as API traffic
// does, "spread" ones anywhere in 30 days, as a backfill's (every row its
// own rollups: the worst case). ns/tx is the cost per transaction.
//
// Batches alternate without and with; each reports its mean per
// transaction and how much more "with" costs.
//
//	SENTINEL_TEST_POSTGRES_URL=... go test -run '^$' -bench RollupWriteCost -benchtime 200x -count 3 ./store
func BenchmarkRollupWriteCost(b *testing.B) {
	dbs := map[string]func(testing.TB) *store.DB{"sqlite": storetest.SQLite}
	if os.Getenv(storetest.PostgresURLEnv) != "" {
		dbs["postgres"] = storetest.Postgres
	}
	countries := []string{"US", "GB", "DE", "FR", "CA", "MX", "BR", "IN", "ES", "IT", "NL", "AU", "JP", "SG", "IE", "SE", "PL",
		"ZA", "AR", "CH", "AE", "NG", "RO", "HK", "PH", "KR", "CN", "TR", "EG", "KE"}
	types := []string{"CASH_IN", "CASH_OUT", "PAYMENT", "TRANSFER", "DEBIT"}
	bands := []struct {
		band  string
		score float64
	}{{"low", 0.0005}, {"low", 0.004}, {"medium", 0.03}, {"high", 0.4}, {"critical", 0.97}}
	for _, name := range []string{"sqlite", "postgres"} {
		open, ok := dbs[name]
		if !ok {
			continue
		}
		for _, run := range []struct {
			mode string
			span time.Duration
		}{{"live", 10 * time.Minute}, {"spread", 30 * 24 * time.Hour}} {
			b.Run(fmt.Sprintf("%s/%s", name, run.mode), func(b *testing.B) {
				db := open(b)
				ctx := context.Background()
				row, err := store.AdminCreateTenant(ctx, db, store.Actor{Email: "bench"}, "bench", "Bench")
				if err != nil {
					b.Fatal(err)
				}
				tn := store.ForTenant(db, row.ID)
				mv := productionModel(b, tn)
				defer store.SetHourlyRollupsForBench(true)
				// Batches alternate without and with the dashboard's
				// rollups, so that the neighbours' load, which drifts,
				// weighs on both alike.
				var took [2]time.Duration
				rng := rand.New(rand.NewPCG(1, 2))
				end := time.Now().UTC()
				n := 0
				for b.Loop() {
					on := n/256%2 == 1
					txs := make([]store.Transaction, 256)
					ps := make([]store.Prediction, 256)
					for i := range txs {
						at := end.Add(-time.Duration(rng.Int64N(int64(run.span))))
						bd := bands[rng.IntN(len(bands))]
						c := countries[min(rng.IntN(len(countries)), rng.IntN(len(countries)))]
						region := ""
						if c == "US" {
							region = "US-NY"
						}
						txs[i] = store.Transaction{ID: store.NewIDAt(at), ExternalID: fmt.Sprintf("b%d", n), Type: types[rng.IntN(len(types))],
							Amount: float64(rng.IntN(100000)), NameOrig: "C1", NameDest: "M1", ReceivedAt: at,
							ReviewPriority: store.ReviewPriority(bd.band, bd.score, 0.5, false), OrigCountry: c, OrigRegion: region}
						ps[i] = store.Prediction{ID: store.NewID(), ModelVersionID: mv.ID, Score: bd.score, Band: bd.band,
							Explanation: []byte(`{"model":{"id":"m"}}`), CreatedAt: at}
						n++
					}
					store.SetHourlyRollupsForBench(on)
					start := time.Now()
					if err := store.SaveScoredBatch(ctx, tn, txs, ps); err != nil {
						b.Fatal(err)
					}
					if on {
						took[1] += time.Since(start)
					} else {
						took[0] += time.Since(start)
					}
				}
				half := float64(n / 2)
				b.ReportMetric(float64(took[0].Nanoseconds())/half, "ns/tx-without")
				b.ReportMetric(float64(took[1].Nanoseconds())/half, "ns/tx-with")
				b.ReportMetric(100*(float64(took[1])/float64(took[0])-1), "%-more")
			})
		}
	}
}

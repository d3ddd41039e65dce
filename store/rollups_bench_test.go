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
// hourly rollups, on SQLite and (with SENTINEL_TEST_POSTGRES_URL) on
// PostgreSQL's COPY path. The rows spread over 30 days, 5 types, 4 bands
// and 30 countries, as traffic does. ns/tx is the cost per transaction.
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
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/hourly=%v", name, on), func(b *testing.B) {
				db := open(b)
				ctx := context.Background()
				row, err := store.AdminCreateTenant(ctx, db, store.Actor{Email: "bench"}, "bench", "Bench")
				if err != nil {
					b.Fatal(err)
				}
				tn := store.ForTenant(db, row.ID)
				mv, err := store.RegisterModel(ctx, tn, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
				if err != nil {
					b.Fatal(err)
				}
				store.SetHourlyRollupsForBench(on)
				defer store.SetHourlyRollupsForBench(true)
				rng := rand.New(rand.NewPCG(1, 2))
				end := time.Now().UTC()
				n := 0
				for b.Loop() {
					txs := make([]store.Transaction, 256)
					ps := make([]store.Prediction, 256)
					for i := range txs {
						at := end.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
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
					if err := store.SaveScoredBatch(ctx, tn, txs, ps); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/tx")
			})
		}
	}
}

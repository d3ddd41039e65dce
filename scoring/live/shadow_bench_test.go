package live

import (
	"testing"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// BenchmarkShadowCost is what a shadow model adds to scoring one
// transaction in the request: the production model scores, explains and
// freezes it (Version.Score), the shadow only scores it. Both are the
// default model, so the shadow is as costly as a challenger of its size.
//
//	go test -run '^$' -bench ShadowCost -benchmem -cpu 1 -count 6 ./scoring/live
func BenchmarkShadowCost(b *testing.B) {
	m, err := scoring.Load(models.Default)
	if err != nil {
		b.Fatal(err)
	}
	prod := &Version{VersionID: "production", Name: models.DefaultName, Version: 1, Model: m}
	shadow := &Version{VersionID: "shadow", Name: "challenger", Version: 1, Model: m}
	in := Input{ExternalID: "bench", Tx: scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1",
		OldBalanceOrg: 181000, NameDest: "C2"}}
	b.Run("without shadow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := prod.Score(in, store.WatchStatus{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("with shadow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, p, _, err := prod.Score(in, store.WatchStatus{})
			if err != nil {
				b.Fatal(err)
			}
			shadow.scoreShadow(&in, store.WatchStatus{}, p)
		}
	})
}

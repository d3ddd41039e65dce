package scoring_test

import (
	"testing"
)

// Benchmarks on the reference models: Predict (features, leaves margin,
// calibration, band) and Explain (full TreeSHAP, top-k, summary), cycling
// through the 1,000 reference rows. Run on one core:
//
//	go test -run '^$' -bench . -benchmem -cpu 1 ./scoring
func BenchmarkPredict(b *testing.B) {
	rows := readRefRows(b)
	for _, name := range []string{"seed16", "nobal300"} {
		m := loadRef(b, name)
		b.Run(name, func(b *testing.B) {
			m.Predict(&rows[0]) // warm the scratch pool
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Predict(&rows[i%len(rows)])
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	rows := readRefRows(b)
	for _, name := range []string{"seed16", "nobal300"} {
		m := loadRef(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m.Explain(&rows[i%len(rows)], 5)
			}
		})
	}
}

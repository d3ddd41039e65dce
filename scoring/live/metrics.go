package live

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// defaultSource is the source of an Input that names none: the JSON API.
const defaultSource = store.SourceAPI

// scoreMetrics are the scoring service's Prometheus metrics. A nil
// *scoreMetrics records nothing: the scorer of a command without a metrics
// endpoint pays nothing for them.
type scoreMetrics struct {
	latency prometheus.Histogram
	scored  *prometheus.CounterVec
}

// Instrument registers the scoring service's metrics on reg: how long
// scoring and explaining takes (sentinel_scoring_duration_seconds) and the
// transactions scored and stored, by band and source
// (sentinel_scored_transactions_total). Call it right after NewScorer,
// before the first model loads: a loaded model keeps the metrics it was
// loaded with.
func (s *Scorer) Instrument(reg prometheus.Registerer) error {
	m := &scoreMetrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sentinel_scoring_duration_seconds",
			Help: "Time to score and explain one transaction (features, trees, calibration, TreeSHAP), without storing it.",
			// Scoring takes microseconds (docs/performance.md): 5 µs to 50 ms.
			Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2},
		}),
		scored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_scored_transactions_total",
			Help: "Transactions scored and stored (repeats of an external id not counted), by final risk band and source.",
		}, []string{"band", "source"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.scored} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("live: register metrics: %w", err)
		}
	}
	// Every band of the default source starts at zero, so that a rate over
	// the first transaction of a band is not lost.
	for _, b := range []scoring.Band{scoring.BandLow, scoring.BandMedium, scoring.BandHigh, scoring.BandCritical} {
		m.scored.WithLabelValues(string(b), defaultSource)
	}
	s.metrics = m
	return nil
}

// observeLatency records the time one score and explanation took.
func (m *scoreMetrics) observeLatency(d time.Duration) {
	if m != nil {
		m.latency.Observe(d.Seconds())
	}
}

// countScored counts one transaction stored with its prediction.
func (m *scoreMetrics) countScored(in *Input, band string) {
	if m != nil {
		source := in.Source
		if source == "" {
			source = defaultSource
		}
		m.scored.WithLabelValues(band, source).Inc()
	}
}

// Live returns the tenant's loaded production model without loading it:
// nil when none is loaded (yet).
func (s *Scorer) Live(tenantID string) *Version {
	if p, ok := s.models.Load(tenantID); ok {
		return p.(*atomic.Pointer[Version]).Load()
	}
	return nil
}

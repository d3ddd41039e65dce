package scoring

import (
	"fmt"
	"math"
)

// Band is a risk band.
type Band string

// The four risk bands, lowest first.
const (
	BandLow      Band = "low"
	BandMedium   Band = "medium"
	BandHigh     Band = "high"
	BandCritical Band = "critical"
)

// Bands lists the risk bands, lowest first.
var Bands = []Band{BandLow, BandMedium, BandHigh, BandCritical}

// Thresholds are a model's decision points on the calibrated score: a score
// at or above Review goes to analysts; Medium, High and Critical are where
// those bands start.
type Thresholds struct {
	Review   float64 `json:"review"`
	Medium   float64 `json:"medium"`
	High     float64 `json:"high"`
	Critical float64 `json:"critical"`
}

// DefaultThresholds apply when a model carries none: low below 0.30, medium
// from 0.30, high from 0.60, critical from 0.85; review from 0.50.
var DefaultThresholds = Thresholds{Review: 0.5, Medium: 0.3, High: 0.6, Critical: 0.85}

// Validate checks 0 ≤ Medium ≤ High ≤ Critical ≤ 1 and Review in [0,1].
func (t Thresholds) Validate() error {
	for _, v := range []float64{t.Review, t.Medium, t.High, t.Critical} {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("thresholds must lie in [0, 1]: %+v", t)
		}
	}
	if !(t.Medium <= t.High && t.High <= t.Critical) {
		return fmt.Errorf("band cut-offs must rise: medium %v, high %v, critical %v", t.Medium, t.High, t.Critical)
	}
	return nil
}

// ValidateSetting checks thresholds an admin sets, more strictly than a
// bundle's: 0 < medium < high < critical < 1, and review in (0, 1), so
// that every band and the review queue can be reached and left.
func (t Thresholds) ValidateSetting() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"review", t.Review}, {"medium", t.Medium}, {"high", t.High}, {"critical", t.Critical}} {
		if math.IsNaN(f.v) || f.v <= 0 || f.v >= 1 {
			return fmt.Errorf("%s must be a number between 0 and 1 (exclusive)", f.name)
		}
	}
	if !(t.Medium < t.High && t.High < t.Critical) {
		return fmt.Errorf("the bands must start in order: medium (%v) < high (%v) < critical (%v)", t.Medium, t.High, t.Critical)
	}
	return nil
}

// BandOf places a calibrated score in its band.
func (t Thresholds) BandOf(score float64) Band {
	switch {
	case score >= t.Critical:
		return BandCritical
	case score >= t.High:
		return BandHigh
	case score >= t.Medium:
		return BandMedium
	}
	return BandLow
}

// Watch is what the watchlist says about a transaction's two accounts.
type Watch struct {
	SenderBlocked   bool
	ReceiverBlocked bool
	SenderTrusted   bool
	ReceiverTrusted bool
}

// ReasonBlocked is the override reason when a watched account is blocked.
const ReasonBlocked = "blocked account"

// override applies the watchlist: a blocked sender or receiver makes the
// band critical; a trusted account keeps its band and is flagged.
func (w Watch) override(b Band) (band Band, reason string, trusted bool) {
	if w.SenderBlocked || w.ReceiverBlocked {
		return BandCritical, ReasonBlocked, w.SenderTrusted || w.ReceiverTrusted
	}
	return b, "", w.SenderTrusted || w.ReceiverTrusted
}

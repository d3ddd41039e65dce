package scoring_test

import (
	"math"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestValidateSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		th   scoring.Thresholds
		ok   bool
	}{
		{"accepts rising band starts inside (0, 1)", scoring.Thresholds{Review: 0.5, Medium: 0.3, High: 0.6, Critical: 0.85}, true},
		{"accepts a review threshold above every band start", scoring.Thresholds{Review: 0.99, Medium: 0.01, High: 0.02, Critical: 0.03}, true},
		{"refuses a band start of 0", scoring.Thresholds{Review: 0.5, Medium: 0, High: 0.6, Critical: 0.85}, false},
		{"refuses a band start of 1", scoring.Thresholds{Review: 0.5, Medium: 0.3, High: 0.6, Critical: 1}, false},
		{"refuses a review threshold of 0", scoring.Thresholds{Review: 0, Medium: 0.3, High: 0.6, Critical: 0.85}, false},
		{"refuses a review threshold of 1", scoring.Thresholds{Review: 1, Medium: 0.3, High: 0.6, Critical: 0.85}, false},
		{"refuses equal band starts", scoring.Thresholds{Review: 0.5, Medium: 0.6, High: 0.6, Critical: 0.85}, false},
		{"refuses falling band starts", scoring.Thresholds{Review: 0.5, Medium: 0.3, High: 0.9, Critical: 0.85}, false},
		{"refuses NaN", scoring.Thresholds{Review: math.NaN(), Medium: 0.3, High: 0.6, Critical: 0.85}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.th.ValidateSetting(); (err == nil) != tc.ok {
				t.Fatalf("ValidateSetting(%+v) = %v, want ok %v", tc.th, err, tc.ok)
			}
		})
	}
}

func TestWithThresholdsChangesOnlyTheDecision(t *testing.T) {
	m := loadRef(t, "seed16")
	th := scoring.Thresholds{Review: 0.01, Medium: 0.001, High: 0.002, Critical: 0.003}
	n := m.WithThresholds(th)
	if n.Thresholds() != th || n.Bundle().Thresholds != th || m.Thresholds() == th {
		t.Fatalf("thresholds: new %+v, old %+v", n.Thresholds(), m.Thresholds())
	}
	tx := &scoring.Transaction{Step: 10, Type: "TRANSFER", Amount: 5000, NameOrig: "C1", OldBalanceOrg: 5000, NameDest: "C2"}
	a, b := m.Predict(tx), n.Predict(tx)
	if a.Score != b.Score || a.RawMargin != b.RawMargin {
		t.Fatalf("scores differ: %+v and %+v", a, b)
	}
	if b.Band != th.BandOf(b.Score) || b.Review != (b.Score >= th.Review) {
		t.Fatalf("WithThresholds() decided %+v, want band %s under %+v", b, th.BandOf(b.Score), th)
	}
}

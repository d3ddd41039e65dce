package scoring_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestIsotonicByHand(t *testing.T) {
	c, err := scoring.FitIsotonic([]float64{4, 1, 3, 2}, []float64{1, 0, 0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: (1,0) (2,1) (3,0) (4,1); (2,1),(3,0) pool into (2.5, 0.5).
	if !slices.Equal(c.X, []float64{1, 2.5, 4}) || !slices.Equal(c.Y, []float64{0, 0.5, 1}) {
		t.Fatalf("FitIsotonic() = %+v", c)
	}
	for x, want := range map[float64]float64{-5: 0, 1: 0, 1.75: 0.25, 2.5: 0.5, 3.25: 0.75, 4: 1, 9: 1} {
		if got := c.Apply(x); got != want {
			t.Errorf("Apply(%v) = %v, want %v", x, got, want)
		}
	}
	ties, err := scoring.FitIsotonic([]float64{1, 1, 2}, []float64{0, 1, 1}, []float64{1, 3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ties.X, []float64{1, 2}) || !slices.Equal(ties.Y, []float64{0.75, 1}) {
		t.Fatalf("tied, weighted fit = %+v, want x [1 2] y [0.75 1]", ties)
	}
	if _, err := scoring.FitIsotonic([]float64{math.NaN()}, []float64{1}, nil); err == nil {
		t.Error("FitIsotonic(NaN) = nil error")
	}
	var identity *scoring.Calibration
	if got := identity.Apply(0); got != 0.5 {
		t.Errorf("nil calibration Apply(0) = %v, want 0.5", got)
	}
}

func TestIsotonicIsMonotoneAndExactAtBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 20; trial++ {
		n := 50 + rng.IntN(2000)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64()*400) / 100
			if rng.Float64() < scoring.Sigmoid(x[i]) {
				y[i] = 1
			}
		}
		c, err := scoring.FitIsotonic(x, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for k := range c.X {
			if got := c.Apply(c.X[k]); got != c.Y[k] {
				t.Fatalf("Apply(block %d) = %v, want %v", k, got, c.Y[k])
			}
		}
		prev := -1.0
		for v := -6.0; v <= 6; v += 0.001 {
			got := c.Apply(v)
			if got < prev {
				t.Fatalf("Apply is not monotone at %v: %v after %v", v, got, prev)
			}
			prev = got
		}
		if len(c.X) > 5 && distinct(c, -6, 6) < len(c.X) {
			t.Fatalf("interpolation collapsed to %d levels over %d blocks", distinct(c, -6, 6), len(c.X))
		}
	}
}

func distinct(c *scoring.Calibration, lo, hi float64) int {
	seen := map[float64]bool{}
	for v := lo; v <= hi; v += 0.0005 {
		seen[c.Apply(v)] = true
	}
	return len(seen)
}

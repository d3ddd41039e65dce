package scoring

import (
	"math"
	"slices"
	"testing"
)

func TestPSIHandComputed(t *testing.T) {
	t.Run("numeric bins with an empty bin on each side", func(t *testing.T) {
		// Baseline of 8 rows: shares 0.5, 0.5, 0 (bin 2 empty). Recent: 2, 0, 2
		// (bin 1 empty). Laplace, K = 3:
		//   e = (4+1)/11, (4+1)/11, (0+1)/11 = 5/11, 5/11, 1/11
		//   a = (2+1)/7,  (0+1)/7,  (2+1)/7  = 3/7, 1/7, 3/7
		//   PSI = Σ (a−e)·ln(a/e) = 0.885871177…
		got, ok := PSI([]float64{0.5, 0.5, 0}, 8, []float64{2, 0, 2})
		if !ok || math.Abs(got-0.8858711772898862) > 1e-12 {
			t.Fatalf("PSI() = %v, %v; want 0.8858711772898862, true", got, ok)
		}
		if r := PSIReading(got); r != PSIAlert {
			t.Errorf("PSIReading(%v) = %q, want %q", got, r, PSIAlert)
		}
	})
	t.Run("a category the baseline never saw", func(t *testing.T) {
		// Baseline of 4 rows: A 0.75, B 0.25. Recent: A 1, C 1 (C is new).
		// Union A, B, C; e = 4/7, 2/7, 1/7; a = 2/5, 1/5, 2/5.
		got, ok := CategoryPSI(map[string]float64{"A": 0.75, "B": 0.25}, 4, map[string]float64{"A": 1, "C": 1})
		if !ok || math.Abs(got-0.35647569285940045) > 1e-12 {
			t.Fatalf("CategoryPSI() = %v, %v; want 0.35647569285940045, true", got, ok)
		}
	})
	t.Run("identical distributions are stable", func(t *testing.T) {
		got, ok := PSI([]float64{0.25, 0.25, 0.5}, 1000, []float64{250, 250, 500})
		if !ok || got > 1e-12 || PSIReading(got) != PSIStable {
			t.Fatalf("PSI() = %v, %v; want 0", got, ok)
		}
	})
	t.Run("no recent traffic has no PSI", func(t *testing.T) {
		if _, ok := PSI([]float64{0.5, 0.5}, 10, []float64{0, 0}); ok {
			t.Fatal("PSI() of no counts is ok; want not ok")
		}
	})
	t.Run("readings", func(t *testing.T) {
		for psi, want := range map[float64]string{0: PSIStable, 0.0999: PSIStable, 0.1: PSIWatch, 0.2499: PSIWatch, 0.25: PSIAlert, 3: PSIAlert} {
			if got := PSIReading(psi); got != want {
				t.Errorf("PSIReading(%v) = %q, want %q", psi, got, want)
			}
		}
	})
}

func TestQuantileBins(t *testing.T) {
	t.Run("ten equal bins with open outer edges", func(t *testing.T) {
		v := make([]float64, 100)
		for i := range v {
			v[i] = float64(99 - i)
		}
		d := NewDist("x", v, 10)
		if want := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}; !slices.Equal(d.Edges, want) {
			t.Fatalf("edges = %v, want %v", d.Edges, want)
		}
		for i, s := range d.Shares {
			if math.Abs(s-0.1) > 1e-12 {
				t.Errorf("share %d = %v, want 0.1", i, s)
			}
		}
		if d.Bin(-1e9) != 0 || d.Bin(1e9) != 9 || d.Bin(10) != 1 || d.Bin(9.99) != 0 {
			t.Errorf("bins of -1e9, 1e9, 10, 9.99 = %d, %d, %d, %d; want 0, 9, 1, 0", d.Bin(-1e9), d.Bin(1e9), d.Bin(10), d.Bin(9.99))
		}
	})
	t.Run("a flag has two bins", func(t *testing.T) {
		v := []float64{0, 0, 0, 0, 0, 0, 0, 1, 1, 1}
		d := NewDist("flag", v, 10)
		if !slices.Equal(d.Edges, []float64{1}) || !slices.Equal(d.Shares, []float64{0.7, 0.3}) {
			t.Fatalf("flag dist = %+v; want edges [1], shares [0.7 0.3]", d)
		}
	})
}

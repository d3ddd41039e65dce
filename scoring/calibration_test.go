package scoring_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// closeToEdge reports whether got is want to within 1e-12 of want's distance
// from the nearer of 0 and 1, a tolerance that means something for scores of
// 1e-9 as well as for 0.5.
func closeToEdge(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12*math.Min(want, 1-want)
}

func TestFitCalibrationByHand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x, y, w []float64
		wantX   []float64
		wantY   []float64
	}{
		// Sorted: (1,0) (2,1) (3,0) (4,1); (2,1),(3,0) pool into (2.5, 1 of 2).
		// Jeffreys: (0+½)/(1+1), (1+½)/(2+1), (1+½)/(1+1).
		{"pooled violators", []float64{4, 1, 3, 2}, []float64{1, 0, 0, 1}, nil, []float64{1, 2.5, 4}, []float64{0.25, 0.5, 0.75}},
		// Tied margins pool first: 3 of 4 at margin 1, 1 of 1 at margin 2.
		{"tied and weighted", []float64{1, 1, 2}, []float64{0, 1, 1}, []float64{1, 3, 1}, []float64{1, 2}, []float64{3.5 / 5, 1.5 / 2}},
		// 9 of 10 at margin 0 and 1 of 1 at margin 1 rise (0.9 < 1), but their
		// Jeffreys estimates 9.5/11 and 1.5/2 do not: pooled again, 10 of 11.
		{"pooled after shrinking", append(make([]float64, 10), 1), []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1}, nil,
			[]float64{1.0 / 11}, []float64{10.5 / 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := scoring.FitCalibration(tc.x, tc.y, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != scoring.CalibrationLogit || !(c.TailSlope > 0) {
				t.Fatalf("FitCalibration() method %q, tail slope %v; want %q and a positive slope", c.Method, c.TailSlope, scoring.CalibrationLogit)
			}
			if !slices.EqualFunc(c.X, tc.wantX, func(a, b float64) bool { return math.Abs(a-b) < 1e-15 }) || !slices.Equal(c.Y, tc.wantY) {
				t.Fatalf("FitCalibration() = x %v y %v, want x %v y %v", c.X, c.Y, tc.wantX, tc.wantY)
			}
		})
	}
}

func TestFitCalibrationRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x, y, w []float64
		want    string
	}{
		{"no data", nil, nil, nil, "no data"},
		{"lengths differ", []float64{1, 2}, []float64{1}, nil, "2 margins, 1 labels"},
		{"NaN margin", []float64{math.NaN(), 1}, []float64{1, 0}, nil, "row 0"},
		{"label out of range", []float64{1, 2}, []float64{0, 2}, nil, "row 1"},
		{"negative weight", []float64{1, 2}, []float64{0, 1}, []float64{1, -1}, "weight"},
		{"every weight zero", []float64{1, 2}, []float64{0, 1}, []float64{0, 0}, "every weight is zero"},
		{"margins that rank backwards", []float64{1, 2, 3, 4}, []float64{1, 1, 0, 0}, nil, "not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := scoring.FitCalibration(tc.x, tc.y, tc.w); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FitCalibration() = %+v, %v; want an error containing %q", c, err, tc.want)
			}
		})
	}
}

// fitted returns calibrations fitted on random data: overlapping classes
// (many blocks) and near-separable ones like PaySim's (two blocks at 0 and 1
// before shrinking, flat tails under the original map).
func fitted(t *testing.T) []*scoring.Calibration {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	var out []*scoring.Calibration
	for trial := 0; trial < 20; trial++ {
		n := 50 + rng.IntN(2000)
		x, y := make([]float64, n), make([]float64, n)
		separable := trial%4 == 3
		for i := range x {
			switch {
			case separable && i%50 == 0:
				x[i], y[i] = 6+rng.NormFloat64(), 1
			case separable:
				x[i] = -14 + rng.NormFloat64()*2
			default:
				x[i] = math.Round(rng.NormFloat64()*400) / 100
				if rng.Float64() < scoring.Sigmoid(x[i]) {
					y[i] = 1
				}
			}
		}
		c, err := scoring.FitCalibration(x, y, nil)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if separable && len(c.X) != 2 {
			t.Fatalf("trial %d: separable data gave %d blocks, want 2", trial, len(c.X))
		}
		out = append(out, c)
	}
	return out
}

func TestCalibrationIsStrictlyIncreasingEverywhere(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for trial, c := range fitted(t) {
		if err := c.Validate(); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		n := len(c.X)
		// From log-odds 600 below the first block's (scores near 1e-260) to 15
		// above the last block's (1 − score near 1e-7), random margins at
		// least 1e-6 apart must score strictly higher one after the other.
		lo, hi := c.X[0]-600/c.TailSlope, c.X[n-1]+15/c.TailSlope
		ms := make([]float64, 0, 20_000)
		for range 10_000 {
			ms = append(ms, lo+rng.Float64()*(hi-lo))
			ms = append(ms, c.X[0]+(c.X[n-1]-c.X[0])*(1.2*rng.Float64()-0.1)) // denser over the blocks
		}
		ms = append(ms, c.X...)
		slices.Sort(ms)
		prevM, prev := math.Inf(-1), 0.0
		for _, m := range ms {
			if m-prevM < 1e-6 {
				continue
			}
			got := c.Apply(m)
			if math.IsNaN(got) || got <= 0 || got >= 1 {
				t.Fatalf("trial %d: Apply(%v) = %v, want inside (0, 1)", trial, m, got)
			}
			if got <= prev {
				t.Fatalf("trial %d: Apply(%v) = %v, not above Apply(%v) = %v", trial, m, got, prevM, prev)
			}
			prevM, prev = m, got
		}
		// Beyond that window float64 runs out of room (scores underflow to 0
		// or round to 1), but the map never turns down or leaves [0, 1].
		prev = -1
		for _, m := range []float64{math.Inf(-1), -1e300, -1e6, lo - 1000/c.TailSlope, lo, hi, hi + 30/c.TailSlope, 1e6, 1e300, math.Inf(1)} {
			got := c.Apply(m)
			if math.IsNaN(got) || got < 0 || got > 1 || got < prev {
				t.Fatalf("trial %d: Apply(%v) = %v after %v, want a non-decreasing score in [0, 1]", trial, m, got, prev)
			}
			prev = got
		}
		if c.Apply(math.Inf(-1)) != 0 || c.Apply(math.Inf(1)) != 1 {
			t.Errorf("trial %d: Apply(±Inf) = %v, %v; want 0, 1", trial, c.Apply(math.Inf(-1)), c.Apply(math.Inf(1)))
		}
	}
}

func TestCalibrationIsExactAtBlockCentres(t *testing.T) {
	for trial, c := range fitted(t) {
		for k := range c.X {
			if got := c.Apply(c.X[k]); !closeToEdge(got, c.Y[k]) {
				t.Fatalf("trial %d: Apply(centre %d = %v) = %v, want %v", trial, k, c.X[k], got, c.Y[k])
			}
		}
		// Halfway between two centres the log-odds are halfway too.
		for k := 1; k < len(c.X); k++ {
			mid := (c.X[k-1] + c.X[k]) / 2
			want := scoring.Sigmoid((logit(c.Y[k-1]) + logit(c.Y[k])) / 2)
			if got := c.Apply(mid); !closeToEdge(got, want) {
				t.Fatalf("trial %d: Apply(%v) = %v, want %v (log-odds halfway between blocks %d and %d)", trial, mid, got, want, k-1, k)
			}
		}
	}
}

func TestCalibrationTailsAreLogistic(t *testing.T) {
	// Two blocks, as the default model's near-separable data gives.
	c := &scoring.Calibration{Method: scoring.CalibrationLogit, X: []float64{-14, 6.5}, Y: []float64{2e-6, 0.995}, TailSlope: 0.8}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []float64{0.001, 1, 5, 10, 20, 35} {
		below, above := c.Apply(-14-d), c.Apply(6.5+d)
		if want := scoring.Sigmoid(logit(2e-6) - 0.8*d); !closeToEdge(below, want) {
			t.Errorf("Apply(%v below the first block) = %v, want %v", d, below, want)
		}
		if want := scoring.Sigmoid(logit(0.995) + 0.8*d); !closeToEdge(above, want) {
			t.Errorf("Apply(%v above the last block) = %v, want %v", d, above, want)
		}
		if !(below < 2e-6 && above > 0.995 && above < 1) {
			t.Errorf("Apply(%v beyond the ends) = %v, %v; want below the first block's rate and above the last's, under 1", d, below, above)
		}
	}
	far := []float64{c.Apply(-1000), c.Apply(-100), c.Apply(-30), c.Apply(-14.5), c.Apply(-14)}
	near1 := []float64{c.Apply(6.5), c.Apply(7), c.Apply(10), c.Apply(20), c.Apply(40)}
	for _, s := range [][]float64{far, near1} {
		for i := 1; i < len(s); i++ {
			if !(s[i] > s[i-1]) {
				t.Errorf("tail scores %v do not rise strictly", s)
			}
		}
	}
}

func TestCalibrationValidate(t *testing.T) {
	good := func() *scoring.Calibration {
		return &scoring.Calibration{Method: scoring.CalibrationLogit, X: []float64{-1, 1}, Y: []float64{0.1, 0.9}, TailSlope: 1}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *scoring.Calibration)
		want string
	}{
		{"unknown method", func(c *scoring.Calibration) { c.Method = "spline" }, "not known"},
		{"no tail slope", func(c *scoring.Calibration) { c.TailSlope = 0 }, "tail_slope"},
		{"falling tail slope", func(c *scoring.Calibration) { c.TailSlope = -1 }, "tail_slope"},
		{"NaN tail slope", func(c *scoring.Calibration) { c.TailSlope = math.NaN() }, "tail_slope"},
		{"tail slope without method", func(c *scoring.Calibration) { c.Method = "" }, "no method"},
		{"rate of 0", func(c *scoring.Calibration) { c.Y[0] = 0 }, "out of range"},
		{"rate of 1", func(c *scoring.Calibration) { c.Y[1] = 1 }, "out of range"},
		{"flat rates", func(c *scoring.Calibration) { c.Y[1] = 0.1 }, "not monotone"},
		{"falling margins", func(c *scoring.Calibration) { c.X[1] = -2 }, "not monotone"},
		{"lengths differ", func(c *scoring.Calibration) { c.Y = c.Y[:1] }, "2 x and 1 y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCalibrationWithoutMethodKeepsTheOriginalMap(t *testing.T) {
	// The map of bundles written before CalibrationLogit: linear in
	// probability between blocks, flat beyond them, 0 and 1 allowed.
	c := &scoring.Calibration{X: []float64{1, 2.5, 4}, Y: []float64{0, 0.5, 1}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for x, want := range map[float64]float64{-5: 0, 1: 0, 1.75: 0.25, 2.5: 0.5, 3.25: 0.75, 4: 1, 9: 1} {
		if got := c.Apply(x); got != want {
			t.Errorf("Apply(%v) = %v, want %v", x, got, want)
		}
	}
	var identity *scoring.Calibration
	if got := identity.Apply(0); got != 0.5 {
		t.Errorf("nil calibration Apply(0) = %v, want 0.5", got)
	}
}

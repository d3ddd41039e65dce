package scoring

import (
	"fmt"
	"math"
	"sort"
)

// Calibration maps a raw margin (log-odds) to a calibrated probability. It
// holds the blocks of an isotonic regression: X are the blocks' mean margins,
// strictly increasing, and Y their fraud rates, non-decreasing. Between blocks
// the map interpolates linearly, so scores do not collapse to a handful of
// levels; outside it holds the end values. A nil *Calibration is the identity
// (the sigmoid of the margin).
type Calibration struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// Sigmoid is the logistic function.
func Sigmoid(m float64) float64 { return 1 / (1 + math.Exp(-m)) }

// Apply maps a raw margin to a probability.
func (c *Calibration) Apply(margin float64) float64 {
	if c == nil || len(c.X) == 0 {
		return Sigmoid(margin)
	}
	n := len(c.X)
	if margin <= c.X[0] {
		return c.Y[0]
	}
	if margin >= c.X[n-1] {
		return c.Y[n-1]
	}
	// First block with X > margin; margin lies between blocks i-1 and i.
	i := sort.SearchFloat64s(c.X, margin)
	if c.X[i] == margin {
		return c.Y[i]
	}
	x0, x1, y0, y1 := c.X[i-1], c.X[i], c.Y[i-1], c.Y[i]
	return y0 + (y1-y0)*(margin-x0)/(x1-x0)
}

// Validate checks that the map is well formed.
func (c *Calibration) Validate() error {
	if c == nil {
		return nil
	}
	if len(c.X) != len(c.Y) || len(c.X) == 0 {
		return fmt.Errorf("calibration has %d x and %d y values", len(c.X), len(c.Y))
	}
	for i := range c.X {
		if math.IsNaN(c.X[i]) || math.IsInf(c.X[i], 0) || math.IsNaN(c.Y[i]) || c.Y[i] < 0 || c.Y[i] > 1 {
			return fmt.Errorf("calibration point %d (%v, %v) is out of range", i, c.X[i], c.Y[i])
		}
		if i > 0 && (c.X[i] <= c.X[i-1] || c.Y[i] < c.Y[i-1]) {
			return fmt.Errorf("calibration is not monotone at point %d", i)
		}
	}
	return nil
}

// FitIsotonic fits the calibration by pool-adjacent-violators on margins x
// and labels y (0 or 1, or rates in [0,1]) with optional weights w (nil means
// all 1). Equal margins are pooled first, so the result is a function.
func FitIsotonic(x, y, w []float64) (*Calibration, error) {
	if len(x) != len(y) || (w != nil && len(w) != len(x)) {
		return nil, fmt.Errorf("scoring: isotonic fit: %d margins, %d labels, %d weights", len(x), len(y), len(w))
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("scoring: isotonic fit: no data")
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) {
			return nil, fmt.Errorf("scoring: isotonic fit: row %d is not finite", i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	type block struct{ sw, swx, swy float64 }
	var blocks []block
	for start := 0; start < len(idx); {
		// One block per distinct margin: tied rows are pooled first.
		b := block{}
		end := start
		for ; end < len(idx) && x[idx[end]] == x[idx[start]]; end++ {
			i := idx[end]
			wi := 1.0
			if w != nil {
				wi = w[i]
			}
			if wi < 0 {
				return nil, fmt.Errorf("scoring: isotonic fit: row %d has a negative weight", i)
			}
			b.sw += wi
			b.swx += wi * x[i]
			b.swy += wi * y[i]
		}
		start = end
		if b.sw == 0 {
			continue
		}
		blocks = append(blocks, b)
		// Pool adjacent violators.
		for n := len(blocks); n > 1 && blocks[n-2].swy/blocks[n-2].sw >= blocks[n-1].swy/blocks[n-1].sw; n = len(blocks) {
			blocks[n-2].sw += blocks[n-1].sw
			blocks[n-2].swx += blocks[n-1].swx
			blocks[n-2].swy += blocks[n-1].swy
			blocks = blocks[:n-1]
		}
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("scoring: isotonic fit: every weight is zero")
	}
	c := &Calibration{X: make([]float64, len(blocks)), Y: make([]float64, len(blocks))}
	for i, b := range blocks {
		c.X[i] = b.swx / b.sw
		c.Y[i] = math.Min(1, math.Max(0, b.swy/b.sw))
	}
	return c, nil
}

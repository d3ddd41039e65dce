package scoring

import (
	"fmt"
	"math"
	"sort"
)

// CalibrationLogit names the strictly increasing calibration map that
// FitCalibration writes (docs/model-bundle.md). A calibration without a
// method is the original isotonic map, kept so that older bundles score
// exactly as they always did.
const CalibrationLogit = "isotonic-logit"

// Calibration maps a raw margin (log-odds) to a calibrated probability. X
// are the mean margins of isotonic-regression blocks fitted on held-out rows,
// strictly increasing, and Y the blocks' fraud rates. Method decides what
// happens between and beyond the blocks:
//
//   - CalibrationLogit: Y is strictly increasing inside (0, 1). Between two
//     block centres the map is linear in log-odds; below the first and above
//     the last it goes on in log-odds with slope TailSlope > 0, the slope of a
//     logistic fit of the labels on the margin. The score is therefore
//     strictly increasing in the margin over the whole real line (distinct
//     margins give distinct scores, as far as float64 can tell them apart),
//     equals Y at the block centres and tends to 0 and 1 in the tails.
//   - no method: Y is non-decreasing in [0, 1]; the map is linear in
//     probability between block centres and holds the end values beyond
//     them, so every margin below the first centre scores Y[0] and every
//     margin above the last scores the last Y.
//
// A nil *Calibration is the identity (the sigmoid of the margin).
type Calibration struct {
	Method    string    `json:"method,omitempty"`
	X         []float64 `json:"x"`
	Y         []float64 `json:"y"`
	TailSlope float64   `json:"tail_slope,omitempty"`
}

// Sigmoid is the logistic function.
func Sigmoid(m float64) float64 { return 1 / (1 + math.Exp(-m)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// Apply maps a raw margin to a probability.
func (c *Calibration) Apply(margin float64) float64 {
	switch {
	case c == nil || len(c.X) == 0:
		return Sigmoid(margin)
	case c.Method == CalibrationLogit:
		return Sigmoid(c.logOdds(margin))
	}
	return c.linear(margin)
}

// logOdds is the CalibrationLogit map in log-odds: piecewise linear in the
// margin, through (X[k], logit(Y[k])), with slope TailSlope beyond the ends.
func (c *Calibration) logOdds(margin float64) float64 {
	n := len(c.X)
	switch {
	case !(margin > c.X[0]): // NaN too: it stays NaN instead of indexing out of range
		return logit(c.Y[0]) + c.TailSlope*(margin-c.X[0])
	case margin >= c.X[n-1]:
		return logit(c.Y[n-1]) + c.TailSlope*(margin-c.X[n-1])
	}
	// First centre at or above margin; margin lies in (X[i-1], X[i]].
	i := sort.SearchFloat64s(c.X, margin)
	l0, l1 := logit(c.Y[i-1]), logit(c.Y[i])
	return l0 + (l1-l0)*(margin-c.X[i-1])/(c.X[i]-c.X[i-1])
}

// linear is the map of calibrations without a method.
func (c *Calibration) linear(margin float64) float64 {
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

// Validate checks that the map is well formed for its method.
func (c *Calibration) Validate() error {
	if c == nil {
		return nil
	}
	if len(c.X) != len(c.Y) || len(c.X) == 0 {
		return fmt.Errorf("calibration has %d x and %d y values", len(c.X), len(c.Y))
	}
	strict := false
	switch c.Method {
	case "":
		if c.TailSlope != 0 {
			return fmt.Errorf("calibration has a tail_slope but no method (want method %q)", CalibrationLogit)
		}
	case CalibrationLogit:
		if math.IsNaN(c.TailSlope) || math.IsInf(c.TailSlope, 0) || c.TailSlope <= 0 {
			return fmt.Errorf("calibration tail_slope %v must be a positive number", c.TailSlope)
		}
		strict = true
	default:
		return fmt.Errorf("calibration method %q is not known (want %q or none)", c.Method, CalibrationLogit)
	}
	for i := range c.X {
		x, y := c.X[i], c.Y[i]
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || y < 0 || y > 1 || (strict && (y == 0 || y == 1)) {
			return fmt.Errorf("calibration point %d (%v, %v) is out of range", i, x, y)
		}
		if i > 0 && (x <= c.X[i-1] || y < c.Y[i-1] || (strict && y == c.Y[i-1])) {
			return fmt.Errorf("calibration is not monotone at point %d", i)
		}
	}
	return nil
}

// FitCalibration fits a CalibrationLogit map on margins x and labels y (0 or
// 1, or rates in [0, 1]) with optional weights w (nil means all 1):
//
//  1. Isotonic regression by pool-adjacent-violators gives blocks of
//     consecutive margins (equal margins always share a block) with
//     increasing fraud rates.
//  2. Each block's rate k/n becomes the Jeffreys estimate (k + ½)/(n + 1),
//     so no block claims a rate of exactly 0 or 1 (the first and last blocks
//     of near-separable data do), and adjacent blocks whose estimates do not
//     rise are pooled again. The centres are the blocks' mean margins.
//  3. A logistic regression of the labels on the margin, with Platt's
//     (1999) targets (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), which keep it finite
//     on separable data, gives the tail slope.
//
// Inside the blocks' range the map follows the isotonic fit; the tails, where
// the isotonic fit is flat, follow the logistic fit's slope. It is an error
// when that slope is not positive: the margins do not rank the labels.
func FitCalibration(x, y, w []float64) (*Calibration, error) {
	blocks, err := isotonicBlocks(x, y, w)
	if err != nil {
		return nil, fmt.Errorf("scoring: calibration fit: %w", err)
	}
	jeffreys := func(b block) float64 { return (b.swy + 0.5) / (b.sw + 1) }
	var pooled []block
	for _, b := range blocks {
		pooled = append(pooled, b)
		for n := len(pooled); n > 1 && jeffreys(pooled[n-2]) >= jeffreys(pooled[n-1]); n = len(pooled) {
			pooled[n-2] = pooled[n-2].add(pooled[n-1])
			pooled = pooled[:n-1]
		}
	}
	slope, err := logisticSlope(x, y, w)
	if err != nil {
		return nil, fmt.Errorf("scoring: calibration fit: %w", err)
	}
	c := &Calibration{Method: CalibrationLogit, X: make([]float64, len(pooled)), Y: make([]float64, len(pooled)), TailSlope: slope}
	for i, b := range pooled {
		c.X[i] = b.swx / b.sw
		c.Y[i] = jeffreys(b)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("scoring: calibration fit: %w", err)
	}
	return c, nil
}

// block is a run of consecutive sorted rows: the sums of weights, weighted
// margins and weighted labels.
type block struct{ sw, swx, swy float64 }

func (b block) add(o block) block { return block{b.sw + o.sw, b.swx + o.swx, b.swy + o.swy} }

// isotonicBlocks is pool-adjacent-violators over rows sorted by margin, with
// tied margins pooled first so the fit is a function of the margin. The
// blocks' rates swy/sw rise strictly.
func isotonicBlocks(x, y, w []float64) ([]block, error) {
	if err := checkFitInput(x, y, w); err != nil {
		return nil, err
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	var blocks []block
	for start := 0; start < len(idx); {
		// One block per distinct margin: tied rows are pooled first.
		var b block
		end := start
		for ; end < len(idx) && x[idx[end]] == x[idx[start]]; end++ {
			i := idx[end]
			wi := weight(w, i)
			b = b.add(block{wi, wi * x[i], wi * y[i]})
		}
		start = end
		if b.sw == 0 {
			continue
		}
		blocks = append(blocks, b)
		for n := len(blocks); n > 1 && blocks[n-2].swy/blocks[n-2].sw >= blocks[n-1].swy/blocks[n-1].sw; n = len(blocks) {
			blocks[n-2] = blocks[n-2].add(blocks[n-1])
			blocks = blocks[:n-1]
		}
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("every weight is zero")
	}
	return blocks, nil
}

func checkFitInput(x, y, w []float64) error {
	if len(x) != len(y) || (w != nil && len(w) != len(x)) {
		return fmt.Errorf("%d margins, %d labels, %d weights", len(x), len(y), len(w))
	}
	if len(x) == 0 {
		return fmt.Errorf("no data")
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || !(y[i] >= 0 && y[i] <= 1) {
			return fmt.Errorf("row %d: margin %v, label %v: want a finite margin and a label in [0, 1]", i, x[i], y[i])
		}
		if wi := weight(w, i); !(wi >= 0) || math.IsInf(wi, 0) {
			return fmt.Errorf("row %d has weight %v, want a finite weight of 0 or more", i, wi)
		}
	}
	return nil
}

func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// logisticSlope fits p = σ(a·x + b) by Newton's method with a backtracking
// line search (after Lin, Lin and Weng, "A note on Platt's probabilistic
// outputs for support vector machines", 2007) to Platt's smoothed targets,
// and returns a.
func logisticSlope(x, y, w []float64) (float64, error) {
	var pos, neg float64
	for i := range x {
		pos += weight(w, i) * y[i]
		neg += weight(w, i) * (1 - y[i])
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	target := func(i int) float64 { return lo + (hi-lo)*y[i] }
	// softplus(z) = log(1 + e^z) without overflow.
	softplus := func(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }
	loss := func(a, b float64) float64 {
		s := 0.0
		for i := range x {
			z, t := a*x[i]+b, target(i)
			s += weight(w, i) * (t*softplus(-z) + (1-t)*softplus(z))
		}
		return s
	}
	a, b := 0.0, math.Log((pos+1)/(neg+1))
	f := loss(a, b)
	const ridge = 1e-12 // keeps the Hessian invertible when every margin is equal
	for iter := 0; iter < 100; iter++ {
		var ga, gb, haa, hab, hbb float64
		for i := range x {
			wi := weight(w, i)
			p := Sigmoid(a*x[i] + b)
			d, h := wi*(p-target(i)), wi*p*(1-p)
			ga += d * x[i]
			gb += d
			haa += h * x[i] * x[i]
			hab += h * x[i]
			hbb += h
		}
		if math.Abs(ga) < 1e-9*(1+math.Abs(f)) && math.Abs(gb) < 1e-9*(1+math.Abs(f)) {
			break
		}
		haa, hbb = haa+ridge, hbb+ridge
		det := haa*hbb - hab*hab
		da, db := -(hbb*ga-hab*gb)/det, -(haa*gb-hab*ga)/det
		step := 1.0
		for ; step >= 1e-10; step /= 2 {
			if nf := loss(a+step*da, b+step*db); nf < f+1e-4*step*(ga*da+gb*db) {
				a, b, f = a+step*da, b+step*db, nf
				break
			}
		}
		if step < 1e-10 {
			break // no step lowers the loss: at the optimum to float precision
		}
	}
	if math.IsNaN(a) || a <= 0 {
		return 0, fmt.Errorf("the logistic slope of the labels on the margin is %v, not positive: the margins do not rank the labels", a)
	}
	return a, nil
}

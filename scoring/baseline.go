package scoring

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// BaselineBins is how many quantile bins a baseline has per feature at most
// (equal quantiles merge, so a 0/1 flag has two).
const BaselineBins = 10

// Baseline sources.
const (
	// BaselineTraining is a baseline written by training, on its train split.
	BaselineTraining = "training"
	// BaselineTraffic is a baseline computed from a tenant's first 7 days of
	// traffic on a model whose bundle has none.
	BaselineTraffic = "traffic"
)

// Baseline is the distribution of a model's inputs and of its score on
// the data it was trained on: drift compares recent traffic with it.
type Baseline struct {
	// Source is BaselineTraining or BaselineTraffic.
	Source string `json:"source"`
	// Rows is how many rows the shares were counted on.
	Rows int64 `json:"rows"`
	// Features has one distribution per model feature, in the model's order.
	Features []Dist `json:"features"`
	// Score is the distribution of the calibrated score.
	Score Dist `json:"score"`
	// Types is the share of each transaction type (the type mix); empty when
	// it is not known.
	Types map[string]float64 `json:"types,omitempty"`
}

// Dist is one variable's quantile bins. Edges are the interior bin edges,
// strictly increasing: bin 0 is everything below Edges[0] (open outer
// edge), bin i holds [Edges[i-1], Edges[i]), and the last bin everything
// from the last edge up. Shares has len(Edges)+1 values that add up to 1.
type Dist struct {
	Name   string    `json:"name"`
	Edges  []float64 `json:"edges"`
	Shares []float64 `json:"shares"`
}

// Bin is the index of v's bin; NaN falls in the first bin.
func (d Dist) Bin(v float64) int { return BinOf(d.Edges, v) }

// BinOf is the index of v's bin among interior edges (see Dist).
func BinOf(edges []float64, v float64) int {
	if math.IsNaN(v) {
		return 0
	}
	return sort.Search(len(edges), func(i int) bool { return v < edges[i] })
}

// QuantileEdges returns the interior edges of up to bins quantile bins of
// values (which it sorts in place): the k/bins quantiles for k = 1..bins-1,
// with repeated values and values not above the minimum dropped, so that
// no bin is empty by construction.
func QuantileEdges(values []float64, bins int) []float64 {
	if len(values) == 0 {
		return nil
	}
	slices.Sort(values)
	lo := values[0]
	var edges []float64
	for k := 1; k < bins; k++ {
		v := values[min(len(values)-1, k*len(values)/bins)]
		if v > lo && (len(edges) == 0 || v > edges[len(edges)-1]) {
			edges = append(edges, v)
		}
	}
	return edges
}

// NewDist builds the quantile bins of values and their shares. values is
// sorted in place.
func NewDist(name string, values []float64, bins int) Dist {
	edges := QuantileEdges(values, bins)
	counts := make([]float64, len(edges)+1)
	for _, v := range values {
		counts[BinOf(edges, v)]++
	}
	return Dist{Name: name, Edges: edges, Shares: shares(counts)}
}

// shares divides counts by their sum (all zero when the sum is 0).
func shares(counts []float64) []float64 {
	var n float64
	for _, c := range counts {
		n += c
	}
	out := make([]float64, len(counts))
	if n == 0 {
		return out
	}
	for i, c := range counts {
		out[i] = c / n
	}
	return out
}

// Validate checks a baseline's shape: edges rising, one share per bin.
func (b *Baseline) Validate() error {
	if b == nil {
		return nil
	}
	for _, d := range append(slices.Clone(b.Features), b.Score) {
		if len(d.Shares) != len(d.Edges)+1 {
			return fmt.Errorf("baseline of %q has %d edges and %d shares; want one share more than edges", d.Name, len(d.Edges), len(d.Shares))
		}
		for i := 1; i < len(d.Edges); i++ {
			if !(d.Edges[i] > d.Edges[i-1]) {
				return fmt.Errorf("baseline of %q: edges must rise", d.Name)
			}
		}
		for _, s := range d.Shares {
			if math.IsNaN(s) || s < 0 || s > 1 {
				return fmt.Errorf("baseline of %q: shares must lie in [0, 1]", d.Name)
			}
		}
	}
	return nil
}

// Feature returns the distribution of a named feature.
func (b *Baseline) Feature(name string) (Dist, bool) {
	for _, d := range b.Features {
		if d.Name == name {
			return d, true
		}
	}
	return Dist{}, false
}

// PSI stability readings.
const (
	PSIStable = "stable" // below 0.1
	PSIWatch  = "watch"  // from 0.1, below 0.25
	PSIAlert  = "alert"  // from 0.25
)

// PSIReading is the usual reading of a population stability index: below
// 0.1 stable, below 0.25 watch, otherwise alert.
func PSIReading(psi float64) string {
	switch {
	case psi < 0.1:
		return PSIStable
	case psi < 0.25:
		return PSIWatch
	}
	return PSIAlert
}

// PSI is the population stability index of actual counts against expected
// shares that were measured on expectedRows rows:
//
//	PSI = Σ (a_i − e_i) · ln(a_i / e_i)
//
// with Laplace smoothing (add one to every bin's count on both sides):
// e_i = (share_i·expectedRows + 1) / (expectedRows + K) and
// a_i = (count_i + 1) / (N + K) over K bins, so an empty bin on either side
// gives a large but finite term instead of an infinite one. ok is false
// when there are no actual counts.
func PSI(expected []float64, expectedRows int64, actual []float64) (psi float64, ok bool) {
	var n float64
	for _, c := range actual {
		n += c
	}
	if n == 0 || len(expected) != len(actual) {
		return 0, false
	}
	k := float64(len(expected))
	en := float64(expectedRows)
	for i := range expected {
		e := (expected[i]*en + 1) / (en + k)
		a := (actual[i] + 1) / (n + k)
		psi += (a - e) * math.Log(a/e)
	}
	return psi, true
}

// CategoryPSI is PSI over categories (the type mix): the bins are the union
// of the baseline's and the actual categories, so a category the baseline
// never saw counts with an expected share of 0 (then smoothed).
func CategoryPSI(expected map[string]float64, expectedRows int64, actual map[string]float64) (float64, bool) {
	cats := CategoryUnion(expected, actual)
	e := make([]float64, len(cats))
	a := make([]float64, len(cats))
	for i, c := range cats {
		e[i], a[i] = expected[c], actual[c]
	}
	return PSI(e, expectedRows, a)
}

// CategoryUnion lists the categories of both maps, sorted.
func CategoryUnion(a, b map[string]float64) []string {
	var out []string
	for c := range a {
		out = append(out, c)
	}
	for c := range b {
		if _, ok := a[c]; !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

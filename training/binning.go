package training

import (
	"math"
	"slices"
	"sort"
)

// maxBins is the most histogram bins a feature gets.
const maxBins = 255

// binMapper turns a feature value into its histogram bin. Bin b holds the
// values x with bounds[b-1] < x ≤ bounds[b]; the last bin has no upper
// bound. A split "bin ≤ b goes left" is the model threshold bounds[b].
type binMapper struct {
	bounds   []float64
	min, max float64
}

func (m *binMapper) numBins() int { return len(m.bounds) + 1 }

func (m *binMapper) bin(v float64) uint8 {
	return uint8(sort.SearchFloat64s(m.bounds, v))
}

// newBinMapper chooses at most maxBins bins from a sample of a feature's
// values: one per distinct value when there are few, otherwise cut points at
// equal-count quantiles. Cut points lie halfway between neighbouring
// distinct values, as LightGBM's do.
func newBinMapper(sample []float64) binMapper {
	vals := slices.Clone(sample)
	slices.Sort(vals)
	m := binMapper{min: vals[0], max: vals[len(vals)-1]}
	// Distinct values and their counts.
	var distinct []float64
	var counts []int
	for _, v := range vals {
		if n := len(distinct); n > 0 && distinct[n-1] == v {
			counts[n-1]++
			continue
		}
		distinct = append(distinct, v)
		counts = append(counts, 1)
	}
	mid := func(i int) float64 { return distinct[i] + (distinct[i+1]-distinct[i])/2 }
	if len(distinct) <= maxBins {
		for i := 0; i+1 < len(distinct); i++ {
			m.bounds = append(m.bounds, mid(i))
		}
		return m
	}
	perBin := float64(len(vals)) / maxBins
	acc := 0
	next := perBin
	for i := 0; i+1 < len(distinct) && len(m.bounds) < maxBins-1; i++ {
		acc += counts[i]
		if float64(acc) >= next {
			m.bounds = append(m.bounds, mid(i))
			for next <= float64(acc) {
				next += perBin
			}
		}
	}
	return m
}

// threshold is the model threshold of a split after bin b.
func (m *binMapper) threshold(b int) float64 {
	t := m.bounds[b]
	if math.IsInf(t, 0) {
		return math.Copysign(math.MaxFloat64, t)
	}
	return t
}

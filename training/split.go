package training

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Split assigns every row to exactly one part.
type Split struct {
	Train, Valid, Calib, Test []int32
}

// SplitSize describes one part.
type SplitSize struct {
	Rows   int `json:"rows"`
	Frauds int `json:"frauds"`
}

// Sizes counts rows and frauds per part.
func (s Split) Sizes(labels []uint8) map[string]SplitSize {
	count := func(rows []int32) SplitSize {
		sz := SplitSize{Rows: len(rows)}
		for _, r := range rows {
			sz.Frauds += int(labels[r])
		}
		return sz
	}
	return map[string]SplitSize{"train": count(s.Train), "valid": count(s.Valid), "calib": count(s.Calib), "test": count(s.Test)}
}

// Fractions of the stratified split: train, valid, calib; test gets the rest.
var splitFractions = [3]float64{0.7, 0.1, 0.1}

// StratifiedSplit shuffles frauds and non-frauds separately with seed and
// deals each class 70/10/10/10 into train/valid/calib/test, so every part
// keeps the fraud rate.
func StratifiedSplit(labels []uint8, seed uint64) Split {
	all := make([]int32, len(labels))
	for i := range all {
		all[i] = int32(i)
	}
	return stratify(all, labels, seed, splitFractions, true)
}

// TemporalSplit puts rows with step ≥ cut in test and deals the earlier rows
// stratified 70:10:10 into train/valid/calib.
func TemporalSplit(labels []uint8, steps []int32, cut int, seed uint64) (Split, error) {
	var early, late []int32
	for i, s := range steps {
		if int(s) < cut {
			early = append(early, int32(i))
		} else {
			late = append(late, int32(i))
		}
	}
	if len(early) == 0 || len(late) == 0 {
		return Split{}, fmt.Errorf("training: cut at step %d leaves %d rows before and %d after", cut, len(early), len(late))
	}
	total := splitFractions[0] + splitFractions[1] + splitFractions[2]
	s := stratify(early, labels, seed, [3]float64{splitFractions[0] / total, splitFractions[1] / total, splitFractions[2] / total}, false)
	s.Test = late
	return s, nil
}

func stratify(rows []int32, labels []uint8, seed uint64, frac [3]float64, withTest bool) Split {
	var s Split
	for class := uint8(0); class <= 1; class++ {
		var members []int32
		for _, r := range rows {
			if labels[r] == class {
				members = append(members, r)
			}
		}
		rng := rand.New(rand.NewPCG(seed, uint64(class)))
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		n := float64(len(members))
		a := int(frac[0]*n + 0.5)
		b := a + int(frac[1]*n+0.5)
		c := b + int(frac[2]*n+0.5)
		if !withTest {
			c = len(members)
		}
		c = min(c, len(members))
		b = min(b, c)
		s.Train = append(s.Train, members[:a]...)
		s.Valid = append(s.Valid, members[a:b]...)
		s.Calib = append(s.Calib, members[b:c]...)
		s.Test = append(s.Test, members[c:]...)
	}
	for _, part := range []*[]int32{&s.Train, &s.Valid, &s.Calib, &s.Test} {
		slices.Sort(*part)
	}
	return s
}

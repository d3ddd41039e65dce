package scoring_test

import (
	"math"
	"slices"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestFormatScore(t *testing.T) {
	for _, tc := range []struct {
		score float64
		want  string
	}{
		{0.98781, "0.9878"},
		{0.5, "0.5000"},
		{0.1, "0.1000"},
		{0.0999996, "0.1000"},
		{0.0034171, "0.003417"},
		{0.0001, "0.0001000"},
		{0.00012345678, "0.0001235"},
		{0.0000999, "< 0.0001"},
		{2.3e-9, "< 0.0001"},
		{math.SmallestNonzeroFloat64, "< 0.0001"},
		{0.99989, "0.9999"},
		{0.9999, "0.9999"},
		{0.99990001, "> 0.9999"},
		{1 - 1e-16, "> 0.9999"},
		{0, "0"},
		{1, "1"},
		{math.NaN(), "NaN"},
		{-0.25, "-0.2500"},
		{1.5, "1.500"},
	} {
		if got := scoring.FormatScore(tc.score); got != tc.want {
			t.Errorf("FormatScore(%v) = %q, want %q", tc.score, got, tc.want)
		}
	}
}

// The top list is the k largest by size, zeros left out, and ties in the
// model's feature order, also past the 12 elements that Go's sort orders
// stably whatever the algorithm.
func TestTopContributionsOrder(t *testing.T) {
	var all []scoring.Contribution
	for i := range 20 {
		c := scoring.Contribution{Feature: string(rune('a' + i))}
		switch i % 4 {
		case 0:
			c.Contribution = 0.5
		case 1:
			c.Contribution = -0.5
		case 2:
			c.Contribution = 2
		}
		all = append(all, c)
	}
	var got []string
	for _, c := range scoring.TopContributions(all, 12) {
		got = append(got, c.Feature)
	}
	if want := []string{"c", "g", "k", "o", "s", "a", "b", "e", "f", "i", "j", "m"}; !slices.Equal(got, want) {
		t.Fatalf("TopContributions() = %v, want %v", got, want)
	}
	if n := len(scoring.TopContributions(all, 20)); n != 15 {
		t.Fatalf("TopContributions(k 20) has %d, want the 15 non-zero", n)
	}
}

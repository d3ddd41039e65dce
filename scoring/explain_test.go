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
// model's feature order.
func TestTopContributionsOrder(t *testing.T) {
	all := []scoring.Contribution{{Feature: "a", Contribution: 0.5}, {Feature: "b", Contribution: -2}, {Feature: "c"},
		{Feature: "d", Contribution: -0.5}, {Feature: "e", Contribution: 2}, {Feature: "f", Contribution: 0.25}}
	var got []string
	for _, c := range scoring.TopContributions(all, 4) {
		got = append(got, c.Feature)
	}
	if want := []string{"b", "e", "a", "d"}; !slices.Equal(got, want) {
		t.Fatalf("scoring.TopContributions() = %v, want %v", got, want)
	}
	if n := len(scoring.TopContributions(all, 10)); n != 5 {
		t.Fatalf("scoring.TopContributions(k 10) has %d, want the 5 non-zero", n)
	}
}

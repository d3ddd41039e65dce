package training_test

import (
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/training"
)

func TestModelCardShowsRankingAndOverdrafts(t *testing.T) {
	r := &training.Report{
		Split: "stratified", OverdraftRows: 1532, SkippedRows: 0, CalibrationSize: 2, CalibrationTailSlope: 0.8431,
		TestMarginAP: 0.99984, Params: training.DefaultParams(),
		Test: training.Metrics{Rows: 241118, Frauds: 137, AveragePrecision: 0.99984, ECE: 4.1e-6, DistinctScores: 1456, LargestTie: 120563},
	}
	r.Params.FeatureFraction = 0.5
	card := training.ModelCard("paysim-gbdt", r, []training.Comparison{{Label: "ablation", Report: r}})
	for _, want := range []string{
		"1532 of them with a negative balance (overdrafts); 0 rows skipped",
		"feature fraction 0.5,",
		"isotonic-logit on 2 blocks of the calibration split, log-odds tail slope 0.8431",
		"| 0 (0.5) | 241118 (137) | 0.9998 | 0.9998 | 0.0000 | 0 | 4.1e-06 | 1456 |",
		"shared by 120563 of 241118\nrows (50%)",
		"**Overdrafts are in.** 1532 of the rows used",
		"gives the tail slope (0.8431 here)",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("ModelCard() lacks %q", want)
		}
	}
	if strings.Contains(card, "skipped; the scoring API refuses") {
		t.Error("ModelCard() still says overdrafts are refused")
	}
}

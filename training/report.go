package training

import (
	"math"
	"slices"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// Metrics are a model's results on one labelled set.
type Metrics struct {
	Rows             int       `json:"rows"`
	Frauds           int       `json:"frauds"`
	AveragePrecision float64   `json:"average_precision"`
	ROCAUC           float64   `json:"roc_auc"`
	Brier            float64   `json:"brier"`
	ECE              float64   `json:"ece"`
	LogLoss          float64   `json:"log_loss"`
	AtReview         Confusion `json:"at_review_threshold"`
	// DistinctScores counts the different score values, and LargestTie the
	// rows sharing the most common one: how finely the score ranks rows.
	DistinctScores  int              `json:"distinct_scores"`
	LargestTie      int              `json:"largest_tie"`
	PrecisionAt100  float64          `json:"precision_at_100"`
	PrecisionAt1000 float64          `json:"precision_at_1000"`
	Calibration     []CalibrationBin `json:"calibration_table"`
	CostCurve       []CostPoint      `json:"cost_curve,omitempty"`
}

// Evaluate computes every metric of calibrated scores against labels, at
// the review threshold, with the cost curve when amounts are given.
func Evaluate(probs []float64, labels []uint8, amounts []float64, review float64) Metrics {
	m := Metrics{Rows: len(probs)}
	for _, y := range labels {
		m.Frauds += int(y)
	}
	m.AveragePrecision = AveragePrecision(probs, labels)
	m.DistinctScores, m.LargestTie = ties(probs)
	m.ROCAUC = nanToZero(ROCAUC(probs, labels))
	m.Brier = Brier(probs, labels)
	m.ECE, m.Calibration = ExpectedCalibrationError(probs, labels, 10)
	m.LogLoss = LogLoss(probs, labels)
	m.AtReview = AtThreshold(probs, labels, review)
	m.PrecisionAt100 = PrecisionAtK(probs, labels, 100)
	m.PrecisionAt1000 = PrecisionAtK(probs, labels, 1000)
	if amounts != nil {
		m.CostCurve = CostCurve(probs, labels, amounts, DefaultCostModel)
	}
	return m
}

// ties counts the different values of v and the size of the largest group
// of equal values.
func ties(v []float64) (distinct, largest int) {
	s := slices.Clone(v)
	slices.Sort(s)
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		distinct++
		largest = max(largest, j-i)
		i = j
	}
	return distinct, largest
}

func nanToZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// Report is everything a training run found out; it travels in the bundle
// and the model card is written from it.
type Report struct {
	CreatedAt   string              `json:"created_at"`
	Data        scoring.Fingerprint `json:"data"`
	SkippedRows int64               `json:"skipped_rows"`
	// OverdraftRows counts the rows used with a negative balance.
	OverdraftRows int64                `json:"overdraft_rows"`
	Features      []string             `json:"features"`
	Params        Params               `json:"params"`
	Split         string               `json:"split"`
	CutStep       int                  `json:"cut_step,omitempty"`
	SplitSizes    map[string]SplitSize `json:"split_sizes"`
	Trees         int                  `json:"trees"`
	TrainSeconds  float64              `json:"train_seconds"`
	Thresholds    scoring.Thresholds   `json:"thresholds"`
	Valid         Metrics              `json:"valid"`
	Test          Metrics              `json:"test"`
	// TestMarginAP is the average precision of the raw margins on the test
	// split: the ranking before calibration. The score's AP equals it when
	// calibration keeps every distinct margin apart.
	TestMarginAP    float64      `json:"test_margin_ap"`
	ImportanceGain  []Importance `json:"importance_gain"`
	ImportanceSHAP  []Importance `json:"importance_mean_abs_shap"`
	CalibrationSize int          `json:"calibration_blocks"`
	// CalibrationTailSlope is the calibration's log-odds slope beyond its
	// first and last blocks (scoring.CalibrationLogit).
	CalibrationTailSlope float64 `json:"calibration_tail_slope"`
}

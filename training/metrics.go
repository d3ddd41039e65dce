package training

import (
	"cmp"
	"math"
	"slices"
)

// order returns row indices by score, highest first; ties keep row order.
func order(scores []float64) []int {
	type pair struct {
		s float64
		i int
	}
	ps := make([]pair, len(scores))
	for i, s := range scores {
		ps[i] = pair{s, i}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return a.i - b.i
	})
	idx := make([]int, len(ps))
	for i, p := range ps {
		idx[i] = p.i
	}
	return idx
}

// AveragePrecision is scikit-learn's average_precision_score: the sum over
// distinct score thresholds, highest first, of (R_n − R_{n−1}) · P_n. Rows
// with equal scores enter together. It is 0 when there are no positives.
// Frauds' and others' scores are sorted apart and merged from the top,
// which is quick enough to run at every boosting iteration.
func AveragePrecision(scores []float64, labels []uint8) float64 {
	var pos, neg []float64
	for i, s := range scores {
		if labels[i] == 1 {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	if len(pos) == 0 {
		return 0
	}
	slices.Sort(pos)
	slices.Sort(neg)
	i, j := len(pos)-1, len(neg)-1
	ap, tp, fp, prevRecall := 0.0, 0, 0, 0.0
	for i >= 0 || j >= 0 {
		s := math.Inf(-1)
		if i >= 0 {
			s = pos[i]
		}
		if j >= 0 && neg[j] > s {
			s = neg[j]
		}
		for ; i >= 0 && pos[i] == s; i-- {
			tp++
		}
		for ; j >= 0 && neg[j] == s; j-- {
			fp++
		}
		recall := float64(tp) / float64(len(pos))
		ap += (recall - prevRecall) * float64(tp) / float64(tp+fp)
		prevRecall = recall
	}
	return ap
}

// ROCAUC is the area under the ROC curve; tied scores count one half.
func ROCAUC(scores []float64, labels []uint8) float64 {
	idx := order(scores)
	pos, neg := 0, 0
	for _, y := range labels {
		if y == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	// Walk from the lowest score: each positive beats the negatives below it.
	area, negBelow := 0.0, 0.0
	for i := len(idx) - 1; i >= 0; {
		j := i
		p, n := 0.0, 0.0
		for ; j >= 0 && scores[idx[j]] == scores[idx[i]]; j-- {
			if labels[idx[j]] == 1 {
				p++
			} else {
				n++
			}
		}
		area += p * (negBelow + n/2)
		negBelow += n
		i = j
	}
	return area / float64(pos) / float64(neg)
}

// Brier is the mean squared error of the probabilities.
func Brier(probs []float64, labels []uint8) float64 {
	s := 0.0
	for i, p := range probs {
		d := p - float64(labels[i])
		s += d * d
	}
	return s / float64(len(probs))
}

// LogLoss is the mean negative log-likelihood, probabilities clipped to [1e-15, 1−1e-15].
func LogLoss(probs []float64, labels []uint8) float64 {
	s := 0.0
	for i, p := range probs {
		p = math.Min(math.Max(p, 1e-15), 1-1e-15)
		if labels[i] == 1 {
			s -= math.Log(p)
		} else {
			s -= math.Log(1 - p)
		}
	}
	return s / float64(len(probs))
}

// CalibrationBin is one bin of a reliability table.
type CalibrationBin struct {
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	Rows      int     `json:"rows"`
	MeanScore float64 `json:"mean_score"`
	FraudRate float64 `json:"fraud_rate"`
}

// ExpectedCalibrationError uses bins equal-width bins on [0,1]: the
// row-weighted mean |fraud rate − mean score| over bins, and the table.
func ExpectedCalibrationError(probs []float64, labels []uint8, bins int) (float64, []CalibrationBin) {
	table := make([]CalibrationBin, bins)
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	for i, p := range probs {
		b := min(int(p*float64(bins)), bins-1)
		b = max(b, 0)
		table[b].Rows++
		sumP[b] += p
		sumY[b] += float64(labels[i])
	}
	ece := 0.0
	for b := range table {
		table[b].Lo, table[b].Hi = float64(b)/float64(bins), float64(b+1)/float64(bins)
		if table[b].Rows == 0 {
			continue
		}
		n := float64(table[b].Rows)
		table[b].MeanScore, table[b].FraudRate = sumP[b]/n, sumY[b]/n
		ece += n / float64(len(probs)) * math.Abs(table[b].FraudRate-table[b].MeanScore)
	}
	return ece, table
}

// Confusion is the outcome at one threshold (score ≥ threshold flags).
type Confusion struct {
	Threshold float64 `json:"threshold"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// AtThreshold counts the confusion matrix at threshold.
func AtThreshold(probs []float64, labels []uint8, threshold float64) Confusion {
	c := Confusion{Threshold: threshold}
	for i, p := range probs {
		flag := p >= threshold
		switch {
		case flag && labels[i] == 1:
			c.TP++
		case flag:
			c.FP++
		case labels[i] == 1:
			c.FN++
		default:
			c.TN++
		}
	}
	c.fill()
	return c
}

func (c *Confusion) fill() {
	if c.TP+c.FP > 0 {
		c.Precision = float64(c.TP) / float64(c.TP+c.FP)
	}
	if c.TP+c.FN > 0 {
		c.Recall = float64(c.TP) / float64(c.TP+c.FN)
	}
	if c.Precision+c.Recall > 0 {
		c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
	}
}

// PrecisionAtK is the fraud share of the k highest scores.
func PrecisionAtK(scores []float64, labels []uint8, k int) float64 {
	idx := order(scores)
	k = min(k, len(idx))
	if k == 0 {
		return 0
	}
	tp := 0
	for _, i := range idx[:k] {
		tp += int(labels[i])
	}
	return float64(tp) / float64(k)
}

// CostModel prices outcomes: the reference model pays PerCatch for each
// caught fraud and costs PerAlarm for each false alarm; the amount model
// saves the caught fraud's amount and costs PerReview for every flag.
type CostModel struct {
	PerCatch  float64 `json:"per_catch"`
	PerAlarm  float64 `json:"per_alarm"`
	PerReview float64 `json:"per_review"`
}

// DefaultCostModel is the reference system's: $1,000 per caught fraud, $5 per false alarm.
var DefaultCostModel = CostModel{PerCatch: 1000, PerAlarm: 5, PerReview: 5}

// CostPoint is the outcome and savings at one threshold.
type CostPoint struct {
	Confusion
	NetSavings       float64 `json:"net_savings"`
	AmountNetSavings float64 `json:"amount_net_savings"`
}

// CostCurve evaluates thresholds 0.00 to 1.00 in steps of 0.01.
func CostCurve(probs []float64, labels []uint8, amounts []float64, cm CostModel) []CostPoint {
	out := make([]CostPoint, 101)
	for k := range out {
		thr := float64(k) / 100
		pt := CostPoint{Confusion: Confusion{Threshold: thr}}
		caught := 0.0
		for i, p := range probs {
			flag := p >= thr
			switch {
			case flag && labels[i] == 1:
				pt.TP++
				if amounts != nil {
					caught += amounts[i]
				}
			case flag:
				pt.FP++
			case labels[i] == 1:
				pt.FN++
			default:
				pt.TN++
			}
		}
		pt.fill()
		pt.NetSavings = float64(pt.TP)*cm.PerCatch - float64(pt.FP)*cm.PerAlarm
		pt.AmountNetSavings = caught - float64(pt.TP+pt.FP)*cm.PerReview
		out[k] = pt
	}
	return out
}

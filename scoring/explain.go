package scoring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultTopK is how many contributions an explanation lists by default.
const DefaultTopK = 5

// Direction says which way a feature pushes the risk.
const (
	DirectionUp   = "up"
	DirectionDown = "down"
	DirectionNone = "none"
)

// Contribution is one feature's share of a score, in log-odds. Label and
// Direction follow from Feature and Contribution (Describe fills them), so
// stored explanations may leave them out.
type Contribution struct {
	Feature      string  `json:"feature"`
	Label        string  `json:"label,omitempty"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
	Direction    string  `json:"direction,omitempty"`
}

// Describe fills the label and direction of a contribution.
func (c *Contribution) Describe() {
	c.Label = c.Feature
	if f, ok := FeatureByName(c.Feature); ok {
		c.Label = f.Label
	}
	c.Direction = direction(c.Contribution)
}

// Explanation is why a transaction got its score: base value plus every
// feature's exact SHAP contribution equals the raw margin.
type Explanation struct {
	BaseValue float64        `json:"base_value"`
	RawMargin float64        `json:"raw_margin"`
	Top       []Contribution `json:"top,omitempty"`
	All       []Contribution `json:"contributions"`
	Summary   string         `json:"summary"`
}

// Explain computes the full TreeSHAP contributions of t, the top k by size
// (DefaultTopK when k ≤ 0) and a plain-English summary naming the model's
// band (before watchlist overrides).
func (m *Model) Explain(t *Transaction, k int) Explanation {
	if k <= 0 {
		k = DefaultTopK
	}
	n := m.features.Len()
	x := make([]float64, n)
	m.features.Compute(t, x)
	phi := make([]float64, n)
	m.contributions(x, phi)
	var out [1]float64
	ex := Explanation{BaseValue: m.shap.baseValue, RawMargin: m.Margin(x, out[:]), All: make([]Contribution, n)}
	for i := range phi {
		ex.All[i] = Contribution{Feature: m.features.Feature(i).Name, Value: x[i], Contribution: phi[i]}
		ex.All[i].Describe()
	}
	ex.Top = TopContributions(ex.All, k)
	ex.Summary = Summarize(t, m.thresholds.BandOf(m.calib.Apply(ex.RawMargin)), ex.Top)
	return ex
}

// ScoreExplain is Score and Explain in one pass over the trees: the result
// is decided from the explanation's raw margin.
func (m *Model) ScoreExplain(t *Transaction, w Watch, k int) (Result, Explanation) {
	ex := m.Explain(t, k)
	return m.decide(ex.RawMargin, w), ex
}

func direction(c float64) string {
	switch {
	case c > 0:
		return DirectionUp
	case c < 0:
		return DirectionDown
	}
	return DirectionNone
}

// TopContributions returns the k largest non-zero contributions by size;
// ties keep the model's feature order, so the result is deterministic.
func TopContributions(all []Contribution, k int) []Contribution {
	idx := make([]int, 0, len(all))
	for i, c := range all {
		if c.Contribution != 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(math.Abs(all[b].Contribution), math.Abs(all[a].Contribution))
	})
	if len(idx) > k {
		idx = idx[:k]
	}
	top := make([]Contribution, len(idx))
	for i, j := range idx {
		top[i] = all[j]
	}
	return top
}

// summaryMinShare drops drivers smaller than this share of the largest one
// from the summary: they are listed, but not worth words.
const summaryMinShare = 0.1

// Summarize writes a deterministic plain-English summary: what the
// transaction is, the band the model puts it in, and which features raise or
// lower its score against a typical transaction, from what each feature means.
func Summarize(t *Transaction, band Band, top []Contribution) string {
	lead := "This " + typeWord(t.Type) + " of " + FormatAmount(t.Amount) + " scores as " + string(band) + " risk"
	if len(top) == 0 {
		return lead + ": no feature moves its score away from a typical transaction."
	}
	largest := math.Abs(top[0].Contribution)
	var ups, downs []string
	seen := map[string]bool{}
	for _, c := range top {
		if math.Abs(c.Contribution) < summaryMinShare*largest {
			continue
		}
		p := phrase(c, t)
		if seen[p] {
			continue // amount and amount_log say the same thing
		}
		seen[p] = true
		if c.Contribution > 0 {
			ups = append(ups, p)
		} else {
			downs = append(downs, p)
		}
	}
	var parts []string
	if len(ups) > 0 {
		parts = append(parts, joinPhrases(ups)+" "+verb(len(ups), "raises", "raise")+" its score above a typical transaction")
	}
	if len(downs) > 0 {
		obj := "it"
		if len(ups) == 0 {
			obj = "its score below a typical transaction"
		}
		parts = append(parts, joinPhrases(downs)+" "+verb(len(downs), "lowers", "lower")+" "+obj)
	}
	return lead + ": " + strings.Join(parts, "; ") + "."
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinPhrases(p []string) string {
	if len(p) == 1 {
		return p[0]
	}
	return strings.Join(p[:len(p)-1], ", ") + " and " + p[len(p)-1]
}

func typeWord(typ string) string {
	switch typ {
	case TypeCashIn:
		return "cash-in"
	case TypeCashOut:
		return "cash-out"
	case TypeDebit:
		return "debit"
	case TypePayment:
		return "payment"
	case TypeTransfer:
		return "transfer"
	}
	return "transaction"
}

// phrase says what one feature's value means, as a noun phrase.
func phrase(c Contribution, t *Transaction) string {
	v := c.Value
	switch c.Feature {
	case "amount", "amount_log":
		return "the amount of " + FormatAmount(t.Amount)
	case "oldbalanceOrg":
		if v < 0 {
			return "a sender already overdrawn by " + FormatAmount(-v)
		}
		if v < 0.01 {
			return "a sender whose account was empty"
		}
		return "the sender's prior balance of " + FormatAmount(v)
	case "oldbalanceDest":
		if v < 0 {
			return "a receiving account that was overdrawn before"
		}
		if v < 0.01 {
			return "a receiving account that was empty before"
		}
		return "the receiver's prior balance of " + FormatAmount(v)
	case "hour":
		return fmt.Sprintf("the hour (%02d:00)", int(v))
	case "day":
		return fmt.Sprintf("the day (day %d)", int(v))
	case "is_weekend":
		if v == 1 {
			return "a weekend day"
		}
		return "a weekday"
	case "balance_drained":
		switch {
		case v == 1 && t.NewBalanceOrig < 0:
			return "leaving the sender overdrawn"
		case v == 1:
			return "leaving the sender with nothing"
		}
		return "leaving the sender a balance"
	case "drains_full_balance":
		if v == 1 {
			return "moving 100% of the sender's balance"
		}
		return "moving only part of the sender's balance"
	case "receiver_was_empty":
		switch {
		case v == 1 && t.OldBalanceDest < 0:
			return "a receiving account that was overdrawn before"
		case v == 1:
			return "a receiving account that was empty before"
		}
		return "a receiving account that already held money"
	case "amount_to_balance_ratio":
		switch {
		case t.OldBalanceOrg < 0.01:
			return "a sender with no balance to cover it"
		case math.Abs(t.Amount-t.OldBalanceOrg) <= 0.001*math.Max(t.Amount, t.OldBalanceOrg):
			return "moving 100% of the sender's balance"
		case v >= 1.5:
			return "an amount " + strconv.FormatFloat(v, 'f', 1, 64) + " times the sender's balance"
		}
		return fmt.Sprintf("an amount of %.0f%% of the sender's balance", 100*t.Amount/t.OldBalanceOrg)
	case "type_CASH_IN", "type_CASH_OUT", "type_DEBIT", "type_PAYMENT", "type_TRANSFER":
		word := typeWord(strings.TrimPrefix(c.Feature, "type_"))
		if v == 1 {
			return "being a " + word
		}
		return "not being a " + word
	case "orig_balance_error":
		if math.Abs(v) < 0.01 {
			return "sender balances that add up"
		}
		return "sender balances that are off by " + FormatAmount(math.Abs(v))
	case "dest_balance_error":
		if math.Abs(v) < 0.01 {
			return "receiver balances that add up"
		}
		return "receiver balances that are off by " + FormatAmount(math.Abs(v))
	}
	return strings.ToLower(c.Label)
}

// FormatAmount writes money with two decimals and thousands separators.
func FormatAmount(v float64) string {
	neg := v < 0
	s := strconv.FormatFloat(math.Abs(v), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// and marks a cut with "…": for quoting what a user sent in a message or
// keeping it to a column's size.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// FormatScore writes a calibrated score for people: four significant digits
// ("0.9878", "0.003417"); "< 0.0001" and "> 0.9999" for scores strictly
// between 0 and 1 that four decimals would show as 0.0000 or 1.0000, so that
// a small score never reads as a tie with every other small one; and "0" and
// "1" for exact values, which calibrations without a method give (the
// isotonic-logit map only where float64 runs out, far beyond its blocks).
// Anything outside [0, 1], NaN included, is written as it is, with four
// significant digits.
func FormatScore(score float64) string {
	switch {
	case score == 0:
		return "0"
	case score == 1:
		return "1"
	case score > 0 && score < 0.0001:
		return "< 0.0001"
	case score > 0.9999 && score < 1:
		return "> 0.9999"
	}
	return fmt.Sprintf("%#.4g", score)
}

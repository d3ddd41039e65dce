package scoring

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// DefaultTopK is how many contributions an explanation lists by default.
const DefaultTopK = 5

// Direction says which way a feature pushes the risk.
const (
	DirectionUp   = "up"
	DirectionDown = "down"
	DirectionNone = "none"
)

// Contribution is one feature's share of a score, in log-odds.
type Contribution struct {
	Feature      string  `json:"feature"`
	Label        string  `json:"label"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
	Direction    string  `json:"direction"`
}

// Explanation is why a transaction got its score: base value plus every
// feature's exact SHAP contribution equals the raw margin.
type Explanation struct {
	BaseValue float64        `json:"base_value"`
	RawMargin float64        `json:"raw_margin"`
	Top       []Contribution `json:"top"`
	All       []Contribution `json:"contributions"`
	Summary   string         `json:"summary"`
}

// Explain computes the full TreeSHAP contributions of t, the top k by size
// (DefaultTopK when k ≤ 0) and a plain-English summary.
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
		f := m.features.Feature(i)
		ex.All[i] = Contribution{Feature: f.Name, Label: f.Label, Value: x[i], Contribution: phi[i], Direction: direction(phi[i])}
	}
	ex.Top = topContributions(ex.All, k)
	ex.Summary = Summarize(t, ex.Top)
	return ex
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

// topContributions returns the k largest non-zero contributions by size;
// ties keep the model's feature order, so the result is deterministic.
func topContributions(all []Contribution, k int) []Contribution {
	idx := make([]int, 0, len(all))
	for i, c := range all {
		if c.Contribution != 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return math.Abs(all[idx[a]].Contribution) > math.Abs(all[idx[b]].Contribution)
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
// from the summary: they are listed, but not worth a sentence.
const summaryMinShare = 0.1

// Summarize writes a deterministic plain-English summary of what drives a
// score, from the top contributions and what each feature means.
func Summarize(t *Transaction, top []Contribution) string {
	what := "This " + typeWord(t.Type) + " of " + FormatAmount(t.Amount)
	if len(top) == 0 {
		return what + " looks like typical traffic: no feature moves its score."
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
		if c.Contribution > 0 && len(ups) < 3 {
			ups = append(ups, p)
		} else if c.Contribution < 0 && len(downs) < 3 {
			downs = append(downs, p)
		}
	}
	var b strings.Builder
	b.WriteString(what)
	switch {
	case len(ups) > 0:
		fmt.Fprintf(&b, ": %s; %s.", joinPhrases(ups), agree(len(ups), "push", "the risk up"))
		if len(downs) > 0 {
			fmt.Fprintf(&b, " Against that, %s %s.", joinPhrases(downs), verb(len(downs), "pulls", "pull")+" it down")
		}
	default:
		fmt.Fprintf(&b, ": %s; %s.", joinPhrases(downs), agree(len(downs), "pull", "the risk down"))
	}
	return b.String()
}

// agree words "this pushes", "both push", "all push".
func agree(n int, v, rest string) string {
	switch n {
	case 1:
		return "this " + v + "es " + rest
	case 2:
		return "both " + v + " " + rest
	}
	return "all " + v + " " + rest
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinPhrases(p []string) string {
	switch len(p) {
	case 0:
		return ""
	case 1:
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

// phrase says what one feature's value means, as a clause.
func phrase(c Contribution, t *Transaction) string {
	v := c.Value
	switch c.Feature {
	case "amount", "amount_log":
		return "the amount of " + FormatAmount(t.Amount)
	case "oldbalanceOrg":
		if v < 0.01 {
			return "the sender's account was empty before"
		}
		return "the sender's balance before of " + FormatAmount(v)
	case "oldbalanceDest":
		if v < 0.01 {
			return "the receiving account was empty before"
		}
		return "the receiver's balance before of " + FormatAmount(v)
	case "hour":
		return fmt.Sprintf("the time of day (%02d:00)", int(v))
	case "day":
		return fmt.Sprintf("the day of the month (day %d)", int(v))
	case "is_weekend":
		if v == 1 {
			return "it happens on a weekend"
		}
		return "it happens on a weekday"
	case "balance_drained":
		if v == 1 {
			return "the sender is left with nothing"
		}
		return "the sender keeps a balance"
	case "drains_full_balance":
		if v == 1 {
			return "it moves 100% of the sender's balance"
		}
		return "it moves only part of the sender's balance"
	case "receiver_was_empty":
		if v == 1 {
			return "the receiving account was empty before"
		}
		return "the receiving account already held money"
	case "amount_to_balance_ratio":
		if t.OldBalanceOrg < 0.01 {
			return "the sender had no balance to cover it"
		}
		if v >= 1.5 {
			return "the amount is " + strconv.FormatFloat(v, 'f', 1, 64) + " times the sender's balance"
		}
		return fmt.Sprintf("the amount is %.0f%% of the sender's balance", 100*t.Amount/t.OldBalanceOrg)
	case "type_CASH_IN", "type_CASH_OUT", "type_DEBIT", "type_PAYMENT", "type_TRANSFER":
		word := typeWord(strings.TrimPrefix(c.Feature, "type_"))
		if v == 1 {
			return "it is a " + word
		}
		return "it is not a " + word
	case "orig_balance_error":
		if math.Abs(v) < 0.01 {
			return "the sender's balances add up"
		}
		return "the sender's balances are off by " + FormatAmount(math.Abs(v))
	case "dest_balance_error":
		if math.Abs(v) < 0.01 {
			return "the receiver's balances add up"
		}
		return "the receiver's balances are off by " + FormatAmount(math.Abs(v))
	}
	return strings.ToLower(c.Label[:1]) + c.Label[1:]
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

package scoring

import (
	"fmt"
	"math"
)

// Feature is one named input of a model: a stable name that model files
// refer to, a human label, a one-line meaning and its formula.
type Feature struct {
	Name    string
	Label   string
	Meaning string
	// Flag marks a 0/1 feature.
	Flag bool
	fn   func(t *Transaction) float64
}

// Value computes the feature for t.
func (f Feature) Value(t *Transaction) float64 { return f.fn(t) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func isType(typ string) func(t *Transaction) float64 {
	return func(t *Transaction) float64 { return b2f(t.Type == typ) }
}

// registry holds every feature a model may use, in a stable order.
var registry = []Feature{
	{Name: "amount", Label: "Amount", Meaning: "the amount moved",
		fn: func(t *Transaction) float64 { return t.Amount }},
	{Name: "oldbalanceOrg", Label: "Sender balance before", Meaning: "the sender's balance before the payment",
		fn: func(t *Transaction) float64 { return t.OldBalanceOrg }},
	{Name: "oldbalanceDest", Label: "Receiver balance before", Meaning: "the receiver's balance before the payment",
		fn: func(t *Transaction) float64 { return t.OldBalanceDest }},
	{Name: "hour", Label: "Hour of day", Meaning: "the hour of the day (step mod 24)",
		fn: func(t *Transaction) float64 { return float64(t.Step % 24) }},
	{Name: "day", Label: "Day", Meaning: "the day of the simulation (step / 24)",
		fn: func(t *Transaction) float64 { return float64(t.Step / 24) }},
	{Name: "is_weekend", Label: "Weekend", Meaning: "whether the day falls on a weekend", Flag: true,
		fn: func(t *Transaction) float64 { d := (t.Step / 24) % 7; return b2f(d == 5 || d == 6) }},
	{Name: "amount_log", Label: "Amount (log scale)", Meaning: "log(1 + amount)",
		fn: func(t *Transaction) float64 { return math.Log1p(t.Amount) }},
	{Name: "balance_drained", Label: "Sender left with nothing", Meaning: "whether the sender's balance after the payment is below 0.01 (overdrawn included)", Flag: true,
		fn: func(t *Transaction) float64 { return b2f(t.NewBalanceOrig < 0.01) }},
	{Name: "drains_full_balance", Label: "Moves the whole balance", Meaning: "whether the amount equals the sender's balance before (within 0.1%)", Flag: true,
		fn: func(t *Transaction) float64 {
			return b2f(math.Abs(t.Amount-t.OldBalanceOrg) <= 0.001*math.Max(t.Amount, t.OldBalanceOrg))
		}},
	{Name: "receiver_was_empty", Label: "Receiver was empty", Meaning: "whether the receiver's balance before was below 0.01 (overdrawn included)", Flag: true,
		fn: func(t *Transaction) float64 { return b2f(t.OldBalanceDest < 0.01) }},
	// An overdrawn sender counts as a balance of 0: the ratio stays finite and
	// positive (the reference formula, amount / (balance + 1), divides by zero
	// at a balance of −1 and turns negative below it) and equals the reference
	// value whenever the balance is 0 or more.
	{Name: "amount_to_balance_ratio", Label: "Amount relative to sender balance", Meaning: "amount / (sender balance before, 0 if overdrawn, + 1)",
		fn: func(t *Transaction) float64 { return t.Amount / (max(t.OldBalanceOrg, 0) + 1) }},
	{Name: "type_CASH_IN", Label: "Type is cash-in", Meaning: "whether the type is CASH_IN", Flag: true, fn: isType(TypeCashIn)},
	{Name: "type_CASH_OUT", Label: "Type is cash-out", Meaning: "whether the type is CASH_OUT", Flag: true, fn: isType(TypeCashOut)},
	{Name: "type_DEBIT", Label: "Type is debit", Meaning: "whether the type is DEBIT", Flag: true, fn: isType(TypeDebit)},
	{Name: "type_PAYMENT", Label: "Type is payment", Meaning: "whether the type is PAYMENT", Flag: true, fn: isType(TypePayment)},
	{Name: "type_TRANSFER", Label: "Type is transfer", Meaning: "whether the type is TRANSFER", Flag: true, fn: isType(TypeTransfer)},
	{Name: "orig_balance_error", Label: "Sender balance mismatch", Meaning: "new sender balance + amount − old sender balance",
		fn: func(t *Transaction) float64 { return t.NewBalanceOrig + t.Amount - t.OldBalanceOrg }},
	{Name: "dest_balance_error", Label: "Receiver balance mismatch", Meaning: "old receiver balance + amount − new receiver balance",
		fn: func(t *Transaction) float64 { return t.OldBalanceDest + t.Amount - t.NewBalanceDest }},
}

// ReferenceFeatures are the 16 features of the reference system, in its order.
var ReferenceFeatures = []string{
	"amount", "oldbalanceOrg", "oldbalanceDest", "hour", "day", "is_weekend", "amount_log",
	"balance_drained", "drains_full_balance", "receiver_was_empty", "amount_to_balance_ratio",
	"type_CASH_IN", "type_CASH_OUT", "type_DEBIT", "type_PAYMENT", "type_TRANSFER",
}

// Registry returns every known feature.
func Registry() []Feature {
	out := make([]Feature, len(registry))
	copy(out, registry)
	return out
}

// FeatureByName looks a feature up by its stable name.
func FeatureByName(name string) (Feature, bool) {
	for _, f := range registry {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// FeatureSet is an ordered list of features resolved once from names, so
// computing a vector does no lookups.
type FeatureSet struct {
	features []Feature
}

// NewFeatureSet resolves names against the registry; an unknown or repeated
// name is an error.
func NewFeatureSet(names []string) (*FeatureSet, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("scoring: empty feature list")
	}
	seen := map[string]bool{}
	fs := &FeatureSet{features: make([]Feature, len(names))}
	for i, n := range names {
		f, ok := FeatureByName(n)
		if !ok {
			return nil, fmt.Errorf("scoring: unknown feature %q", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("scoring: feature %q listed twice", n)
		}
		seen[n] = true
		fs.features[i] = f
	}
	return fs, nil
}

// Len is the number of features.
func (fs *FeatureSet) Len() int { return len(fs.features) }

// Names lists the feature names in order.
func (fs *FeatureSet) Names() []string {
	out := make([]string, len(fs.features))
	for i, f := range fs.features {
		out[i] = f.Name
	}
	return out
}

// Feature returns the i-th feature.
func (fs *FeatureSet) Feature(i int) Feature { return fs.features[i] }

// Compute writes the feature vector of t into dst, which must hold Len() values.
func (fs *FeatureSet) Compute(t *Transaction, dst []float64) {
	for i := range fs.features {
		dst[i] = fs.features[i].fn(t)
	}
}

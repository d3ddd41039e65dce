package scoring_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func featureValues(t *testing.T, tx scoring.Transaction) map[string]float64 {
	t.Helper()
	var names []string
	for _, f := range scoring.Registry() {
		names = append(names, f.Name)
	}
	fs, err := scoring.NewFeatureSet(names)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, fs.Len())
	fs.Compute(&tx, x)
	out := map[string]float64{}
	for i, n := range names {
		out[n] = x[i]
	}
	return out
}

func TestFeatureFormulas(t *testing.T) {
	tx := scoring.Transaction{Step: 24*5 + 13, Type: "TRANSFER", Amount: 1000, NameOrig: "C1", OldBalanceOrg: 1000.5,
		NewBalanceOrig: 0.5, NameDest: "C2", OldBalanceDest: 0.005, NewBalanceDest: 1000}
	got := featureValues(t, tx)
	want := map[string]float64{
		"amount": 1000, "oldbalanceOrg": 1000.5, "oldbalanceDest": 0.005, "hour": 13, "day": 5, "is_weekend": 1,
		"amount_log": math.Log1p(1000), "balance_drained": 0, "drains_full_balance": 1, "receiver_was_empty": 1,
		"amount_to_balance_ratio": 1000 / 1001.5, "type_CASH_IN": 0, "type_CASH_OUT": 0, "type_DEBIT": 0,
		"type_PAYMENT": 0, "type_TRANSFER": 1, "orig_balance_error": 0, "dest_balance_error": 0.005,
	}
	for name, w := range want {
		if math.Abs(got[name]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("registry has %d features, the test knows %d", len(got), len(want))
	}
	for _, name := range scoring.ReferenceFeatures {
		if _, ok := scoring.FeatureByName(name); !ok {
			t.Errorf("reference feature %s is not registered", name)
		}
	}
}

func TestFeatureEdgeCases(t *testing.T) {
	zero := featureValues(t, scoring.Transaction{Type: "PAYMENT", NameOrig: "C1", NameDest: "M1"})
	if zero["balance_drained"] != 1 || zero["drains_full_balance"] != 1 || zero["receiver_was_empty"] != 1 ||
		zero["amount_to_balance_ratio"] != 0 || zero["amount_log"] != 0 {
		t.Errorf("all-zero transaction features = %v", zero)
	}
	huge := featureValues(t, scoring.Transaction{Step: 743, Type: "CASH_OUT", Amount: 1e15, NameOrig: "C1", NameDest: "M1"})
	for n, v := range huge {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("huge amount: %s = %v", n, v)
		}
	}
	if huge["hour"] != 23 || huge["day"] != 30 || huge["is_weekend"] != 0 {
		t.Errorf("step 743: hour %v day %v weekend %v", huge["hour"], huge["day"], huge["is_weekend"])
	}
	// Within 0.1% of the balance counts as the whole balance; beyond, not.
	near := featureValues(t, scoring.Transaction{Type: "TRANSFER", Amount: 999.5, OldBalanceOrg: 1000, NameOrig: "C1", NameDest: "C2"})
	far := featureValues(t, scoring.Transaction{Type: "TRANSFER", Amount: 998, OldBalanceOrg: 1000, NameOrig: "C1", NameDest: "C2"})
	if near["drains_full_balance"] != 1 || far["drains_full_balance"] != 0 {
		t.Errorf("drains_full_balance near/far = %v/%v, want 1/0", near["drains_full_balance"], far["drains_full_balance"])
	}
	if _, err := scoring.NewFeatureSet([]string{"amount", "amount"}); err == nil {
		t.Error("NewFeatureSet(duplicate) = nil error")
	}
}

func TestOverdraftFeatures(t *testing.T) {
	// Rows of the PaySim file: a payment that takes the sender into its
	// overdraft, and a transfer from an account already overdrawn.
	into := featureValues(t, scoring.Transaction{Step: 1, Type: "PAYMENT", Amount: 3493.73, NameOrig: "C1",
		OldBalanceOrg: 43.66, NewBalanceOrig: -3450.07, NameDest: "M1", NewBalanceDest: 3493.73})
	already := featureValues(t, scoring.Transaction{Step: 30, Type: "TRANSFER", Amount: 500, NameOrig: "C1",
		OldBalanceOrg: -1200, NewBalanceOrig: -1700, NameDest: "C2", OldBalanceDest: -50, NewBalanceDest: 450})
	for _, tc := range []struct {
		name string
		got  map[string]float64
		want map[string]float64
	}{
		{"into the overdraft", into, map[string]float64{
			"oldbalanceOrg": 43.66, "balance_drained": 1, "drains_full_balance": 0, "receiver_was_empty": 1,
			"amount_to_balance_ratio": 3493.73 / 44.66, "orig_balance_error": -3450.07 + 3493.73 - 43.66, "dest_balance_error": 0,
		}},
		{"already overdrawn", already, map[string]float64{
			"oldbalanceOrg": -1200, "oldbalanceDest": -50, "balance_drained": 1, "drains_full_balance": 0,
			"receiver_was_empty": 1, "amount_to_balance_ratio": 500, "orig_balance_error": 0, "dest_balance_error": 0,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, v := range tc.got {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s = %v, want a finite number", name, v)
				}
			}
			for name, w := range tc.want {
				if math.Abs(tc.got[name]-w) > 1e-9 {
					t.Errorf("%s = %v, want %v", name, tc.got[name], w)
				}
			}
		})
	}
}

func TestAmountToBalanceRatio(t *testing.T) {
	ratio := func(amount, old float64) float64 {
		return featureValues(t, scoring.Transaction{Type: "TRANSFER", Amount: amount, OldBalanceOrg: old, NameOrig: "C1", NameDest: "C2"})["amount_to_balance_ratio"]
	}
	for _, tc := range []struct{ amount, old, want float64 }{
		// The reference formula amount / (balance + 1) wherever the balance is 0 or more.
		{1000, 1000.5, 1000 / 1001.5},
		{250, 0, 250},
		{0, 99, 0},
		{1e15, 1e15, 1e15 / (1e15 + 1)},
		// An overdrawn sender counts as 0: finite and positive, also at −1,
		// where the reference formula divides by zero.
		{250, -1, 250},
		{250, -0.5, 250},
		{250, -1e15, 250},
		{0, -1e15, 0},
	} {
		if got := ratio(tc.amount, tc.old); got != tc.want {
			t.Errorf("amount_to_balance_ratio(amount %v, balance %v) = %v, want %v", tc.amount, tc.old, got, tc.want)
		}
	}
}

func TestFeaturesAtTheBounds(t *testing.T) {
	for _, bal := range []float64{scoring.MaxMoney, -scoring.MaxMoney} {
		tx := scoring.Transaction{Step: scoring.MaxStep, Type: "TRANSFER", Amount: scoring.MaxMoney, NameOrig: "C1",
			OldBalanceOrg: bal, NewBalanceOrig: -bal, NameDest: "C2", OldBalanceDest: -bal, NewBalanceDest: bal}
		if err := tx.Validate(); err != nil {
			t.Fatalf("Validate(every field at its bound) = %v", err)
		}
		for name, v := range featureValues(t, tx) {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(float64(float32(v)), 0) {
				t.Errorf("balances %v: %s = %v, want finite (also as float32)", bal, name, v)
			}
		}
	}
}

func TestOverdraftSummary(t *testing.T) {
	tx := scoring.Transaction{Type: "TRANSFER", Amount: 500, NameOrig: "C1", OldBalanceOrg: -1200, NewBalanceOrig: -1700,
		NameDest: "C2", OldBalanceDest: -50, NewBalanceDest: 450}
	top := []scoring.Contribution{
		{Feature: "oldbalanceOrg", Value: -1200, Contribution: 2},
		{Feature: "balance_drained", Value: 1, Contribution: 1.5},
		{Feature: "receiver_was_empty", Value: 1, Contribution: -1},
		{Feature: "oldbalanceDest", Value: -50, Contribution: -0.9},
	}
	got := scoring.Summarize(&tx, scoring.BandHigh, top)
	want := "This transfer of 500.00 scores as high risk: a sender already overdrawn by 1,200.00 and leaving the sender overdrawn " +
		"raise its score above a typical transaction; a receiving account that was overdrawn before lowers it."
	if got != want {
		t.Errorf("Summarize() = %q, want %q", got, want)
	}
}

func TestValidation(t *testing.T) {
	ok := scoring.Transaction{Step: 1, Type: "PAYMENT", Amount: 10, NameOrig: "C1", NameDest: "M1"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*scoring.Transaction)
	}{
		{"overdrawn sender", func(t *scoring.Transaction) { t.OldBalanceOrg, t.NewBalanceOrig = -3450.07, -3460.07 }},
		{"overdrawn receiver", func(t *scoring.Transaction) { t.OldBalanceDest, t.NewBalanceDest = -20, -10 }},
		{"balances at the bounds", func(t *scoring.Transaction) {
			t.OldBalanceOrg, t.NewBalanceOrig, t.OldBalanceDest, t.NewBalanceDest = -1e15, 1e15, 1e15, -1e15
		}},
		{"largest amount", func(t *scoring.Transaction) { t.Amount = 1e15 }},
		{"zero amount", func(t *scoring.Transaction) { t.Amount = 0 }},
		{"last step", func(t *scoring.Transaction) { t.Step = 10_000_000 }},
	} {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			tx := ok
			tc.edit(&tx)
			if err := tx.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		edit    func(*scoring.Transaction)
		field   string
		message string
	}{
		{"negative step", func(t *scoring.Transaction) { t.Step = -1 }, "step", "between 0 and 10000000"},
		{"step past the last", func(t *scoring.Transaction) { t.Step = 10_000_001 }, "step", "between 0 and 10000000"},
		{"unknown type", func(t *scoring.Transaction) { t.Type = "WIRE" }, "type", "one of"},
		{"NaN amount", func(t *scoring.Transaction) { t.Amount = math.NaN() }, "amount", "finite"},
		{"infinite amount", func(t *scoring.Transaction) { t.Amount = math.Inf(1) }, "amount", "finite"},
		{"negative amount", func(t *scoring.Transaction) { t.Amount = -5 }, "amount", "0 or more"},
		{"amount past the bound", func(t *scoring.Transaction) { t.Amount = 1.0000001e15 }, "amount", "at most 1e+15"},
		{"infinite balance", func(t *scoring.Transaction) { t.OldBalanceOrg = math.Inf(1) }, "oldbalanceOrg", "finite"},
		{"minus infinite balance", func(t *scoring.Transaction) { t.NewBalanceOrig = math.Inf(-1) }, "newbalanceOrig", "finite"},
		{"NaN balance", func(t *scoring.Transaction) { t.OldBalanceDest = math.NaN() }, "oldbalanceDest", "finite"},
		{"balance past the bound", func(t *scoring.Transaction) { t.NewBalanceDest = 2e15 }, "newbalanceDest", "between -1e+15 and 1e+15"},
		{"overdraft past the bound", func(t *scoring.Transaction) { t.OldBalanceOrg = -1.0000001e15 }, "oldbalanceOrg", "between -1e+15 and 1e+15"},
		{"empty sender", func(t *scoring.Transaction) { t.NameOrig = "" }, "nameOrig", "required"},
		{"long receiver", func(t *scoring.Transaction) { t.NameDest = strings.Repeat("M", 65) }, "nameDest", "at most 64"},
		{"control character", func(t *scoring.Transaction) { t.NameDest = "M1\n" }, "nameDest", "control"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			tx := ok
			tc.edit(&tx)
			var ve *scoring.ValidationError
			err := tx.Validate()
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tc.field || !strings.Contains(ve.Fields[0].Message, tc.message) {
				t.Fatalf("Validate() = %v, want one error on %s saying %q", err, tc.field, tc.message)
			}
		})
	}
	bad := scoring.Transaction{Step: -1, Type: "X", Amount: math.NaN(), OldBalanceOrg: -2e15}
	var ve *scoring.ValidationError
	if err := bad.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 6 {
		t.Fatalf("Validate(six bad fields) = %v, want six field errors", err)
	}
}

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

func TestValidation(t *testing.T) {
	ok := scoring.Transaction{Step: 1, Type: "PAYMENT", Amount: 10, NameOrig: "C1", NameDest: "M1"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*scoring.Transaction)
		field string
	}{
		{"negative step", func(t *scoring.Transaction) { t.Step = -1 }, "step"},
		{"unknown type", func(t *scoring.Transaction) { t.Type = "WIRE" }, "type"},
		{"NaN amount", func(t *scoring.Transaction) { t.Amount = math.NaN() }, "amount"},
		{"infinite balance", func(t *scoring.Transaction) { t.OldBalanceOrg = math.Inf(1) }, "oldbalanceOrg"},
		{"negative amount", func(t *scoring.Transaction) { t.Amount = -5 }, "amount"},
		{"negative balance", func(t *scoring.Transaction) { t.NewBalanceDest = -0.01 }, "newbalanceDest"},
		{"empty sender", func(t *scoring.Transaction) { t.NameOrig = "" }, "nameOrig"},
		{"long receiver", func(t *scoring.Transaction) { t.NameDest = strings.Repeat("M", 65) }, "nameDest"},
		{"control character", func(t *scoring.Transaction) { t.NameDest = "M1\n" }, "nameDest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := ok
			tc.edit(&tx)
			var ve *scoring.ValidationError
			if err := tx.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tc.field {
				t.Fatalf("Validate() = %v, want one error on %s", err, tc.field)
			}
		})
	}
	bad := scoring.Transaction{Step: -1, Type: "X", Amount: math.NaN()}
	var ve *scoring.ValidationError
	if err := bad.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 5 {
		t.Fatalf("Validate(five bad fields) = %v, want five field errors", err)
	}
}

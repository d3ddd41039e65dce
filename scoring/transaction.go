// Package scoring turns a payment transaction into a fraud score and its
// explanation: features from a named registry, a LightGBM-format GBDT
// evaluated through leaves, exact TreeSHAP in margin space, isotonic
// calibration, risk bands and a plain-English summary. It is pure Go with no
// database or HTTP, usable from the CLI, the server and benchmarks alike.
package scoring

import (
	"fmt"
	"math"
	"strings"
)

// Transaction types of PaySim.
const (
	TypeCashIn   = "CASH_IN"
	TypeCashOut  = "CASH_OUT"
	TypeDebit    = "DEBIT"
	TypePayment  = "PAYMENT"
	TypeTransfer = "TRANSFER"
)

// Types lists the valid transaction types.
var Types = []string{TypeCashIn, TypeCashOut, TypeDebit, TypePayment, TypeTransfer}

// MaxAccountLen is the longest account id accepted.
const MaxAccountLen = 64

// MaxStep is the largest step (simulation hour) accepted: over a thousand
// years of hourly steps, and well inside the 32-bit integers that training
// and PostgreSQL's INTEGER column keep steps in.
const MaxStep = 10_000_000

// MaxMoney bounds an amount, and a balance in absolute value: far beyond any
// real account, and small enough that the features adding and subtracting
// three of them stay finite, also as the float32 training works in.
const MaxMoney = 1e15

// Transaction is one payment with the PaySim fields. JSON names follow the
// PaySim (Kaggle) column names.
type Transaction struct {
	Step           int     `json:"step"`
	Type           string  `json:"type"`
	Amount         float64 `json:"amount"`
	NameOrig       string  `json:"nameOrig"`
	OldBalanceOrg  float64 `json:"oldbalanceOrg"`
	NewBalanceOrig float64 `json:"newbalanceOrig"`
	NameDest       string  `json:"nameDest"`
	OldBalanceDest float64 `json:"oldbalanceDest"`
	NewBalanceDest float64 `json:"newbalanceDest"`
	// Where the money moves, all optional and never model features: the
	// sender's and receiver's countries (ISO 3166-1 alpha-2, e.g. "US") and
	// regions (ISO 3166-2, e.g. "US-NY"). A region must lie in its country.
	OrigCountry string `json:"orig_country,omitempty"`
	DestCountry string `json:"dest_country,omitempty"`
	OrigRegion  string `json:"orig_region,omitempty"`
	DestRegion  string `json:"dest_region,omitempty"`
}

// FieldError is one invalid field and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a transaction.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid transaction: " + strings.Join(parts, "; ")
}

// Validate checks every field and returns a *ValidationError naming each bad
// one, or nil. Balances may be negative (an account inside its overdraft
// limit is a real transaction to score); amounts may not.
func (t *Transaction) Validate() error {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if t.Step < 0 || t.Step > MaxStep {
		add("step", "must be between 0 and %d", MaxStep)
	}
	if !IsType(t.Type) {
		add("type", "must be one of %s", strings.Join(Types, ", "))
	}
	switch {
	case !isFinite(t.Amount):
		add("amount", "must be a finite number")
	case t.Amount < 0:
		add("amount", "must be 0 or more")
	case t.Amount > MaxMoney:
		add("amount", "must be at most %g", MaxMoney)
	}
	for _, m := range []struct {
		field string
		v     float64
	}{
		{"oldbalanceOrg", t.OldBalanceOrg}, {"newbalanceOrig", t.NewBalanceOrig},
		{"oldbalanceDest", t.OldBalanceDest}, {"newbalanceDest", t.NewBalanceDest},
	} {
		switch {
		case !isFinite(m.v):
			add(m.field, "must be a finite number")
		case math.Abs(m.v) > MaxMoney:
			add(m.field, "must be between %g and %g", -MaxMoney, MaxMoney)
		}
	}
	for _, a := range []struct{ field, v string }{{"nameOrig", t.NameOrig}, {"nameDest", t.NameDest}} {
		switch {
		case a.v == "":
			add(a.field, "is required")
		case len(a.v) > MaxAccountLen:
			add(a.field, "must be at most %d characters", MaxAccountLen)
		case IDProblem(a.v) != "":
			add(a.field, "%s", IDProblem(a.v))
		}
	}
	for _, g := range []struct{ field, country, region, side string }{
		{"orig_country", t.OrigCountry, t.OrigRegion, "orig"}, {"dest_country", t.DestCountry, t.DestRegion, "dest"},
	} {
		if g.country != "" && !IsCountry(g.country) {
			add(g.field, "must be an ISO 3166-1 alpha-2 country code in capitals, such as US or GB")
		}
		if g.region == "" {
			continue
		}
		switch {
		case !IsRegion(g.region):
			add(g.side+"_region", "must be an ISO 3166-2 region code in capitals, such as US-NY")
		case g.country == "":
			add(g.side+"_region", "needs %s_country too", g.side)
		case !strings.HasPrefix(g.region, g.country+"-"):
			add(g.side+"_region", "must be a region of %s", g.country)
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// IsType reports whether s is a PaySim transaction type.
func IsType(s string) bool {
	for _, t := range Types {
		if s == t {
			return true
		}
	}
	return false
}

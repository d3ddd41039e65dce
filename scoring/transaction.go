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
// one, or nil.
func (t *Transaction) Validate() error {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if t.Step < 0 {
		add("step", "must be 0 or more")
	}
	if !IsType(t.Type) {
		add("type", "must be one of %s", strings.Join(Types, ", "))
	}
	for _, m := range []struct {
		field string
		v     float64
	}{
		{"amount", t.Amount}, {"oldbalanceOrg", t.OldBalanceOrg}, {"newbalanceOrig", t.NewBalanceOrig},
		{"oldbalanceDest", t.OldBalanceDest}, {"newbalanceDest", t.NewBalanceDest},
	} {
		switch {
		case math.IsNaN(m.v) || math.IsInf(m.v, 0):
			add(m.field, "must be a finite number")
		case m.v < 0:
			add(m.field, "must be 0 or more")
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
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// IsType reports whether s is a PaySim transaction type.
func IsType(s string) bool {
	for _, t := range Types {
		if s == t {
			return true
		}
	}
	return false
}

package handlers

import (
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// decisionWords names each decision for people. The decisions themselves
// are store.Decisions; a test holds the two together.
var decisionWords = map[string]string{
	store.DecisionConfirmedFraud: "Confirmed fraud",
	store.DecisionFalsePositive:  "False positive",
	store.DecisionEscalated:      "Escalated",
}

// decisionLabel is a transaction's label in words; "" is undecided.
func decisionLabel(d string) string {
	if d == "" {
		return "Undecided"
	}
	if w, ok := decisionWords[d]; ok {
		return w
	}
	return d
}

// decisionChoices are the decisions an analyst can take, in store order.
func decisionChoices() []views.Option {
	out := make([]views.Option, len(store.Decisions))
	for i, d := range store.Decisions {
		out[i] = views.Option{Value: d, Label: decisionWords[d]}
	}
	return out
}

// decisionFilter is the queue's and investigate's decision filter: any,
// undecided, or one decision.
func decisionFilter() []views.Option {
	return append([]views.Option{{Value: "any", Label: "Any"}, {Value: "undecided", Label: "Undecided"}}, decisionChoices()...)
}

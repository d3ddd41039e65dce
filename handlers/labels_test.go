package handlers

import (
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestEveryDecisionAndRoleHasWords(t *testing.T) {
	for _, d := range store.Decisions {
		if decisionWords[d] == "" {
			t.Errorf("decision %q has no words for people", d)
		}
	}
	if len(decisionWords) != len(store.Decisions) {
		t.Errorf("words for %d decisions, store has %d", len(decisionWords), len(store.Decisions))
	}
	for _, r := range store.Roles {
		if roleWords[r] == "" {
			t.Errorf("role %q has no words for people", r)
		}
	}
	if len(roleWords) != len(store.Roles) {
		t.Errorf("words for %d roles, store has %d", len(roleWords), len(store.Roles))
	}
	if decisionLabel("") != "Undecided" || decisionLabel(store.DecisionEscalated) != "Escalated" {
		t.Errorf("decisionLabel() = %q, %q", decisionLabel(""), decisionLabel(store.DecisionEscalated))
	}
}

func TestEveryWatchlistKindHasWords(t *testing.T) {
	for _, k := range store.WatchKindList {
		if watchWords[k] == "" {
			t.Errorf("watchlist kind %q has no words for people", k)
		}
	}
	if len(watchWords) != len(store.WatchKindList) {
		t.Errorf("words for %d watchlist kinds, store has %d", len(watchWords), len(store.WatchKindList))
	}
}

func TestEveryCaseWordExists(t *testing.T) {
	for name, c := range map[string]struct {
		ids   []string
		words map[string]string
	}{
		"status":   {store.CaseStatuses, caseStatusWords},
		"priority": {store.CasePriorities, casePriorityWords},
		"outcome":  {store.CaseOutcomes, caseOutcomeWords},
	} {
		for _, id := range c.ids {
			if c.words[id] == "" {
				t.Errorf("case %s %q has no words for people", name, id)
			}
		}
		if len(c.words) != len(c.ids) {
			t.Errorf("words for %d case %ss, store has %d", len(c.words), name, len(c.ids))
		}
	}
}

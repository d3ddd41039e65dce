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

// roleWords names each role for people; the roles are store.Roles.
var roleWords = map[string]string{
	store.RoleAnalyst:       "Analyst",
	store.RoleSeniorAnalyst: "Senior analyst",
	store.RoleAdmin:         "Admin",
	store.RoleAuditor:       "Auditor",
}

// roleLabel is a role in words.
func roleLabel(r string) string {
	if w, ok := roleWords[r]; ok {
		return w
	}
	return r
}

// roleChoices are the roles a user can be given, in store order.
func roleChoices() []views.Option { return options(store.Roles, roleWords) }

// options pairs each id with its words, in the ids' order.
func options(ids []string, words map[string]string) []views.Option {
	out := make([]views.Option, len(ids))
	for i, id := range ids {
		out[i] = views.Option{Value: id, Label: words[id]}
	}
	return out
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
func decisionChoices() []views.Option { return options(store.Decisions, decisionWords) }

// decisionFilter is the queue's and investigate's decision filter: any,
// undecided, or one decision.
func decisionFilter() []views.Option {
	return append([]views.Option{{Value: "any", Label: "Any"}, {Value: "undecided", Label: "Undecided"}}, decisionChoices()...)
}

// watchWords names each watchlist kind for people; the kinds are
// store.WatchKindList.
var watchWords = map[string]string{
	store.WatchBlocked: "Blocked",
	store.WatchTrusted: "Trusted",
}

// watchLabel is a watchlist kind in words.
func watchLabel(k string) string {
	if w, ok := watchWords[k]; ok {
		return w
	}
	return k
}

// watchChoices are the lists an account can be put on, in store order.
func watchChoices() []views.Option {
	out := make([]views.Option, len(store.WatchKindList))
	for i, k := range store.WatchKindList {
		out[i] = views.Option{Value: k, Label: watchWords[k]}
	}
	return out
}

// watchFilterChoices are the queue's watchlist filter: none, either list,
// or one list.
func watchFilterChoices() []views.Option {
	return []views.Option{{Value: "", Label: "Any account"}, {Value: store.WatchAny, Label: "On a watchlist"},
		{Value: store.WatchBlocked, Label: "Blocked account"}, {Value: store.WatchTrusted, Label: "Trusted account"}}
}

// caseStatusWords names each case status; the statuses are store.CaseStatuses.
var caseStatusWords = map[string]string{
	store.CaseOpen:          "Open",
	store.CaseInvestigating: "Investigating",
	store.CaseWaiting:       "Waiting (external)",
	store.CaseEscalated:     "Escalated",
	store.CaseClosed:        "Closed",
}

// casePriorityWords names each case priority; the priorities are
// store.CasePriorities.
var casePriorityWords = map[string]string{
	store.PriorityCritical: "Critical",
	store.PriorityHigh:     "High",
	store.PriorityMedium:   "Medium",
	store.PriorityLow:      "Low",
}

// caseOutcomeWords names each outcome; the outcomes are store.CaseOutcomes.
var caseOutcomeWords = map[string]string{
	store.OutcomeConfirmedFraud: "Confirmed fraud",
	store.OutcomeFalsePositive:  "False positive",
	store.OutcomeNoAction:       "No action",
	store.OutcomeSARFiled:       "SAR filed",
	store.OutcomeReferred:       "Referred to law enforcement",
}

// caseEventWords says what each timeline entry is.
var caseEventWords = map[string]string{
	store.CaseEventOpened:            "Opened",
	store.CaseEventStatus:            "Status",
	store.CaseEventPriority:          "Priority",
	store.CaseEventAssignee:          "Assignee",
	store.CaseEventNote:              "Note",
	store.CaseEventTransactionAdded:  "Transaction added",
	store.CaseEventTransactionRemove: "Transaction removed",
	store.CaseEventAccountAdded:      "Account added",
	store.CaseEventAccountRemoved:    "Account removed",
	store.CaseEventClosed:            "Closed with outcome",
	store.CaseEventReopened:          "Reopened",
	store.CaseEventDecisions:         "Decision applied",
	store.CaseEventBreach:            "SLA breached",
}

// word is words[id], or id itself when it has none.
func word(words map[string]string, id string) string {
	if w, ok := words[id]; ok {
		return w
	}
	return id
}

// uploadStatusLabels are the statuses in words.
var uploadStatusLabels = map[string]string{
	store.UploadRefused: "Refused", store.UploadConfirm: "Waiting for confirmation", store.UploadQueued: "Queued",
	store.UploadRunning: "Processing", store.UploadDone: "Done", store.UploadCancelled: "Cancelled",
	store.UploadInterrupted: "Interrupted", store.UploadFailed: "Failed",
}

// uploadOutcomeWords are the reason codes of refused, re-uploaded and
// expired uploads (upload.Check, upload.Submit, store.ExpireUpload) in
// words.
var uploadOutcomeWords = map[string]string{
	"too_large": "File too large", "extension": "Not a .csv or .csv.gz file", "binary": "Not a text file",
	"utf8": "Not UTF-8 text", "gzip_bomb": "Expands past the limits", "long_line": "A line is too long",
	"not_gzip": "Not a readable gzip file", "too_many_rows": "Too many rows", "no_rows": "No rows",
	"columns": "Required columns missing", "empty": "Empty file", "header": "Unreadable header",
	"rate_limited": "Too many uploads", "no_file": "No file", "same_file": "Same file as an earlier upload",
	store.UploadExpired: "Not confirmed in time",
}

package handlers

import "github.com/sentinel-fraud/sentinel/store"

// Permission is an action a role may take. Routes name the permission they
// need; the matrix below is the only place that says who has it.
type Permission string

// The actions of the workspace.
const (
	PermViewHome  Permission = "home.view"
	PermViewUsers Permission = "users.view"
	PermViewAudit Permission = "audit.view"
	// PermViewQueue covers the queue and transaction pages.
	PermViewQueue Permission = "queue.view"
	// PermSubmit is sending transactions to be scored from a browser
	// session (the JSON API; API keys need the score scope instead).
	PermSubmit Permission = "transactions.submit"
	// PermDecide is recording a decision on a transaction.
	PermDecide Permission = "transaction.decide"
	// PermManageAPIKeys covers listing, creating and revoking API keys.
	PermManageAPIKeys Permission = "api_keys.manage"
	// PermManageUsers covers inviting users, changing their role,
	// disabling and enabling them, and resetting their password or second
	// factor.
	PermManageUsers Permission = "users.manage"
	// PermManageSettings covers the tenant's settings (who must have a
	// second factor).
	PermManageSettings Permission = "settings.manage"
	// PermOwnAccount covers one's own account: password, sessions, second
	// factor.
	PermOwnAccount Permission = "account.own"
	// PermViewModels covers the model registry's pages and comparisons.
	PermViewModels Permission = "models.view"
	// PermManageModels covers uploading, promoting, staging models and
	// setting their thresholds.
	PermManageModels Permission = "models.manage"
	// PermInvestigate is searching every transaction on the investigate page.
	PermInvestigate Permission = "investigate.view"
	// PermBulkDecide is one decision on many transactions at once.
	PermBulkDecide Permission = "transactions.bulk_decide"
	// PermExport is downloading transactions as CSV.
	PermExport Permission = "transactions.export"
	// PermExportAudit is downloading the audit trail as CSV.
	PermExportAudit Permission = "audit.export"
	// PermViewEntities covers account profiles and their counterparty graph.
	PermViewEntities Permission = "entities.view"
	// PermViewWatchlist covers reading the watchlist and exporting it.
	PermViewWatchlist Permission = "watchlist.view"
	// PermEditWatchlist covers adding accounts to the watchlist and removing
	// them.
	PermEditWatchlist Permission = "watchlist.edit"
	// PermImportWatchlist covers importing a watchlist file.
	PermImportWatchlist Permission = "watchlist.import"
	// PermViewCases covers reading the case list and the case pages.
	PermViewCases Permission = "cases.view"
	// PermWorkCases covers opening cases and working them: notes, status,
	// priority, links, closing, and taking a case (assigning it to oneself).
	PermWorkCases Permission = "cases.work"
	// PermAssignCases is giving a case to someone else (checked by the
	// assign handler beside PermWorkCases).
	PermAssignCases Permission = "cases.assign"
	// PermReopenCases is reopening a closed case.
	PermReopenCases Permission = "cases.reopen"
	// PermManageSLA covers the tenant's SLA policy for cases.
	PermManageSLA Permission = "cases.sla"
	// PermUpload covers uploading transaction files, their history and
	// jobs. A denial is audited (an attempt to upload leaves a trace).
	PermUpload Permission = "transactions.upload"
	// PermViewMonitoring covers reading drift, the cost tuner and alerts.
	PermViewMonitoring Permission = "monitoring.view"
	// PermAckAlerts is acknowledging an alert: whoever works the alerts
	// (analysts and up), not the auditor, who changes nothing.
	PermAckAlerts Permission = "alerts.acknowledge"
	// PermManageAlertRules covers the alert rules and their webhooks.
	PermManageAlertRules Permission = "alert_rules.manage"
	// PermManageCosts is changing the tenant's cost model.
	PermManageCosts Permission = "cost_model.manage"
	// PermViewSettings is the settings hub, which lists only the settings
	// pages the viewer may open.
	PermViewSettings Permission = "settings.view"
	// PermViewReplay is seeing the replay panel (every role).
	PermViewReplay Permission = "replay.view"
	// PermReplay is starting and stopping a replay.
	PermReplay Permission = "replay.run"
)

// matrix maps each role to what it may do. A role not listed may do nothing.
var matrix = map[string]map[Permission]bool{
	store.RoleAnalyst: {
		PermViewHome:       true,
		PermViewQueue:      true,
		PermInvestigate:    true,
		PermExport:         true,
		PermDecide:         true,
		PermOwnAccount:     true,
		PermViewModels:     true,
		PermViewEntities:   true,
		PermViewWatchlist:  true,
		PermViewCases:      true,
		PermWorkCases:      true,
		PermViewMonitoring: true,
		PermAckAlerts:      true,
		PermViewSettings:   true,
		PermViewReplay:     true,
	},
	store.RoleSeniorAnalyst: {
		PermViewHome:       true,
		PermViewQueue:      true,
		PermInvestigate:    true,
		PermDecide:         true,
		PermBulkDecide:     true,
		PermExport:         true,
		PermSubmit:         true,
		PermOwnAccount:     true,
		PermViewModels:     true,
		PermViewEntities:   true,
		PermViewWatchlist:  true,
		PermEditWatchlist:  true,
		PermViewCases:      true,
		PermWorkCases:      true,
		PermAssignCases:    true,
		PermReopenCases:    true,
		PermUpload:         true,
		PermViewMonitoring: true,
		PermAckAlerts:      true,
		PermViewSettings:   true,
		PermViewReplay:     true,
		PermReplay:         true,
	},
	store.RoleAdmin: {
		PermViewHome:         true,
		PermViewQueue:        true,
		PermInvestigate:      true,
		PermDecide:           true,
		PermBulkDecide:       true,
		PermExport:           true,
		PermSubmit:           true,
		PermViewUsers:        true,
		PermViewAudit:        true,
		PermExportAudit:      true,
		PermManageAPIKeys:    true,
		PermManageUsers:      true,
		PermManageSettings:   true,
		PermOwnAccount:       true,
		PermViewModels:       true,
		PermManageModels:     true,
		PermViewEntities:     true,
		PermViewWatchlist:    true,
		PermEditWatchlist:    true,
		PermImportWatchlist:  true,
		PermViewCases:        true,
		PermWorkCases:        true,
		PermAssignCases:      true,
		PermReopenCases:      true,
		PermManageSLA:        true,
		PermUpload:           true,
		PermViewMonitoring:   true,
		PermAckAlerts:        true,
		PermViewSettings:     true,
		PermManageAlertRules: true,
		PermManageCosts:      true,
		PermViewReplay:       true,
		PermReplay:           true,
	},
	// The auditor reads what an analyst reads, the models and the audit
	// trail, and exports; it changes nothing but its own sign-in.
	store.RoleAuditor: {
		PermViewHome:       true,
		PermViewQueue:      true,
		PermInvestigate:    true,
		PermExport:         true,
		PermViewAudit:      true,
		PermExportAudit:    true,
		PermOwnAccount:     true,
		PermViewModels:     true,
		PermViewEntities:   true,
		PermViewWatchlist:  true,
		PermViewCases:      true,
		PermViewMonitoring: true,
		PermViewSettings:   true,
		PermViewReplay:     true,
	},
}

// Can reports whether role may take action p.
func Can(role string, p Permission) bool {
	return matrix[role][p]
}

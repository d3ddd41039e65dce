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
	// PermViewReplay is seeing the replay panel (every role).
	PermViewReplay Permission = "replay.view"
	// PermReplay is starting and stopping a replay.
	PermReplay Permission = "replay.run"
)

// matrix maps each role to what it may do. A role not listed may do nothing.
var matrix = map[string]map[Permission]bool{
	store.RoleAnalyst: {
		PermViewHome:      true,
		PermViewQueue:     true,
		PermInvestigate:   true,
		PermExport:        true,
		PermDecide:        true,
		PermOwnAccount:    true,
		PermViewModels:    true,
		PermViewEntities:  true,
		PermViewWatchlist: true,
		PermViewReplay:    true,
	},
	store.RoleSeniorAnalyst: {
		PermViewHome:      true,
		PermViewQueue:     true,
		PermInvestigate:   true,
		PermDecide:        true,
		PermBulkDecide:    true,
		PermExport:        true,
		PermSubmit:        true,
		PermOwnAccount:    true,
		PermViewModels:    true,
		PermViewEntities:  true,
		PermViewWatchlist: true,
		PermEditWatchlist: true,
		PermViewReplay:    true,
		PermReplay:        true,
	},
	store.RoleAdmin: {
		PermViewHome:        true,
		PermViewQueue:       true,
		PermInvestigate:     true,
		PermDecide:          true,
		PermBulkDecide:      true,
		PermExport:          true,
		PermSubmit:          true,
		PermViewUsers:       true,
		PermViewAudit:       true,
		PermExportAudit:     true,
		PermManageAPIKeys:   true,
		PermManageUsers:     true,
		PermManageSettings:  true,
		PermOwnAccount:      true,
		PermViewModels:      true,
		PermManageModels:    true,
		PermViewEntities:    true,
		PermViewWatchlist:   true,
		PermEditWatchlist:   true,
		PermImportWatchlist: true,
		PermViewReplay:      true,
		PermReplay:          true,
	},
	// The auditor reads what an analyst reads, the models and the audit
	// trail, and exports; it changes nothing but its own sign-in.
	store.RoleAuditor: {
		PermViewHome:      true,
		PermViewQueue:     true,
		PermInvestigate:   true,
		PermExport:        true,
		PermViewAudit:     true,
		PermExportAudit:   true,
		PermOwnAccount:    true,
		PermViewModels:    true,
		PermViewEntities:  true,
		PermViewWatchlist: true,
		PermViewReplay:    true,
	},
}

// Can reports whether role may take action p.
func Can(role string, p Permission) bool {
	return matrix[role][p]
}

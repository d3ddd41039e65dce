package seed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// demoCase is one seeded case: how long ago it was opened, by and for
// whom (role), what happened to it since, and which of the review set's
// transactions it holds (indexes into the highest-risk undecided rows).
type demoCase struct {
	title, description, priority string
	opened                       time.Duration // before now
	creator, assignee            string        // roles; "" for unassigned
	txs                          []int
	notes                        []string
	// then runs after the opening, at now.
	then func(ctx context.Context, t store.Tenant, a store.Actor, c *store.Case, now time.Time) error
}

var demoCases = []demoCase{
	{
		title: "Mule ring cashing out takeover transfers", priority: store.PriorityCritical,
		description: "Three accounts emptied into fresh receivers that cashed out within the hour.",
		opened:      6 * time.Hour, creator: store.RoleAnalyst, assignee: store.RoleSeniorAnalyst, txs: []int{0, 1, 2},
		notes: []string{"Receivers were all opened this week; two share a device.", "Asked the bank for the KYC files of the receivers."},
		then: func(ctx context.Context, t store.Tenant, a store.Actor, c *store.Case, now time.Time) error {
			_, err := store.SetCaseStatus(ctx, t, a, c.ID, store.CaseInvestigating, now.Add(-5*time.Hour))
			return err
		},
	},
	{
		title: "Customer dispute: waiting on the issuing bank", priority: store.PriorityMedium,
		description: "The customer says the transfer was theirs; the bank checks the device used.",
		opened:      20 * time.Hour, creator: store.RoleAnalyst, assignee: store.RoleAnalyst, txs: []int{3},
		notes: []string{"Called the customer; the bank confirms the device within two working days."},
		then: func(ctx context.Context, t store.Tenant, a store.Actor, c *store.Case, now time.Time) error {
			_, err := store.SetCaseStatus(ctx, t, a, c.ID, store.CaseWaiting, now.Add(-8*time.Hour))
			return err
		},
	},
	{
		title: "Card testing burst closed as fraud", priority: store.PriorityHigh,
		description: "Small transfers probing balances before a large cash-out.",
		opened:      30 * time.Hour, creator: store.RoleSeniorAnalyst, assignee: store.RoleAnalyst, txs: []int{4, 5},
		notes: []string{"Pattern matches last month's ring; the receiver is on the blocked list now."},
		then: func(ctx context.Context, t store.Tenant, a store.Actor, c *store.Case, now time.Time) error {
			_, _, err := store.CloseCase(ctx, t, a, c.ID, store.CloseInput{Outcome: store.OutcomeConfirmedFraud,
				Summary: "Confirmed with the customer: none of these were theirs. Card reissued, receiver blocked.", ApplyDecision: true},
				now.Add(-10*time.Hour))
			return err
		},
	},
	{
		title: "Unusual transfer to a new payee", priority: store.PriorityHigh,
		description: "First transfer to this receiver, far above the sender's usual amounts.",
		opened:      2 * time.Hour, creator: store.RoleAnalyst, txs: []int{6},
	},
	{
		title: "Escalated: possible insider at a merchant", priority: store.PriorityLow,
		opened: 50 * time.Hour, creator: store.RoleSeniorAnalyst, assignee: store.RoleAdmin, txs: []int{7},
		then: func(ctx context.Context, t store.Tenant, a store.Actor, c *store.Case, now time.Time) error {
			_, err := store.SetCaseStatus(ctx, t, a, c.ID, store.CaseEscalated, now.Add(-40*time.Hour))
			return err
		},
	},
}

// Cases gives each demo tenant that has no case yet a few cases in
// different states (one overdue, one waiting, one closed with an outcome)
// over its highest-risk undecided transactions, so that the case pages
// show a workload on the first visit. Every step goes through the store
// functions the pages use (timeline and audit included). Running it again
// changes nothing.
func Cases(ctx context.Context, db *store.DB, now time.Time) error {
	return store.AdminSeedLock(ctx, db, func() error {
		for _, dt := range Tenants() {
			row, err := store.AdminTenantBySlug(ctx, db, dt.Slug)
			if err != nil {
				return fmt.Errorf("seed: tenant %s: %w", dt.Slug, err)
			}
			t := store.ForTenant(db, row.ID)
			if err := demoTenantCases(ctx, db, t, dt, now.UTC()); err != nil {
				return fmt.Errorf("seed: cases of %s: %w", dt.Slug, err)
			}
		}
		return nil
	})
}

func demoTenantCases(ctx context.Context, db *store.DB, t store.Tenant, dt DemoTenant, now time.Time) error {
	existing, err := store.ListCases(ctx, t, store.CaseFilter{Status: store.CaseStatusAny, Now: now, Limit: 1})
	if err != nil || len(existing) > 0 {
		return err
	}
	page, err := store.ListQueue(ctx, t, store.QueueFilter{Review: true, Limit: 20})
	if err != nil {
		return err
	}
	if len(page.Rows) < 8 {
		return nil // no traffic to investigate yet
	}
	actors := map[string]store.Actor{}
	for _, du := range dt.Users {
		u, err := store.AdminFindLoginUser(ctx, db, du.Email)
		if err != nil {
			return err
		}
		actors[du.Role] = store.Actor{UserID: u.ID, Email: u.Email, UserAgent: "sentinel seed"}
	}
	for _, dc := range demoCases {
		in := store.CaseInput{Title: dc.title, Description: dc.description, Priority: dc.priority, AssigneeID: actors[dc.assignee].UserID}
		for _, i := range dc.txs {
			tx := page.Rows[i].Transaction
			in.TransactionIDs = append(in.TransactionIDs, tx.ID)
			in.Accounts = append(in.Accounts, tx.NameDest)
		}
		a := actors[dc.creator]
		opened := now.Add(-dc.opened)
		c, err := store.OpenCase(ctx, t, a, in, opened)
		if err != nil {
			return err
		}
		for i, n := range dc.notes {
			if _, err := store.AddCaseNote(ctx, t, a, c.ID, n, opened.Add(time.Duration(i+1)*20*time.Minute)); err != nil {
				return err
			}
		}
		if dc.then != nil {
			if err := dc.then(ctx, t, a, c, now); err != nil {
				return err
			}
		}
	}
	slog.Info("demo cases opened", "tenant", dt.Slug, "cases", len(demoCases))
	return nil
}

package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// caseFixture is two tenants, tenant a with four scored transactions
// (tenant b with one), and an actor of each.
type caseFixture struct {
	a, b           store.Tenant
	actorA, actorB store.Actor
	ua             *store.User
	txs, otherTxs  []store.Transaction
}

func newCaseFixture(t *testing.T, db *store.DB) caseFixture {
	t.Helper()
	ctx := context.Background()
	a, b, ua, ub := twoTenants(t, db)
	f := caseFixture{a: a, b: b, ua: ua, actorA: store.Actor{UserID: ua.ID, Email: ua.Email}, actorB: store.Actor{UserID: ub.ID, Email: ub.Email}}
	for _, tn := range []struct {
		t   store.Tenant
		n   int
		out *[]store.Transaction
	}{{a, 4, &f.txs}, {b, 1, &f.otherTxs}} {
		mv, err := store.RegisterModel(ctx, tn.t, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
		if err != nil {
			t.Fatal(err)
		}
		txs, ps := scoredRows(mv, "case"+tn.t.ID()[:4], tn.n)
		if tn.t.ID() == b.ID() {
			txs[0].NameOrig = "CB-ONLY"
		}
		if err := store.SaveScoredBatch(ctx, tn.t, txs, ps); err != nil {
			t.Fatal(err)
		}
		*tn.out = txs
	}
	return f
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func timelineKinds(t *testing.T, tn store.Tenant, id string) []string {
	t.Helper()
	d, err := store.GetCaseDetail(context.Background(), tn, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range d.Events {
		out = append(out, e.Kind)
	}
	return out
}

func TestCaseSLA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		t.Run("the due time follows the default policy of each priority", func(t *testing.T) {
			for p, d := range map[string]time.Duration{"critical": 4 * time.Hour, "high": 24 * time.Hour, "medium": 72 * time.Hour, "low": 168 * time.Hour} {
				c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "sla " + p, Priority: p}, t0)
				if err != nil {
					t.Fatal(err)
				}
				if !c.DueAt.Equal(t0.Add(d)) {
					t.Errorf("OpenCase(%s).DueAt = %v, want %v", p, c.DueAt, t0.Add(d))
				}
			}
		})
		t.Run("the admin's policy sets the due time and a priority change recomputes it from the opening", func(t *testing.T) {
			if err := store.SetSLAPolicy(ctx, f.a, f.actorA, map[string]time.Duration{"high": 2 * time.Hour, "low": 10 * time.Hour}, t0); err != nil {
				t.Fatal(err)
			}
			c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "policy", Priority: "high"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(2 * time.Hour); !c.DueAt.Equal(want) {
				t.Errorf("DueAt = %v, want %v", c.DueAt, want)
			}
			c, err = store.SetCasePriority(ctx, f.a, f.actorA, c.ID, "low", t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(10 * time.Hour); !c.DueAt.Equal(want) {
				t.Errorf("after priority low: DueAt = %v, want %v", c.DueAt, want)
			}
			// Tenant b keeps the defaults.
			pb, _ := store.SLAPolicy(ctx, f.b)
			if pb["high"] != 24*time.Hour {
				t.Errorf("tenant b's high = %v, want the default 24h", pb["high"])
			}
		})
		t.Run("waiting pauses the clock and resuming adds the pause", func(t *testing.T) {
			c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "pause", Priority: "critical"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			c, err = store.SetCaseStatus(ctx, f.a, f.actorA, c.ID, store.CaseWaiting, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if c.PausedAt == nil || !c.SortDue.Equal(store.NoDue) {
				t.Fatalf("waiting: PausedAt = %v, SortDue = %v", c.PausedAt, c.SortDue)
			}
			if got, _ := store.GetCase(ctx, f.a, c.ID); !got.UpdatedAt.Equal(t0.Add(time.Hour)) || got.TransactionCount != 0 {
				t.Errorf("stored UpdatedAt = %v, want the change's time %v", got.UpdatedAt, t0.Add(time.Hour))
			}
			// Five hours later: past the original due time, but paused.
			if late := t0.Add(6 * time.Hour); c.Overdue(late) || c.Remaining(late) != 3*time.Hour {
				t.Errorf("paused: Overdue = %v, Remaining = %v; want false, 3h", c.Overdue(late), c.Remaining(late))
			}
			c, err = store.SetCaseStatus(ctx, f.a, f.actorA, c.ID, store.CaseInvestigating, t0.Add(6*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(9 * time.Hour); !c.DueAt.Equal(want) || c.PausedSeconds != 5*3600 || c.PausedAt != nil {
				t.Errorf("resumed: DueAt = %v (want %v), PausedSeconds = %d", c.DueAt, want, c.PausedSeconds)
			}
			// A priority change keeps the pause.
			c, err = store.SetCasePriority(ctx, f.a, f.actorA, c.ID, "medium", t0.Add(7*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(72*time.Hour + 5*time.Hour); !c.DueAt.Equal(want) {
				t.Errorf("priority after pause: DueAt = %v, want %v", c.DueAt, want)
			}
		})
		t.Run("overdue cases get one breach in their timeline", func(t *testing.T) {
			c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "breach", Priority: "critical"}, t0.Add(100*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			before := t0.Add(103 * time.Hour)
			if n, err := store.RecordBreaches(ctx, f.a, before); err != nil || slices.Contains(timelineKinds(t, f.a, c.ID), store.CaseEventBreach) {
				t.Fatalf("before due: RecordBreaches() = %d, %v; timeline %v", n, err, timelineKinds(t, f.a, c.ID))
			}
			late := t0.Add(105 * time.Hour)
			for range 3 {
				if _, err := store.RecordBreaches(ctx, f.a, late); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(timelineKinds(t, f.a, c.ID), store.CaseEventBreach); n != 1 {
				t.Errorf("breaches in the timeline = %d, want 1", n)
			}
			if got, _ := store.GetCase(ctx, f.a, c.ID); !got.UpdatedAt.Equal(c.UpdatedAt) || got.BreachRecordedAt == nil {
				t.Errorf("after the breach: UpdatedAt = %v (want %v unchanged), BreachRecordedAt = %v", got.UpdatedAt, c.UpdatedAt, got.BreachRecordedAt)
			}
			// Tenant b's reading writes nothing of a's.
			if n, err := store.RecordBreaches(ctx, f.b, late); err != nil || n != 0 {
				t.Errorf("RecordBreaches as b = %d, %v", n, err)
			}
		})
	})
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestCaseStatusTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "moves", Priority: "high"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			to   string
			want error
		}{
			{store.CaseClosed, store.ErrBadTransition}, // closing has its own route
			{store.CaseOpen, store.ErrBadTransition},
			{store.CaseInvestigating, nil},
			{store.CaseOpen, store.ErrBadTransition},
			{store.CaseWaiting, nil},
			{store.CaseEscalated, nil},
			{"bogus", store.ErrBadTransition},
		}
		for i, s := range steps {
			_, err := store.SetCaseStatus(ctx, f.a, f.actorA, c.ID, s.to, t0.Add(time.Duration(i)*time.Minute))
			if !errors.Is(err, s.want) {
				t.Errorf("step %d to %s: error = %v, want %v", i, s.to, err, s.want)
			}
		}
		if _, err := store.ReopenCase(ctx, f.a, f.actorA, c.ID, t0); !errors.Is(err, store.ErrCaseNotClosed) {
			t.Errorf("ReopenCase(open) = %v, want ErrCaseNotClosed", err)
		}
		if _, _, err := store.CloseCase(ctx, f.a, f.actorA, c.ID, store.CloseInput{Outcome: "bogus"}, t0); !errors.Is(err, store.ErrBadOutcome) {
			t.Errorf("CloseCase(bogus) = %v", err)
		}
		if _, _, err := store.CloseCase(ctx, f.a, f.actorA, c.ID, store.CloseInput{Outcome: store.OutcomeNoAction, Summary: "nothing"}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for name, fn := range map[string]func() error{
			"status": func() error {
				_, err := store.SetCaseStatus(ctx, f.a, f.actorA, c.ID, store.CaseInvestigating, t0)
				return err
			},
			"priority": func() error { _, err := store.SetCasePriority(ctx, f.a, f.actorA, c.ID, "low", t0); return err },
			"close": func() error {
				_, _, err := store.CloseCase(ctx, f.a, f.actorA, c.ID, store.CloseInput{Outcome: store.OutcomeNoAction}, t0)
				return err
			},
		} {
			if err := fn(); !errors.Is(err, store.ErrCaseClosed) {
				t.Errorf("%s on a closed case = %v, want ErrCaseClosed", name, err)
			}
		}
		r, err := store.ReopenCase(ctx, f.a, f.actorA, c.ID, t0.Add(3*time.Hour))
		if err != nil || r.Status != store.CaseOpen || r.Outcome != "" {
			t.Fatalf("ReopenCase() = %+v, %v", r, err)
		}
		want := []string{"opened", "status", "status", "status", "status", "closed", "reopened"}
		if got := timelineKinds(t, f.a, c.ID); !slices.Equal(got, want) {
			t.Errorf("timeline = %v, want %v", got, want)
		}
	})
}

func TestCaseLinksStayInTheTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		_, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "x", Priority: "low", TransactionIDs: []string{f.otherTxs[0].ID}}, t0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OpenCase with b's transaction = %v, want ErrNotFound", err)
		}
		_, err = store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "x", Priority: "low", Accounts: []string{"CB-ONLY"}}, t0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OpenCase with b's account = %v, want ErrNotFound", err)
		}
		c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "x", Priority: "low",
			TransactionIDs: []string{f.txs[0].ID}, Accounts: []string{f.txs[0].NameOrig}}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.LinkCaseTransaction(ctx, f.a, f.actorA, c.ID, f.otherTxs[0].ID, t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LinkCaseTransaction(b's) = %v, want ErrNotFound", err)
		}
		if _, err := store.LinkCaseAccount(ctx, f.a, f.actorA, c.ID, "CB-ONLY", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LinkCaseAccount(b's) = %v, want ErrNotFound", err)
		}
		if _, err := store.LinkCaseTransaction(ctx, f.a, f.actorA, c.ID, f.txs[0].ID, t0); !errors.Is(err, store.ErrLinked) {
			t.Errorf("LinkCaseTransaction twice = %v, want ErrLinked", err)
		}
		if _, err := store.AssignCase(ctx, f.a, f.actorA, c.ID, f.actorB.UserID, false, t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AssignCase(b's user) = %v, want ErrNotFound", err)
		}
		// Tenant b sees nothing of a's case.
		if _, err := store.GetCase(ctx, f.b, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCase as b = %v", err)
		}
		if _, err := store.GetCaseDetail(ctx, f.b, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCaseDetail as b = %v", err)
		}
		if _, err := store.AddCaseNote(ctx, f.b, f.actorB, c.ID, "hi", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddCaseNote as b = %v", err)
		}
		rows, err := store.ListCases(ctx, f.b, store.CaseFilter{Status: store.CaseStatusAny, Now: t0})
		if err != nil || len(rows) != 0 {
			t.Errorf("ListCases as b = %d rows, %v", len(rows), err)
		}
		if c.TransactionCount != 1 {
			t.Errorf("TransactionCount = %d, want 1", c.TransactionCount)
		}
		c1, err := store.LinkCaseTransaction(ctx, f.a, f.actorA, c.ID, f.txs[1].ID, t0)
		if err != nil || c1.TransactionCount != 2 {
			t.Fatalf("LinkCaseTransaction() = %v; count %d, want 2", err, c1.TransactionCount)
		}
		// Unlink, and the timeline has every change.
		if _, err := store.UnlinkCaseTransaction(ctx, f.a, f.actorA, c.ID, f.txs[1].ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.UnlinkCaseTransaction(ctx, f.a, f.actorA, c.ID, f.txs[0].ID, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.GetCase(ctx, f.a, c.ID); got.TransactionCount != 0 {
			t.Errorf("TransactionCount after unlinking both = %d, want 0", got.TransactionCount)
		}
		if _, err := store.UnlinkCaseAccount(ctx, f.a, f.actorA, c.ID, f.txs[0].NameOrig, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddCaseNote(ctx, f.a, f.actorA, c.ID, "checked", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AssignCase(ctx, f.a, f.actorA, c.ID, f.ua.ID, false, t0); err != nil {
			t.Fatal(err)
		}
		want := []string{"opened", "transaction_added", "account_added", "transaction_added", "transaction_removed", "transaction_removed", "account_removed", "note", "assignee"}
		if got := timelineKinds(t, f.a, c.ID); !slices.Equal(got, want) {
			t.Errorf("timeline = %v, want %v", got, want)
		}
		audit, err := store.ListAudit(ctx, f.a, store.AuditFilter{Action: "case", Limit: 100})
		if err != nil || len(audit) != len(want) {
			t.Errorf("case audit events = %d, %v; want %d", len(audit), err, len(want))
		}
	})
}

func TestClosingAppliesTheDecision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		if _, err := store.Decide(ctx, f.a, f.actorA, f.txs[1].ID, store.DecisionEscalated, "already looked"); err != nil {
			t.Fatal(err)
		}
		ids := []string{f.txs[0].ID, f.txs[1].ID, f.txs[2].ID}
		c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "ring", Priority: "high", TransactionIDs: ids}, t0)
		if err != nil {
			t.Fatal(err)
		}
		_, n, err := store.CloseCase(ctx, f.a, f.actorA, c.ID, store.CloseInput{Outcome: store.OutcomeConfirmedFraud, Summary: "mule ring", ApplyDecision: true}, t0.Add(time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("CloseCase() decided %d, %v; want 2", n, err)
		}
		for i, want := range []string{store.DecisionConfirmedFraud, store.DecisionEscalated, store.DecisionConfirmedFraud, ""} {
			s, err := store.GetScored(ctx, f.a, f.txs[i].ID)
			if err != nil || s.Transaction.Label != want {
				t.Errorf("transaction %d label = %q, %v; want %q", i, s.Transaction.Label, err, want)
			}
		}
		decisions, _ := store.ListDecisions(ctx, f.a, f.txs[0].ID)
		if len(decisions) != 1 || decisions[0].Rationale != "Case #1 closed: mule ring" {
			t.Errorf("decisions of tx 0 = %+v", decisions)
		}
		audit, _ := store.ListAudit(ctx, f.a, store.AuditFilter{Action: store.ActionDecision, Limit: 100})
		if len(audit) != 3 { // the escalation and the two from the case
			t.Errorf("decision audit events = %d, want 3", len(audit))
		}
		// A failing close changes nothing: no label, no event.
		c2, _ := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "other", Priority: "high", TransactionIDs: []string{f.txs[3].ID}}, t0)
		if _, _, err := store.CloseCase(ctx, f.a, f.actorA, c2.ID, store.CloseInput{Outcome: "bogus", ApplyDecision: true}, t0); err == nil {
			t.Fatal("CloseCase(bogus) succeeded")
		}
		if s, _ := store.GetScored(ctx, f.a, f.txs[3].ID); s.Transaction.Label != "" {
			t.Errorf("label after a refused close = %q", s.Transaction.Label)
		}
	})
}

func TestListCasesFiltersAndCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		open := func(title, p string, at time.Time, assignee string) *store.Case {
			c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: title, Priority: p, AssigneeID: assignee}, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		now := t0.Add(48 * time.Hour)
		late := open("Late mule ring", "critical", t0, f.ua.ID)                       // due t0+4h: overdue
		soon := open("Soon takeover", "high", t0.Add(30*time.Hour), "")               // due t0+54h: within 24h
		later := open("Later card test", "low", t0.Add(47*time.Hour), f.ua.ID)        // due in a week
		waiting := open("Waiting on bank", "medium", t0.Add(40*time.Hour), "")        // paused below
		closed := open("Closed mule ring", "critical", t0.Add(40*time.Hour), f.ua.ID) // closed below
		if _, err := store.SetCaseStatus(ctx, f.a, f.actorA, waiting.ID, store.CaseWaiting, t0.Add(41*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.CloseCase(ctx, f.a, f.actorA, closed.ID, store.CloseInput{Outcome: store.OutcomeSARFiled, Summary: "filed"}, t0.Add(42*time.Hour)); err != nil {
			t.Fatal(err)
		}
		ids := func(rows []store.CaseRow) []string {
			var out []string
			for _, r := range rows {
				out = append(out, r.Title)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    store.CaseFilter
			want []string
		}{
			{"active cases by due time, stopped clocks last", store.CaseFilter{}, []string{late.Title, soon.Title, later.Title, waiting.Title}},
			{"any status", store.CaseFilter{Status: store.CaseStatusAny}, []string{late.Title, soon.Title, later.Title, closed.Title, waiting.Title}},
			{"closed", store.CaseFilter{Status: store.CaseClosed}, []string{closed.Title}},
			{"critical", store.CaseFilter{Priority: "critical"}, []string{late.Title}},
			{"mine", store.CaseFilter{Assignee: store.AssigneeMe, UserID: f.ua.ID}, []string{late.Title, later.Title}},
			{"unassigned", store.CaseFilter{Assignee: store.AssigneeNone}, []string{soon.Title, waiting.Title}},
			{"by user", store.CaseFilter{Status: store.CaseStatusAny, Assignee: f.ua.ID}, []string{late.Title, later.Title, closed.Title}},
			{"overdue", store.CaseFilter{Overdue: true}, []string{late.Title}},
			{"due within 24h", store.CaseFilter{DueSoon: true}, []string{soon.Title}},
			{"title text, any case", store.CaseFilter{Status: store.CaseStatusAny, Text: "MULE"}, []string{late.Title, closed.Title}},
			{"title text with a wildcard is literal", store.CaseFilter{Text: "%"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.Now = now
				rows, err := store.ListCases(ctx, f.a, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(rows); !slices.Equal(got, tc.want) {
					t.Errorf("ListCases() = %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("keyset pages walk every case once", func(t *testing.T) {
			var got []string
			after := ""
			for {
				rows, err := store.ListCases(ctx, f.a, store.CaseFilter{Status: store.CaseStatusAny, Now: now, After: after, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				page := rows[:min(2, len(rows))]
				got = append(got, ids(page)...)
				if len(rows) <= 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			want := []string{late.Title, soon.Title, later.Title, closed.Title, waiting.Title}
			if !slices.Equal(got, want) {
				t.Errorf("pages = %v, want %v", got, want)
			}
		})
		t.Run("counts", func(t *testing.T) {
			c, err := store.CountCases(ctx, f.a, f.ua.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			if want := (store.CaseCounts{Open: 4, Overdue: 1, Critical: 1, Unassigned: 2, Mine: 2}); c != want {
				t.Errorf("CountCases() = %+v, want %+v", c, want)
			}
			cb, err := store.CountCases(ctx, f.b, f.ua.ID, now)
			if err != nil || cb != (store.CaseCounts{}) {
				t.Errorf("CountCases as b = %+v, %v", cb, err)
			}
		})
	})
}

func TestAnAnalystTakesOnlyFreeCasesAndGivesUpOnlyTheirOwn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		other, err := store.CreateUser(ctx, f.a, store.NewUser{Email: "other@example.test", Name: "Other", Role: store.RoleAnalyst, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		analyst := store.Actor{UserID: other.ID, Email: other.Email}
		c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "ring", Priority: "high", AssigneeID: f.ua.ID}, t0)
		if err != nil {
			t.Fatal(err)
		}
		// The case is someone else's: taking it, or giving it away, is refused.
		for _, to := range []string{other.ID, ""} {
			if _, err := store.AssignCase(ctx, f.a, analyst, c.ID, to, true, t0); !errors.Is(err, store.ErrNotYourCase) {
				t.Errorf("analyst assigning another's case to %q = %v, want ErrNotYourCase", to, err)
			}
		}
		if got, _ := store.GetCase(ctx, f.a, c.ID); got.AssigneeID == nil || *got.AssigneeID != f.ua.ID {
			t.Fatalf("the refused change moved the case: %+v", got.AssigneeID)
		}
		// Free, the analyst takes it, may not hand it to someone else, and
		// gives it up.
		if _, err := store.AssignCase(ctx, f.a, f.actorA, c.ID, "", false, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AssignCase(ctx, f.a, analyst, c.ID, other.ID, true, t0); err != nil {
			t.Fatalf("analyst taking a free case = %v", err)
		}
		if _, err := store.AssignCase(ctx, f.a, analyst, c.ID, f.ua.ID, true, t0); !errors.Is(err, store.ErrNotYourCase) {
			t.Errorf("analyst handing their case to another = %v, want ErrNotYourCase", err)
		}
		if _, err := store.AssignCase(ctx, f.a, analyst, c.ID, "", true, t0); err != nil {
			t.Fatalf("analyst giving up their case = %v", err)
		}
	})
}

func TestAChangeThatChangesNothingKeepsTheCaseTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newCaseFixture(t, db)
		c, err := store.OpenCase(ctx, f.a, f.actorA, store.CaseInput{Title: "ring", Priority: "high"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := store.GetCase(ctx, f.a, c.ID)
		if _, err := store.SetCasePriority(ctx, f.a, f.actorA, c.ID, "high", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AssignCase(ctx, f.a, f.actorA, c.ID, "", false, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		after, _ := store.GetCase(ctx, f.a, c.ID)
		if !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("updated_at moved from %v to %v with nothing changed", before.UpdatedAt, after.UpdatedAt)
		}
	})
}

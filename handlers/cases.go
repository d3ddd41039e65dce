package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	casePageSize = 50
	// maxCaseTitle and maxCaseText are the longest title and the longest
	// description, note or summary, in characters.
	maxCaseTitle = 200
	maxCaseText  = 5000
	// maxCaseLinks is the most transactions (or accounts) a case opens with.
	maxCaseLinks = 500
)

// caseFilter reads the list's filters from the query string.
func caseFilter(q url.Values, userID string, now time.Time) (store.CaseFilter, views.CaseFilters) {
	f := store.CaseFilter{UserID: userID, Now: now}
	if s := q.Get("status"); s == store.CaseStatusAny || slices.Contains(store.CaseStatuses, s) {
		f.Status = s
	}
	if p := q.Get("priority"); slices.Contains(store.CasePriorities, p) {
		f.Priority = p
	}
	f.Assignee = strings.TrimSpace(q.Get("assignee"))
	f.Overdue = q.Get("overdue") != ""
	f.DueSoon = q.Get("due") != ""
	f.Text = strings.TrimSpace(q.Get("q"))
	return f, views.CaseFilters{Status: f.Status, Priority: f.Priority, Assignee: f.Assignee, Overdue: f.Overdue, DueSoon: f.DueSoon, Text: f.Text}
}

// caseQuery writes the filters back as a query string.
func caseQuery(f store.CaseFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "priority": f.Priority, "assignee": f.Assignee, "q": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Overdue {
		q.Set("overdue", "1")
	}
	if f.DueSoon {
		q.Set("due", "24h")
	}
	return q
}

// countdown says how the case stands against its due time at now.
func countdown(c *store.Case, now time.Time) string {
	left := c.Remaining(now)
	switch {
	case c.Status == store.CaseClosed && left < 0:
		return "closed " + span(-left) + " after the due time"
	case c.Status == store.CaseClosed:
		return "closed with " + span(left) + " to spare"
	case c.PausedAt != nil && left < 0:
		return "overdue by " + span(-left) + "; clock paused while waiting"
	case c.PausedAt != nil:
		return "clock paused while waiting: " + span(left) + " left"
	case left < 0:
		return "overdue by " + span(-left)
	}
	return "due in " + span(left)
}

// span writes a duration in days, hours and minutes, the two largest.
func span(d time.Duration) string {
	m := int64(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case days > 0:
		return fmt.Sprintf("%d d", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d h", hours)
	}
	return fmt.Sprintf("%d min", mins)
}

// assigneeOptions are the users a case may go to (for analysts: only
// themselves), labelled with their name and role.
func assigneeOptions(ctx context.Context, p *principal) ([]views.Option, error) {
	users, err := store.AssignableUsers(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	var out []views.Option
	for _, u := range users {
		if u.ID != p.User.ID && !Can(p.User.Role, PermAssignCases) {
			continue
		}
		out = append(out, views.Option{Value: u.ID, Label: u.Name + " (" + roleLabel(u.Role) + ")"})
	}
	return out, nil
}

// CaseList is the case list, or (for htmx) its filtered table. It writes
// caseCounts are the case load's counts, each linked to its filter of the
// case list at list.
func caseCounts(list templ.SafeURL, counts store.CaseCounts) []views.CaseCount {
	link := func(q url.Values) string { return string(views.WithQuery(list, q)) }
	return []views.CaseCount{
		{Label: "Open", Value: thousands(counts.Open), Href: link(nil), TestID: "count-open"},
		{Label: "Overdue", Value: thousands(counts.Overdue), Href: link(url.Values{"overdue": {"1"}}), TestID: "count-overdue", Alert: counts.Overdue > 0},
		{Label: "Critical", Value: thousands(counts.Critical), Href: link(url.Values{"priority": {store.PriorityCritical}}), TestID: "count-critical"},
		{Label: "Unassigned", Value: thousands(counts.Unassigned), Href: link(url.Values{"assignee": {store.AssigneeNone}}), TestID: "count-unassigned"},
		{Label: "Mine", Value: thousands(counts.Mine), Href: link(url.Values{"assignee": {store.AssigneeMe}}), TestID: "count-mine"},
	}
}

// the breaches of cases that came past due first (store.RecordBreaches).
func (s *Server) CaseList(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	now := s.now()
	if _, err := store.RecordBreaches(ctx, p.Tenant, now); err != nil {
		return err
	}
	f, vf := caseFilter(c.QueryParams(), p.User.ID, now)
	if a := f.Assignee; a != "" && a != store.AssigneeMe && a != store.AssigneeNone {
		if _, err := store.GetUser(ctx, p.Tenant, a); err != nil {
			return err // another tenant's user: 404
		}
	}
	f.After, f.Limit = c.QueryParam("after"), casePageSize
	rows, err := store.ListCases(ctx, p.Tenant, f)
	if err != nil {
		return err
	}
	props := views.CasesProps{Filters: vf}
	for i := range rows[:min(len(rows), casePageSize)] {
		r := &rows[i]
		props.Rows = append(props.Rows, views.CaseListRow{ID: r.ID, Number: r.Number, Title: r.Title,
			Status: r.Status, StatusLabel: word(caseStatusWords, r.Status), Priority: r.Priority, PriorityLabel: word(casePriorityWords, r.Priority),
			Assignee: r.AssigneeName, Due: formatTime(&r.DueAt), Countdown: countdown(&r.Case, now), Overdue: r.Overdue(now),
			Transactions: r.TransactionCount, Updated: formatTime(&r.UpdatedAt)})
	}
	list := views.URL(ctx, "CaseList")
	if len(rows) > casePageSize {
		next := caseQuery(f)
		next.Set("after", rows[casePageSize-1].ID)
		props.NextHref = string(views.WithQuery(list, next))
	}
	if f.After != "" {
		props.FirstHref = string(views.WithQuery(list, caseQuery(f)))
	}
	counts, err := store.CountCases(ctx, p.Tenant, p.User.ID, now)
	if err != nil {
		return err
	}
	props.Counts = caseCounts(list, counts)
	if len(rows) == 0 && counts.Open == 0 {
		any, err := store.HasCases(ctx, p.Tenant)
		if err != nil {
			return err
		}
		props.NoneYet = !any
	}
	props.Statuses = append([]views.Option{{Value: store.CaseStatusActive, Label: "Not closed"}, {Value: store.CaseStatusAny, Label: "Any"}},
		options(store.CaseStatuses, caseStatusWords)...)
	props.Priorities = options(store.CasePriorities, casePriorityWords)
	props.Assignees = []views.Option{{Value: "", Label: "Anyone"}, {Value: store.AssigneeMe, Label: "Me"}, {Value: store.AssigneeNone, Label: "Unassigned"}}
	users, err := store.ListUsers(ctx, p.Tenant)
	if err != nil {
		return err
	}
	for _, u := range users {
		props.Assignees = append(props.Assignees, views.Option{Value: u.ID, Label: u.Name})
	}
	if Can(p.User.Role, PermWorkCases) {
		props.NewHref = routePath(c, "CaseNew")
	}
	if Can(p.User.Role, PermManageSLA) {
		props.SLAHref = routePath(c, "SLAShow")
	}
	return render(c, http.StatusOK, views.CasesPage(props), views.CaseResults(props))
}

// slaWords says the tenant's time to resolve each priority.
func slaWords(policy map[string]time.Duration) string {
	parts := make([]string, len(store.CasePriorities))
	for i, pr := range store.CasePriorities {
		parts[i] = strings.ToLower(casePriorityWords[pr]) + " " + span(policy[pr])
	}
	return "Due after (SLA policy): " + strings.Join(parts, ", ") + "."
}

// caseNewProps is the new-case form with the transactions and accounts
// it was opened from; one of them the tenant does not have is 404.
func (s *Server) caseNewProps(c echo.Context, txIDs, accounts []string) (views.CaseNewProps, error) {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	props := views.CaseNewProps{Priority: store.PriorityMedium, Priorities: options(store.CasePriorities, casePriorityWords)}
	if len(txIDs) > maxCaseLinks || len(accounts) > maxCaseLinks {
		return props, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("A case opens with at most %d transactions and %d accounts.", maxCaseLinks, maxCaseLinks))
	}
	for _, id := range txIDs {
		sc, err := store.GetScored(ctx, p.Tenant, id)
		if err != nil {
			return props, err
		}
		t := sc.Transaction
		props.Transactions = append(props.Transactions, views.CaseNewTx{ID: t.ID,
			Label: fmt.Sprintf("%s · %s of %s · %s → %s", t.ExternalID, t.Type, scoring.FormatAmount(t.Amount), t.NameOrig, t.NameDest)})
	}
	props.Accounts = accounts
	var err error
	if props.Assignees, err = assigneeOptions(ctx, p); err != nil {
		return props, err
	}
	policy, err := store.SLAPolicy(ctx, p.Tenant)
	if err != nil {
		return props, err
	}
	props.SLA = slaWords(policy)
	return props, nil
}

// CaseNew is the form that opens a case, filled in from the query:
// transaction_id and account, repeated (the transaction and entity pages
// link to it). CaseNewSelected is the same form for the rows selected on
// the investigate page (posted as id).
func (s *Server) CaseNew(c echo.Context) error {
	q := c.QueryParams()
	props, err := s.caseNewProps(c, dedupe(q["transaction_id"]), dedupe(q["account"]))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.CaseNewPage(props), nil)
}

// CaseNewSelected is CaseNew for investigate's selected rows.
func (s *Server) CaseNewSelected(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	ids := dedupe(append(form["id"], form["transaction_id"]...))
	props, err := s.caseNewProps(c, ids, dedupe(form["account"]))
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		props.Title = fmt.Sprintf("Investigation of %d transactions", len(ids))
	} else {
		props.Error = "No row was selected: tick the rows to put in the case, or open it empty."
	}
	return render(c, http.StatusOK, views.CaseNewPage(props), nil)
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// textProblem checks a required (or optional) text field.
func textProblem(field, s string, max int, required bool) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		return fmt.Sprintf("Write the %s.", field)
	case n > max:
		return fmt.Sprintf("The %s is %d characters; keep it to %d.", field, n, max)
	}
	return freeTextProblem(field, s)
}

// CaseCreate opens a case from the form. A transaction, account or
// assignee the tenant does not have answers 404; an analyst may give the
// case only to themselves.
func (s *Server) CaseCreate(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := store.CaseInput{Title: strings.TrimSpace(form.Get("title")), Description: strings.TrimSpace(form.Get("description")),
		Priority: form.Get("priority"), AssigneeID: strings.TrimSpace(form.Get("assignee")),
		TransactionIDs: dedupe(form["transaction_id"]), Accounts: dedupe(form["account"])}
	if in.AssigneeID != "" && in.AssigneeID != p.User.ID && !Can(p.User.Role, PermAssignCases) {
		return echo.NewHTTPError(http.StatusForbidden, "Analysts may give a case only to themselves; a senior analyst or an admin assigns it to others.")
	}
	problem := textProblem("title", in.Title, maxCaseTitle, true)
	if problem == "" {
		problem = textProblem("description", in.Description, maxCaseText, false)
	}
	if problem == "" && !slices.Contains(store.CasePriorities, in.Priority) {
		problem = "Choose a priority: critical, high, medium or low."
	}
	var created *store.Case
	if problem == "" {
		created, err = store.OpenCase(ctx, p.Tenant, actorOf(c, p), in, s.now())
		if errors.Is(err, store.ErrBadAssignee) {
			problem = "Cases go to active analysts, senior analysts and admins; choose another assignee."
		} else if err != nil {
			return err
		}
	}
	if problem != "" {
		props, err := s.caseNewProps(c, in.TransactionIDs, in.Accounts)
		if err != nil {
			return err
		}
		props.Title, props.Description, props.Priority, props.Assignee, props.Error = in.Title, in.Description, in.Priority, in.AssigneeID, problem
		return render(c, http.StatusUnprocessableEntity, views.CaseNewPage(props), nil)
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "CaseShow", created.ID))
}

// CaseShow is the case page. It writes the breach of a case that came
// past due first (store.RecordBreaches).
func (s *Server) CaseShow(c echo.Context) error {
	p := currentPrincipal(c)
	if _, err := store.RecordBreaches(c.Request().Context(), p.Tenant, s.now()); err != nil {
		return err
	}
	props, err := s.caseProps(c, c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.CasePage(props), views.CaseBody(props))
}

// caseProps builds the case page.
func (s *Server) caseProps(c echo.Context, id string) (views.CaseProps, error) {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	d, err := store.GetCaseDetail(ctx, p.Tenant, id)
	if err != nil {
		return views.CaseProps{}, err
	}
	now := s.now()
	props := views.CaseProps{ID: d.ID, Number: d.Number, Title: d.Title, Description: d.Description,
		Status: d.Status, StatusLabel: word(caseStatusWords, d.Status), Priority: d.Priority, PriorityLabel: word(casePriorityWords, d.Priority),
		Assignee: d.AssigneeName, Creator: d.CreatorName, Opened: formatTime(&d.OpenedAt), Due: formatTime(&d.DueAt),
		Countdown: countdown(&d.Case, now), Overdue: d.Overdue(now), Paused: d.PausedAt != nil && d.Status != store.CaseClosed,
		Summary: d.Summary, Closer: d.CloserName, SelfID: p.User.ID,
		CanWork: Can(p.User.Role, PermWorkCases), CanAssignOthers: Can(p.User.Role, PermAssignCases), CanReopen: Can(p.User.Role, PermReopenCases),
		Priorities: options(store.CasePriorities, casePriorityWords), Outcomes: options(store.CaseOutcomes, caseOutcomeWords),
		Transitions: options(store.CaseTransitions(d.Status), caseStatusWords)}
	if d.AssigneeID != nil {
		props.AssigneeID = *d.AssigneeID
	}
	if d.Outcome != "" {
		props.Outcome = word(caseOutcomeWords, d.Outcome)
		props.Closed = formatTime(d.ClosedAt)
	}
	for _, t := range d.Transactions {
		props.Transactions = append(props.Transactions, views.CaseTxRow{ID: t.ID, ExternalID: t.ExternalID, Type: t.Type,
			Amount: scoring.FormatAmount(t.Amount), Sender: t.NameOrig, Receiver: t.NameDest, Received: formatTime(&t.ReceivedAt),
			Score: scoring.FormatScore(t.Score), Band: t.Band, Decision: decisionLabel(t.Label), Undecided: t.Label == ""})
		if t.Label == "" {
			props.Undecided++
		}
	}
	for _, a := range d.Accounts {
		row := views.CaseAccountRow{Account: a.Account}
		for _, k := range a.Watch {
			row.Watch = append(row.Watch, views.Option{Value: k, Label: watchLabel(k)})
		}
		props.Accounts = append(props.Accounts, row)
	}
	for _, n := range d.Notes {
		props.Notes = append(props.Notes, views.CaseNoteRow{Author: n.UserName, When: formatTime(&n.CreatedAt), Body: n.Body})
	}
	for _, e := range d.Events {
		props.Events = append(props.Events, caseEventRow(&e))
	}
	if props.CanWork {
		if props.Assignees, err = assigneeOptions(ctx, p); err != nil {
			return props, err
		}
		// The current assignee stays in the picker, also for analysts.
		if d.AssigneeID != nil && !slices.ContainsFunc(props.Assignees, func(o views.Option) bool { return o.Value == *d.AssigneeID }) {
			props.Assignees = append(props.Assignees, views.Option{Value: *d.AssigneeID, Label: d.AssigneeName})
		}
	}
	return props, nil
}

// caseEventRow writes a timeline entry in words.
func caseEventRow(e *store.CaseEventRow) views.CaseEventRow {
	r := views.CaseEventRow{Who: e.ActorName, When: formatTime(&e.CreatedAt), What: word(caseEventWords, e.Kind), Old: e.OldValue, New: e.NewValue}
	if r.Who == "" {
		r.Who = e.ActorEmail
	}
	switch e.Kind {
	case store.CaseEventStatus, store.CaseEventReopened:
		r.Old, r.New = word(caseStatusWords, e.OldValue), word(caseStatusWords, e.NewValue)
		if e.Kind == store.CaseEventReopened {
			r.Old = word(caseOutcomeWords, e.OldValue)
		}
	case store.CaseEventClosed:
		r.New = word(caseOutcomeWords, e.NewValue)
	case store.CaseEventDecisions:
		if d, rest, ok := strings.Cut(e.NewValue, " on "); ok {
			r.New = word(caseOutcomeWords, d) + " on " + rest
		}
	case store.CaseEventAssignee:
		if r.Old == "" {
			r.Old = "unassigned"
		}
		if r.New == "" {
			r.New = "unassigned"
		}
	}
	if r.Old != "" || r.New != "" {
		r.What += ":"
	}
	return r
}

// caseProblems are the store's refusals of a case change, in words.
var caseProblems = []struct {
	err error
	msg string
}{
	{store.ErrBadTransition, "The case cannot move to that status from where it is. Closing and reopening have their own buttons."},
	{store.ErrCaseClosed, "The case is closed. Reopen it first (senior analysts and admins)."},
	{store.ErrCaseNotClosed, "The case is not closed."},
	{store.ErrBadPriority, "Choose a priority: critical, high, medium or low."},
	{store.ErrBadOutcome, "Choose an outcome."},
	{store.ErrBadAssignee, "Cases go to active analysts, senior analysts and admins; choose another assignee."},
	{store.ErrLinked, "That is linked to the case already."},
	{store.ErrNotLinked, "That is not linked to the case."},
}

// caseChange runs one change of the case page. A refusal re-renders the
// case with what went wrong (422); success redirects to the case, or (for
// htmx) answers the case with msg.
func (s *Server) caseChange(c echo.Context, change func(ctx context.Context, p *principal, id string) (string, error)) error {
	p := currentPrincipal(c)
	id := c.Param("id")
	msg, err := change(c.Request().Context(), p, id)
	problem := ""
	if err != nil {
		for _, cp := range caseProblems {
			if errors.Is(err, cp.err) {
				problem = cp.msg
			}
		}
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusUnprocessableEntity {
			problem, _ = he.Message.(string)
		}
		if problem == "" {
			return err
		}
	}
	if problem == "" && !isFragmentRequest(c) {
		return c.Redirect(http.StatusSeeOther, routePath(c, "CaseShow", id))
	}
	props, perr := s.caseProps(c, id)
	if perr != nil {
		return perr
	}
	status := http.StatusOK
	if problem != "" {
		status, props.Error = http.StatusUnprocessableEntity, problem
		if c.Path() == "/cases/:id/notes" {
			props.NoteDraft = c.FormValue("content")
		}
	} else {
		props.Message = msg
	}
	return render(c, status, views.CasePage(props), views.CaseBody(props))
}

// unprocessable is a refusal of a form's input, shown on the case.
func unprocessable(msg string) error { return echo.NewHTTPError(http.StatusUnprocessableEntity, msg) }

// CaseNote writes a note (field content) on a case.
func (s *Server) CaseNote(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		body := strings.TrimSpace(c.FormValue("content"))
		if msg := textProblem("note", body, maxCaseText, true); msg != "" {
			return "", unprocessable(msg)
		}
		_, err := store.AddCaseNote(ctx, p.Tenant, actorOf(c, p), id, body, s.now())
		return "Note added.", err
	})
}

// CaseStatus moves a case to another open status.
func (s *Server) CaseStatus(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		status := c.FormValue("status")
		_, err := store.SetCaseStatus(ctx, p.Tenant, actorOf(c, p), id, status, s.now())
		return "Status: " + word(caseStatusWords, status) + ".", err
	})
}

// CasePriority changes a case's priority (and so its due time).
func (s *Server) CasePriority(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		cs, err := store.SetCasePriority(ctx, p.Tenant, actorOf(c, p), id, c.FormValue("priority"), s.now())
		if err != nil {
			return "", err
		}
		return "Priority: " + word(casePriorityWords, cs.Priority) + "; due " + formatTime(&cs.DueAt) + ".", nil
	})
}

// CaseAssign gives a case to a user (field assignee, "" for nobody).
// Analysts may take a case or give up their own; giving it to someone
// else, or taking it from them, is for senior analysts and admins.
func (s *Server) CaseAssign(c echo.Context) error {
	p := currentPrincipal(c)
	assignee := strings.TrimSpace(c.FormValue("assignee"))
	ownOnly := !Can(p.User.Role, PermAssignCases)
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		_, err := store.AssignCase(ctx, p.Tenant, actorOf(c, p), id, assignee, ownOnly, s.now())
		if errors.Is(err, store.ErrNotYourCase) {
			return "", echo.NewHTTPError(http.StatusForbidden, "Analysts may take a case or give up their own; a senior analyst or an admin assigns it to others.")
		}
		return "Assignee saved.", err
	})
}

// CaseClose closes a case with an outcome and a summary, and (field
// apply_decision) records a confirmed-fraud or false-positive outcome as
// the decision on its undecided transactions.
func (s *Server) CaseClose(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		in := store.CloseInput{Outcome: c.FormValue("outcome"), Summary: strings.TrimSpace(c.FormValue("summary")),
			ApplyDecision: c.FormValue("apply_decision") != ""}
		if !slices.Contains(store.CaseOutcomes, in.Outcome) {
			return "", unprocessable("Choose an outcome: " + strings.ToLower(strings.Join(wordsOf(store.CaseOutcomes, caseOutcomeWords), ", ")) + ".")
		}
		if msg := textProblem("summary", in.Summary, maxCaseText, true); msg != "" {
			return "", unprocessable(msg + " Auditors read it later.")
		}
		_, n, err := store.CloseCase(ctx, p.Tenant, actorOf(c, p), id, in, s.now())
		msg := "Case closed: " + word(caseOutcomeWords, in.Outcome) + "."
		if n > 0 {
			msg += fmt.Sprintf(" %s recorded on %d undecided transactions.", word(caseOutcomeWords, in.Outcome), n)
		}
		return msg, err
	})
}

func wordsOf(ids []string, words map[string]string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = words[id]
	}
	return out
}

// CaseReopen opens a closed case again.
func (s *Server) CaseReopen(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		_, err := store.ReopenCase(ctx, p.Tenant, actorOf(c, p), id, s.now())
		return "Case reopened.", err
	})
}

// CaseLinkTransaction adds a transaction (field transaction_id: its id or
// its external id) to a case; another tenant's answers 404.
func (s *Server) CaseLinkTransaction(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		ref := strings.TrimSpace(c.FormValue("transaction_id"))
		if ref == "" {
			return "", unprocessable("Enter the transaction's id or external id.")
		}
		txID := ref
		if sc, err := store.GetScoredByExternalID(ctx, p.Tenant, ref); err == nil {
			txID = sc.Transaction.ID
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		_, err := store.LinkCaseTransaction(ctx, p.Tenant, actorOf(c, p), id, txID, s.now())
		return "Transaction added.", err
	})
}

// CaseUnlinkTransaction takes a transaction off a case.
func (s *Server) CaseUnlinkTransaction(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		_, err := store.UnlinkCaseTransaction(ctx, p.Tenant, actorOf(c, p), id, c.Param("tx"), s.now())
		return "Transaction removed.", err
	})
}

// CaseLinkAccount adds an account (field account) to a case; an account
// the tenant does not know answers 404.
func (s *Server) CaseLinkAccount(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		account := strings.TrimSpace(c.FormValue("account"))
		if account == "" || scoring.IDProblem(account) != "" || len(account) > scoring.MaxAccountLen {
			return "", unprocessable("Enter an account id, as transactions name it.")
		}
		_, err := store.LinkCaseAccount(ctx, p.Tenant, actorOf(c, p), id, account, s.now())
		return "Account added.", err
	})
}

// CaseUnlinkAccount takes an account off a case.
func (s *Server) CaseUnlinkAccount(c echo.Context) error {
	return s.caseChange(c, func(ctx context.Context, p *principal, id string) (string, error) {
		account, err := url.PathUnescape(c.Param("account"))
		if err != nil {
			return "", unprocessable("That account id cannot be read.")
		}
		_, err = store.UnlinkCaseAccount(ctx, p.Tenant, actorOf(c, p), id, account, s.now())
		return "Account removed.", err
	})
}

// slaProps is the SLA page with the tenant's policy.
func slaProps(policy map[string]time.Duration) views.SLAProps {
	var p views.SLAProps
	for _, pr := range store.CasePriorities {
		p.Rows = append(p.Rows, views.SLARow{Priority: pr, Label: casePriorityWords[pr],
			Hours: strconv.FormatInt(int64(policy[pr]/time.Hour), 10), Default: span(store.DefaultSLA[pr])})
	}
	return p
}

// SLAShow is the SLA policy page, with what the last save said.
func (s *Server) SLAShow(c echo.Context) error {
	ctx := c.Request().Context()
	policy, err := store.SLAPolicy(ctx, currentPrincipal(c).Tenant)
	if err != nil {
		return err
	}
	props := slaProps(policy)
	props.Message = s.sessions.PopString(ctx, sessFlash)
	return render(c, http.StatusOK, views.SLAPage(props), nil)
}

// SLAUpdate saves the SLA policy: whole hours per priority, 1 to 8,760.
func (s *Server) SLAUpdate(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	policy := map[string]time.Duration{}
	problem := ""
	for _, pr := range store.CasePriorities {
		h, err := strconv.Atoi(strings.TrimSpace(c.FormValue(pr)))
		if err != nil || h < 1 || h > 8760 {
			problem = fmt.Sprintf("Give the %s priority a whole number of hours from 1 to 8,760.", strings.ToLower(casePriorityWords[pr]))
			break
		}
		policy[pr] = time.Duration(h) * time.Hour
	}
	if problem != "" {
		current, err := store.SLAPolicy(ctx, p.Tenant)
		if err != nil {
			return err
		}
		props := slaProps(current)
		props.Error = problem
		return render(c, http.StatusUnprocessableEntity, views.SLAPage(props), nil)
	}
	if err := store.SetSLAPolicy(ctx, p.Tenant, actorOf(c, p), policy, s.now()); err != nil {
		return err
	}
	// A redirect, so that reloading the page does not save it again.
	s.sessions.Put(ctx, sessFlash, "SLA policy saved. It applies to cases opened from now on and to cases whose priority changes.")
	return c.Redirect(http.StatusSeeOther, routePath(c, "SLAShow"))
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	// entityPageSize is how many transactions the entity page lists a page.
	entityPageSize = 25
	// Behaviour signals stand out from these values on: accounts sending
	// to it (or it sends to) in a day, the share of its balance moved out.
	fanAlert     = 5
	movedOutRate = 0.9
)

// entityAccount reads the account of an entity URL: one that no
// transaction can have is a 404, like one that none has.
func entityAccount(c echo.Context) (string, error) {
	a := c.Param("account")
	if u, err := url.PathUnescape(a); err == nil {
		a = u
	}
	if a == "" || len(a) > scoring.MaxAccountLen || scoring.IDProblem(a) != "" {
		return "", store.ErrNotFound
	}
	return a, nil
}

// EntityShow is an account's profile in the tenant. An account with no
// transaction in the tenant is a 404, also when another tenant has it.
// With htmx, a page of its transactions is answered alone.
func (s *Server) EntityShow(c echo.Context) error {
	account, err := entityAccount(c)
	if err != nil {
		return err
	}
	if isFragmentRequest(c) {
		tp, err := s.entityTransactions(c, account)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.EntityTransactions(tp), nil)
	}
	return s.entityPage(c, account, "")
}

// EntityGraph is the counterparty graph with the counterparties of one of
// them (via) added: with htmx the graph alone, otherwise the whole page.
func (s *Server) EntityGraph(c echo.Context) error {
	account, err := entityAccount(c)
	if err != nil {
		return err
	}
	via := strings.TrimSpace(c.QueryParam("via"))
	if !isFragmentRequest(c) {
		return s.entityPage(c, account, via)
	}
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	var wg sync.WaitGroup
	var e, hop *store.Entity
	var errGraph, errHop error
	wg.Go(func() { e, errGraph = store.EntityCounterparties(ctx, t, account, graphTop) })
	wg.Go(func() { hop, errHop = secondHop(ctx, t, via) })
	wg.Wait()
	if err := errors.Join(errGraph, errHop); err != nil {
		return err
	}
	g, err := s.graphProps(c, e, hop)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EntityGraph(g), nil)
}

// entityPage renders the whole profile, with a second hop through via
// ("" for none). Its reads run side by side, each on a connection of its
// own on PostgreSQL: the profile (two), the second hop (two), the
// watchlist entry and the page of transactions.
func (s *Server) entityPage(c echo.Context, account, via string) error {
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	now := s.now()
	var (
		wg                 sync.WaitGroup
		e, hop             *store.Entity
		panel              views.EntityWatchProps
		list               views.EntityTransactionsProps
		errProfile, errHop error
		errPanel, errList  error
	)
	wg.Go(func() { e, errProfile = store.ProfileEntity(ctx, t, account, now, graphTop) })
	wg.Go(func() { hop, errHop = secondHop(ctx, t, via) })
	wg.Go(func() { panel, errPanel = s.entityWatchProps(c, account) })
	wg.Go(func() { list, errList = s.entityTransactions(c, account) })
	wg.Wait()
	if err := errors.Join(errProfile, errHop, errPanel, errList); err != nil {
		return err
	}
	graph, err := s.graphProps(c, e, hop)
	if err != nil {
		return err
	}
	activity, err := activityChart(e.Days)
	if err != nil {
		return err
	}
	queue := url.Values{"view": {views.ViewAll}, "decision": {"any"}, "account": {account}}
	props := views.EntityProps{
		Account: account, Watch: panel, Stats: entityStats(e), Signals: entitySignals(e),
		Activity: activity, Graph: graph, Transactions: list,
		QueueHref: string(views.WithQuery(views.URL(ctx, "QueueList"), queue)),
	}
	if Can(currentPrincipal(c).User.Role, PermWorkCases) {
		props.OpenCaseHref = string(views.WithQuery(views.URL(ctx, "CaseNew"), url.Values{"account": {account}}))
	}
	for _, b := range store.QueueBands {
		q := url.Values{"view": {views.ViewAll}, "decision": {"any"}, "account": {account}, "band": {b}}
		props.Bands = append(props.Bands, views.BandCount{Band: b, Count: formatCount(bandCount(&e.All, b)),
			Href: string(views.WithQuery(views.URL(ctx, "QueueList"), q))})
	}
	return render(c, http.StatusOK, views.EntityPage(props), nil)
}

// bandCount is how many of a flow's transactions are in band b.
func bandCount(f *store.Flow, b string) int64 {
	switch b {
	case string(scoring.BandCritical):
		return f.Critical
	case string(scoring.BandHigh):
		return f.High
	case string(scoring.BandMedium):
		return f.Medium
	}
	return f.Low
}

// entityStats is the profile's summary in words and numbers.
func entityStats(e *store.Entity) []views.Stat {

	avg := 0.0
	if e.All.Count > 0 {
		avg = e.All.ScoreSum / float64(e.All.Count)
	}
	return []views.Stat{
		{Label: "Sent", Value: scoring.FormatAmount(e.Sent.Amount), Note: countWords(int(e.Sent.Count), "transaction", "transactions")},
		{Label: "Received", Value: scoring.FormatAmount(e.Received.Amount), Note: countWords(int(e.Received.Count), "transaction", "transactions")},
		{Label: "First seen", Value: formatTime(&e.All.FirstSeen), Note: "last seen " + formatTime(&e.All.LastSeen)},
		{Label: "Average score", Value: scoring.FormatScore(avg), Note: "highest " + scoring.FormatScore(e.All.ScoreMax)},
		{Label: "Counterparties", Value: strings.TrimSuffix(scoring.FormatAmount(float64(e.CounterpartyCount)), ".00"),
			Note: "distinct accounts it sent to or received from"},
		{Label: "Confirmed fraud", Value: fmt.Sprint(e.All.ConfirmedFraud),
			Note: countWords(int(e.All.FalsePositives), "false positive", "false positives")},
	}
}

// entitySignals explains the account's behaviour from its stored traffic.
func entitySignals(e *store.Entity) []views.Signal {
	accounts := func(n int) string { return countWords(n, "account", "accounts") }
	out := []views.Signal{
		{Name: "Fan-in", Elevated: e.FanIn24h >= fanAlert,
			Text: fmt.Sprintf("%s sent money to it in the last 24 hours, %d in the last 7 days.", accounts(e.FanIn24h), e.FanIn7d)},
		{Name: "Fan-out", Elevated: e.FanOut24h >= fanAlert,
			Text: fmt.Sprintf("It sent money to %s in the last 24 hours, %d in the last 7 days.", accounts(e.FanOut24h), e.FanOut7d)},
	}
	moved := views.Signal{Name: "Balance moved out", Text: "It sent nothing from a balance it held."}
	if e.Sent.BalanceBefore > 0 {
		share := e.Sent.BalanceMoved / e.Sent.BalanceBefore
		moved.Elevated = share >= movedOutRate
		moved.Text = fmt.Sprintf("Its outgoing transactions took %.0f%% of the balance it held before each of them; %d of them emptied it.",
			100*share, e.Sent.Emptied)
	}
	out = append(out, moved, views.Signal{Name: "Risky counterparties", Elevated: e.FraudCounterparties+e.BlockedCounterparties > 0,
		Text: fmt.Sprintf("%d of its %s took part in a transaction confirmed as fraud; %d %s blocked.",
			e.FraudCounterparties, countWords(e.CounterpartyCount, "counterparty", "counterparties"), e.BlockedCounterparties,
			plural(e.BlockedCounterparties, "is", "are"))})
	if (e.FanIn24h >= 3 || e.FanIn7d >= fanAlert) && moved.Elevated {
		out = append(out, views.Signal{Name: "Pattern", Elevated: true,
			Text: "Money from many senders, passed straight on: the pattern of a money mule."})
	}
	return out
}

// secondHop is what the graph draws of via's counterparties: nil for no
// via, or one that no transaction of the tenant has. The graph keeps it
// only when via is among the counterparties it draws.
func secondHop(ctx context.Context, t store.Tenant, via string) (*store.Entity, error) {
	if via == "" || len(via) > scoring.MaxAccountLen || scoring.IDProblem(via) != "" {
		return nil, nil
	}
	// One more than drawn: the profile's account is among them.
	hop, err := store.EntityCounterparties(ctx, t, via, graphHop+1)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return hop, err
}

// entityWatchProps is the account's watchlist panel.
func (s *Server) entityWatchProps(c echo.Context, account string) (views.EntityWatchProps, error) {
	p := currentPrincipal(c)
	props := views.EntityWatchProps{Account: account, CanEdit: Can(p.User.Role, PermEditWatchlist), Kinds: watchChoices(),
		Form: views.WatchForm{Account: account, Back: "entity"}}
	r, err := store.WatchOf(c.Request().Context(), p.Tenant, account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		props.Form.Kind = store.WatchBlocked
	case err != nil:
		return props, err
	default:
		row := watchRow(r, s.now())
		props.Entry = &row
		props.Form.Kind = r.Kind
	}
	return props, nil
}

// entityTransactions is one page of the account's transactions, newest
// first, read as the queue reads its view of all transactions filtered on
// the account; after and before in the query are its cursors.
func (s *Server) entityTransactions(c echo.Context, account string) (views.EntityTransactionsProps, error) {
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	f := store.QueueFilter{Account: account, Decision: "any", Sort: store.SortTime, Limit: entityPageSize,
		After: c.QueryParam("after"), Before: c.QueryParam("before")}
	page, err := store.ListQueue(ctx, t, f)
	if err != nil {
		return views.EntityTransactionsProps{}, err
	}
	var p views.EntityTransactionsProps
	for i := range page.Rows {
		p.Rows = append(p.Rows, queueRow(&page.Rows[i], false))
	}
	if err := markWatched(ctx, t, p.Rows); err != nil {
		return p, err
	}
	base := views.URL(ctx, "EntityShow", account)
	if n := len(page.Rows); n > 0 {
		if page.HasNext {
			p.NextHref = string(views.WithQuery(base, url.Values{"after": {page.Rows[n-1].ID}}))
		}
		if page.HasPrev {
			p.PrevHref = string(views.WithQuery(base, url.Values{"before": {page.Rows[0].ID}}))
		}
	}
	if page.HasPrev || (len(page.Rows) == 0 && (f.After != "" || f.Before != "")) {
		p.FirstHref = string(base)
	}
	return p, nil
}

// markWatched says on each queue row what the watchlist says now of its
// accounts: one lookup for the page.
func markWatched(ctx context.Context, t store.Tenant, rows []views.QueueRow) error {
	if len(rows) == 0 {
		return nil
	}
	accounts := make([]string, 0, 2*len(rows))
	for _, r := range rows {
		accounts = append(accounts, r.Sender, r.Receiver)
	}
	kinds, err := store.WatchKinds(ctx, t, accounts)
	if err != nil || len(kinds) == 0 {
		return err
	}
	for i := range rows {
		w := store.StatusOf(kinds, rows[i].Sender, rows[i].Receiver)
		rows[i].Watch, rows[i].WatchKind = watchNote(w), store.WatchTrusted
		if w.SenderBlocked || w.ReceiverBlocked {
			rows[i].WatchKind = store.WatchBlocked
		}
	}
	return nil
}

// watchNote says in words which of a transaction's accounts are blocked or
// trusted ("" for neither).
func watchNote(w store.WatchStatus) string {
	var parts []string
	for _, p := range []struct {
		on   bool
		text string
	}{
		{w.SenderBlocked, "blocked sender"}, {w.ReceiverBlocked, "blocked receiver"},
		{w.SenderTrusted, "trusted sender"}, {w.ReceiverTrusted, "trusted receiver"},
	} {
		if p.on {
			parts = append(parts, p.text)
		}
	}
	return strings.Join(parts, ", ")
}

package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// maxRationale is the longest rationale an analyst may write.
const maxRationale = 2000

// TransactionShow is the transaction detail page.
func (s *Server) TransactionShow(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	scored, err := store.GetScored(ctx, p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	fe, err := live.DecodeFrozen(scored)
	if err != nil {
		return err
	}
	chart, err := waterfall(fe.Explanation)
	if err != nil {
		return err
	}
	decision, err := s.decisionProps(c, &scored.Transaction)
	if err != nil {
		return err
	}
	similar, err := store.SimilarTransactions(ctx, p.Tenant, scored, 10)
	if err != nil {
		return err
	}
	tx, pr := scored.Transaction, scored.Prediction
	arrived, err := provenanceField(ctx, p.Tenant, &tx)
	if err != nil {
		return err
	}
	watched, err := store.WatchKinds(ctx, p.Tenant, []string{tx.NameOrig, tx.NameDest})
	if err != nil {
		return err
	}
	money := scoring.FormatAmount
	props := views.TransactionProps{
		ID: tx.ID, ExternalID: tx.ExternalID,
		Title: fmt.Sprintf("%s of %s", strings.ReplaceAll(tx.Type, "_", "-"), money(tx.Amount)),
		Score: scoring.FormatScore(pr.Score),
		Band:  pr.Band, ModelBand: string(fe.Result.ModelBand), Override: fe.Result.Override, Trusted: fe.Result.Trusted,
		Sender: tx.NameOrig, Receiver: tx.NameDest, Summary: fe.Explanation.Summary, Chart: chart,
		Probability: fmt.Sprintf("a raw margin of %.3f calibrates to a score (the fraud probability) of %s", pr.RawMargin, scoring.FormatScore(pr.Score)),
		Decision:    decision,
		// An integer with thousands separators: drop the cents.
		SimilarWindow: strings.TrimSuffix(money(float64(store.SimilarWindow)), ".00"),
		Fields: []views.Field{
			{Label: "External id", Value: tx.ExternalID}, {Label: "Received (UTC)", Value: tx.ReceivedAt.UTC().Format("2006-01-02 15:04:05")},
			arrived,
			{Label: "Step", Value: fmt.Sprintf("%d (day %d, %02d:00)", tx.Step, tx.Step/24, tx.Step%24)},
			{Label: "Type", Value: tx.Type}, {Label: "Amount", Value: money(tx.Amount)},
			{Label: "Sender balance before", Value: money(tx.OldBalanceOrg)}, {Label: "Sender balance after", Value: money(tx.NewBalanceOrig)},
			{Label: "Receiver balance before", Value: money(tx.OldBalanceDest)}, {Label: "Receiver balance after", Value: money(tx.NewBalanceDest)},
			{Label: "Sender's place", Value: placeOf(tx.OrigCountry, tx.OrigRegion)},
			{Label: "Receiver's place", Value: placeOf(tx.DestCountry, tx.DestRegion)},
		},
		Scoring: []views.Field{
			{Label: "Score", Value: scoring.FormatScore(pr.Score)},
			{Label: "Raw margin", Value: strconv.FormatFloat(pr.RawMargin, 'f', 4, 64)},
			{Label: "Band", Value: pr.Band},
			{Label: "Review threshold at scoring", Value: scoring.FormatScore(pr.Threshold)},
			{Label: "Model", Value: fmt.Sprintf("%s v%d", fe.Model.Name, fe.Model.Version)},
			{Label: "Scoring latency", Value: fmt.Sprintf("%d µs", pr.LatencyUS)},
		},
	}
	for _, k := range watched[tx.NameOrig] {
		props.SenderWatch, props.SenderWatchKind = strings.ToLower(watchLabel(k))+" now", k
	}
	for _, k := range watched[tx.NameDest] {
		props.ReceiverWatch, props.ReceiverWatchKind = strings.ToLower(watchLabel(k))+" now", k
	}
	for i := range similar {
		props.Similar = append(props.Similar, queueRow(&similar[i], false))
	}
	if Can(p.User.Role, PermInvestigate) {
		props.SimilarHref = string(views.WithQuery(views.URL(ctx, "InvestigateList"), similarParams(&tx, pr.Band)))
	}
	if err := markWatched(ctx, p.Tenant, props.Similar); err != nil {
		return err
	}
	if Can(p.User.Role, PermWorkCases) {
		props.OpenCaseHref = string(views.WithQuery(views.URL(ctx, "CaseNew"),
			url.Values{"transaction_id": {tx.ID}, "account": {tx.NameOrig, tx.NameDest}}))
	}
	cases, err := store.CasesOfTransaction(ctx, p.Tenant, tx.ID)
	if err != nil {
		return err
	}
	for _, cs := range cases {
		props.Cases = append(props.Cases, views.CaseLink{ID: cs.ID,
			Label: fmt.Sprintf("#%d %s (%s)", cs.Number, cs.Title, strings.ToLower(word(caseStatusWords, cs.Status)))})
	}
	return render(c, http.StatusOK, views.TransactionPage(props), nil)
}

// decisionProps builds the decision panel of a transaction the caller loaded
// (through the tenant scope, so another tenant's id never gets here).
func (s *Server) decisionProps(c echo.Context, tx *store.Transaction) (views.DecisionProps, error) {
	p := currentPrincipal(c)
	history, err := store.ListDecisions(c.Request().Context(), p.Tenant, tx.ID)
	if err != nil {
		return views.DecisionProps{}, err
	}
	dp := views.DecisionProps{TransactionID: tx.ID, Label: decisionLabel(tx.Label), CanDecide: Can(p.User.Role, PermDecide),
		Choices: decisionChoices()}
	for _, h := range history {
		dp.History = append(dp.History, views.DecisionRow{
			When: formatTime(&h.CreatedAt), Who: h.UserName, Decision: decisionLabel(h.Decision), Rationale: h.Rationale})
	}
	return dp, nil
}

// TransactionDecide records a decision. With htmx it answers the updated
// decision panel; without, it redirects back to the page.
func (s *Server) TransactionDecide(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	decision := c.FormValue("decision")
	rationale := strings.TrimSpace(c.FormValue("rationale"))
	panel := func() (views.DecisionProps, error) {
		scored, err := store.GetScored(ctx, p.Tenant, id)
		if err != nil {
			return views.DecisionProps{}, err
		}
		return s.decisionProps(c, &scored.Transaction)
	}
	fail := func(msg string) error {
		dp, err := panel()
		if err != nil {
			return err
		}
		dp.Error, dp.Rationale, dp.Decision = msg, rationale, decision
		return render(c, http.StatusUnprocessableEntity, views.TransactionDecisionFallback(dp), views.DecisionPanel(dp))
	}
	switch n := utf8.RuneCountInString(rationale); {
	case n == 0:
		return fail("Write a rationale: what you checked and why. Auditors and later training read it.")
	case n > maxRationale:
		return fail(fmt.Sprintf("The rationale is %d characters; keep it to %d.", n, maxRationale))
	}
	if msg := freeTextProblem("rationale", rationale); msg != "" {
		return fail(msg)
	}
	_, err := store.Decide(ctx, p.Tenant, actorOf(c, p), id, decision, rationale)
	if errors.Is(err, store.ErrBadDecision) {
		return fail("Choose confirmed fraud, false positive or escalated.")
	}
	if err != nil {
		return err
	}
	if !isFragmentRequest(c) {
		return c.Redirect(http.StatusSeeOther, routePath(c, "TransactionShow", id))
	}
	dp, err := panel()
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DecisionPanel(dp), nil)
}

// placeOf names a country (and region) for people, "Not given" for none.
func placeOf(country, region string) string {
	if country == "" {
		return "Not given"
	}
	out := scoring.CountryName(country) + " (" + country + ")"
	if region != "" {
		out += ", " + region
	}
	return out
}

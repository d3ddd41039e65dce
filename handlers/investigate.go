package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	investigatePageSize = 50
	// defaultBulkLimit is the most transactions one bulk decision changes
	// unless configured.
	defaultBulkLimit = 10000
	// dateLayout is how the page writes and reads received dates (UTC).
	dateLayout = time.DateOnly
)

// sessFlash is the session key of a message for the next page.
const sessFlash = "flash"

// sources lists how transactions arrive, for the source filter.
var sources = []string{store.SourceAPI, store.SourceUpload, store.SourceReplay, store.SourceSeed, store.SourceWeb}

// investigateFilter reads the investigate page's filters from q (the query
// string, or a posted form with the same fields). The names are the
// queue's where they mean the same (account, type, band, decision,
// min_score, sort), so a queue view opens here by changing the path; the
// queue's view=review keeps its review set. Unknown values are dropped; bad
// numbers and dates are reported, not guessed, and left out of the filter.
func investigateFilter(q url.Values) (store.InvestigateFilter, views.InvestigateFilters, []string) {
	var f store.InvestigateFilter
	var problems []string
	vf := views.InvestigateFilters{Types: map[string]bool{}}
	if a := accountParam(q); a != "" {
		vf.Account = a
		f.Account, f.AccountPrefix = strings.TrimSuffix(a, "*"), strings.HasSuffix(a, "*")
		if f.Account == "" {
			f.AccountPrefix = false
		}
	}
	if id := strings.TrimSpace(q.Get("external_id")); len(id) <= 256 {
		f.ExternalID, vf.ExternalID = id, id
	}
	for _, t := range q["type"] {
		if scoring.IsType(t) && !vf.Types[t] {
			f.Types = append(f.Types, t)
			vf.Types[t] = true
		}
	}
	f.Bands, vf.Bands = bandsParam(q)
	f.Decision = decisionParam(q)
	vf.Decision = f.Decision
	f.Review = q.Get("view") == views.ViewReview
	vf.Review = f.Review
	amount := func(key, label string) (*float64, string) {
		s := strings.TrimSpace(q.Get(key))
		if s == "" {
			return nil, ""
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) {
			problems = append(problems, label+" must be an amount of 0 or more.")
			return nil, s
		}
		return &v, s
	}
	f.MinAmount, vf.MinAmount = amount("min_amount", "Min amount")
	f.MaxAmount, vf.MaxAmount = amount("max_amount", "Max amount")
	if f.MinAmount != nil && f.MaxAmount != nil && *f.MinAmount > *f.MaxAmount {
		problems = append(problems, "Min amount is above max amount.")
	}
	score := func(key, label string) (*float64, string) {
		v, raw, problem := scoreParam(q, key, label)
		if problem != "" {
			problems = append(problems, problem)
		}
		return v, raw
	}
	f.MinScore, vf.MinScore = score("min_score", "Min score")
	f.MaxScore, vf.MaxScore = score("max_score", "Max score")
	if f.MinScore != nil && f.MaxScore != nil && *f.MinScore > *f.MaxScore {
		problems = append(problems, "Min score is above max score.")
	}
	date := func(key, label string) (time.Time, string) {
		s := strings.TrimSpace(q.Get(key))
		if s == "" {
			return time.Time{}, ""
		}
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			problems = append(problems, label+" must be a date (YYYY-MM-DD).")
			return time.Time{}, s
		}
		return d, s
	}
	f.From, vf.From = date("from", "From")
	var to time.Time
	to, vf.To = date("to", "To")
	if !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the whole last day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		problems = append(problems, "From is after to.")
	}
	if m := q.Get("model"); len(m) <= 64 {
		f.ModelVersionID, vf.Model = m, m
	}
	if src := q.Get("source"); slices.Contains(sources, src) {
		f.Source, vf.Source = src, src
	}
	if up := strings.TrimSpace(q.Get("upload")); up != "" {
		if len(up) > 64 || scoring.IDProblem(up) != "" {
			problems = append(problems, "Upload must be an upload's id.")
		} else {
			f.UploadID, vf.Upload = up, up
		}
	}
	if c := strings.TrimSpace(q.Get("country")); c != "" {
		vf.Country = c
		if scoring.IsCountry(c) || scoring.IsRegion(c) {
			f.Country = c
		} else {
			problems = append(problems, "Country must be an ISO 3166-1 code such as US, or an ISO 3166-2 region such as US-NY.")
		}
	}
	switch q.Get("sort") {
	case store.SortScore, store.SortRisk:
		f.Sort = store.SortScore
	case store.SortAmount:
		f.Sort = store.SortAmount
	default:
		f.Sort = store.SortTime
	}
	f.Asc = q.Get("dir") == "asc"
	vf.Sort, vf.Dir = f.Sort, "desc"
	if f.Asc {
		vf.Dir = "asc"
	}
	return f, vf, problems
}

// investigateParams writes the filters back as a query string, as the form
// submits them (no cursor): links, the export and the bulk form carry it.
func investigateParams(vf views.InvestigateFilters) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("account", vf.Account)
	set("external_id", vf.ExternalID)
	for _, t := range scoring.Types {
		if vf.Types[t] {
			v.Add("type", t)
		}
	}
	for _, b := range scoring.Bands {
		if vf.Bands[string(b)] {
			v.Add("band", string(b))
		}
	}
	if vf.Decision != "any" {
		set("decision", vf.Decision)
	}
	if vf.Review {
		v.Set("view", views.ViewReview)
	}
	set("min_amount", vf.MinAmount)
	set("max_amount", vf.MaxAmount)
	set("min_score", vf.MinScore)
	set("max_score", vf.MaxScore)
	set("from", vf.From)
	set("to", vf.To)
	set("model", vf.Model)
	set("source", vf.Source)
	set("upload", vf.Upload)
	set("country", vf.Country)
	if vf.Sort != store.SortTime {
		v.Set("sort", vf.Sort)
	}
	if vf.Dir == "asc" {
		v.Set("dir", "asc")
	}
	return v
}

// filterIDsOfTenant answers 404 (store.ErrNotFound) when the filter names
// another tenant's upload or model version, as every route does for any id
// that is not the tenant's.
func filterIDsOfTenant(c echo.Context, f store.InvestigateFilter) error {
	ctx, t := c.Request().Context(), currentPrincipal(c).Tenant
	if f.UploadID != "" {
		if _, err := store.GetUpload(ctx, t, f.UploadID); err != nil {
			return err
		}
	}
	if f.ModelVersionID != "" {
		if _, err := store.GetModelVersionInfo(ctx, t, f.ModelVersionID); err != nil {
			return err
		}
	}
	return nil
}

// InvestigateList is the investigate page, or (for htmx) its results: the
// statistics of everything the filters keep, one page of it, the pager,
// and for those who may, the export link and the bulk decision form.
func (s *Server) InvestigateList(c echo.Context) error {
	f, vf, problems := investigateFilter(c.QueryParams())
	if err := filterIDsOfTenant(c, f); err != nil {
		return err
	}
	q := c.QueryParams()
	f.After, f.Before = q.Get("after"), q.Get("before")
	status := http.StatusOK
	if len(problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	props, err := s.investigateProps(c, f, vf, strings.Join(problems, " "))
	if err != nil {
		return err
	}
	props.Notice = s.sessions.PopString(c.Request().Context(), sessFlash)
	if isFragmentRequest(c) {
		// The address htmx pushes is the view's link as the page writes it,
		// not every empty field of the form.
		params := investigateParams(vf)
		for _, k := range []string{"after", "before"} {
			if v := q.Get(k); v != "" {
				params.Set(k, v)
			}
		}
		c.Response().Header().Set("HX-Push-Url", string(views.WithQuery(views.URL(c.Request().Context(), "InvestigateList"), params)))
	}
	return render(c, status, views.InvestigatePage(props), views.InvestigateResults(props))
}

// investigateProps reads one page of f, its statistics and the filter's
// choices.
func (s *Server) investigateProps(c echo.Context, f store.InvestigateFilter, vf views.InvestigateFilters, problem string) (views.InvestigateProps, error) {
	ctx := c.Request().Context()
	p := currentPrincipal(c)
	stats, err := store.CountInvestigate(ctx, p.Tenant, f)
	if err != nil {
		return views.InvestigateProps{}, err
	}
	f.Limit, f.Matching = investigatePageSize, stats.Count
	page, err := store.ListInvestigate(ctx, p.Tenant, f)
	if err != nil {
		return views.InvestigateProps{}, err
	}
	models, err := store.ListModelChoices(ctx, p.Tenant)
	if err != nil {
		return views.InvestigateProps{}, err
	}
	self := string(views.URL(ctx, "InvestigateList"))
	params := investigateParams(vf)
	props := views.InvestigateProps{Filters: vf, Error: problem, Sources: sources, Count: stats.Count,
		DecisionFilter: decisionFilter(), Decisions: decisionChoices(),
		CanBulk: Can(p.User.Role, PermBulkDecide), CanOpenCase: Can(p.User.Role, PermWorkCases), Hidden: bulkHidden(params)}
	for _, m := range models {
		props.Models = append(props.Models, [2]string{m.ID, fmt.Sprintf("%s v%d", m.Name, m.Version)})
	}
	props.Stats, err = statsView(stats)
	if err != nil {
		return views.InvestigateProps{}, err
	}
	for i := range page.Rows {
		row := queueRow(&page.Rows[i], false)
		row.Score = scoring.FormatScore(page.Rows[i].Score)
		props.Rows = append(props.Rows, row)
	}
	if n := len(page.Rows); n > 0 {
		if page.HasNext {
			props.NextHref = queueHref(self, params, "after", page.Rows[n-1].ID)
		}
		if page.HasPrev {
			props.PrevHref = queueHref(self, params, "before", page.Rows[0].ID)
		}
	}
	if page.HasPrev || (len(page.Rows) == 0 && (f.After != "" || f.Before != "")) {
		props.FirstHref = queueHref(self, params)
	}
	if len(page.Rows) == 0 && stats.Count == 0 {
		// "None yet" rather than "none match" for a tenant without traffic.
		newest, err := store.NewestTransactionID(ctx, p.Tenant)
		if err != nil {
			return views.InvestigateProps{}, err
		}
		props.NoneYet = newest == ""
	}
	if Can(p.User.Role, PermExport) && !props.NoneYet {
		props.ExportHref = string(views.WithQuery(views.URL(ctx, "InvestigateExport"), params))
	}
	today := time.Now().UTC().Format(dateLayout)
	for _, pr := range []struct {
		label string
		days  int
	}{{"Today", 0}, {"7 days", 6}, {"30 days", 29}} {
		from := time.Now().UTC().AddDate(0, 0, -pr.days).Format(dateLayout)
		props.Presets = append(props.Presets, views.Preset{Label: pr.label, Active: vf.From == from && vf.To == today,
			Href: queueHref(self, params, "from", from, "to", today)})
	}
	return props, nil
}

// similarParams are store.SimilarTransactions' criteria as the investigate
// page's filters: the same type and band, an amount within ±50%; over every
// transaction, not only the latest ones.
func similarParams(tx *store.Transaction, band string) url.Values {
	return url.Values{"type": {tx.Type}, "band": {band},
		"min_amount": {strconv.FormatFloat(tx.Amount*0.5, 'f', -1, 64)},
		"max_amount": {strconv.FormatFloat(tx.Amount*1.5, 'f', -1, 64)}}
}

// bulkLimit is the configured most transactions of one bulk decision.
func (s *Server) bulkLimit() int {
	if s.cfg.BulkLimit > 0 {
		return s.cfg.BulkLimit
	}
	return defaultBulkLimit
}

// hiddenFields lists params as name and value pairs, in a stable order.
func hiddenFields(params url.Values) []views.HiddenField {
	var out []views.HiddenField
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range params[k] {
			out = append(out, views.HiddenField{Name: k, Value: v})
		}
	}
	return out
}

// bucketLabels names the score buckets of store.ScoreEdges.
func bucketLabels() []string {
	edges := append(append([]float64{0}, store.ScoreEdges...), 1)
	out := make([]string, len(edges)-1)
	for i := range out {
		out[i] = strconv.FormatFloat(edges[i], 'g', -1, 64) + "–" + strconv.FormatFloat(edges[i+1], 'g', -1, 64)
	}
	return out
}

// thousands writes an integer with thousands separators.
func thousands(n int64) string {
	return strings.TrimSuffix(scoring.FormatAmount(float64(n)), ".00")
}

// statsView writes the statistics as the page shows them.
func statsView(st *store.InvestigateStats) (views.InvestigateStats, error) {
	v := views.InvestigateStats{
		Count: thousands(st.Count), Amount: scoring.FormatAmount(st.Amount),
		Confirmed: thousands(st.ByDecision[store.DecisionConfirmedFraud]), FalsePositive: thousands(st.ByDecision[store.DecisionFalsePositive]),
		Escalated: thousands(st.ByDecision[store.DecisionEscalated]), Undecided: thousands(st.ByDecision[""]),
		AverageScore: "–",
	}
	if st.Count > 0 {
		v.AverageScore = scoring.FormatScore(st.AverageScore())
	}
	labels := bucketLabels()
	for i, n := range st.Buckets {
		v.Histogram = append(v.Histogram, views.HistogramBar{Label: labels[i], Count: thousands(n)})
	}
	if st.Count > 0 {
		js, err := histogramOptions(labels, st.Buckets)
		if err != nil {
			return v, err
		}
		v.ChartJSON = js
	}
	return v, nil
}

// histogramOptions builds the ECharts options of the score histogram: a
// bar per bucket on a logarithmic axis (a fraud model puts nearly every
// transaction in the first buckets, which would flatten the rest).
func histogramOptions(labels []string, buckets []int64) (string, error) {
	data := make([]opts.BarData, len(buckets))
	for i, n := range buckets {
		data[i] = opts.BarData{Value: n, ItemStyle: &opts.ItemStyle{Color: colorTotal}}
		if n == 0 {
			data[i].Value = nil // a log axis has no 0
		}
	}
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "2%", Right: "2%", Top: "8%", Bottom: "2%", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: labels, AxisLabel: &opts.AxisLabel{Color: colorMuted, Rotate: 45, Interval: "0"}}),
		// From 0.5, so that a bucket of one transaction has a bar.
		charts.WithYAxisOpts(opts.YAxis{Type: "log", Min: 0.5, AxisLabel: &opts.AxisLabel{Color: colorMuted},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: colorBorder}}}),
	)
	b.AddSeries("transactions", data)
	o := b.JSON()
	delete(o, "title")
	delete(o, "color")
	js, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("histogram options: %w", err)
	}
	return string(js), nil
}

// InvestigateBulk applies one decision to the selected transactions (id,
// repeated) or to all that the posted filters keep (all=1; the view's
// decision filter is posted as filter_decision, decision being the one to
// apply). "All" asks
// first: without confirm it answers a page naming how many match, whose
// form posts again with confirm set to that number; the decision is then
// refused if the number changed. A rationale is required, as for one
// decision. It redirects to the page with a message naming how many changed.
func (s *Server) InvestigateBulk(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	form := c.Request().PostForm
	f, vf, problems := investigateFilter(bulkFilterValues(form))
	if err := filterIDsOfTenant(c, f); err != nil {
		return err
	}
	decision := form.Get("decision")
	rationale := strings.TrimSpace(form.Get("rationale"))
	all := form.Get("all") == "1"
	ids := form["id"]
	fail := func(msg string) error {
		props, err := s.investigateProps(c, f, vf, strings.Join(problems, " "))
		if err != nil {
			return err
		}
		props.BulkError, props.BulkDecision, props.BulkRationale, props.Selected = msg, decision, rationale, ids
		return render(c, http.StatusUnprocessableEntity, views.InvestigatePage(props), nil)
	}
	switch n := utf8.RuneCountInString(rationale); {
	case len(problems) > 0:
		return fail("Fix the filters first: " + strings.Join(problems, " "))
	case !slices.Contains(store.Decisions, decision):
		return fail("Choose confirmed fraud, false positive or escalated.")
	case n == 0:
		return fail("Write a rationale: what you checked and why. It is recorded on every transaction.")
	case n > maxRationale:
		return fail(fmt.Sprintf("The rationale is %d characters; keep it to %d.", n, maxRationale))
	case !all && len(ids) == 0:
		return fail("Select at least one transaction, or apply the decision to all that match.")
	}
	if msg := freeTextProblem("rationale", rationale); msg != "" {
		return fail(msg)
	}
	sel := store.BulkSelection{IDs: ids}
	if all {
		sel = store.BulkSelection{Filter: &f}
		expect, err := strconv.Atoi(form.Get("confirm"))
		if err != nil {
			// Not confirmed yet: say how many match, and ask.
			stats, err := store.CountInvestigate(ctx, p.Tenant, f)
			if err != nil {
				return err
			}
			return s.bulkConfirm(c, vf, decision, rationale, stats.Count, "")
		}
		sel.Expect = expect
	}
	res, err := store.BulkDecide(ctx, p.Tenant, actorOf(c, p), sel, decision, rationale, s.bulkLimit())
	switch {
	case errors.Is(err, store.ErrBulkTooMany):
		return fail(fmt.Sprintf("More than %s transactions are selected; one bulk decision takes at most %[1]s. Narrow the filters.",
			thousands(int64(s.bulkLimit()))))
	case errors.Is(err, store.ErrBulkEmpty):
		return fail("No transaction matches these filters: there is nothing to decide.")
	case errors.Is(err, store.ErrBulkChanged):
		stats, err := store.CountInvestigate(ctx, p.Tenant, f)
		if err != nil {
			return err
		}
		return s.bulkConfirm(c, vf, decision, rationale, stats.Count,
			fmt.Sprintf("The matching transactions changed since you confirmed %s: nothing was recorded.", thousands(int64(sel.Expect))))
	case err != nil:
		return err
	}
	msg := fmt.Sprintf("Recorded %s on %s %s.", strings.ToLower(decisionLabel(decision)), thousands(int64(res.Decided)),
		plural(res.Decided, "transaction", "transactions"))
	if res.Changed != res.Decided {
		msg += fmt.Sprintf(" %s changed label; the others had it already.", thousands(int64(res.Changed)))
	}
	s.sessions.Put(ctx, sessFlash, msg+" Bulk "+res.ID+".")
	return c.Redirect(http.StatusSeeOther, string(views.WithQuery(views.URL(ctx, "InvestigateList"), investigateParams(vf))))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// bulkFilterValues are the filters a bulk form carries. Its decision field
// is the decision to apply, so the view's decision filter travels as
// filter_decision.
func bulkFilterValues(form url.Values) url.Values {
	v := url.Values{}
	for k, vs := range form {
		v[k] = vs
	}
	v.Del("decision")
	if d := form.Get("filter_decision"); d != "" {
		v.Set("decision", d)
	}
	return v
}

// bulkHidden are the filters as a bulk form's hidden fields (the decision
// filter as filter_decision).
func bulkHidden(params url.Values) []views.HiddenField {
	fields := hiddenFields(params)
	for i := range fields {
		if fields[i].Name == "decision" {
			fields[i].Name = "filter_decision"
		}
	}
	return fields
}

// bulkConfirm asks before a decision on all n matching transactions, or
// says why it cannot be taken (none, or more than the limit).
func (s *Server) bulkConfirm(c echo.Context, vf views.InvestigateFilters, decision, rationale string, n int64, note string) error {
	ctx := c.Request().Context()
	params := investigateParams(vf)
	limit := int64(s.bulkLimit())
	props := views.BulkConfirmProps{N: n, Count: thousands(n), Limit: thousands(limit), TooMany: n > limit,
		Decision: decision, DecisionLabel: decisionLabel(decision), Rationale: rationale, Hidden: bulkHidden(params), Note: note,
		CancelHref: string(views.WithQuery(views.URL(ctx, "InvestigateList"), params))}
	status := http.StatusOK
	if props.TooMany || n == 0 {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.BulkConfirmPage(props), nil)
}

// exportColumns is the header of the transactions export.
var exportColumns = []string{"transaction_id", "external_id", "received_at", "type", "amount", "sender", "receiver",
	"sender_balance_before", "sender_balance_after", "receiver_balance_before", "receiver_balance_after",
	"score", "raw_margin", "band", "review", "model", "model_version",
	"contribution_1_feature", "contribution_1_value", "contribution_1_log_odds",
	"contribution_2_feature", "contribution_2_value", "contribution_2_log_odds",
	"contribution_3_feature", "contribution_3_value", "contribution_3_log_odds",
	"summary", "decision", "decided_by", "decided_at", "rationale", "source",
	"sender_country", "sender_region", "receiver_country", "receiver_region"}

// exportedExplanation is what the export reads of a frozen explanation
// (scoring/live's Frozen): the model, the review flag, every contribution
// (for the top three) and the summary.
type exportedExplanation struct {
	ModelName    string
	ModelVersion int64
	Review       bool
	Summary      string
	// contributions keep their feature and value as the JSON has them:
	// only the top three are read further.
	contributions []rawContribution
	// names holds the model and feature names read so far: a million rows
	// name a handful, and each would otherwise be a new string.
	names map[string]string
}

// rawContribution is a contribution whose feature (a JSON string, with its
// quotes) and value (a JSON number) are not read yet.
type rawContribution struct {
	feature, value []byte
	contribution   float64
}

// read turns c into a contribution.
func (c *rawContribution) read(names map[string]string) (scoring.Contribution, error) {
	var out scoring.Contribution
	sc := jsonScanner{b: c.feature}
	var err error
	if len(c.feature) > 0 {
		if out.Feature, err = sc.name(names); err != nil {
			return out, err
		}
	}
	if len(c.value) > 0 {
		sc = jsonScanner{b: c.value}
		if out.Value, err = sc.number(); err != nil {
			return out, err
		}
	}
	out.Contribution = c.contribution
	return out, nil
}

// parse reads ex from a frozen explanation's JSON, reusing ex's memory.
// It reads only what the export writes and skips the rest in one pass: an
// export reads a million of them, where encoding/json's two passes and
// reflection were most of the export's time. Key order and white space do
// not matter; keys match in any case, as encoding/json matches them.
func (ex *exportedExplanation) parse(b []byte) error {
	if ex.names == nil {
		ex.names = map[string]string{}
	}
	*ex = exportedExplanation{contributions: ex.contributions[:0], names: ex.names}
	sc := jsonScanner{b: b}
	is := func(key []byte, name string) bool {
		return len(key) == len(name) && (string(key) == name || strings.EqualFold(unsafeString(key), name))
	}
	model := func(key []byte) (err error) {
		switch {
		case is(key, "name"):
			ex.ModelName, err = sc.name(ex.names)
		case is(key, "version"):
			var f float64
			f, err = sc.number()
			ex.ModelVersion = int64(f)
		default:
			err = sc.skip()
		}
		return err
	}
	result := func(key []byte) (err error) {
		if is(key, "review") {
			ex.Review, err = sc.boolean()
			return err
		}
		return sc.skip()
	}
	contribution := func() error {
		if c, ok := sc.compactContribution(); ok {
			ex.contributions = append(ex.contributions, c)
			return nil
		}
		var c rawContribution
		err := sc.object(func(key []byte) (err error) {
			switch {
			case is(key, "feature"):
				c.feature, _, err = sc.rawString()
			case is(key, "value"):
				c.value, err = sc.rawNumber()
			case is(key, "contribution"):
				c.contribution, err = sc.number()
			default:
				err = sc.skip()
			}
			return err
		})
		ex.contributions = append(ex.contributions, c)
		return err
	}
	explanation := func(key []byte) (err error) {
		switch {
		case is(key, "summary"):
			ex.Summary, err = sc.str()
		case is(key, "contributions"):
			ex.contributions = ex.contributions[:0] // the last one counts
			err = sc.array(contribution)
		default:
			err = sc.skip()
		}
		return err
	}
	err := sc.object(func(key []byte) error {
		switch {
		case is(key, "model"):
			return sc.object(model)
		case is(key, "result"):
			return sc.object(result)
		case is(key, "explanation"):
			return sc.object(explanation)
		}
		return sc.skip()
	})
	if err != nil {
		return err
	}
	if sc.ws(); sc.i != len(sc.b) {
		return sc.fail("text after the value")
	}
	return nil
}

// compactContribution reads a contribution written as scoring/live writes
// it, {"feature":"name","value":1,"contribution":0.5} without white space
// or escapes, in one go: contributions are most of an explanation. Any
// other form is left to the general reader (ok false, nothing read).
func (sc *jsonScanner) compactContribution() (c rawContribution, ok bool) {
	const featureKey, valueKey, contributionKey = `{"feature":"`, `","value":`, `,"contribution":`
	b := sc.b[sc.i:]
	if !bytes.HasPrefix(b, []byte(featureKey)) {
		return c, false
	}
	name := b[len(featureKey):]
	q := bytes.IndexByte(name, '"')
	if q < 0 || bytes.IndexByte(name[:q], '\\') >= 0 {
		return c, false
	}
	for _, ch := range name[:q] {
		if ch < 0x20 {
			return c, false
		}
	}
	c.feature = b[len(featureKey)-1 : len(featureKey)+q+1] // with its quotes
	rest := name[q:]
	if !bytes.HasPrefix(rest, []byte(valueKey)) {
		return c, false
	}
	rest = rest[len(valueKey):]
	n := numberLength(rest)
	if n == 0 || !bytes.HasPrefix(rest[n:], []byte(contributionKey)) {
		return c, false
	}
	c.value, rest = rest[:n], rest[n+len(contributionKey):]
	n = numberLength(rest)
	if n == 0 || n == len(rest) || rest[n] != '}' {
		return c, false
	}
	f, err := strconv.ParseFloat(unsafeString(rest[:n]), 64)
	if err != nil {
		return c, false
	}
	c.contribution = f
	sc.i = len(sc.b) - len(rest) + n + 1
	return c, true
}

// top3 appends to out the three largest contributions by size (ties keep
// the model's order), as scoring.TopContributions picks them, without its
// sort; fewer when fewer are not zero.
func (ex *exportedExplanation) top3(out []scoring.Contribution) ([]scoring.Contribution, error) {
	var top [3]*rawContribution
	for i := range ex.contributions {
		c := &ex.contributions[i]
		if c.contribution == 0 {
			continue
		}
		for j := range top {
			if top[j] == nil || math.Abs(c.contribution) > math.Abs(top[j].contribution) {
				copy(top[j+1:], top[j:len(top)-1])
				top[j] = c
				break
			}
		}
	}
	for _, c := range top {
		if c == nil {
			break
		}
		rc, err := c.read(ex.names)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

// exportRow is one row of the export as its reader prepares it for its
// writer: the transaction, and what the export writes of its explanation,
// read on the reader's goroutine so that the two share the work.
type exportRow struct {
	store.ExportRow
	modelName    string
	modelVersion int64
	review       bool
	summary      string
	top          []scoring.Contribution // the three largest, fewer when fewer are not zero
}

// fill sets r to the store's row sr (which the store reuses: its
// explanation is read here, not kept), parsing the explanation with ex.
func (r *exportRow) fill(sr *store.ExportRow, ex *exportedExplanation) error {
	if err := ex.parse(sr.Explanation); err != nil {
		return fmt.Errorf("explanation of %s: %w", sr.ID, err)
	}
	top, err := ex.top3(r.top[:0])
	if err != nil {
		return fmt.Errorf("explanation of %s: %w", sr.ID, err)
	}
	*r = exportRow{ExportRow: *sr, modelName: ex.ModelName, modelVersion: ex.ModelVersion, review: ex.Review,
		summary: ex.Summary, top: top}
	r.Explanation = nil
	return nil
}

// InvestigateExport downloads every transaction the page's filters keep, in
// its order, as CSV: streamed as the rows are read, from one snapshot, up
// to the configured limit (the last line says so when it is reached; an
// error after the download started ends it with a line saying it is
// incomplete). Each export is audited with its filters and row count.
func (s *Server) InvestigateExport(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	f, vf, problems := investigateFilter(c.QueryParams())
	if len(problems) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, strings.Join(problems, " "))
	}
	if err := filterIDsOfTenant(c, f); err != nil {
		return err
	}
	tenant, err := store.GetTenant(ctx, p.Tenant)
	if err != nil {
		return err
	}
	limit := s.exportLimit()
	out, err := newCSVStream(c, exportFilename(tenant.Slug, "transactions", time.Now()), exportColumns)
	if err != nil {
		return err
	}
	var n int
	var more bool
	var ex exportedExplanation
	read := func(emit func(func(*exportRow) error) error) (err error) {
		n, more, err = store.ExportTransactions(ctx, p.Tenant, f, limit, func(r *store.ExportRow) error {
			return emit(func(slot *exportRow) error { return slot.fill(r, &ex) })
		})
		return err
	}
	err = pipeExport(ctx, read, func(r *exportRow) error {
		rec := out.rec[:0]
		rec.text(r.ID)
		rec.text(r.ExternalID)
		rec.time(r.ReceivedAt)
		rec.text(r.Type)
		rec.number(r.Amount)
		rec.text(r.NameOrig)
		rec.text(r.NameDest)
		rec.number(r.OldBalanceOrg)
		rec.number(r.NewBalanceOrig)
		rec.number(r.OldBalanceDest)
		rec.number(r.NewBalanceDest)
		rec.number(r.Score)
		rec.number(r.RawMargin)
		rec.text(r.Band)
		rec.text(strconv.FormatBool(r.review))
		rec.text(r.modelName)
		rec.integer(r.modelVersion)
		for i := range 3 {
			if i < len(r.top) {
				rec.text(r.top[i].Feature)
				rec.number(r.top[i].Value)
				rec.number(r.top[i].Contribution)
			} else {
				rec = append(rec, "", "", "")
			}
		}
		rec.text(r.summary)
		rec.text(r.Label)
		rec.text(r.DecidedBy)
		rec.time(r.DecidedAt)
		rec.text(r.Rationale)
		rec.text(r.Source)
		rec.text(r.OrigCountry)
		rec.text(r.OrigRegion)
		rec.text(r.DestCountry)
		rec.text(r.DestRegion)
		out.rec = rec
		return out.write(rec)
	})
	if err != nil {
		n = out.rows // what reached the file, when the writer stopped first
	}
	return s.finishExport(c, out, store.ActionExportTransactions, investigateParams(vf), limit, n, more, err)
}

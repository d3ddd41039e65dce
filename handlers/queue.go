package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	queuePageSize = 50
	// Where the band counts stop counting: at 1,000 in the review view (a
	// few thousand rows at most, in a small index), at 100 in the view of
	// all transactions, where a filter on the transactions' own columns
	// (type, account, decision) counts by reading rows, about 0.5 µs each.
	reviewCountCap = 1000
	allCountCap    = 100
)

// queueFilter reads the queue's view and filters from the query string.
// The default view is the review queue, highest risk first; view=all lists
// every transaction, newest first. Unknown values are dropped, and a bad
// minimum score is reported, not guessed.
func queueFilter(q url.Values) (store.QueueFilter, views.QueueFilters, string) {
	var f store.QueueFilter
	vf := views.QueueFilters{View: views.ViewReview}
	f.Review = q.Get("view") != views.ViewAll
	if !f.Review {
		vf.View = views.ViewAll
	}
	f.Bands, vf.Bands = bandsParam(q)
	if !f.Review {
		f.Decision = decisionParam(q)
		vf.Decision = f.Decision
	}
	if t := q.Get("type"); scoring.IsType(t) {
		f.Type, vf.Type = t, t
	}
	minScore, raw, problem := scoreParam(q, "min_score", "Min score")
	if minScore != nil {
		f.MinScore = *minScore
	}
	vf.MinScore = raw
	f.Account = accountParam(q)
	vf.Account = f.Account
	if w := q.Get("watch"); w == store.WatchAny || slices.Contains(store.WatchKindList, w) {
		f.Watch, vf.Watch = w, w
	}
	// The review view reads by risk unless asked for time; the view of all
	// transactions by time unless asked for score.
	sort := q.Get("sort")
	switch {
	case f.Review && sort != store.SortTime:
		f.Sort = store.SortRisk
	case !f.Review && (sort == store.SortScore || sort == store.SortRisk):
		f.Sort = store.SortScore
	default:
		f.Sort = store.SortTime
	}
	vf.Sort = f.Sort
	return f, vf, problem
}

// The query parameters the queue shares with the investigate page.

// bandsParam reads band: the known bands, each once, in the order given.
func bandsParam(q url.Values) ([]string, map[string]bool) {
	var bands []string
	seen := map[string]bool{}
	for _, b := range q["band"] {
		if slices.Contains(scoring.Bands, scoring.Band(b)) && !seen[b] {
			bands = append(bands, b)
			seen[b] = true
		}
	}
	return bands, seen
}

// decisionParam reads decision: undecided or a decision, otherwise any.
func decisionParam(q url.Values) string {
	if d := q.Get("decision"); d == "undecided" || slices.Contains(store.Decisions, d) {
		return d
	}
	return "any"
}

// scoreParam reads a score bound from key: nil when absent or bad, the
// text as given, and what is wrong with it (label names the field).
func scoreParam(q url.Values, key, label string) (*float64, string, string) {
	s := strings.TrimSpace(q.Get(key))
	if s == "" {
		return nil, "", ""
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return nil, s, label + " must be a number from 0 to 1."
	}
	return &v, s, ""
}

// accountParam reads account, "" when longer than any account (a
// trailing * aside, with which the investigate page reads a prefix).
func accountParam(q url.Values) string {
	a := strings.TrimSpace(q.Get("account"))
	if len(strings.TrimSuffix(a, "*")) > scoring.MaxAccountLen {
		return ""
	}
	return a
}

// canonical writes the view and filters back as a query string (no cursor).
func canonical(f store.QueueFilter, vf views.QueueFilters) url.Values {
	v := url.Values{}
	v.Set("view", vf.View)
	for _, b := range f.Bands {
		v.Add("band", b)
	}
	if !f.Review {
		v.Set("decision", f.Decision)
	}
	if f.Type != "" {
		v.Set("type", f.Type)
	}
	if vf.MinScore != "" {
		v.Set("min_score", vf.MinScore)
	}
	if f.Account != "" {
		v.Set("account", f.Account)
	}
	if f.Watch != "" {
		v.Set("watch", f.Watch)
	}
	v.Set("sort", f.Sort)
	return v
}

// queueHref is a queue URL: params with extra keys set (an empty value
// drops the key).
func queueHref(path string, params url.Values, kv ...string) string {
	v := url.Values{}
	for k, vs := range params {
		v[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + v.Encode()
}

func queueRow(r *store.QueueRow, isNew bool) views.QueueRow {
	return views.QueueRow{
		ID: r.ID, When: r.ReceivedAt.UTC().Format("2006-01-02 15:04:05"), Type: r.Type,
		Amount: scoring.FormatAmount(r.Amount), Sender: r.NameOrig, Receiver: r.NameDest,
		Score: scoring.FormatScore(r.Score), Band: r.Band, Decision: decisionLabel(r.Label), New: isNew,
	}
}

// formatCapped writes a band count, "1,000+" past the cap.
func formatCapped(n, limit int64) string {
	if n > limit {
		return formatCount(limit) + "+"
	}
	return formatCount(n)
}

// QueueList is the queue page, or (for htmx) its results: one page of the
// view, the band counts under its filters, the pager and the poller.
func (s *Server) QueueList(c echo.Context) error {
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	q := c.QueryParams()
	f, vf, problem := queueFilter(q)
	f.After, f.Before = q.Get("after"), q.Get("before")
	f.Limit = queuePageSize
	page, err := store.ListQueue(ctx, t, f)
	if err != nil {
		return err
	}
	limit := int64(allCountCap)
	if f.Review {
		limit = reviewCountCap
	}
	counts, err := store.CountQueueBands(ctx, t, f, int(limit))
	if err != nil {
		return err
	}
	newest, err := store.NewestTransactionID(ctx, t)
	if err != nil {
		return err
	}
	params := canonical(f, vf)
	props := views.QueueProps{Filters: vf, Error: problem, DecisionOptions: decisionFilter(),
		ReviewHref: queueHref(routePath(c, "QueueList"), params, "view", views.ViewReview, "decision", "", "sort", ""),
		AllHref:    queueHref(routePath(c, "QueueList"), params, "view", views.ViewAll, "sort", "")}
	for i := range page.Rows {
		props.Rows = append(props.Rows, queueRow(&page.Rows[i], false))
	}
	if err := markWatched(ctx, t, props.Rows); err != nil {
		return err
	}
	props.WatchOptions = watchFilterChoices()
	for _, b := range store.QueueBands {
		props.Counts = append(props.Counts, views.BandCount{Band: b, Count: formatCapped(counts[b], limit),
			Selected: vf.Bands[b], Href: queueHref(routePath(c, "QueueList"), params, "band", b)})
	}
	if n := len(page.Rows); n > 0 {
		if page.HasNext {
			props.NextHref = queueHref(routePath(c, "QueueList"), params, "after", page.Rows[n-1].ID)
		}
		if page.HasPrev {
			props.PrevHref = queueHref(routePath(c, "QueueList"), params, "before", page.Rows[0].ID)
		}
	}
	if page.HasPrev || (len(page.Rows) == 0 && (f.After != "" || f.Before != "")) {
		props.FirstHref = queueHref(routePath(c, "QueueList"), params)
	}
	// On the first page of a newest-first view the poller prepends new rows;
	// anywhere else it only says how many arrived, so the reader stays put.
	props.PollTop = f.Sort == store.SortTime && !page.HasPrev
	props.PollHref = pollHref(c, params, newest, props.PollTop)
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.QueuePage(props), views.QueueResults(props))
}

func pollHref(c echo.Context, params url.Values, newest string, top bool) string {
	kv := []string{"newest", newest, "top", ""}
	if top {
		kv[3] = "1"
	}
	return queueHref(routePath(c, "QueueNew"), params, kv...)
}

// QueueNew answers the queue's poll: the view's rows newer than the cursor.
// On the first page of a newest-first view (top=1) it returns them with the
// poller carrying the new cursor; elsewhere it returns how many there are,
// keeping the cursor, so the page under the reader does not move. It only
// reads.
func (s *Server) QueueNew(c echo.Context) error {
	q := c.QueryParams()
	f, vf, _ := queueFilter(q)
	top := q.Get("top") == "1"
	// With no cursor the tenant had no transaction, so every matching row is new.
	newest := q.Get("newest")
	params := canonical(f, vf)
	f.Sort, f.NewerThan, f.Limit = store.SortTime, newest, queuePageSize
	page, err := store.ListQueue(c.Request().Context(), currentPrincipal(c).Tenant, f)
	if err != nil {
		return err
	}
	if !top {
		n := strconv.Itoa(len(page.Rows))
		if page.HasNext {
			n += "+"
		}
		if len(page.Rows) == 0 {
			n = ""
		}
		return render(c, http.StatusOK, views.QueueFresh(n, queueHref(routePath(c, "QueueList"), params)), nil)
	}
	out := make([]views.QueueRow, len(page.Rows))
	for i := range page.Rows {
		out[i] = queueRow(&page.Rows[i], true)
	}
	if err := markWatched(c.Request().Context(), currentPrincipal(c).Tenant, out); err != nil {
		return err
	}
	if len(page.Rows) > 0 {
		newest = page.Rows[0].ID
	}
	return render(c, http.StatusOK, views.QueueNewRows(out, pollHref(c, params, newest, true)), nil)
}

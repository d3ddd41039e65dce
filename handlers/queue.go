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

const queuePageSize = 50

// queueFilter reads the queue's filters from the query string. Unknown
// values are dropped, and a bad minimum score is reported, not guessed.
func queueFilter(q url.Values) (store.QueueFilter, views.QueueFilters, string) {
	var f store.QueueFilter
	vf := views.QueueFilters{Bands: map[string]bool{}}
	for _, b := range q["band"] {
		if slices.Contains(views.Bands, b) && !vf.Bands[b] {
			f.Bands = append(f.Bands, b)
			vf.Bands[b] = true
		}
	}
	f.Decision = "undecided"
	if d := q.Get("decision"); d == "any" || slices.Contains(store.Decisions, d) {
		f.Decision = d
	}
	vf.Decision = f.Decision
	if t := q.Get("type"); scoring.IsType(t) {
		f.Type, vf.Type = t, t
	}
	var problem string
	if s := strings.TrimSpace(q.Get("min_score")); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1 {
			problem = "Min score must be a number from 0 to 1."
		} else {
			f.MinScore = v
		}
		vf.MinScore = s
	}
	if a := strings.TrimSpace(q.Get("account")); len(a) <= scoring.MaxAccountLen {
		f.Account, vf.Account = a, a
	}
	f.Sort, vf.Sort = store.SortTime, store.SortTime
	if q.Get("sort") == store.SortScore {
		f.Sort, vf.Sort = store.SortScore, store.SortScore
	}
	return f, vf, problem
}

// canonical writes the filters back as a query string (no cursor).
func canonical(f store.QueueFilter, minScore string) url.Values {
	v := url.Values{}
	for _, b := range f.Bands {
		v.Add("band", b)
	}
	v.Set("decision", f.Decision)
	if f.Type != "" {
		v.Set("type", f.Type)
	}
	if minScore != "" {
		v.Set("min_score", minScore)
	}
	if f.Account != "" {
		v.Set("account", f.Account)
	}
	v.Set("sort", f.Sort)
	return v
}

func queueRow(r *store.QueueRow, isNew bool) views.QueueRow {
	return views.QueueRow{
		ID: r.ID, When: r.ReceivedAt.UTC().Format("2006-01-02 15:04:05"), Type: r.Type,
		Amount: scoring.FormatAmount(r.Amount), Sender: r.NameOrig, Receiver: r.NameDest,
		Score: strconv.FormatFloat(r.Score, 'f', 4, 64), Band: r.Band, Label: r.Label, New: isNew,
	}
}

// QueueList is the queue page, or (for htmx) its results.
func (s *Server) QueueList(c echo.Context) error {
	f, vf, problem := queueFilter(c.QueryParams())
	f.After = c.QueryParam("after")
	f.Limit = queuePageSize
	props := views.QueueProps{Filters: vf, Error: problem}
	params := canonical(f, vf.MinScore)
	rows, err := store.ListQueue(c.Request().Context(), currentPrincipal(c).Tenant, f)
	if err != nil {
		return err
	}
	for i := range rows {
		props.Rows = append(props.Rows, queueRow(&rows[i], false))
	}
	if len(rows) == queuePageSize {
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		next.Set("after", rows[len(rows)-1].ID)
		props.NextHref = "/queue?" + next.Encode()
	}
	// The poller asks for rows newer than the newest one this view has seen
	// (ids are UUIDv7, so the largest id is the newest row).
	newest := c.QueryParam("newest")
	for _, r := range rows {
		if r.ID > newest {
			newest = r.ID
		}
	}
	props.PollHref = pollHref(params, newest)
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.QueuePage(props), views.QueueResults(props))
}

func pollHref(params url.Values, newest string) string {
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	if newest != "" {
		v.Set("newest", newest)
	}
	return "/queue/new?" + v.Encode()
}

// QueueNew answers the queue's poll: matching rows newer than the cursor,
// and the poller carrying the new cursor. It only reads.
func (s *Server) QueueNew(c echo.Context) error {
	f, vf, _ := queueFilter(c.QueryParams())
	f.Sort = store.SortTime
	// With no cursor the view was empty, so every matching row is new.
	newest := c.QueryParam("newest")
	f.NewerThan = newest
	f.Limit = queuePageSize
	rows, err := store.ListQueue(c.Request().Context(), currentPrincipal(c).Tenant, f)
	if err != nil {
		return err
	}
	out := make([]views.QueueRow, len(rows))
	for i := range rows {
		out[i] = queueRow(&rows[i], true)
	}
	if len(rows) > 0 {
		newest = rows[0].ID
	}
	return render(c, http.StatusOK, views.QueueNewRows(out, pollHref(canonical(f, vf.MinScore), newest)), nil)
}

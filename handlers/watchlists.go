package handlers

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	watchPageSize = 100
	// maxWatchReason is the longest reason, in characters.
	maxWatchReason = 500
	// maxWatchlistFile is the largest watchlist file an admin may import
	// (uploadLimits); maxWatchlistRows the most lines it may hold.
	maxWatchlistFile = 2 << 20
	maxWatchlistRows = 10000
	// importProblemsShown is how many refused lines an import lists.
	importProblemsShown = 50
)

// watchFilter reads the watchlist's filters from the query string.
func watchFilter(q url.Values) (store.WatchFilter, views.WatchFilters) {
	var f store.WatchFilter
	if k := q.Get("list"); slices.Contains(store.WatchKindList, k) {
		f.Kind = k
	}
	f.Account = strings.TrimSpace(q.Get("account"))
	f.Reason = strings.TrimSpace(q.Get("reason"))
	return f, views.WatchFilters{Kind: f.Kind, Account: f.Account, Reason: f.Reason}
}

// watchQuery writes the filters back as a query string.
func watchQuery(f store.WatchFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"list": f.Kind, "account": f.Account, "reason": f.Reason} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// WatchlistList is the watchlist page, or (for htmx) its filtered table.
func (s *Server) WatchlistList(c echo.Context) error {
	return s.renderWatchlists(c, http.StatusOK, views.WatchlistsProps{})
}

func (s *Server) renderWatchlists(c echo.Context, status int, props views.WatchlistsProps) error {
	p := currentPrincipal(c)
	f, vf := watchFilter(c.QueryParams())
	f.After, f.Limit = c.QueryParam("after"), watchPageSize
	rows, err := store.ListWatchlist(c.Request().Context(), p.Tenant, f)
	if err != nil {
		return err
	}
	now := s.now()
	for i := range rows[:min(len(rows), watchPageSize)] {
		props.Rows = append(props.Rows, watchRow(&rows[i], now))
	}
	q := watchQuery(f)
	list := routePath(c, "WatchlistList")
	if len(rows) > watchPageSize {
		next := watchQuery(f)
		next.Set("after", rows[watchPageSize-1].ID)
		props.NextHref = list + "?" + next.Encode()
	}
	if f.After != "" {
		props.FirstHref = string(views.WithQuery(views.URL(c.Request().Context(), "WatchlistList"), q))
	}
	props.Filters, props.Kinds = vf, watchChoices()
	props.ExportHref = string(views.WithQuery(views.URL(c.Request().Context(), "WatchlistExport"), q))
	props.CanEdit, props.CanImport = Can(p.User.Role, PermEditWatchlist), Can(p.User.Role, PermImportWatchlist)
	props.MaxImport = fmt.Sprintf("%d MB", maxWatchlistFile>>20)
	return render(c, status, views.WatchlistsPage(props), views.WatchlistResults(props))
}

// watchRow shows an entry; now tells whether it expired.
func watchRow(r *store.WatchRow, now time.Time) views.WatchRow {
	row := views.WatchRow{ID: r.ID, Account: r.Account, Kind: r.Kind, KindLabel: watchLabel(r.Kind), Reason: r.Reason,
		AddedBy: r.CreatorName, AddedAt: formatTime(&r.CreatedAt), Expired: r.Expired(now)}
	if row.AddedBy == "" {
		row.AddedBy = "an import or the system"
	}
	if r.ExpiresAt != nil {
		row.Expires = formatTime(r.ExpiresAt)
	}
	return row
}

// watchInput checks the add form (or an imported line) and says what is
// wrong with it, in words, or returns the entry to save. Expiry is a date
// (the entry stops applying at its start, UTC), a date and time (UTC), or
// an RFC 3339 time; it must lie after now.
func watchInput(account, kind, reason, expires string, now time.Time) (store.WatchInput, string) {
	in := store.WatchInput{Account: strings.TrimSpace(account), Kind: kind, Reason: strings.TrimSpace(reason)}
	switch {
	case in.Account == "":
		return in, "Enter the account."
	case len(in.Account) > scoring.MaxAccountLen:
		return in, fmt.Sprintf("The account is longer than %d characters.", scoring.MaxAccountLen)
	case scoring.IDProblem(in.Account) != "":
		return in, "The account " + scoring.IDProblem(in.Account) + "."
	case !slices.Contains(store.WatchKindList, in.Kind):
		return in, "Choose a list: blocked or trusted."
	case in.Reason == "":
		return in, "Write the reason: what you found. Analysts and auditors read it."
	case utf8.RuneCountInString(in.Reason) > maxWatchReason:
		return in, fmt.Sprintf("The reason is %d characters; keep it to %d.", utf8.RuneCountInString(in.Reason), maxWatchReason)
	case freeTextProblem("reason", in.Reason) != "":
		return in, freeTextProblem("reason", in.Reason)
	}
	if e := strings.TrimSpace(expires); e != "" {
		at, ok := parseExpiry(e)
		switch {
		case !ok:
			return in, "Write the expiry as a date (2026-12-31) or a date and time (2026-12-31 18:00), UTC."
		case !at.After(now):
			return in, "The expiry is in the past. Leave it empty for no expiry, or choose a later date."
		}
		in.ExpiresAt = &at
	}
	return in, ""
}

// expiryLayouts are the forms an expiry may take, all UTC unless the
// RFC 3339 form says otherwise.
var expiryLayouts = []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.RFC3339}

func parseExpiry(s string) (time.Time, bool) {
	for _, l := range expiryLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// watchMessage says what a saved entry did, replacing another included.
func watchMessage(ch *store.WatchChange) string {
	msg := fmt.Sprintf("%s is on the %s list now", ch.Entry.Account, strings.ToLower(watchLabel(ch.Entry.Kind)))
	if ch.Entry.ExpiresAt != nil {
		msg += ", until " + formatTime(ch.Entry.ExpiresAt)
	}
	msg += "."
	if ch.Entry.Kind == store.WatchBlocked {
		msg += " Its new transactions are critical from now on; its undecided ones are flagged in the queue."
	}
	if r := ch.Replaced; r != nil {
		if r.Kind != ch.Entry.Kind {
			msg += fmt.Sprintf(" It was on the %s list (“%s”): an account is on one list at most, so that entry is replaced.",
				strings.ToLower(watchLabel(r.Kind)), r.Reason)
		} else {
			msg += fmt.Sprintf(" Its earlier entry (“%s”) is replaced.", r.Reason)
		}
	}
	return msg
}

// WatchlistCreate puts an account on a list. From the watchlist page it
// answers the page with what it did; from an entity page, the entity's
// watchlist panel (htmx) or a redirect back to the entity.
func (s *Server) WatchlistCreate(c echo.Context) error {
	p := currentPrincipal(c)
	form := views.WatchForm{Account: strings.TrimSpace(c.FormValue("account")), Kind: c.FormValue("list"),
		Reason: c.FormValue("reason"), ExpiresAt: c.FormValue("expires_at")}
	if c.FormValue("back") == "entity" {
		form.Back = "entity"
	}
	in, problem := watchInput(form.Account, form.Kind, form.Reason, form.ExpiresAt, s.now())
	var ch *store.WatchChange
	if problem == "" {
		var err error
		ch, err = store.AddWatch(c.Request().Context(), p.Tenant, actorOf(c, p), in)
		if errors.Is(err, store.ErrWatchChanged) {
			problem = "Someone changed this account's entry at the same moment. Look at it again and save once more."
		} else if err != nil {
			return err
		}
	}
	if form.Back == "entity" {
		if problem == "" && !isFragmentRequest(c) {
			return c.Redirect(http.StatusSeeOther, routePath(c, "EntityShow", in.Account))
		}
		panel, err := s.entityWatchProps(c, form.Account)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if problem != "" {
			panel.Form, panel.Error, status = form, problem, http.StatusUnprocessableEntity
		} else {
			panel.Message = watchMessage(ch)
		}
		return render(c, status, views.EntityWatchFallback(panel), views.EntityWatchPanel(panel))
	}
	if problem != "" {
		return s.renderWatchlists(c, http.StatusUnprocessableEntity, views.WatchlistsProps{Form: form, Error: problem})
	}
	return s.renderWatchlists(c, http.StatusCreated, views.WatchlistsProps{Message: watchMessage(ch)})
}

// WatchlistDeleteConfirm asks before an entry is removed; another tenant's
// id is a 404.
func (s *Server) WatchlistDeleteConfirm(c echo.Context) error {
	r, err := store.GetWatch(c.Request().Context(), currentPrincipal(c).Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	props := views.WatchDeleteProps{Entry: watchRow(r, s.now())}
	if c.QueryParam("back") == "entity" {
		props.Back = "entity"
	}
	return render(c, http.StatusOK, views.WatchDeletePage(props), nil)
}

// WatchlistDelete takes an entry off the watchlist, then answers the
// watchlist page with what it did, or goes back to the entity it was
// removed from.
func (s *Server) WatchlistDelete(c echo.Context) error {
	p := currentPrincipal(c)
	e, err := store.RemoveWatch(c.Request().Context(), p.Tenant, actorOf(c, p), c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("back") == "entity" {
		return c.Redirect(http.StatusSeeOther, routePath(c, "EntityShow", e.Account))
	}
	return s.renderWatchlists(c, http.StatusOK, views.WatchlistsProps{
		Message: fmt.Sprintf("%s is off the %s list.", e.Account, strings.ToLower(watchLabel(e.Kind)))})
}

// WatchlistExport downloads the filtered watchlist as CSV, every text cell
// made safe for spreadsheets (safeCell). The export is recorded in the
// audit trail before a byte is sent: no export goes unrecorded.
func (s *Server) WatchlistExport(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	f, _ := watchFilter(c.QueryParams())
	now := s.now()
	details := map[string]any{}
	for k, v := range watchQuery(f) {
		details[k] = v[0]
	}
	if err := store.Record(ctx, p.Tenant, actorOf(c, p), store.Event{Action: store.ActionWatchExport,
		ObjectType: "watchlist", Details: details}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="watchlist-%s.csv"`, now.UTC().Format("20060102-1504")))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write([]string{"account", "list", "reason", "expires_at", "added_by", "added_at"}); err != nil {
		return err
	}
	err := store.ExportWatchlist(ctx, p.Tenant, f, func(r *store.WatchRow) error {
		expires := ""
		if r.ExpiresAt != nil {
			expires = r.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return w.Write([]string{safeCell(r.Account), r.Kind, safeCell(r.Reason), expires, safeCell(r.CreatorEmail),
			r.CreatedAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// WatchlistImport reads a watchlist file (account, list, reason,
// expires_at) and saves its good lines in one transaction, audited, and
// reports the others line by line. The multipart body was read behind this
// route's size limit (uploadLimits) before the CSRF check read its token.
func (s *Server) WatchlistImport(c echo.Context) error {
	p := currentPrincipal(c)
	fail := func(msg string) error {
		return s.renderWatchlists(c, http.StatusUnprocessableEntity, views.WatchlistsProps{
			Import: &views.ImportReport{File: "Nothing imported", Summary: msg}})
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail("Choose a CSV file to import.")
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	name := filepath.Base(fh.Filename)
	rows, problems, bad := parseWatchlistFile(data, s.now())
	if bad != "" {
		return fail(bad)
	}
	report := &views.ImportReport{File: name}
	for i, m := range problems {
		if i == importProblemsShown {
			report.More = fmt.Sprintf("%d", len(problems)-importProblemsShown)
			break
		}
		report.Problems = append(report.Problems, m)
	}
	if len(rows) == 0 {
		report.Summary = "No line could be saved."
		return s.renderWatchlists(c, http.StatusUnprocessableEntity, views.WatchlistsProps{Import: report})
	}
	res, err := store.ImportWatchlist(c.Request().Context(), p.Tenant, actorOf(c, p), rows, name, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrWatchChanged) {
		return fail("Someone changed one of these accounts' entries at the same moment. Nothing was saved; import the file again.")
	}
	if err != nil {
		return err
	}
	report.Summary = fmt.Sprintf("%s added, %s replaced.", countWords(res.Added, "account", "accounts"),
		countWords(res.Replaced, "entry", "entries"))
	return s.renderWatchlists(c, http.StatusOK, views.WatchlistsProps{Import: report})
}

// countWords is "1 account", "3 accounts".
func countWords(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// parseWatchlistFile reads an imported watchlist: a header naming the
// columns account, list, reason and (optionally) expires_at in any order,
// then one entry a line. It returns the good entries, what is wrong with
// each other line ("line 3: …"), or what is wrong with the whole file. A
// cell that an export made safe for spreadsheets is read back as it was.
func parseWatchlistFile(data []byte, now time.Time) ([]store.WatchInput, []string, string) {
	if !utf8.Valid(data) {
		return nil, nil, "The file is not UTF-8 text. Save it as CSV (UTF-8) and import it again."
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "\ufeff")))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, "The file is empty or not CSV. Its first line must name the columns: account,list,reason,expires_at."
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"account", "list", "reason"} {
		if _, ok := col[need]; !ok {
			return nil, nil, fmt.Sprintf("The first line must name the columns account, list, reason and, if you like, expires_at; %q is missing.", need)
		}
	}
	cell := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return unsafeCell(rec[i])
		}
		return ""
	}
	var rows []store.WatchInput
	var problems []string
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, fmt.Sprintf("line %d: not valid CSV (%v); the rest of the file was not read.", pe.Line, pe.Err))
			} else {
				problems = append(problems, fmt.Sprintf("not valid CSV (%v); the rest of the file was not read.", err))
			}
			break
		}
		if len(rows)+len(problems) == maxWatchlistRows {
			return nil, nil, fmt.Sprintf("The file holds more than %d lines. Split it and import the parts one after the other.", maxWatchlistRows)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a blank line
		}
		in, problem := watchInput(cell(rec, "account"), strings.ToLower(strings.TrimSpace(cell(rec, "list"))),
			cell(rec, "reason"), cell(rec, "expires_at"), now)
		if problem == "" {
			if first, dup := seen[in.Account]; dup {
				problem = fmt.Sprintf("The account is on line %d already.", first)
			}
		}
		if problem != "" {
			problems = append(problems, fmt.Sprintf("line %d: %s", line, problem))
			continue
		}
		seen[in.Account] = line
		rows = append(rows, in)
	}
	return rows, problems, ""
}

package handlers

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const auditPageSize = 50

// auditObjectRoutes are the pages of the objects an audit event can name,
// by object type, with the permission each route needs (a test checks it
// against the route table): the object's id is the route's parameter, or
// the query parameter named by query. Accounts are named by watchlist
// changes, and an account on a watchlist may have no transaction (its
// profile is a 404): the link is the watchlist filtered to it.
var auditObjectRoutes = map[string]struct {
	route string
	perm  Permission
	query string
}{
	"case": {"CaseShow", PermViewCases, ""}, "transaction": {"TransactionShow", PermViewQueue, ""},
	"account": {"WatchlistList", PermViewWatchlist, "account"}, "user": {"UserShow", PermViewUsers, ""},
	"upload": {"UploadShow", PermUpload, ""}, "model_version": {"ModelShow", PermViewModels, ""},
}

// auditFilter reads the audit trail's filters: actor (part of an email),
// action (or what comes before its dot), object (a type, an id, or both)
// and a range of days (UTC, the last one included). Bad dates are reported
// and left out.
func auditFilter(q url.Values) (store.AuditFilter, url.Values, string) {
	f := store.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Object: strings.TrimSpace(q.Get("object"))}
	params := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "object": f.Object} {
		if v != "" {
			params.Set(k, v)
		}
	}
	var problems []string
	for _, d := range []struct {
		key, label string
		into       *time.Time
		days       int
	}{{"from", "From", &f.From, 0}, {"to", "To", &f.To, 1}} {
		s := strings.TrimSpace(q.Get(d.key))
		if s == "" {
			continue
		}
		params.Set(d.key, s)
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			problems = append(problems, d.label+" must be a date (YYYY-MM-DD).")
			continue
		}
		*d.into = t.AddDate(0, 0, d.days)
	}
	return f, params, strings.Join(problems, " ")
}

// AuditList shows the tenant's audit trail, newest first, 50 at a time,
// with its filters and, for those who may, the export of what they keep.
func (s *Server) AuditList(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	f, params, problem := auditFilter(c.QueryParams())
	f.Before, f.After, f.Limit = c.QueryParam("before"), c.QueryParam("after"), auditPageSize+1
	events, err := store.ListAudit(ctx, p.Tenant, f)
	if err != nil {
		return err
	}
	more := len(events) > auditPageSize
	if more && f.Before == "" && f.After != "" {
		events = events[1:] // read oldest first: the extra one is the newest
	} else if more {
		events = events[:auditPageSize]
	}
	props := views.AuditProps{Action: f.Action, Actor: f.Actor, Object: f.Object, From: params.Get("from"),
		To: params.Get("to"), Error: problem}
	for _, e := range events {
		row := views.AuditRow{
			ID: e.ID, When: e.CreatedAt.UTC().Format("2006-01-02 15:04:05"), Actor: e.ActorEmail,
			Action: e.Action, IP: e.IP, Details: auditDetails(e.Details),
		}
		if e.ObjectType != "" {
			row.ObjectType, row.ObjectID = e.ObjectType, e.ObjectID
			if r, ok := auditObjectRoutes[e.ObjectType]; ok && e.ObjectID != "" && Can(p.User.Role, r.perm) {
				row.ObjectHref = routePath(c, r.route, e.ObjectID)
				if r.query != "" {
					row.ObjectHref = routePath(c, r.route) + "?" + url.Values{r.query: {e.ObjectID}}.Encode()
				}
			}
		}
		props.Rows = append(props.Rows, row)
	}
	self := string(views.URL(ctx, "AuditList"))
	if n := len(events); n > 0 {
		backwards := f.Before == "" && f.After != ""
		if (more && !backwards) || backwards {
			props.NextHref = queueHref(self, params, "before", events[n-1].ID)
		}
		if (more && backwards) || (!backwards && f.Before != "") {
			props.PrevHref = queueHref(self, params, "after", events[0].ID)
		}
	}
	if Can(p.User.Role, PermExportAudit) {
		props.ExportHref = string(views.WithQuery(views.URL(ctx, "AuditExport"), params))
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.AuditPage(props), nil)
}

// auditColumns is the header of the audit trail export.
var auditColumns = []string{"event_id", "created_at", "actor_email", "actor_id", "action", "object_type", "object_id",
	"ip", "user_agent", "details"}

// AuditExport downloads the audit events the trail's filters keep, newest
// first, as CSV, streamed and limited as the transactions export is, and
// audited as it is.
func (s *Server) AuditExport(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	f, params, problem := auditFilter(c.QueryParams())
	if problem != "" {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, problem)
	}
	tenant, err := store.GetTenant(ctx, p.Tenant)
	if err != nil {
		return err
	}
	limit := s.exportLimit()
	out, err := newCSVStream(c, exportFilename(tenant.Slug, "audit", time.Now()), auditColumns)
	if err != nil {
		return err
	}
	n, more, err := store.ExportAudit(ctx, p.Tenant, f, limit, func(e *store.AuditEvent) error {
		rec := out.rec[:0]
		rec.text(e.ID)
		rec.time(e.CreatedAt)
		rec.text(e.ActorEmail)
		actorID := ""
		if e.ActorID != nil {
			actorID = *e.ActorID
		}
		rec.text(actorID)
		rec.text(e.Action)
		rec.text(e.ObjectType)
		rec.text(e.ObjectID)
		rec.text(e.IP)
		rec.text(e.UserAgent)
		rec.text(string(e.Details))
		out.rec = rec
		return out.write(rec)
	})
	return s.finishExport(c, out, store.ActionExportAudit, params, limit, n, more, err)
}

// auditDetails writes an event's JSON details as labelled values, in key
// order: text as it is (a rationale keeps its line breaks), a list of texts
// joined with commas, anything else as JSON. Details that are not a JSON
// object are shown whole.
func auditDetails(raw []byte) []views.Field {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return []views.Field{{Label: "details", Value: string(raw)}}
	}
	out := make([]views.Field, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := string(m[k])
		var s string
		var list []string
		switch {
		case json.Unmarshal(m[k], &s) == nil:
			v = s
		case json.Unmarshal(m[k], &list) == nil:
			v = strings.Join(list, ", ")
		}
		out = append(out, views.Field{Label: k, Value: v})
	}
	return out
}

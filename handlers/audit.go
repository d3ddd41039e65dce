package handlers

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const auditPageSize = 50

// AuditList shows the tenant's audit trail, newest first, 50 at a time.
func (s *Server) AuditList(c echo.Context) error {
	p := currentPrincipal(c)
	f := store.AuditFilter{Action: c.QueryParam("action"), Before: c.QueryParam("before"), Limit: auditPageSize}
	events, err := store.ListAudit(c.Request().Context(), p.Tenant, f)
	if err != nil {
		return err
	}
	props := views.AuditProps{Action: f.Action}
	for _, e := range events {
		row := views.AuditRow{
			ID: e.ID, When: e.CreatedAt.UTC().Format("2006-01-02 15:04:05"), Actor: e.ActorEmail,
			Action: e.Action, IP: e.IP, Details: auditDetails(e.Details),
		}
		if e.ObjectType != "" {
			row.Object = e.ObjectType + " " + e.ObjectID
		}
		props.Rows = append(props.Rows, row)
	}
	if len(events) == auditPageSize {
		q := url.Values{"before": {events[len(events)-1].ID}}
		if f.Action != "" {
			q.Set("action", f.Action)
		}
		props.NextHref = routePath(c, "AuditList") + "?" + q.Encode()
	}
	return render(c, http.StatusOK, views.AuditPage(props), nil)
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

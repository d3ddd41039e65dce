package handlers

import (
	"net/http"
	"net/url"

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
			Action: e.Action, IP: e.IP, Details: string(e.Details),
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
		props.NextHref = "/audit?" + q.Encode()
	}
	return render(c, http.StatusOK, views.AuditPage(props), nil)
}

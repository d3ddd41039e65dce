package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// outageRetryAfter is what a request failed by an unreachable database is told to
// wait (Retry-After): about as long as a PostgreSQL restart takes.
const outageRetryAfter = 5 * time.Second

// handleError is the central error handler: it logs server errors once and
// renders a friendly page (or panel for htmx) without internals. While the
// database is unreachable it answers 503 with Retry-After and logs the
// outage at most once per outageLogInterval instead of once per request.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		// Too late to answer: the status and part of the body are out. Log
		// it, or a failure while streaming would go unseen.
		slog.Error("request failed after the response was sent", "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", logPath(c), "status", c.Response().Status)
		return
	}
	p := views.ErrorProps{RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	var he *echo.HTTPError
	var prob *problem
	unavailable := false
	switch {
	case errors.As(err, &prob):
		p.Status, p.Message = prob.Status, prob.Detail
	case errors.Is(err, store.ErrNotFound):
		p.Status = http.StatusNotFound
	case errors.As(err, &he):
		p.Status = he.Code
		if msg, ok := he.Message.(string); ok && he.Code < 500 {
			p.Message = msg
		}
	case store.IsUnavailable(err):
		p.Status, unavailable = http.StatusServiceUnavailable, true
	default:
		p.Status = http.StatusInternalServerError
	}
	switch {
	case unavailable:
		p.Title, p.Message = "Temporarily unavailable", "Sentinel cannot reach its database at the moment. Nothing was lost; try again in a few seconds."
		c.Response().Header().Set("Retry-After", retryAfter(outageRetryAfter))
		if n, ok := s.outage.note(time.Now()); ok {
			slog.Error("database unavailable: answering 503", "err", err, "failed_requests", n,
				"request_id", p.RequestID, "method", c.Request().Method, "path", logPath(c))
		}
	case p.Status == http.StatusNotFound:
		p.Title, p.Message = "Not found", "There is nothing here, or it belongs to someone else."
	case p.Status == http.StatusForbidden:
		p.Title = "Not allowed"
	case p.Status == http.StatusTooManyRequests:
		p.Title = "Too many requests"
	case p.Status == http.StatusRequestEntityTooLarge:
		p.Title = "Too large"
	case p.Status >= 500:
		p.Title, p.Message = "Something went wrong", "Sentinel could not finish this request. Try again; if it keeps happening, give an admin the request id below."
		slog.Error("request failed", "err", err, "request_id", p.RequestID,
			"method", c.Request().Method, "path", logPath(c))
	default:
		p.Title = http.StatusText(p.Status)
	}
	if p.Message == "" {
		p.Message = http.StatusText(p.Status)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	if isAPI(c) {
		if prob == nil {
			prob = newProblem(p.Status, p.Message)
			switch {
			case unavailable:
				prob.Detail = "the database is unreachable; retry after " + retryAfter(outageRetryAfter) + " seconds"
			case p.Status >= 500:
				prob.Detail = "Sentinel could not finish this request; quote request id " + p.RequestID + " when reporting it."
			}
		}
		if werr := writeProblem(c, prob); werr != nil {
			slog.Error("write problem", "err", werr, "request_id", p.RequestID)
		}
		return
	}
	if rerr := render(c, p.Status, views.ErrorPage(p), views.ErrorPanel(p)); rerr != nil {
		slog.Error("render error page", "err", rerr, "request_id", p.RequestID)
	}
}

// outageLogInterval is the least time between two log lines about one
// database outage.
const outageLogInterval = time.Second

// outageLog decides when requests failed by an unreachable database are
// logged: a replica under load would otherwise write a line per request,
// a thousand a second, burying everything else.
type outageLog struct {
	mu     sync.Mutex
	last   time.Time // when the last line was written
	failed int       // requests failed since then
}

// note counts one failed request at now. It reports whether to log it, and
// then how many failed requests the line stands for (this one included).
func (o *outageLog) note(now time.Time) (failed int, log bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed++
	if !o.last.IsZero() && now.Sub(o.last) < outageLogInterval {
		return 0, false
	}
	failed, o.failed, o.last = o.failed, 0, now
	return failed, true
}

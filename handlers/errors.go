package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// handleError is the central error handler: it logs server errors once and
// renders a friendly page (or panel for htmx) without internals.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := views.ErrorProps{RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	var he *echo.HTTPError
	var prob *problem
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
	default:
		p.Status = http.StatusInternalServerError
	}
	switch p.Status {
	case http.StatusNotFound:
		p.Title, p.Message = "Not found", "There is nothing here, or it belongs to someone else."
	case http.StatusForbidden:
		p.Title = "Not allowed"
	case http.StatusTooManyRequests:
		p.Title = "Too many requests"
	case http.StatusRequestEntityTooLarge:
		p.Title = "Too large"
	default:
		if p.Status >= 500 {
			p.Title, p.Message = "Something went wrong", "Sentinel could not finish this request. Try again; if it keeps happening, give an admin the request id below."
			slog.Error("request failed", "err", err, "request_id", p.RequestID,
				"method", c.Request().Method, "path", c.Request().URL.Path)
		} else {
			p.Title = http.StatusText(p.Status)
		}
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
			if p.Status >= 500 {
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

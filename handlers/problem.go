package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// problem is an RFC 9457 problem detail, the body of every API error.
type problem struct {
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail,omitempty"`
	Instance string               `json:"instance,omitempty"`
	Errors   []scoring.FieldError `json:"errors,omitempty"`
}

// Error lets a problem travel as an error to the central handler.
func (p *problem) Error() string { return p.Title + ": " + p.Detail }

func newProblem(status int, detail string, fields ...scoring.FieldError) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

// isAPI reports whether the request is for the JSON API.
func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

func writeProblem(c echo.Context, p *problem) error {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	p.Instance = c.Request().URL.Path
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(p.Status, p)
}

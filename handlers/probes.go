package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health answers 200 while the process runs.
func (s *Server) Health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readiness is the body of /ready.
type readiness struct {
	Status  string            `json:"status"`
	Failing []string          `json:"failing,omitempty"`
	Checks  map[string]string `json:"checks"`
}

// Ready answers 200 when the database answers and 503 naming the failing check otherwise.
func (s *Server) Ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	body := readiness{Status: "ready", Checks: map[string]string{"database": "ok"}}
	if err := s.db.Ping(ctx); err != nil {
		slog.Warn("readiness check failed", "check", "database", "err", err)
		body = readiness{Status: "unavailable", Failing: []string{"database"}, Checks: map[string]string{"database": "failing"}}
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}

package handlers

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// Every /api/v1 route of the router is in the OpenAPI document, with the
// same method, and the document describes no route that does not exist.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	db := storetest.SQLite(t)
	e := New(db, live.NewScorer(db), Config{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:(\w+)`)
	routes := map[string]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == echo.RouteNotFound || strings.HasSuffix(r.Path, "*") {
			continue
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		key := strings.ToLower(r.Method) + " " + path
		routes[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !routes[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which no route serves", method, path)
			}
		}
	}
	if len(routes) < 3 {
		t.Fatalf("found %d API routes, want at least 3", len(routes))
	}
	a := newTestApp(t, db, false)
	if res := a.browser().get("/api/openapi.json"); res.Status != http.StatusOK {
		t.Fatalf("GET /api/openapi.json = %d", res.Status)
	}
	page := a.browser().get("/api/docs")
	if page.Status != http.StatusOK || strings.Count(page.Body, `data-testid="api-operation"`) != len(routes) || !strings.Contains(page.Body, "ScoreRequest") {
		t.Fatalf("GET /api/docs = %d, does not list the %d operations", page.Status, len(routes))
	}
}

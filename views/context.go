// Package views holds Sentinel's templ components. Components are pure
// functions of view-model structs; the only context they read goes through
// the typed helpers in this file.
package views

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

type ctxKey int

const (
	viewerKey ctxKey = iota
	csrfKey
	routerKey
)

// NavItem is one entry of the sidebar. Also lists other path prefixes that
// belong to it (a transaction page belongs to the queue).
type NavItem struct {
	Label   string
	Href    string
	Section string
	Also    []string
}

// Viewer is the signed-in person as the layout shows them.
type Viewer struct {
	Name       string
	Email      string
	Role       string
	TenantName string
	Nav        []NavItem
	// Path is the current request path, to mark the active nav item.
	Path string
}

// WithViewer stores v in ctx for the layout.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey, v)
}

// CurrentUser returns the viewer stored by WithViewer, if any.
func CurrentUser(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey).(Viewer)
	return v, ok
}

// Router builds the path of a named route: Echo's Reverse.
type Router interface {
	Reverse(name string, params ...any) string
}

// WithRouter stores the router that URL asks.
func WithRouter(ctx context.Context, r Router) context.Context {
	return context.WithValue(ctx, routerKey, r)
}

// URL is the path of the route named name (its handler's name, as in
// handlers/routes.go) with params filled in, path-escaped. Links and form
// actions are built with it, never from string literals, so a moved route
// moves every link to it. An unknown name is a programming error: it panics,
// which every page test turns into a failure.
func URL(ctx context.Context, name string, params ...string) templ.SafeURL {
	r, _ := ctx.Value(routerKey).(Router)
	if r == nil {
		panic("views: no router in the context for route " + name)
	}
	args := make([]any, len(params))
	for i, p := range params {
		args[i] = url.PathEscape(p)
	}
	path := r.Reverse(name, args...)
	if path == "" {
		panic("views: no route named " + name)
	}
	return templ.SafeURL(path)
}

// WithQuery adds a query string to a URL built by URL.
func WithQuery(u templ.SafeURL, q url.Values) templ.SafeURL {
	if len(q) == 0 {
		return u
	}
	return templ.SafeURL(string(u) + "?" + q.Encode())
}

// WithCSRFToken stores the request's CSRF token in ctx.
func WithCSRFToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

// CSRFToken returns the request's CSRF token.
func CSRFToken(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

// RoleLabel turns a role id into words.
func RoleLabel(role string) string {
	switch role {
	case "senior_analyst":
		return "Senior analyst"
	case "admin":
		return "Admin"
	case "analyst":
		return "Analyst"
	case "auditor":
		return "Auditor"
	}
	return role
}

// initials returns up to two capital letters for an avatar.
func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		for _, r := range f {
			out = append(out, r)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	return strings.ToUpper(string(out))
}

// hxHeaders is the body's hx-headers attribute: every htmx request carries the CSRF token.
func hxHeaders(ctx context.Context) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": CSRFToken(ctx)})
	return string(b)
}

// navAttrs marks the nav link of the current page with aria-current.
func navAttrs(path string, item NavItem) templ.Attributes {
	for _, prefix := range append([]string{item.Href}, item.Also...) {
		if path == prefix || (prefix != "/" && strings.HasPrefix(path, prefix+"/")) {
			return templ.Attributes{"aria-current": "page"}
		}
	}
	return templ.Attributes{}
}

// htmxConfig keeps htmx inside the strict CSP (no inline styles or eval) and
// lets it swap 422 responses, which carry a re-rendered form.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true}]}`

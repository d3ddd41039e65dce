package handlers

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// APIKeyList shows the tenant's API keys.
func (s *Server) APIKeyList(c echo.Context) error {
	return s.renderAPIKeys(c, http.StatusOK, views.APIKeysProps{})
}

func (s *Server) renderAPIKeys(c echo.Context, status int, props views.APIKeysProps) error {
	keys, err := store.ListAPIKeys(c.Request().Context(), currentPrincipal(c).Tenant)
	if err != nil {
		return err
	}
	for i := range keys {
		k := &keys[i]
		row := views.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: formatTime(&k.CreatedAt), LastUsed: formatTime(k.LastUsedAt)}
		if k.RevokedAt != nil {
			row.Revoked = formatTime(k.RevokedAt)
		}
		props.Keys = append(props.Keys, row)
	}
	return render(c, status, views.APIKeysPage(props), nil)
}

// APIKeyCreate makes a key and shows its secret once.
func (s *Server) APIKeyCreate(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	name := strings.TrimSpace(c.FormValue("name"))
	scopes := c.Request().PostForm["scope"]
	form := views.APIKeysProps{Name: name, Scopes: scopes}
	if name == "" || utf8.RuneCountInString(name) > 100 {
		form.Error = "Give the key a name of 1 to 100 characters."
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, form)
	}
	if msg := freeTextProblem("name", name); msg != "" {
		form.Error = msg
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, form)
	}
	key, secret, err := store.CreateAPIKey(ctx, p.Tenant, actorOf(c, p), name, scopes)
	if errors.Is(err, store.ErrBadScopes) {
		form.Error = "Choose what the key may do: score transactions, read them back, or both."
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	return s.renderAPIKeys(c, http.StatusCreated, views.APIKeysProps{NewSecret: secret, NewName: key.Name})
}

// APIKeyRevokeConfirm asks before a key is revoked: revoking cannot be
// undone and stops every client that uses the key.
func (s *Server) APIKeyRevokeConfirm(c echo.Context) error {
	k, err := store.GetAPIKey(c.Request().Context(), currentPrincipal(c).Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	if k.RevokedAt != nil {
		return c.Redirect(http.StatusSeeOther, routePath(c, "APIKeyList"))
	}
	return render(c, http.StatusOK, views.APIKeyRevokePage(views.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		CreatedAt: formatTime(&k.CreatedAt), LastUsed: formatTime(k.LastUsedAt)}), nil)
}

// APIKeyRevoke revokes one of the tenant's keys; another tenant's id is a 404.
func (s *Server) APIKeyRevoke(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	key, err := store.RevokeAPIKey(ctx, p.Tenant, actorOf(c, p), c.Param("id"))
	if err != nil {
		return err
	}
	s.keys.forget(key.ID)
	return c.Redirect(http.StatusSeeOther, routePath(c, "APIKeyList"))
}

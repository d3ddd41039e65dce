package handlers

import (
	"net/http"
	"strings"

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
		row := views.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: formatTime(&k.CreatedAt), LastUsed: formatTime(k.LastUsedAt)}
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
	if name == "" || len(name) > 100 {
		return s.renderAPIKeys(c, http.StatusUnprocessableEntity, views.APIKeysProps{Error: "Give the key a name of 1 to 100 characters.", Name: name})
	}
	key, secret, err := store.CreateAPIKey(ctx, p.Tenant, actorOf(c, p), name)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderAPIKeys(c, http.StatusCreated, views.APIKeysProps{NewSecret: secret, NewName: key.Name})
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
	return c.Redirect(http.StatusSeeOther, "/settings/api-keys")
}

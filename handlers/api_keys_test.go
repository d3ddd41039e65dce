package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
)

var secretRe = regexp.MustCompile(`snl_[a-z2-7]{48}`)

func TestAPIKeyPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("admin@sentinel.demo")
		b.get("/settings/api-keys")
		res := b.post("/settings/api-keys", url.Values{"name": {"gateway"}}, true)
		secret := secretRe.FindString(res.Body)
		if res.Status != http.StatusCreated || secret == "" {
			t.Fatalf("create = %d, secret %q", res.Status, secret)
		}
		list := b.get("/settings/api-keys")
		if strings.Contains(list.Body, secret) || !strings.Contains(list.Body, secret[:12]) || !strings.Contains(list.Body, "gateway") {
			t.Fatal("the list must show the prefix and name, never the secret again")
		}
		if r := a.api("POST", "/api/v1/score", secret, txJSON("k-1")); r.Status != http.StatusCreated {
			t.Fatalf("the new key does not score: %d", r.Status)
		}
		if r := b.post("/settings/api-keys", url.Values{"name": {"  "}}, true); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("create without a name = %d, want 422", r.Status)
		}
		keys, _ := store.ListAPIKeys(t.Context(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID))
		acme := a.signedIn("admin@acme.demo")
		acme.get("/settings/api-keys")
		if r := acme.post("/settings/api-keys/"+keys[0].ID+"/revoke", url.Values{}, true); r.Status != http.StatusNotFound {
			t.Fatalf("another tenant revoking = %d, want 404", r.Status)
		}
		if r := b.post("/settings/api-keys/"+keys[0].ID+"/revoke", url.Values{}, true); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke = %d, want 303", r.Status)
		}
		if r := a.api("POST", "/api/v1/score", secret, txJSON("k-2")); r.Status != http.StatusUnauthorized {
			t.Fatalf("a revoked key scores: %d", r.Status)
		}
		actions := a.auditActions("admin@sentinel.demo")
		if count(actions, store.ActionAPIKeyCreate) != 1 || count(actions, store.ActionAPIKeyRevoke) != 1 {
			t.Fatalf("audit actions = %v, want one create and one revoke", actions)
		}
		analyst := a.signedIn("analyst@sentinel.demo")
		if r := analyst.get("/settings/api-keys"); r.Status != http.StatusForbidden {
			t.Fatalf("analyst GET api keys = %d, want 403", r.Status)
		}
	})
}

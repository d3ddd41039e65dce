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
		res := b.post("/settings/api-keys", url.Values{"name": {"gateway"}, "scope": {"score"}}, true)
		secret := secretRe.FindString(res.Body)
		if res.Status != http.StatusCreated || secret == "" {
			t.Fatalf("create = %d, secret %q", res.Status, secret)
		}
		list := b.get("/settings/api-keys")
		if strings.Contains(list.Body, secret) || !strings.Contains(list.Body, secret[:12]) || !strings.Contains(list.Body, "gateway") {
			t.Fatal("the list must show the prefix and name, never the secret again")
		}
		scored := a.api("POST", "/api/v1/score", secret, txJSON("k-1"))
		if scored.Status != http.StatusCreated {
			t.Fatalf("the new key does not score: %d", scored.Status)
		}
		id := decode[scoreResponse](t, scored.Body).ID
		if r := a.api("GET", "/api/v1/transactions/"+id, secret, ""); r.Status != http.StatusForbidden || !strings.Contains(r.Body, `\"read\" scope`) {
			t.Fatalf("a score-only key reading = %d %s, want 403 naming the scope", r.Status, r.Body)
		}
		reader := secretRe.FindString(b.post("/settings/api-keys", url.Values{"name": {"reporting"}, "scope": {"read"}}, true).Body)
		if r := a.api("GET", "/api/v1/transactions/"+id, reader, ""); r.Status != http.StatusOK {
			t.Fatalf("a read key reading = %d, want 200", r.Status)
		}
		if r := a.api("POST", "/api/v1/score", reader, txJSON("k-r")); r.Status != http.StatusForbidden {
			t.Fatalf("a read-only key scoring = %d, want 403", r.Status)
		}
		if r := b.post("/settings/api-keys", url.Values{"name": {"  "}, "scope": {"score"}}, true); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("create without a name = %d, want 422", r.Status)
		}
		for name, scopes := range map[string][]string{"no scope": nil, "unknown scope": {"admin"}} {
			if r := b.post("/settings/api-keys", url.Values{"name": {name}, "scope": scopes}, true); r.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(r.Body, "Choose what the key may do") {
				t.Fatalf("create with %s = %d, want 422 with a message", name, r.Status)
			}
		}
		if r := b.post("/settings/api-keys", url.Values{"name": {"evil\u202Etxt.exe"}, "scope": {"read"}}, true); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("create with a bidi control in the name = %d, want 422", r.Status)
		}
		keys, _ := store.ListAPIKeys(t.Context(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID))
		keys = keys[1:] // the newest is the reporting key
		confirm := b.get("/settings/api-keys/" + keys[0].ID + "/revoke")
		if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, `data-testid="revoke-confirm"`) || !strings.Contains(confirm.Body, "gateway") {
			t.Fatalf("revoke confirmation = %d, want 200 naming the key", confirm.Status)
		}
		acme := a.signedIn("admin@acme.demo")
		if r := acme.get("/settings/api-keys/" + keys[0].ID + "/revoke"); r.Status != http.StatusNotFound || strings.Contains(r.Body, "gateway") {
			t.Fatalf("another tenant's revoke confirmation = %d, want 404 without the key", r.Status)
		}
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
		if count(actions, store.ActionAPIKeyCreate) != 2 || count(actions, store.ActionAPIKeyRevoke) != 1 {
			t.Fatalf("audit actions = %v, want two creates and one revoke", actions)
		}
		analyst := a.signedIn("analyst@sentinel.demo")
		if r := analyst.get("/settings/api-keys"); r.Status != http.StatusForbidden {
			t.Fatalf("analyst GET api keys = %d, want 403", r.Status)
		}
	})
}

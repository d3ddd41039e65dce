package handlers

import (
	"context"
	"html"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

func TestAuditDetails(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want []views.Field
	}{
		{"none", "", nil},
		{"null", "null", nil},
		{"texts as they are, keys in order", `{"rationale":"line one\nline \"two\"","decision":"escalated"}`,
			[]views.Field{{Label: "decision", Value: "escalated"}, {Label: "rationale", Value: "line one\nline \"two\""}}},
		{"a list of texts joined", `{"scopes":["score","read"],"name":"ci"}`,
			[]views.Field{{Label: "name", Value: "ci"}, {Label: "scopes", Value: "score, read"}}},
		{"anything else as JSON", `{"count":3,"ok":true,"at":{"x":1}}`,
			[]views.Field{{Label: "at", Value: `{"x":1}`}, {Label: "count", Value: "3"}, {Label: "ok", Value: "true"}}},
		{"not an object", `["a"]`, []views.Field{{Label: "details", Value: `["a"]`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := auditDetails([]byte(tc.raw)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("auditDetails(%s) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

func TestAuditTrailShowsDetailsWhole(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		const analyst = "analyst@sentinel.demo"
		id := a.scoreOne(analyst, "audit-1", fullBalanceTransfer(90000))
		rationale := "Whole balance to a fresh account.\nCustomer denies it: see https://bank.example/tickets/" + strings.Repeat("A", 120)
		u := a.user(analyst)
		if _, err := store.Decide(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{UserID: u.ID, Email: u.Email},
			id, "confirmed_fraud", rationale); err != nil {
			t.Fatal(err)
		}
		res := a.signedIn("admin@sentinel.demo").get("/audit")
		for _, want := range []string{
			`<td class="audit-details" data-label="Details" data-testid="audit-details"><dl>`,
			"<dt>decision</dt><dd>confirmed_fraud</dd>",
			"<dt>rationale</dt><dd>" + html.EscapeString(rationale) + "</dd>",
		} {
			if res.Status != http.StatusOK || !strings.Contains(res.Body, want) {
				t.Errorf("GET /audit = %d, lacks %q", res.Status, want)
			}
		}
	})
}

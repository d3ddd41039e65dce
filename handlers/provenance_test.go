package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestProvenanceIsStoredAndShown(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.user("admin@sentinel.demo")
		tn := store.ForTenant(a.db, admin.TenantID)
		key, secret, err := store.CreateAPIKey(ctx, tn, store.Actor{Email: "test"}, "core banking", store.Scopes)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("an API answer names the source and the key", func(t *testing.T) {
			got := decode[scoreResponse](t, a.api("POST", "/api/v1/score", secret, txJSON("prov-1")).Body)
			if got.Source != store.SourceAPI || got.SubmittedBy == nil || *got.SubmittedBy != (submittedBy{Kind: "api_key", ID: key.ID}) {
				t.Fatalf("score answer source %q, submitted_by %+v; want api and key %s", got.Source, got.SubmittedBy, key.ID)
			}
			stored, err := store.GetScoredByExternalID(ctx, tn, "prov-1")
			if err != nil {
				t.Fatal(err)
			}
			if tx := stored.Transaction; tx.Source != store.SourceAPI || tx.SubmittedByKey == nil || *tx.SubmittedByKey != key.ID || tx.SubmittedByUser != nil {
				t.Fatalf("stored source %q, key %v, user %v; want api, %s, none", tx.Source, tx.SubmittedByKey, tx.SubmittedByUser, key.ID)
			}
			page := a.signedIn("analyst@sentinel.demo").get("/transactions/" + got.ID)
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Arrived through") || !strings.Contains(page.Body, "API · key &#34;core banking&#34; ("+key.Prefix) {
				t.Fatalf("transaction page = %d, does not show the API and the key", page.Status)
			}
		})

		t.Run("a batch writes one audit event and no event per row", func(t *testing.T) {
			before := count(a.auditActions("admin@sentinel.demo"), store.ActionScoreBatch)
			body := `{"transactions":[` + txJSON("b-first") + `,` + txJSON("prov-1") + `,{"external_id":"bad","type":"NOPE"},` + txJSON("b-last") + `]}`
			res := a.api("POST", "/api/v1/score/batch", secret, body)
			if res.Status != http.StatusOK {
				t.Fatalf("batch = %d %s", res.Status, res.Body)
			}
			out := decode[struct{ Items []batchItem }](t, res.Body)
			if r := out.Items[0].Result; r == nil || r.Source != store.SourceAPI || r.SubmittedBy == nil || r.SubmittedBy.ID != key.ID {
				t.Fatalf("batch item 0 = %+v, want source api by the key", r)
			}
			if n := count(a.auditActions("admin@sentinel.demo"), store.ActionScoreBatch); n != before+1 {
				t.Fatalf("batch audit events = %d, want %d", n, before+1)
			}
			events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionScoreBatch, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal(events[0].Details, &d); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"api_key_id": key.ID, "count": 4.0, "created": 2.0, "repeated": 1.0, "invalid": 1.0,
				"first_external_id": "b-first", "last_external_id": "b-last"}
			for k, v := range want {
				if d[k] != v {
					t.Errorf("audit detail %s = %v, want %v", k, d[k], v)
				}
			}
			if events[0].ActorID != nil || !strings.Contains(events[0].ActorEmail, key.Prefix) {
				t.Errorf("audit actor = %v %q, want the key %s", events[0].ActorID, events[0].ActorEmail, key.Prefix)
			}
		})

		t.Run("a signed-in user calling the API is the sender", func(t *testing.T) {
			b := a.signedIn("senior@sentinel.demo")
			b.get("/queue")
			req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("by-session")))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", b.csrf)
			res := b.do(req)
			got := decode[scoreResponse](t, res.Body)
			senior := a.user("senior@sentinel.demo")
			if res.Status != http.StatusCreated || got.SubmittedBy == nil || *got.SubmittedBy != (submittedBy{Kind: "user", ID: senior.ID}) {
				t.Fatalf("score with a session = %d, submitted_by %+v; want user %s", res.Status, got.SubmittedBy, senior.ID)
			}
			page := b.get("/transactions/" + got.ID)
			if !strings.Contains(page.Body, "API · Sam Senior (senior@sentinel.demo)") {
				t.Fatal("the transaction page does not name the user who sent it")
			}
		})
	})
}

func TestAPILookupByExternalID(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		acme := a.apiKey("admin@acme.demo")
		mine := decode[scoreResponse](t, a.api("POST", "/api/v1/score", key, txJSON("order-77")).Body)
		for _, tc := range []struct {
			name, key, query string
			wantStatus       int
			wantID           string
		}{
			{"answers the stored result", key, "?external_id=order-77", http.StatusOK, mine.ID},
			{"hides another tenant's id", acme, "?external_id=order-77", http.StatusNotFound, ""},
			{"answers 404 for an id never sent", key, "?external_id=order-78", http.StatusNotFound, ""},
			{"needs the external id", key, "", http.StatusBadRequest, ""},
			{"refuses a control character", key, "?external_id=a%01b", http.StatusBadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := a.api("GET", "/api/v1/transactions"+tc.query, tc.key, "")
				if res.Status != tc.wantStatus {
					t.Fatalf("GET %s = %d %s, want %d", tc.query, res.Status, res.Body, tc.wantStatus)
				}
				if tc.wantID != "" {
					got := decode[scoreResponse](t, res.Body)
					if got.ID != tc.wantID || got.Created || got.Score != mine.Score || got.Source != store.SourceAPI {
						t.Fatalf("lookup = %+v, want the stored %s", got, tc.wantID)
					}
					return
				}
				if res.Header.Get("Content-Type") != "application/problem+json" || strings.Contains(res.Body, "C123") {
					t.Fatalf("GET %s answered %q %s, want a problem without data", tc.query, res.Header.Get("Content-Type"), res.Body)
				}
			})
		}
		t.Run("each tenant reads its own transaction under a shared id", func(t *testing.T) {
			theirs := decode[scoreResponse](t, a.api("POST", "/api/v1/score", acme, txJSON("order-77")).Body)
			got := decode[scoreResponse](t, a.api("GET", "/api/v1/transactions?external_id=order-77", acme, "").Body)
			if got.ID != theirs.ID || got.ID == mine.ID {
				t.Fatalf("acme's lookup = %s, want its own %s", got.ID, theirs.ID)
			}
		})
	})
}

package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/store"
)

const fraudJSON = `{"external_id":"%s","step":400,"type":"TRANSFER","amount":181000,"nameOrig":"C123","oldbalanceOrg":181000,"newbalanceOrig":0,"nameDest":"C456","oldbalanceDest":0,"newbalanceDest":0}`

func txJSON(id string) string { return strings.Replace(fraudJSON, "%s", id, 1) }

// apiKey creates a key for the tenant of email's user.
func (a *testApp) apiKey(email string) string {
	a.t.Helper()
	u := a.user(email)
	_, secret, err := store.CreateAPIKey(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{Email: "test"}, "test")
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

func (a *testApp) api(method, path, key, body string) response {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return a.browser().do(req)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func TestAPIScore(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		res := a.api("POST", "/api/v1/score", key, txJSON("ext-1"))
		if res.Status != http.StatusCreated {
			t.Fatalf("POST /score = %d %s", res.Status, res.Body)
		}
		got := decode[scoreResponse](t, res.Body)
		if !got.Created || got.Band != "critical" || got.Model.Name != models.DefaultName || got.Explanation.Summary == "" || len(got.Explanation.Top) == 0 {
			t.Fatalf("score response = %+v", got)
		}
		t.Run("is idempotent on the external id", func(t *testing.T) {
			again := a.api("POST", "/api/v1/score", key, txJSON("ext-1"))
			second := decode[scoreResponse](t, again.Body)
			if again.Status != http.StatusOK || second.Created || second.ID != got.ID || second.Score != got.Score {
				t.Fatalf("repeat = %d %+v, want 200 with the stored result", again.Status, second)
			}
		})
		t.Run("reads back by id, never across tenants", func(t *testing.T) {
			res := a.api("GET", "/api/v1/transactions/"+got.ID, key, "")
			back := decode[scoreResponse](t, res.Body)
			if res.Status != http.StatusOK || back.Score != got.Score || len(back.Explanation.Top) != len(got.Explanation.Top) {
				t.Fatalf("GET own transaction = %d %+v", res.Status, back)
			}
			for i, c := range back.Explanation.Top {
				if c != got.Explanation.Top[i] {
					t.Fatalf("stored explanation differs from the one returned at scoring: %+v vs %+v", c, got.Explanation.Top[i])
				}
			}
			acme := a.apiKey("admin@acme.demo")
			res = a.api("GET", "/api/v1/transactions/"+got.ID, acme, "")
			if res.Status != http.StatusNotFound || strings.Contains(res.Body, "C123") {
				t.Fatalf("GET another tenant's transaction = %d %s, want 404 without its data", res.Status, res.Body)
			}
			missing := a.api("GET", "/api/v1/transactions/0190f000-0000-7000-8000-000000000000", acme, "")
			if missing.Status != http.StatusNotFound || missing.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("GET missing = %d %q", missing.Status, missing.Header.Get("Content-Type"))
			}
		})
		t.Run("refuses revoked and unknown keys", func(t *testing.T) {
			u := a.user("admin@sentinel.demo")
			k, secret, _ := store.CreateAPIKey(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{Email: "test"}, "old")
			if _, err := store.RevokeAPIKey(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{Email: "test"}, k.ID); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{secret, "snl_nothing", ""} {
				if res := a.api("POST", "/api/v1/score", bad, txJSON("ext-x")); res.Status != http.StatusUnauthorized {
					t.Errorf("key %q: status %d, want 401", bad, res.Status)
				}
			}
		})
	})
}

func TestAPIProblems(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("analyst@sentinel.demo")
		for _, tc := range []struct {
			name, body string
			status     int
			wantField  string
		}{
			{"malformed JSON", `{"step":`, 400, ""},
			{"unknown field", `{"stepp":1}`, 400, ""},
			{"NaN amount", strings.Replace(txJSON("n"), `"amount":181000`, `"amount":NaN`, 1), 400, ""},
			{"negative amount", strings.Replace(txJSON("n"), `"amount":181000`, `"amount":-1`, 1), 422, "amount"},
			{"unknown type", strings.Replace(txJSON("n"), `TRANSFER`, `WIRE`, 1), 422, "type"},
			{"oversized body", `{"external_id":"` + strings.Repeat("x", maxScoreBody) + `"}`, 413, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := a.api("POST", "/api/v1/score", key, tc.body)
				if res.Status != tc.status || res.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("status %d type %q, want %d problem+json: %s", res.Status, res.Header.Get("Content-Type"), tc.status, res.Body)
				}
				p := decode[problem](t, res.Body)
				if p.Status != tc.status || p.Title == "" {
					t.Fatalf("problem = %+v", p)
				}
				if tc.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.wantField) {
					t.Fatalf("field errors = %+v, want one on %s", p.Errors, tc.wantField)
				}
			})
		}
	})
}

func TestAPIBatch(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		body := `{"transactions":[` + txJSON("b-1") + `,` + strings.Replace(txJSON("b-2"), `"amount":181000`, `"amount":-3`, 1) +
			`,{"bogus":1},` + txJSON("b-3") + `]}`
		res := a.api("POST", "/api/v1/score/batch", key, body)
		if res.Status != http.StatusOK {
			t.Fatalf("batch = %d %s", res.Status, res.Body)
		}
		out := decode[struct {
			Scored, Invalid int
			Items           []batchItem
		}](t, res.Body)
		if out.Scored != 2 || out.Invalid != 2 || len(out.Items) != 4 {
			t.Fatalf("batch = %+v", out)
		}
		if out.Items[0].Result == nil || out.Items[1].Errors[0].Field != "amount" || out.Items[2].Errors == nil || out.Items[3].Result == nil {
			t.Fatalf("items = %+v", out.Items)
		}
		if res := a.api("POST", "/api/v1/score/batch", key, `{"transactions":[]}`); res.Status != 422 {
			t.Fatalf("empty batch = %d, want 422", res.Status)
		}
		tooMany := `{"transactions":[` + strings.Repeat(`{},`, maxBatchSize) + `{}]}`
		if res := a.api("POST", "/api/v1/score/batch", key, tooMany); res.Status != 422 {
			t.Fatalf("batch of %d = %d, want 422", maxBatchSize+1, res.Status)
		}
		for _, body := range []string{`{"transactions":[` + txJSON("b-9"), `{"transactions":{}}`, `{"items":[]}`} {
			if res := a.api("POST", "/api/v1/score/batch", key, body); res.Status != 400 {
				t.Fatalf("batch %s = %d, want 400", body, res.Status)
			}
		}
		// A wrong type in one item fails that item only.
		body = `{"transactions":[` + strings.Replace(txJSON("b-4"), `"amount":181000`, `"amount":"181000"`, 1) + `,` + txJSON("b-5") + `]}`
		res = a.api("POST", "/api/v1/score/batch", key, body)
		out = decode[struct {
			Scored, Invalid int
			Items           []batchItem
		}](t, res.Body)
		if res.Status != http.StatusOK || out.Scored != 1 || out.Invalid != 1 || out.Items[0].Errors == nil ||
			!strings.Contains(out.Items[0].Errors[0].Message, "malformed") || out.Items[1].Result == nil || out.Items[1].Result.ExternalID != "b-5" {
			t.Fatalf("batch with a wrongly typed item = %d %+v", res.Status, out)
		}
	})
}

func TestAPIBySessionNeedsCSRF(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("analyst@sentinel.demo")
		b.get("/")
		req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("s-1")))
		if res := b.do(req); res.Status != http.StatusForbidden {
			t.Fatalf("session POST without CSRF = %d, want 403", res.Status)
		}
		req, _ = http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("s-1")))
		req.Header.Set("X-CSRF-Token", b.csrf)
		if res := b.do(req); res.Status != http.StatusCreated {
			t.Fatalf("session POST with CSRF = %d %s, want 201", res.Status, res.Body)
		}
		if res := a.browser().get("/api/v1/transactions/x"); res.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous GET = %d, want 401", res.Status)
		}
	})
}

// Promoting a new version while requests run: every request succeeds and
// is scored by exactly one of the two versions.
func TestModelHotSwapUnderLoad(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		u := a.user("admin@sentinel.demo")
		tn := store.ForTenant(a.db, u.TenantID)
		var wg sync.WaitGroup
		versions := make(chan int, 200)
		errs := make(chan string, 200)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					res := a.api("POST", "/api/v1/score", key, txJSON(strings.Repeat("w", w+1)+"-"+string(rune('a'+i))))
					if res.Status != http.StatusCreated {
						errs <- res.Body
						continue
					}
					var r scoreResponse
					json.Unmarshal([]byte(res.Body), &r)
					versions <- r.Model.Version
				}
			}(w)
		}
		if _, err := store.RegisterModel(context.Background(), tn, store.NewModelVersion{
			Name: models.DefaultName, Bundle: models.Default, Stage: store.StageProduction}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.scorer.Reload(context.Background(), tn); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(versions)
		close(errs)
		for e := range errs {
			t.Errorf("a request failed during the swap: %s", e)
		}
		for v := range versions {
			if v != 1 && v != 2 {
				t.Errorf("scored by version %d", v)
			}
		}
		lm, _ := a.scorer.Current(context.Background(), tn)
		if lm.Version != 2 {
			t.Fatalf("live version after the swap = %d, want 2", lm.Version)
		}
	})
}

func TestAPIBatchIdempotency(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		first := decode[scoreResponse](t, a.api("POST", "/api/v1/score", key, txJSON("known")).Body)
		body := `{"transactions":[` + txJSON("known") + `,` + txJSON("twice") + `,` + txJSON("twice") + `]}`
		out := decode[struct{ Items []batchItem }](t, a.api("POST", "/api/v1/score/batch", key, body).Body)
		if out.Items[0].Result.ID != first.ID || out.Items[0].Result.Created {
			t.Fatalf("a known id was scored again: %+v", out.Items[0].Result)
		}
		if !out.Items[1].Result.Created || out.Items[2].Result.Created || out.Items[1].Result.ID != out.Items[2].Result.ID {
			t.Fatalf("an id twice in one batch: %+v / %+v", out.Items[1].Result, out.Items[2].Result)
		}
		page, err := store.ListQueue(context.Background(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID), store.QueueFilter{Decision: "any"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) != 2 {
			t.Fatalf("stored transactions = %d, want 2", len(page.Rows))
		}
	})
}

// A blocked account on the watchlist makes the score critical whatever the
// model says, and the override is frozen with the prediction.
func TestWatchlistOverridesAtScoring(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		tn := store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID)
		if _, err := store.AddWatch(context.Background(), tn, "M-BLOCKED", store.WatchBlocked, "mule network", nil); err != nil {
			t.Fatal(err)
		}
		legit := `{"external_id":"w-1","step":10,"type":"PAYMENT","amount":50,"nameOrig":"C1","oldbalanceOrg":5000,"newbalanceOrig":4950,"nameDest":"M-BLOCKED","oldbalanceDest":0,"newbalanceDest":0}`
		got := decode[scoreResponse](t, a.api("POST", "/api/v1/score", key, legit).Body)
		if got.Band != "critical" || got.ModelBand != "low" || got.Override != "blocked account" || !got.Review {
			t.Fatalf("blocked receiver = band %s (model %s), override %q, review %v", got.Band, got.ModelBand, got.Override, got.Review)
		}
		back := decode[scoreResponse](t, a.api("GET", "/api/v1/transactions/"+got.ID, key, "").Body)
		if back.Override != "blocked account" || back.Band != "critical" {
			t.Fatalf("read back = %+v, want the override kept", back)
		}
		other := decode[scoreResponse](t, a.api("POST", "/api/v1/score", a.apiKey("admin@acme.demo"), strings.Replace(legit, "w-1", "w-2", 1)).Body)
		if other.Override != "" || other.Band != "low" {
			t.Fatalf("another tenant's watchlist applied: %+v", other)
		}
	})
}

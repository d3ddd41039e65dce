package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
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
	_, secret, err := store.CreateAPIKey(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{Email: "test"}, "test", store.Scopes)
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
			k, secret, _ := store.CreateAPIKey(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{Email: "test"}, "old", store.Scopes)
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

// The answer to a new transaction carries what was stored: a repeat of the
// request and a read-back by id give the same received_at, to the character.
func TestAPIAnswersWhatIsStored(t *testing.T) {
	type answer struct {
		ID         string `json:"id"`
		ReceivedAt string `json:"received_at"`
	}
	type batchAnswer struct {
		Items []struct {
			Result answer `json:"result"`
		} `json:"items"`
	}
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		for _, tc := range []struct {
			name, path, body string
			wantStatus       int
			result           func(t *testing.T, body string) answer
		}{
			{"scored one by one", "/api/v1/score", txJSON("stored-1"), http.StatusCreated,
				func(t *testing.T, body string) answer { return decode[answer](t, body) }},
			{"scored in a batch", "/api/v1/score/batch", `{"transactions":[` + txJSON("stored-2") + `]}`, http.StatusOK,
				func(t *testing.T, body string) answer {
					b := decode[batchAnswer](t, body)
					if len(b.Items) != 1 {
						t.Fatalf("batch answer = %s, want one item", body)
					}
					return b.Items[0].Result
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := a.api("POST", tc.path, key, tc.body)
				if res.Status != tc.wantStatus {
					t.Fatalf("POST %s = %d %s, want %d", tc.path, res.Status, res.Body, tc.wantStatus)
				}
				first := tc.result(t, res.Body)
				if first.ReceivedAt == "" {
					t.Fatalf("POST %s answered no received_at: %s", tc.path, res.Body)
				}
				again := a.api("POST", tc.path, key, tc.body)
				if got := tc.result(t, again.Body); again.Status != http.StatusOK || got != first {
					t.Errorf("repeated POST %s = %d %+v, want 200 %+v", tc.path, again.Status, got, first)
				}
				back := a.api("GET", "/api/v1/transactions/"+first.ID, key, "")
				if got := decode[answer](t, back.Body); back.Status != http.StatusOK || got != first {
					t.Errorf("GET /api/v1/transactions/%s = %d %+v, want 200 %+v", first.ID, back.Status, got, first)
				}
			})
		}
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

func TestAPIBySessionNeedsCSRFAndPermission(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		b := a.signedIn("senior@sentinel.demo")
		b.get("/")
		req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("s-1")))
		if res := b.do(req); res.Status != http.StatusForbidden {
			t.Fatalf("session POST without CSRF = %d, want 403", res.Status)
		}
		req, _ = http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("s-1")))
		req.Header.Set("X-CSRF-Token", b.csrf)
		res := b.do(req)
		if res.Status != http.StatusCreated {
			t.Fatalf("senior analyst's session POST with CSRF = %d %s, want 201", res.Status, res.Body)
		}
		id := decode[scoreResponse](t, res.Body).ID
		analyst := a.signedIn("analyst@sentinel.demo")
		analyst.get("/")
		req, _ = http.NewRequest("POST", a.srv.URL+"/api/v1/score", strings.NewReader(txJSON("s-2")))
		req.Header.Set("X-CSRF-Token", analyst.csrf)
		if res := analyst.do(req); res.Status != http.StatusForbidden {
			t.Fatalf("analyst's session POST = %d, want 403 (scoring needs the submit permission)", res.Status)
		}
		if res := analyst.get("/api/v1/transactions/" + id); res.Status != http.StatusOK {
			t.Fatalf("analyst's session GET = %d, want 200 (reading is the queue's permission)", res.Status)
		}
		if res := a.browser().get("/api/v1/transactions/x"); res.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous GET = %d, want 401", res.Status)
		}
	})
}

// Promoting a new version while requests run: no request fails, and each
// is scored by the version that was live when it started or by one
// promoted while it ran, never an older one; both versions serve requests.
func TestModelHotSwapUnderLoad(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		tn := store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID)
		liveVersion := func() int {
			lm, err := a.scorer.Current(context.Background(), tn)
			if err != nil {
				t.Error(err)
				return 0
			}
			return lm.Version
		}
		type outcome struct{ before, got, after int }
		var mu sync.Mutex
		var outcomes []outcome
		var failures []string
		swapped := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				// Each worker sends requests until it has sent 10 after the swap.
				after := 0
				for i := 0; after < 10; i++ {
					select {
					case <-swapped:
						after++
					default:
					}
					before := liveVersion()
					res := a.api("POST", "/api/v1/score", key, txJSON(fmt.Sprintf("w%d-%d", w, i)))
					o := outcome{before: before, after: liveVersion()}
					mu.Lock()
					if res.Status != http.StatusCreated {
						failures = append(failures, fmt.Sprintf("%d %s", res.Status, res.Body))
					} else {
						o.got = decode[scoreResponse](t, res.Body).Model.Version
						outcomes = append(outcomes, o)
					}
					mu.Unlock()
				}
			})
		}
		for {
			mu.Lock()
			n := len(outcomes) + len(failures)
			mu.Unlock()
			if n >= 8 {
				break
			}
			runtime.Gosched()
		}
		if _, err := store.RegisterModel(context.Background(), tn, store.NewModelVersion{
			Name: models.DefaultName, Bundle: models.Default, Stage: store.StageProduction}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.scorer.Reload(context.Background(), tn); err != nil {
			t.Fatal(err)
		}
		close(swapped)
		wg.Wait()
		for _, f := range failures {
			t.Errorf("a request failed during the swap: %s", f)
		}
		served := map[int]int{}
		for _, o := range outcomes {
			served[o.got]++
			if o.got < o.before || o.got > o.after {
				t.Errorf("scored by version %d; live when the request started %d, when it ended %d", o.got, o.before, o.after)
			}
		}
		if served[1] == 0 || served[2] == 0 || len(served) != 2 {
			t.Fatalf("requests served by version = %v, want some by 1 and some by 2", served)
		}
	})
}

func TestAPIBatchIdempotency(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		key := a.apiKey("admin@sentinel.demo")
		first := decode[scoreResponse](t, a.api("POST", "/api/v1/score", key, txJSON("known")).Body)
		other := strings.Replace(txJSON("twice"), `"amount":181000`, `"amount":5`, 1)
		body := `{"transactions":[` + txJSON("known") + `,` + txJSON("twice") + `,` + other + `,` + txJSON("twice") + `]}`
		out := decode[struct {
			Scored, Invalid int
			Items           []batchItem
		}](t, a.api("POST", "/api/v1/score/batch", key, body).Body)
		if out.Items[0].Result.ID != first.ID || out.Items[0].Result.Created {
			t.Fatalf("a known id was scored again: %+v", out.Items[0].Result)
		}
		if !out.Items[1].Result.Created || out.Items[1].Result.Transaction.Amount != 181000 {
			t.Fatalf("the first occurrence of an id = %+v, want it scored", out.Items[1].Result)
		}
		for _, i := range []int{2, 3} {
			if it := out.Items[i]; it.Result != nil || len(it.Errors) != 1 || it.Errors[0].Field != "external_id" {
				t.Fatalf("item %d repeats an id of this batch: %+v, want an external_id error", i, it)
			}
		}
		if out.Scored != 2 || out.Invalid != 2 {
			t.Fatalf("batch counts = %d scored, %d invalid; want 2 and 2", out.Scored, out.Invalid)
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
		if _, err := store.AddWatch(context.Background(), tn, store.Actor{Email: "test"}, store.WatchInput{Account: "M-BLOCKED", Kind: store.WatchBlocked, Reason: "mule network"}); err != nil {
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

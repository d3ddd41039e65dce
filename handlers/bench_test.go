package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/bench"
	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// The load generator drives a real server: singles and batches both land.
func TestBenchDrivesTheAPI(t *testing.T) {
	a := newTestApp(t, storetest.SQLite(t), true)
	key := a.apiKey("admin@sentinel.demo")
	for _, batch := range []int{0, 20} {
		r, err := bench.Run(context.Background(), bench.Config{URL: a.srv.URL, Key: key, Clients: 2, Duration: 400 * time.Millisecond, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		if r.Errors != 0 || r.Transactions == 0 || r.P99 == 0 || r.PerSecond <= 0 {
			t.Fatalf("batch %d: report %+v", batch, r)
		}
	}
	n, err := store.CountTransactions(context.Background(), store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID))
	if err != nil || n == 0 {
		t.Fatalf("stored transactions = %d, %v", n, err)
	}
	r, err := bench.Run(context.Background(), bench.Config{URL: a.srv.URL, Key: "snl_wrong", Clients: 1, Duration: 100 * time.Millisecond})
	if err != nil || r.Errors == 0 || r.Errors != r.Requests || r.Transactions != 0 {
		t.Fatalf("a wrong key: report %+v, %v; want every request an error", r, err)
	}
}

// BenchmarkBatchItem measures the server's own work for one item of a batch,
// without the database: decode it, score, explain and freeze it, and encode
// its answer.
//
//	go test -run '^$' -bench BatchItem -benchmem ./handlers
func BenchmarkBatchItem(b *testing.B) {
	m, err := scoring.Load(models.Default)
	if err != nil {
		b.Fatal(err)
	}
	lm := &live.Version{VersionID: store.NewID(), Name: models.DefaultName, Version: 1, Model: m}
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"external_id":"b-%d","step":%d,"type":"%s","amount":%d.5,"nameOrig":"C%d","oldbalanceOrg":%d,"newbalanceOrig":0,"nameDest":"C%d","oldbalanceDest":0,"newbalanceDest":0}`,
			i, i, scoring.Types[i%len(scoring.Types)], 1000+i*997, i, 1000+i*997, i+7)
	}
	var out []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var req scoreRequest
		dec := json.NewDecoder(bytes.NewReader(bodies[i%len(bodies)]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			b.Fatal(err)
		}
		tx, p, fe, err := lm.Score(live.Input{ExternalID: req.ExternalID, Tx: req.Transaction}, store.WatchStatus{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := toResponse(&store.Scored{Transaction: *tx, Prediction: *p}, fe, true)
		if err != nil {
			b.Fatal(err)
		}
		out = res.appendJSON(out[:0])
	}
}

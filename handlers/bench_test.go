package handlers

import (
	"context"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/bench"
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

// Package bench drives a running Sentinel's scoring API with concurrent
// clients for a fixed time and reports throughput and latency. It sends
// traffic only to the URL it is given (a local server in this project).
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// Config is one load run.
type Config struct {
	URL      string // server base URL, e.g. http://127.0.0.1:8080
	Key      string // API key
	Clients  int
	Duration time.Duration
	Batch    int // 0: one transaction per POST /score; n: n per POST /score/batch
	Seed     uint64
}

// Report is what a run measured.
type Report struct {
	Requests     int64         `json:"requests"`
	Transactions int64         `json:"transactions"`
	Errors       int64         `json:"errors"`
	Elapsed      time.Duration `json:"elapsed"`
	PerSecond    float64       `json:"transactions_per_second"`
	P50, P95     time.Duration
	P99, Max     time.Duration
	FirstError   string `json:"first_error,omitempty"`
}

func (r Report) String() string {
	return fmt.Sprintf("%d transactions in %d requests over %.1fs: %.0f transactions/s; latency per request p50 %s, p95 %s, p99 %s, max %s; %d errors %s",
		r.Transactions, r.Requests, r.Elapsed.Seconds(), r.PerSecond, r.P50.Round(10*time.Microsecond), r.P95.Round(10*time.Microsecond),
		r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Errors, r.FirstError)
}

type item struct {
	ExternalID string `json:"external_id"`
	scoring.Transaction
}

// transaction makes a plausible PaySim transaction; one in fifty is a
// full-balance transfer.
func transaction(rng *rand.Rand, id string) item {
	amount := float64(rng.IntN(2_000_000)) / 100
	old := float64(rng.IntN(5_000_000)) / 100
	t := scoring.Transaction{Step: rng.IntN(720), Type: scoring.Types[rng.IntN(len(scoring.Types))], Amount: amount,
		NameOrig: fmt.Sprintf("C%010d", rng.IntN(1e9)), OldBalanceOrg: old, NewBalanceOrig: max(0, old-amount),
		NameDest: fmt.Sprintf("M%010d", rng.IntN(1e9))}
	if rng.IntN(50) == 0 {
		t.Type, t.Amount, t.NewBalanceOrig, t.NameDest = scoring.TypeTransfer, old, 0, fmt.Sprintf("C%010d", rng.IntN(1e9))
	}
	return item{ExternalID: id, Transaction: t}
}

// Run drives the API until cfg.Duration passes and returns the report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Clients < 1 || cfg.Duration <= 0 || cfg.Batch < 0 || cfg.Batch > 1000 {
		return Report{}, fmt.Errorf("bench: need clients ≥ 1, a duration, and a batch of 0 to 1000")
	}
	path, per := "/api/v1/score", 1
	if cfg.Batch > 0 {
		path, per = "/api/v1/score/batch", cfg.Batch
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	run := time.Now().UnixNano()
	var requests, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, cfg.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			for n := 0; ctx.Err() == nil; n++ {
				var body []byte
				if cfg.Batch == 0 {
					body, _ = json.Marshal(transaction(rng, fmt.Sprintf("bench-%d-%d-%d", run, w, n)))
				} else {
					items := make([]item, cfg.Batch)
					for i := range items {
						items[i] = transaction(rng, fmt.Sprintf("bench-%d-%d-%d-%d", run, w, n, i))
					}
					body, _ = json.Marshal(map[string]any{"transactions": items})
				}
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, cfg.URL+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+cfg.Key)
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				lat[w] = append(lat[w], time.Since(t0))
				requests.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}(w)
	}
	wg.Wait()
	r := Report{Requests: requests.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	r.Transactions = (r.Requests - r.Errors) * int64(per)
	r.PerSecond = float64(r.Transactions) / r.Elapsed.Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if n := len(all); n > 0 {
		r.P50, r.P95, r.P99, r.Max = all[n*50/100], all[n*95/100], all[min(n-1, n*99/100)], all[n-1]
	}
	if v := firstErr.Load(); v != nil {
		r.FirstError = "(first: " + v.(string) + ")"
	}
	return r, nil
}

package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
)

// BenchmarkInvestigateViews measures the server time of investigate views
// (router, session, the page, its statistics and the model list, rendering
// 50 rows with the bulk form) on an existing database, signed in as a
// senior analyst of the tenant, with p50 and p95 over the runs.
//
//	sentinel seed --tenant acme-pay --transactions 1000000 --days 30    # with DATABASE_URL
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=senior@acme.demo \
//	  go test -run '^$' -bench InvestigateViews -benchtime 100x ./handlers
func BenchmarkInvestigateViews(b *testing.B) {
	db, _, u := benchDB(b)
	ctx, email := context.Background(), u.Email
	tn := store.ForTenant(db, u.TenantID)
	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{}))
	defer srv.Close()
	client := benchLogin(b, srv.URL, email)

	// Deep cursors: a row a third of the way into each order, and rows to
	// filter by.
	one := func(f store.InvestigateFilter) store.QueueRow {
		f.Limit = 1
		p, err := store.ListInvestigate(ctx, tn, f)
		if err != nil || len(p.Rows) == 0 {
			b.Fatalf("no row for %+v: %v", f, err)
		}
		return p.Rows[0]
	}
	ptr := func(v float64) *float64 { return &v }
	now := time.Now().UTC()
	day := func(d int) string { return now.AddDate(0, 0, -d).Format(time.DateOnly) }
	timeDeep := one(store.InvestigateFilter{To: now.AddDate(0, 0, -10)})
	amountDeep := one(store.InvestigateFilter{Sort: store.SortAmount, Asc: true, MinAmount: ptr(150000)})
	scoreDeep := one(store.InvestigateFilter{Sort: store.SortScore, Asc: true, MinScore: ptr(0.0005)})
	models, err := store.ListModelChoices(ctx, tn)
	if err != nil || len(models) == 0 {
		b.Fatalf("no model: %v", err)
	}
	b.Logf("deep cursors: time %s, amount %s (%.2f), score %s (%.5f)", timeDeep.ID, amountDeep.ID, amountDeep.Amount, scoreDeep.ID, scoreDeep.Score)

	views := []struct{ name, query string }{
		{"everything, newest first", ""},
		{"everything, deep page", "after=" + timeDeep.ID},
		{"everything, the page before a deep one", "before=" + timeDeep.ID},
		{"everything, oldest first", "dir=asc"},
		{"by score", "sort=score"},
		{"by score, deep page", "sort=score&after=" + scoreDeep.ID},
		{"by amount", "sort=amount"},
		{"by amount, deep page", "sort=amount&after=" + amountDeep.ID},
		{"by amount, lowest first, deep page", "sort=amount&dir=asc&after=" + amountDeep.ID},
		{"type DEBIT", "type=DEBIT"},
		{"types TRANSFER and CASH_OUT, by amount", "type=TRANSFER&type=CASH_OUT&sort=amount"},
		{"band critical", "band=critical"},
		{"bands high and critical, by score", "band=high&band=critical&sort=score"},
		{"band low", "band=low"},
		{"undecided", "decision=undecided"},
		{"confirmed fraud", "decision=confirmed_fraud"},
		{"needs review", "view=review"},
		{"an account", "account=" + timeDeep.NameOrig},
		{"an account prefix (C12*)", "account=C12*"},
		{"an external id", "external_id=" + url.QueryEscape(timeDeep.ExternalID)},
		{"amount from 1,000,000", "min_amount=1000000"},
		{"amount 10 to 1,000", "min_amount=10&max_amount=1000"},
		{"score from 0.5", "min_score=0.5"},
		{"score from 0.25 (between bucket edges)", "min_score=0.25"},
		{"score up to 0.5", "max_score=0.5"},
		{"received today", "from=" + day(0) + "&to=" + day(0)},
		{"received in 7 days", "from=" + day(6) + "&to=" + day(0)},
		{"received in 30 days", "from=" + day(29) + "&to=" + day(0)},
		{"received on one day 20 days ago", "from=" + day(20) + "&to=" + day(20)},
		{"received on one day 20 days ago, deep page", "from=" + day(20) + "&to=" + day(20) + "&after=" + timeDeep.ID},
		{"a model version", "model=" + models[0].ID},
		{"source seed", "source=seed"},
		{"TRANSFER, critical, undecided, 7 days", "type=TRANSFER&band=critical&decision=undecided&from=" + day(6) + "&to=" + day(0)},
		{"account prefix and score from 0.02", "account=C1*&min_score=0.02"},
		{"DEBIT from 1,000 by score", "type=DEBIT&min_amount=1000&sort=score"},
		{"30 days, model, needs review, by amount", "from=" + day(29) + "&to=" + day(0) + "&model=" + models[0].ID + "&view=review&sort=amount"},
		{"the queue's review view, opened here", "view=review&band=critical&band=high&sort=risk"},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) { timeGets(b, client, srv.URL+"/investigate?"+v.query, false) })
	}
}

// BenchmarkInvestigateExport downloads every transaction of the tenant as
// CSV through the real router and reports rows a second and the peak heap
// of the process (server and client: bytes in heap objects, live or not
// yet swept, sampled every 10 ms). On
// SENTINEL_BENCH_DATABASE_URL it exports that tenant (up to
// SENTINEL_BENCH_EXPORT_ROWS, default everything); without, it first
// bulk-loads that many rows (default 200,000) into a new SQLite database.
//
//	SENTINEL_BENCH_DATABASE_URL=$DATABASE_URL SENTINEL_BENCH_EMAIL=senior@acme.demo \
//	  go test -run '^$' -bench InvestigateExport -benchtime 1x ./handlers
func BenchmarkInvestigateExport(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	dsn, email := os.Getenv("SENTINEL_BENCH_DATABASE_URL"), os.Getenv("SENTINEL_BENCH_EMAIL")
	limit, _ := strconv.Atoi(os.Getenv("SENTINEL_BENCH_EXPORT_ROWS"))
	var db *store.DB
	var err error
	if dsn != "" && email != "" {
		db, err = store.Open(dsn, "")
	} else {
		email = "senior@acme.demo"
		if limit <= 0 {
			limit = 200_000
		}
		db, err = store.Open("", filepath.Join(b.TempDir(), "export.db"))
		if err == nil {
			err = store.Migrate(ctx, db)
		}
		if err == nil {
			err = seed.Demo(ctx, db)
		}
		if err == nil {
			start := time.Now()
			_, err = seed.Bulk(ctx, db, live.NewScorer(db), seed.BulkConfig{Tenant: "acme-pay", Transactions: limit, Days: 30, FraudRate: 0.002, Seed: 1})
			b.Logf("loaded %d rows into SQLite in %s", limit, time.Since(start).Round(time.Second))
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(New(db, live.NewScorer(db), Config{ExportLimit: limit}))
	defer srv.Close()
	browser := benchLogin(b, srv.URL, email)
	// A browser asks for gzip (Go's client too, by default) and inflates
	// it on its own machine; curl and most scripts do not ask for it.
	// "gzip-kept" asks for gzip and keeps the compressed bytes until the
	// clock stops, so that only the server's work shares the two cores.
	plain := *browser
	plain.Transport = &http.Transport{DisableCompression: true}
	for _, enc := range []struct {
		name   string
		client *http.Client
	}{{"gzip", browser}, {"identity", &plain}, {"gzip-kept", &plain}} {
		b.Run(enc.name, func(b *testing.B) { benchExport(b, srv.URL, enc.client, enc.name) })
	}
}

// benchExport downloads the export with client (mode gzip, identity or
// gzip-kept: see BenchmarkInvestigateExport) and reports rows a second and
// the peak heap.
func benchExport(b *testing.B, base string, client *http.Client, mode string) {
	for b.Loop() {
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			// runtime/metrics reads the heap without stopping the world,
			// as ReadMemStats would every 10 ms.
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
		runtime.GC()
		before := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(before)
		req, err := http.NewRequest(http.MethodGet, base+"/investigate/export.csv", nil)
		if err != nil {
			b.Fatal(err)
		}
		if mode == "gzip-kept" {
			req.Header.Set("Accept-Encoding", "gzip") // asked for by hand: the transport leaves it compressed
		}
		kept, err := os.CreateTemp(b.TempDir(), "export-*.csv.gz")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		rows := -1 // the header
		buf := make([]byte, 64<<10)
		var size int64
		for {
			n, err := res.Body.Read(buf)
			size += int64(n)
			if mode == "gzip-kept" {
				if _, werr := kept.Write(buf[:n]); werr != nil {
					b.Fatal(werr)
				}
			} else {
				rows += bytes.Count(buf[:n], []byte{'\n'})
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		res.Body.Close()
		took := time.Since(start)
		close(stop)
		wg.Wait()
		gzipped := res.Uncompressed || res.Header.Get("Content-Encoding") == "gzip"
		if res.StatusCode != http.StatusOK || gzipped != (mode != "identity") {
			b.Fatalf("export = %d, sent compressed %v; want 200, compressed in mode %s", res.StatusCode, gzipped, mode)
		}
		if mode == "gzip-kept" {
			rows = countGzipLines(b, kept) - 1
		}
		kept.Close()
		b.ReportMetric(float64(rows), "lines")
		b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
		b.ReportMetric(float64(size)/(1<<20), "MB")
		b.ReportMetric(float64(before[0].Value.Uint64())/(1<<20), "heap-before-MB")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	}
}

// countGzipLines inflates the file f, once the clock has stopped, and
// counts its lines.
func countGzipLines(b *testing.B, f *os.File) int {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	lines := 0
	buf := make([]byte, 64<<10)
	for {
		n, err := zr.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			return lines
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

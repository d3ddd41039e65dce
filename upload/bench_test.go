package upload_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
	"github.com/sentinel-fraud/sentinel/upload"
)

// writeSimulated writes n simulated PaySim rows to a file, streaming.
func writeSimulated(b *testing.B, n int) (string, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "sim.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	fmt.Fprintln(w, "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,external_id")
	types := []string{"PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "DEBIT"}
	for i := range n {
		amt := float64(10 + (i*7919)%50000)
		old := float64((i * 104729) % 90000)
		fmt.Fprintf(w, "%d,%s,%.2f,C%d,%.2f,%.2f,%c%d,0,0,0,bench-%d\n", 1+i%700, types[i%5], amt, 100000+i%40000, old, max(old-amt, 0), "MC"[i%2], 200000+i%9000, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path, hex.EncodeToString(h.Sum(nil))
}

func maxRSSMB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUpload uploads a file of 200,000 rows (Upload/200k) or 50,000
// (Upload/50k) end to end (check, store the file, the job: parse, score and
// explain, store with COPY) on PostgreSQL and reports rows/s, this
// process's CPU a row and its peak RSS. Run each size in a process of its
// own (peak RSS is the process's): flat memory is the same peak for both.
//
//	SENTINEL_TEST_POSTGRES_URL=... go test -run '^$' -bench 'Upload/200k' -benchtime 1x ./upload/
func BenchmarkUpload(b *testing.B) {
	b.Run("50k", func(b *testing.B) { benchUpload(b, 50_000) })
	b.Run("200k", func(b *testing.B) { benchUpload(b, 200_000) })
}

func benchUpload(b *testing.B, rows int) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		b.Skip("needs " + storetest.PostgresURLEnv)
	}
	db := storetest.Postgres(b)
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		b.Fatal(err)
	}
	u, err := store.AdminFindLoginUser(ctx, db, "senior@sentinel.demo")
	if err != nil {
		b.Fatal(err)
	}
	tn := store.ForTenant(db, u.TenantID)
	path, sum := writeSimulated(b, rows)
	st, _ := os.Stat(path)
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as serve runs
	runtime.GC()
	before := maxRSSMB()
	b.ResetTimer()
	for i := range b.N {
		svc := upload.New(db, live.NewScorer(db), upload.Limits{}, nil)
		who := upload.Uploader{Actor: store.Actor{UserID: u.ID, Email: u.Email}, UserID: u.ID}
		f := upload.File{Name: "bench.csv", Size: st.Size(), SHA256: fmt.Sprintf("%s-%d", sum, i),
			Open: func() (io.ReadCloser, error) { return os.Open(path) }}
		start, cpu0 := time.Now(), cpuTime()
		up, err := svc.Submit(ctx, tn, who, f)
		if err != nil {
			b.Fatal(err)
		}
		svc.Wait()
		el, cpu := time.Since(start), cpuTime()-cpu0
		got, _ := store.GetUpload(ctx, tn, up.ID)
		if got.Status != store.UploadDone || got.RowsDone != int64(rows) {
			b.Fatalf("upload ended %+v", got)
		}
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu_us/row")
		b.Logf("%d rows (%d scored, %d present) in %v: %.0f rows/s; this process's CPU %v (%.1f µs a row)",
			rows, got.RowsScored, got.RowsPresent, el, float64(rows)/el.Seconds(), cpu, float64(cpu.Microseconds())/float64(rows))
	}
	b.ReportMetric(maxRSSMB(), "peakRSS_MB")
	b.ReportMetric(before, "RSSbefore_MB")
}

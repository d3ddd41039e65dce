package upload_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
	"github.com/sentinel-fraud/sentinel/upload"
)

func rows(prefix string, n int, withIDs bool) string {
	var b strings.Builder
	b.WriteString("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest")
	if withIDs {
		b.WriteString(",external_id")
	}
	b.WriteString("\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,TRANSFER,%d,C%s%d,5000,0,C%sD%d,0,0", 1+i%700, 100+i, prefix, i, prefix, i)
		if withIDs {
			fmt.Fprintf(&b, ",%s-%d", prefix, i)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// counting counts the bytes read from r.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestCheckStopsAGzipBombAtTheLimit(t *testing.T) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	io.WriteString(w, "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,pad\n")
	row := "1,PAYMENT,1,C1,0,0,M1,0,0," + strings.Repeat("y", 1000) + "\n"
	for range (200 << 20) / len(row) { // 200 MB inflated
		io.WriteString(w, row)
	}
	w.Close()
	compressed := buf.Len()
	src := &counting{r: bytes.NewReader(buf.Bytes())}
	lim := upload.Limits{MaxBytes: 10 << 20}
	_, ref, err := upload.Check(src, "bomb.csv.gz", lim)
	if err != nil || ref == nil || ref.Code != "gzip_bomb" || ref.Status != 413 {
		t.Fatalf("Check(bomb) = %v, %v; want a gzip_bomb refusal", ref, err)
	}
	// 10 MB of the 200 MB inflate from about 24 KB of the compressed file;
	// with one 64 KiB read buffer ahead, reading stops well before the end.
	if src.n > 128<<10 || src.n >= int64(compressed)/2 {
		t.Errorf("read %d of %d compressed bytes: inflating went past the limit", src.n, compressed)
	}
	t.Logf("read %d of %d compressed bytes", src.n, compressed)
}

func TestCheckText(t *testing.T) {
	head := "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n"
	ok := "1,PAYMENT,1,Cé€𝄞,0,0,M1,0,0\n" // multi-byte runes, split across reads below
	cases := []struct {
		name, file, data string
		rows             int64
		code             string
	}{
		{"UTF-8 split across reads", "a.csv", head + strings.Repeat(ok, 5000), 5000, ""},
		{"a BOM", "a.csv", "\ufeff" + head + ok, 1, ""},
		{"CRLF lines", "a.csv", strings.ReplaceAll(head+ok, "\n", "\r\n"), 1, ""},
		{"a truncated rune at the end", "a.csv", head + ok + "\xe2\x82", 0, "utf8"},
		{"latin-1", "a.csv", head + "1,PAYMENT,1,C\xe9,0,0,M1,0,0\n", 0, "utf8"},
		{"NUL after the first KiB", "a.csv", head + strings.Repeat(ok, 100) + "\x00\n", 0, "binary"},
		{"PDF", "a.csv", "%PDF-1.7\n", 0, "binary"},
		{"ELF", "a.csv", "\x7fELF\x02\x01\x01", 0, "binary"},
		{"a header only", "a.csv", head, 0, "no_rows"},
		{"upper-case extension", "A.CSV", head + ok, 1, ""},
		{"a .txt", "a.txt", head + ok, 0, "extension"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A reader that hands out 7 bytes at a time splits runes.
			n, ref, err := upload.Check(&small{r: strings.NewReader(tc.data)}, tc.file, upload.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			code := ""
			if ref != nil {
				code = ref.Code
			}
			if code != tc.code || n != tc.rows {
				t.Errorf("Check() = %d rows, %v; want %d rows, refusal %q", n, ref, tc.rows, tc.code)
			}
		})
	}
}

type small struct{ r io.Reader }

func (s *small) Read(p []byte) (int, error) {
	if len(p) > 7 {
		p = p[:7]
	}
	return s.r.Read(p)
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func tempFile(t *testing.T, data string) upload.File {
	t.Helper()
	return upload.File{Name: "job.csv", Size: int64(len(data)), SHA256: fmt.Sprintf("%x", len(data)) + t.Name(),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }}
}

// demoSenior seeds the demo data and returns the demo bank's senior
// analyst, their tenant, and a clock the test moves.
func demoSenior(t *testing.T, db *store.DB) (*store.User, store.Tenant, *fakeClock) {
	t.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	u, err := store.AdminFindLoginUser(ctx, db, "senior@sentinel.demo")
	if err != nil {
		t.Fatal(err)
	}
	return u, store.ForTenant(db, u.TenantID), &fakeClock{t: time.Now().UTC()}
}

func TestRestartDuringAJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u, tn, clock := demoSenior(t, db)
		lim := upload.Limits{SyncRows: 10}
		who := upload.Uploader{Actor: store.Actor{UserID: u.ID, Email: u.Email, IP: "192.0.2.1", UserAgent: "test"}, UserID: u.ID}

		t.Run("a job whose process died is resumed where it stopped", func(t *testing.T) {
			// Process A stores the first batch, then dies (its context ends).
			ctxA, kill := context.WithCancel(ctx)
			a := upload.New(db, live.NewScorer(db), lim, clock.now)
			a.Start(ctxA, time.Hour)
			a.SetAfterBatch(func(_ context.Context, _ string, done int64) {
				if done == 1000 {
					kill()
				}
			})
			// Rows without external ids: each gets its upload's and row's.
			up, err := a.Submit(ctx, tn, who, tempFile(t, rows("RS", 2500, false)))
			if err != nil {
				t.Fatal(err)
			}
			a.Wait()
			mid, _ := store.GetUpload(ctx, tn, up.ID)
			if mid.Status != store.UploadRunning || mid.RowsDone != 1000 {
				t.Fatalf("after the crash: %s with %d rows done, want running with 1000", mid.Status, mid.RowsDone)
			}
			// A new process at start: the heartbeat is fresh, so the job is
			// not taken yet; once it is stale, it is.
			b := upload.New(db, live.NewScorer(db), lim, clock.now)
			if err := b.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			b.Wait()
			if got, _ := store.GetUpload(ctx, tn, up.ID); got.Status != store.UploadRunning || got.Owner == b.Owner() {
				t.Fatalf("a job with a fresh heartbeat was taken over: %+v", got)
			}
			clock.add(upload.DefaultStale + time.Second)
			if err := b.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			b.Wait()
			done, _ := store.GetUpload(ctx, tn, up.ID)
			if done.Status != store.UploadDone || done.RowsDone != 2500 || done.RowsScored != 2500 || done.RowsPresent != 0 || done.RowsRefused != 0 {
				t.Errorf("resumed job ended %+v, want done with 2500 scored", done)
			}
			st, err := store.CountInvestigate(ctx, tn, store.InvestigateFilter{UploadID: up.ID})
			if err != nil || st.Count != 2500 {
				t.Errorf("the job stored %d transactions, want each of 2500 once (%v)", st.Count, err)
			}
			if has, _ := store.HasUploadFile(ctx, tn, up.ID); has {
				t.Errorf("the finished job's file is still stored")
			}
		})

		t.Run("a job without its file is marked interrupted, never left running", func(t *testing.T) {
			now := clock.now()
			// A small file processed in a request whose process died: running,
			// no stored file.
			dead := &store.Upload{UserID: &u.ID, UserEmail: u.Email, FileName: "small.csv", SHA256: "x", Status: store.UploadRunning,
				Owner: "dead", RowsTotal: 10, RowsDone: 0, CreatedAt: now, StartedAt: &now, HeartbeatAt: &now}
			if err := store.CreateUpload(ctx, tn, who.Actor, dead, nil, nil); err != nil {
				t.Fatal(err)
			}
			clock.add(upload.DefaultStale + time.Second)
			c := upload.New(db, live.NewScorer(db), lim, clock.now)
			if err := c.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			c.Wait()
			got, _ := store.GetUpload(ctx, tn, dead.ID)
			if got.Status != store.UploadInterrupted || got.FinishedAt == nil || !strings.Contains(got.Reason, "stopped") {
				t.Errorf("dead job %+v, want interrupted", got)
			}
		})
	})
}

func TestSweepDiscardsFilesNeverConfirmed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u, tn, clock := demoSenior(t, db)
		svc := upload.New(db, live.NewScorer(db), upload.Limits{}, clock.now)
		who := upload.Uploader{Actor: store.Actor{UserID: u.ID, Email: u.Email}, UserID: u.ID}
		f := tempFile(t, rows("EX", 5, true))
		if _, err := svc.Submit(ctx, tn, who, f); err != nil {
			t.Fatal(err)
		}
		again, err := svc.Submit(ctx, tn, who, f) // the same SHA-256: waits for confirmation
		if err != nil || again.Status != store.UploadConfirm {
			t.Fatalf("second upload = %+v, %v; want it waiting for confirmation", again, err)
		}
		sweep := func() *store.Upload {
			t.Helper()
			if err := svc.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			svc.Wait()
			got, err := store.GetUpload(ctx, tn, again.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		clock.add(upload.ConfirmWindow - time.Minute)
		if got := sweep(); got.Status != store.UploadConfirm {
			t.Fatalf("within the window the sweep ended it: %+v", got)
		}
		if has, _ := store.HasUploadFile(ctx, tn, again.ID); !has {
			t.Fatal("within the window the sweep dropped the file")
		}
		clock.add(2 * time.Minute)
		got := sweep()
		if got.Status != store.UploadCancelled || got.FinishedAt == nil || got.ReasonCode != store.UploadExpired ||
			!strings.Contains(got.Reason, "Not confirmed within 24 hours") {
			t.Errorf("after the window: %+v, want cancelled with the reason", got)
		}
		if has, _ := store.HasUploadFile(ctx, tn, again.ID); has {
			t.Error("the unconfirmed file is still stored")
		}
		events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionUploadExpire})
		if err != nil || len(events) != 1 || events[0].ObjectID != again.ID || events[0].ActorEmail != "system:upload-sweep" {
			t.Errorf("audit of the expiry = %+v, %v; want one event by the sweep", events, err)
		}
		if err := svc.Confirm(ctx, tn, who.Actor, again.ID); err == nil {
			t.Error("an expired upload could still be confirmed")
		}
	})
}

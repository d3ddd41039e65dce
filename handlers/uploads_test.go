package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
	"github.com/sentinel-fraud/sentinel/upload"
)

const uploadHeader = "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,external_id\n"

// uploadCSV is a valid file of n rows whose external ids start with prefix.
func uploadCSV(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(uploadHeader)
	for i := range n {
		fmt.Fprintf(&b, "%d,TRANSFER,%d.5,C%s%d,5000,0,C%sD%d,0,0,0,%s-%d\n", 1+i%700, 100+i, prefix, i, prefix, i, prefix, i)
	}
	return b.String()
}

// doneUpload records a finished upload of the demo tenant (with one refused
// row) and returns its id.
func (a *testApp) doneUpload(n int64) string {
	a.t.Helper()
	t := store.ForTenant(a.db, a.user("admin@sentinel.demo").TenantID)
	u := &store.Upload{FileName: fmt.Sprintf("done%d.csv", n), SHA256: fmt.Sprintf("%064d", n), Status: store.UploadDone, RowsTotal: 1, RowsRefused: 1}
	if err := store.CreateUpload(context.Background(), t, store.Actor{Email: "test"}, u, nil, nil); err != nil {
		a.t.Fatal(err)
	}
	if err := store.SaveUploadErrors(context.Background(), t, u.ID, []store.UploadError{{RowNumber: 1, ColumnName: "amount", Reason: "bad number", Value: "x"}}); err != nil {
		a.t.Fatal(err)
	}
	return u.ID
}

// uploads lists the demo tenant's uploads, newest first.
func (a *testApp) uploads() []store.Upload {
	a.t.Helper()
	rows, err := store.ListUploads(context.Background(), a.tenantOf("admin@sentinel.demo"), 500)
	if err != nil {
		a.t.Fatal(err)
	}
	return rows
}

// uploadAudits returns the details of the demo tenant's upload.attempt events, newest first.
func (a *testApp) uploadAudits() []store.AuditEvent {
	a.t.Helper()
	rows, err := store.ListAudit(context.Background(), a.tenantOf("admin@sentinel.demo"), store.AuditFilter{Action: store.ActionUpload, Limit: 500})
	if err != nil {
		a.t.Fatal(err)
	}
	return rows
}

// uploadedTransactions counts the transactions an upload stored.
func (a *testApp) uploadedTransactions(id string) int64 {
	a.t.Helper()
	st, err := store.CountInvestigate(context.Background(), a.tenantOf("admin@sentinel.demo"), store.InvestigateFilter{UploadID: id})
	if err != nil {
		a.t.Fatal(err)
	}
	return st.Count
}

var uploadIDPath = regexp.MustCompile(`^/upload/([0-9a-f-]+)$`)

// uploadOK uploads a file that must be accepted and returns its upload.
func (b *browser) uploadOK(name string, data []byte) store.Upload {
	b.t.Helper()
	b.get("/upload")
	res := b.upload("/upload", nil, name, data)
	if res.Status != http.StatusSeeOther {
		b.t.Fatalf("upload %s = %d, want 303\n%.600s", name, res.Status, res.Body)
	}
	m := uploadIDPath.FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		b.t.Fatalf("upload %s went to %q", name, res.Header.Get("Location"))
	}
	u, err := store.GetUpload(context.Background(), b.app.tenantOf("admin@sentinel.demo"), m[1])
	if err != nil {
		b.t.Fatal(err)
	}
	return *u
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// bomb is a gzip file of a header and rows that inflates to about size
// bytes: each row carries a long ignored column, so the bytes run out
// before the rows do.
func bomb(t *testing.T, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	io.WriteString(w, "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,padding\n")
	row := []byte("1,PAYMENT,10,C1,100,90,M1,0,0," + strings.Repeat("x", 4000) + "\n")
	for n := 0; n < size; n += len(row) {
		w.Write(row)
	}
	w.Close()
	return buf.Bytes()
}

func TestUploadRefusesAttacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		long := uploadHeader + "1,TRANSFER,10,C1,0,0,C2,0,0,0," + strings.Repeat("a", 1<<20) + "\n"
		var tooMany strings.Builder
		tooMany.WriteString("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n")
		for range 200_001 {
			tooMany.WriteString("1,PAYMENT,1,C1,0,0,M1,0,0\n")
		}
		cases := []struct {
			name, file string
			data       []byte
			status     int
			code, msg  string
		}{
			{"wrong extension", "rows.xlsx", []byte(uploadCSV("X", 1)), 415, "extension", "Only .csv and .csv.gz files are accepted"},
			{"a PNG renamed .csv", "image.csv", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...), 415, "binary", "a PNG image, not CSV text"},
			{"a ZIP", "book.csv", append([]byte("PK\x03\x04\x14\x00"), []byte("xl/workbook.xml")...), 415, "binary", "a ZIP archive"},
			{"NUL bytes", "nul.csv", []byte(uploadHeader + "1,TRANSFER,10,C1\x00,0,0,C2,0,0,0,n1\n"), 415, "binary", "NUL byte"},
			{"invalid UTF-8", "latin1.csv", []byte(uploadHeader + "1,TRANSFER,10,C\xe9l\xe8ne,0,0,C2,0,0,0,u1\n"), 422, "utf8", "not valid UTF-8"},
			{"gzip bomb", "bomb.csv.gz", bomb(t, 60<<20), 413, "gzip_bomb", "expands past the 50 MB allowed"},
			{"gzip named .csv.gz that is not gzip", "fake.csv.gz", []byte(uploadCSV("G", 1)), 415, "not_gzip", "is not gzip"},
			{"a 1 MB single line", "long.csv", []byte(long), 422, "long_line", "Line 2 is longer than 64 KiB"},
			{"200,001 rows", "many.csv", []byte(tooMany.String()), 413, "too_many_rows", "more than 200000 data rows"},
			{"missing columns", "cols.csv", []byte("step,type,amount,name_orig\n1,PAYMENT,1,C1\n"), 422, "columns",
				"lacks the columns oldbalanceOrg, newbalanceOrig, nameDest, oldbalanceDest, newbalanceDest"},
			{"an empty file", "empty.csv", []byte{}, 422, "empty", "The file is empty"},
		}
		b := a.signedIn("senior@sentinel.demo")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				b.get("/upload")
				res := b.upload("/upload", nil, tc.file, tc.data)
				if res.Status != tc.status {
					t.Fatalf("upload = %d, want %d\n%.500s", res.Status, tc.status, res.Body)
				}
				if !strings.Contains(res.Body, tc.msg) {
					t.Errorf("the answer does not say %q:\n%.2000s", tc.msg, res.Body)
				}
				u := a.uploads()[0]
				if u.Status != store.UploadRefused || u.ReasonCode != tc.code || u.HTTPStatus != tc.status || u.FileName != tc.file {
					t.Errorf("recorded %+v, want refused %s %d", u, tc.code, tc.status)
				}
				if u.ClientIP == "" || u.UserAgent == "" || u.UserEmail != "senior@sentinel.demo" || len(u.SHA256) != 64 || u.SizeBytes != int64(len(tc.data)) {
					t.Errorf("record lacks who or what: %+v", u)
				}
				ev := a.uploadAudits()[0]
				var d map[string]any
				_ = json.Unmarshal(ev.Details, &d)
				if ev.ObjectID != u.ID || d["outcome"] != "refused" || d["reason_code"] != tc.code || d["sha256"] != u.SHA256 ||
					d["file_name"] != tc.file || d["content_type"] == nil || d["size_bytes"] != float64(len(tc.data)) ||
					ev.IP == "" || ev.UserAgent == "" || ev.ActorEmail != "senior@sentinel.demo" {
					t.Errorf("audit event %s %s by %s from %s: %s", ev.Action, ev.ObjectID, ev.ActorEmail, ev.IP, ev.Details)
				}
				if n := a.uploadedTransactions(u.ID); n != 0 {
					t.Errorf("a refused file stored %d transactions", n)
				}
			})
		}
	})
}

// countingBody is a request body of n bytes, made as they are read,
// counting how many were.
type countingBody struct {
	r    io.Reader
	read int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func TestUploadOversizeStopsAtTheLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		b := a.signedIn("senior@sentinel.demo")
		b.get("/upload")
		// A 60 MB body through the real handler (no network buffers between):
		// the token first, then a file that never ends before 60 MB.
		var head bytes.Buffer
		w := multipart.NewWriter(&head)
		_ = w.WriteField("_csrf", b.csrf)
		_, _ = w.CreateFormFile("file", "huge.csv")
		body := &countingBody{r: io.MultiReader(&head, strings.NewReader(uploadHeader), io.LimitReader(repeatReader("1,PAYMENT,1,C1,0,0,M1,0,0,0,x\n"), 60<<20))}
		req := httptest.NewRequest(http.MethodPost, "/upload", body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		u, _ := url.Parse(a.srv.URL)
		for _, c := range b.client.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		a.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("60 MB upload = %d, want 413\n%.500s", rec.Code, rec.Body.String())
		}
		limit := int64(upload.DefaultMaxBytes + 64<<10)
		if body.read > limit+64<<10 {
			t.Errorf("the handler read %d bytes of a 60 MB body; the limit is %d", body.read, limit)
		}
		if !strings.Contains(rec.Body.String(), "larger than the 50 MB allowed") {
			t.Errorf("no clear message:\n%.1000s", rec.Body.String())
		}
		up := a.uploads()[0]
		if up.Status != store.UploadRefused || up.ReasonCode != "too_large" || up.HTTPStatus != 413 || up.FileName != "huge.csv" {
			t.Errorf("recorded %+v", up)
		}
		if ev := a.uploadAudits()[0]; ev.ObjectID != up.ID {
			t.Errorf("no audit event for the oversize upload")
		}
		t.Logf("read %d of %d bytes (limit %d)", body.read, 60<<20, limit)
	})
}

type repeatReaderT struct {
	s   string
	off int
}

func repeatReader(s string) io.Reader { return &repeatReaderT{s: s} }

func (r *repeatReaderT) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

func TestUploadRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestAppWith(t, db, Config{UploadLimits: upload.Limits{Rate: store.UploadRate{PerMinute: 2, PerDay: 100}}})
		b := a.signedIn("senior@sentinel.demo")
		for i := range 2 {
			b.uploadOK(fmt.Sprintf("r%d.csv", i), []byte(uploadCSV(fmt.Sprintf("RATE%d", i), 1)))
		}
		b.get("/upload")
		res := b.upload("/upload", nil, "r3.csv", []byte(uploadCSV("RATE3", 1)))
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "uploaded 2 files in the last minute") || res.Header.Get("Retry-After") == "" {
			t.Fatalf("third upload = %d (Retry-After %q)\n%.500s", res.Status, res.Header.Get("Retry-After"), res.Body)
		}
		u := a.uploads()[0]
		if u.ReasonCode != "rate_limited" || u.HTTPStatus != 429 {
			t.Errorf("recorded %+v", u)
		}
		// Another user has limits of their own.
		a.signedIn("admin@sentinel.demo").uploadOK("admin.csv", []byte(uploadCSV("RATEADMIN", 1)))
	})
}

func TestUploadMixedRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		b := a.signedIn("senior@sentinel.demo")
		file := uploadHeader +
			"1,TRANSFER,100,CMIX1,100,0,CMIXD1,0,0,0,mix-1\n" +
			"2,TRANSFER,abc,CMIX2,100,0,CMIXD2,0,0,0,mix-2\n" + // bad amount
			"3,WIRE,100,CMIX3,100,0,CMIXD3,0,0,0,mix-3\n" + // unknown type
			"4,CASH_OUT,=1+2,CMIX4,100,0,CMIXD4,0,0,0,mix-4\n" + // a formula as the amount
			"5,PAYMENT,10,\"=HYPERLINK(\"\"http://evil\"\")\",100,90,MMIX5,0,0,0,mix-5\n" + // a formula as an account: valid
			"6,PAYMENT,10,CMIX6,100,90,MMIX6,0,0\n" + // too few fields
			"7,PAYMENT,10,CMIX7,100,90,MMIX7,0,0,1,mix-7\n" +
			"8,PAYMENT,10,CMIX8,100,90,MMIX8,0,0,0,mix-7\n" // the same external id again
		u := b.uploadOK("mixed.csv", []byte(file))
		if u.Status != store.UploadDone || u.RowsTotal != 8 || u.RowsScored != 3 || u.RowsRefused != 5 || u.RowsPresent != 0 {
			t.Fatalf("counts %+v, want 8 rows: 3 scored, 5 refused", u)
		}
		if n := a.uploadedTransactions(u.ID); n != 3 {
			t.Errorf("stored %d transactions, want the 3 good ones only", n)
		}
		page := b.get("/upload/" + u.ID)
		for _, want := range []string{"mixed.csv", "Done", `data-testid="upload-scored">3<`, `data-testid="upload-refused">5<`,
			"/investigate?upload=" + u.ID, "/upload/" + u.ID + "/errors.csv", u.SHA256} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("the upload page lacks %q", want)
			}
		}
		// The error report: each refused row with its number, column, reason
		// and cell, formulas neutralised.
		res := b.get("/upload/" + u.ID + "/errors.csv")
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("errors.csv = %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 6 || strings.Join(recs[0], ",") != "row,column,reason,value" {
			t.Fatalf("error report has %d lines, want header + 5:\n%s", len(recs), res.Body)
		}
		got := map[string][]string{}
		for _, r := range recs[1:] {
			got[r[0]] = r
		}
		if r := got["4"]; r == nil || r[1] != "amount" || r[3] != "'=1+2" || strings.HasPrefix(r[2], "=") {
			t.Errorf("formula row in the report = %q, want its cell neutralised", r)
		}
		if r := got["2"]; r == nil || r[1] != "amount" || r[3] != "abc" {
			t.Errorf("row 2 = %q", r)
		}
		if r := got["3"]; r == nil || r[1] != "type" {
			t.Errorf("row 3 = %q", r)
		}
		if r := got["6"]; r == nil || r[2] != "has 9 fields, the header has 11" {
			t.Errorf("row 6 = %q", r)
		}
		if r := got["8"]; r == nil || r[1] != "external_id" || r[3] != "mix-7" {
			t.Errorf("row 8 = %q", r)
		}
		if count(a.auditActions("admin@sentinel.demo"), store.ActionUploadExport) != 1 {
			t.Errorf("the error report download is not audited")
		}
		// The formula account is stored as given, and neutralised in the
		// investigate export.
		ex := b.get("/investigate/export.csv?upload=" + u.ID)
		if !strings.Contains(ex.Body, `'=HYPERLINK(""http://evil"")`) {
			t.Errorf("investigate export does not neutralise the formula:\n%s", ex.Body)
		}
		scored, err := store.GetScoredByExternalID(context.Background(), a.tenantOf("admin@sentinel.demo"), "mix-5")
		if err != nil || scored.Transaction.NameOrig != `=HYPERLINK("http://evil")` || scored.Transaction.Source != store.SourceUpload {
			t.Errorf("formula row stored as %+v, %v", scored, err)
		}
		// Investigate filtered by this upload lists its transactions only.
		inv := b.get("/investigate?upload=" + u.ID)
		if inv.Status != 200 || !strings.Contains(inv.Body, "CMIX1") || strings.Contains(inv.Body, "CMIXD2") {
			t.Errorf("investigate?upload = %d, lists other rows or misses its own", inv.Status)
		}
	})
}

func TestUploadFormats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		b := a.signedIn("admin@sentinel.demo")
		t.Run("quoted fields with commas, quotes and newlines", func(t *testing.T) {
			file := "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,note,external_id\n" +
				"1,PAYMENT,\"1,5\",C1,0,0,M1,0,0,x,q-0\n" + // a comma in a number: refused
				"1,PAYMENT,10,\"CQ,1\",100,90,\"MQ \"\"1\"\"\",0,0,\"a note, with\na newline and \"\"quotes\"\"\",q-1\n" +
				"2,PAYMENT,11,CQ2,100,89,MQ2,0,0,plain,q-2\n"
			u := b.uploadOK("quoted.csv", []byte(file))
			if u.RowsScored != 2 || u.RowsRefused != 1 {
				t.Fatalf("counts %+v", u)
			}
			s, err := store.GetScoredByExternalID(context.Background(), a.tenantOf("admin@sentinel.demo"), "q-1")
			if err != nil || s.Transaction.NameOrig != "CQ,1" || s.Transaction.NameDest != `MQ "1"` {
				t.Errorf("quoted row stored as %+v, %v", s, err)
			}
		})
		t.Run("a BOM and snake_case headers, gzip", func(t *testing.T) {
			file := "\ufeffstep,type,amount,name_orig,old_balance_org,new_balance_orig,name_dest,old_balance_dest,new_balance_dest,is_fraud,external_id\n" +
				"1,CASH_OUT,500,CSNAKE1,500,0,CSNAKED,0,0,1,snake-1\n"
			for _, f := range []struct {
				name string
				data []byte
			}{{"snake.csv", []byte(file)}, {"snake2.csv.gz", gz(t, strings.Replace(file, "snake-1", "snake-2", 1))}} {
				u := b.uploadOK(f.name, f.data)
				if u.Status != store.UploadDone || u.RowsScored != 1 || u.RowsRefused != 0 {
					t.Errorf("%s: %+v", f.name, u)
				}
			}
			s, err := store.GetScoredByExternalID(context.Background(), a.tenantOf("admin@sentinel.demo"), "snake-1")
			if err != nil || s.Transaction.NameOrig != "CSNAKE1" || s.Transaction.IsFraud == nil || !*s.Transaction.IsFraud {
				t.Errorf("snake_case row stored as %+v, %v", s, err)
			}
		})
	})
}

func TestUploadAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		b := a.signedIn("senior@sentinel.demo")
		file := []byte(uploadCSV("AGAIN", 5))
		first := b.uploadOK("again.csv", file)
		if first.RowsScored != 5 {
			t.Fatalf("first upload %+v", first)
		}
		// The same bytes: a warning and a confirmation first, nothing scored.
		second := b.uploadOK("again-copy.csv", file)
		if second.Status != store.UploadConfirm || !strings.Contains(second.Reason, "again.csv") {
			t.Fatalf("second upload %+v, want it waiting for confirmation", second)
		}
		page := b.get("/upload/" + second.ID)
		if !strings.Contains(page.Body, "Process it again") || !strings.Contains(page.Body, "was uploaded on") {
			t.Errorf("no warning on the page:\n%.3000s", page.Body)
		}
		if !strings.Contains(page.Body, "Same file as an earlier upload") || strings.Contains(page.Body, "same_file") {
			t.Errorf("the outcome is not in words on the page:\n%.3000s", page.Body)
		}
		if res := b.post("/upload/"+second.ID+"/confirm", url.Values{}, true); res.Status != http.StatusSeeOther {
			t.Fatalf("confirm = %d", res.Status)
		}
		a.waitUploads()
		again, _ := store.GetUpload(context.Background(), a.tenantOf("admin@sentinel.demo"), second.ID)
		if again.Status != store.UploadDone || again.RowsPresent != 5 || again.RowsScored != 0 {
			t.Errorf("confirmed re-upload %+v, want all 5 already present", again)
		}
		// Other bytes with the same external ids: no warning, all present.
		other := b.uploadOK("again-other.csv", []byte(strings.ReplaceAll(uploadCSV("AGAIN", 5), "\n", "\r\n")))
		if other.Status != store.UploadDone || other.RowsPresent != 5 || other.RowsScored != 0 {
			t.Errorf("re-upload with other bytes %+v", other)
		}
		acts := a.auditActions("admin@sentinel.demo")
		if count(acts, store.ActionUploadConfirm) != 1 || count(acts, store.ActionUpload) != 3 {
			t.Errorf("audit: %d confirmations, %d attempts", count(acts, store.ActionUploadConfirm), count(acts, store.ActionUpload))
		}
	})
}

// waitUploads waits for the upload jobs the app started.
func (a *testApp) waitUploads() { a.uploadsSvc.Wait() }

func TestUploadForbiddenIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		for _, who := range []string{"analyst@sentinel.demo", "auditor@sentinel.demo"} {
			b := a.signedIn(who)
			b.get("/")
			if res := b.get("/upload"); res.Status != http.StatusForbidden {
				t.Errorf("GET /upload as %s = %d", who, res.Status)
			}
			res := b.upload("/upload", nil, "sneaky.csv", []byte(uploadCSV("SNEAK", 1)))
			if res.Status != http.StatusForbidden {
				t.Fatalf("POST /upload as %s = %d", who, res.Status)
			}
			u := a.uploads()[0]
			if u.UserEmail != who || u.Status != store.UploadRefused || u.ReasonCode != "forbidden" || u.HTTPStatus != 403 ||
				u.FileName != "sneaky.csv" || len(u.SHA256) != 64 {
				t.Errorf("recorded %+v", u)
			}
			if n := a.uploadedTransactions(u.ID); n != 0 {
				t.Errorf("stored %d", n)
			}
		}
		acts := a.auditActions("admin@sentinel.demo")
		if count(acts, store.ActionUploadDenied) != 2 || count(acts, store.ActionUpload) != 2 {
			t.Errorf("audit: %d denied looks, %d attempts; want 2 and 2", count(acts, store.ActionUploadDenied), count(acts, store.ActionUpload))
		}
		if _, err := store.GetScoredByExternalID(context.Background(), a.tenantOf("admin@sentinel.demo"), "SNEAK-0"); err == nil {
			t.Errorf("a forbidden upload stored its row")
		}
	})
}

func TestUploadJobProgressAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestAppWith(t, db, Config{UploadLimits: upload.Limits{SyncRows: 100}})
		b := a.signedIn("senior@sentinel.demo")
		block := make(chan struct{})
		var unblock sync.Once
		release := func() { unblock.Do(func() { close(block) }) }
		t.Cleanup(release) // before the app waits for its jobs, even after a failure
		reached := make(chan struct{}, 10)
		a.uploadsSvc.SetAfterBatch(func(ctx context.Context, id string, rows int64) {
			reached <- struct{}{}
			<-block
		})
		u := b.uploadOK("big.csv", []byte(uploadCSV("BIG", 2500)))
		if u.RowsTotal != 2500 || (u.Status != store.UploadQueued && u.Status != store.UploadRunning) {
			t.Fatalf("job %+v", u)
		}
		<-reached // the first batch is stored
		frag := b.getHX("/upload/" + u.ID)
		for _, want := range []string{"Processing: 1,000 of 2,500 rows (40%)", "rows/s", "left", `hx-trigger="every 2s`, "Cancel"} {
			if !strings.Contains(frag.Body, want) {
				t.Errorf("progress fragment lacks %q:\n%s", want, frag.Body)
			}
		}
		if strings.Contains(frag.Body, "<html") {
			t.Errorf("the poll got a whole page")
		}
		if res := b.post("/upload/"+u.ID+"/cancel", url.Values{}, true); res.Status != http.StatusSeeOther {
			t.Fatalf("cancel = %d", res.Status)
		}
		release()
		a.waitUploads()
		got, _ := store.GetUpload(context.Background(), a.tenantOf("admin@sentinel.demo"), u.ID)
		if got.Status != store.UploadCancelled || got.RowsDone >= 2500 {
			t.Errorf("cancelled job %+v", got)
		}
		if n := a.uploadedTransactions(u.ID); n >= 2500 {
			t.Errorf("a cancelled job stored every row")
		}
		page := b.get("/upload/" + u.ID)
		if strings.Contains(page.Body, "every 2s") || !strings.Contains(page.Body, "Cancelled") {
			t.Errorf("an ended job still polls or does not say cancelled")
		}
		if count(a.auditActions("admin@sentinel.demo"), store.ActionUploadCancel) != 1 {
			t.Errorf("cancel not audited")
		}
	})
}

func TestUploadOtherTenant(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		own := a.doneUpload(1)
		b := a.signedIn("senior@acme.demo")
		b.get("/upload")
		for _, r := range []struct{ method, path string }{
			{"GET", "/upload/" + own}, {"GET", "/upload/" + own + "/errors.csv"},
			{"POST", "/upload/" + own + "/cancel"}, {"POST", "/upload/" + own + "/confirm"},
		} {
			var res response
			if r.method == "GET" {
				res = b.get(r.path)
			} else {
				res = b.post(r.path, url.Values{}, true)
			}
			if res.Status != http.StatusNotFound || strings.Contains(res.Body, "done1.csv") {
				t.Errorf("%s %s from another tenant = %d, want 404 without its data", r.method, r.path, res.Status)
			}
		}
		if list := b.get("/upload"); strings.Contains(list.Body, "done1.csv") {
			t.Errorf("another tenant's upload is listed")
		}
		for _, path := range []string{"/investigate?upload=" + own, "/investigate/export.csv?upload=" + own} {
			if res := b.get(path); res.Status != http.StatusNotFound {
				t.Errorf("GET %s with another tenant's upload = %d, want 404", path, res.Status)
			}
		}
	})
}

// A file sent without a signed-in session goes to the sign-in page before
// the server reads it: an anonymous client cannot make it spool a large
// body. A signed-in senior's upload still works.
func TestUploadWithoutSessionIsNotRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newTestApp(t, db, true)
		for _, route := range []string{"/upload", "/replay", "/models", "/watchlists/import"} {
			var head bytes.Buffer
			w := multipart.NewWriter(&head)
			_, _ = w.CreateFormFile("file", "big.csv")
			body := &countingBody{r: io.MultiReader(&head, io.LimitReader(repeatReader("1,PAYMENT,1,C1,0,0,M1,0,0,0,x\n"), 10<<20))}
			req := httptest.NewRequest(http.MethodPost, route, body)
			req.Header.Set("Content-Type", w.FormDataContentType())
			rec := httptest.NewRecorder()
			a.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
				t.Errorf("anonymous file to %s = %d (Location %q), want 303 to the sign-in page", route, rec.Code, rec.Header().Get("Location"))
			}
			if body.read > 0 {
				t.Errorf("anonymous file to %s: the server read %d bytes of it", route, body.read)
			}
		}
		if len(a.uploads()) != 0 {
			t.Errorf("an anonymous attempt was recorded as an upload")
		}
		b := a.signedIn("senior@sentinel.demo")
		b.get("/upload")
		if u := b.uploadOK("small.csv", []byte(uploadCSV("SIGNED", 3))); u.RowsScored != 3 {
			t.Errorf("a signed-in upload after the check: %+v", u)
		}
	})
}

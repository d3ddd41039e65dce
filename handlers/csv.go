package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
)

// defaultExportLimit is the most rows one export writes unless configured.
const defaultExportLimit = 1_000_000

// exportLimit is the configured most rows of one export.
func (s *Server) exportLimit() int {
	if s.cfg.ExportLimit > 0 {
		return s.cfg.ExportLimit
	}
	return defaultExportLimit
}

// csvFlushEvery is how many rows an export writes between flushes to the
// client; each flush also moves the write deadline on, so a long export is
// cut by the server's write timeout only when the client stops reading.
const (
	csvFlushEvery    = 2000
	csvWriteDeadline = time.Minute
	csvBufferSize    = 64 << 10
)

// csvStream writes a CSV download (RFC 4180, UTF-8, a header row) to the
// response as its rows come, in constant memory. Nothing is sent before the
// first flush, so an error before it still gets an ordinary error page.
type csvStream struct {
	c    echo.Context
	w    *csv.Writer
	rc   *http.ResponseController
	rows int
	rec  csvRecord
}

// newCSVStream prepares a download named filename with its header row.
func newCSVStream(c echo.Context, filename string, header []string) (*csvStream, error) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	// csv.Writer writes into this buffer itself (bufio.NewWriter keeps a
	// big enough one), and the response gets it in large writes: with the
	// 4 KiB default, the system calls of a million-row export took a sixth
	// of its time.
	buf := bufio.NewWriterSize(c.Response(), csvBufferSize)
	s := &csvStream{c: c, w: csv.NewWriter(buf), rc: http.NewResponseController(c.Response())}
	s.w.UseCRLF = true // RFC 4180
	return s, s.w.Write(header)
}

// write sends one row (a record built with text and number).
func (s *csvStream) write(r csvRecord) error {
	if err := s.w.Write(r); err != nil {
		return err
	}
	s.rows++
	if s.rows%csvFlushEvery == 0 {
		return s.flush()
	}
	return nil
}

// flush sends what is buffered and gives the client another deadline.
func (s *csvStream) flush() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	// Not every writer can move its deadline (httptest's cannot): then the
	// server's own timeout stands.
	if err := s.rc.SetWriteDeadline(time.Now().Add(csvWriteDeadline)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// end finishes the file. A note (the limit was reached, or an error cut the
// export short) becomes its last line, a record of one cell.
func (s *csvStream) end(note string) error {
	if note != "" {
		if err := s.w.Write([]string{safeCell(note)}); err != nil {
			return err
		}
	}
	return s.flush()
}

// started reports whether any byte has gone to the client.
func (s *csvStream) started() bool { return s.c.Response().Committed }

// abandon takes back the download's headers before an error page is
// written instead (nothing was sent yet).
func (s *csvStream) abandon() {
	h := s.c.Response().Header()
	h.Del(echo.HeaderContentDisposition)
	h.Del(echo.HeaderContentType)
}

// csvRecord is one row being built: text cells go through safeCell,
// numbers are written as numbers.
type csvRecord []string

func (r *csvRecord) text(s string) {
	s = safeCell(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = lineBreaks.Replace(s)
	}
	*r = append(*r, s)
}

// lineBreaks makes every line break in a cell a line feed, which
// encoding/csv writes as RFC 4180's CRLF (it drops a lone CR).
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

func (r *csvRecord) number(f float64) { *r = append(*r, strconv.FormatFloat(f, 'f', -1, 64)) }

func (r *csvRecord) integer(n int64) { *r = append(*r, strconv.FormatInt(n, 10)) }

func (r *csvRecord) time(t time.Time) {
	if t.IsZero() {
		*r = append(*r, "")
		return
	}
	*r = append(*r, t.UTC().Format(time.RFC3339Nano))
}

// formulaStarts are the characters that make a spreadsheet read a cell as
// a formula (OWASP's CSV injection list), and the full-width forms of the
// four signs, which some spreadsheets read as the signs themselves.
const formulaStarts = "=+-@\t\r＝＋－＠"

// safeCell neutralises text that a spreadsheet would evaluate: when its
// first character, after any leading white space, starts a formula, the
// cell gets a leading single quote, which spreadsheets show as text.
// Tab and carriage return count as starts, not as white space.
func safeCell(s string) string {
	if s == "" || isASCIIAlphanumeric(s[0]) {
		return s // most cells: no formula, no white space to look past
	}
	rest := strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) && r != '\t' && r != '\r' })
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && strings.ContainsRune(formulaStarts, r) {
		return "'" + s
	}
	return s
}

func isASCIIAlphanumeric(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// exportFilename is sentinel-<tenant>-<what>-<UTC timestamp>.csv.
func exportFilename(tenantSlug, what string, at time.Time) string {
	return fmt.Sprintf("sentinel-%s-%s-%s.csv", tenantSlug, what, at.UTC().Format("20060102T150405Z"))
}

// finishExport ends an export's file and writes its audit event (filters,
// rows, whether it is complete) whatever became of it. An error before
// anything was sent gets the ordinary error page; after, the file ends
// with a line saying it is incomplete and the central handler logs the
// error.
func (s *Server) finishExport(c echo.Context, out *csvStream, action string, filters url.Values, limit, n int, more bool, err error) error {
	p := currentPrincipal(c)
	details := map[string]any{"filters": filters.Encode(), "rows": n, "complete": err == nil && !more}
	if more {
		details["limit"] = limit
	}
	// The event is written even when the client went away mid-download.
	ctx := context.WithoutCancel(c.Request().Context())
	if aerr := store.Record(ctx, p.Tenant, actorOf(c, p), store.Event{Action: action, Details: details}); aerr != nil && err == nil {
		err = aerr
	}
	switch {
	case err != nil && !out.started():
		out.abandon()
		return err
	case err != nil:
		_ = out.end(fmt.Sprintf("Export incomplete: it stopped after %d rows because of an error (request id %s).",
			n, c.Response().Header().Get(echo.HeaderXRequestID)))
		return err
	case more:
		return out.end(fmt.Sprintf("Export stopped at the limit of %d rows: narrow the filters to export the rest.", limit))
	}
	return out.end("")
}

// exportBatchRows is how many rows the export's reader hands its writer at
// a time, and exportBatches how many batches exist: one being filled, one
// being written, the others waiting, which absorbs the moments when either
// side waits for the database, the client or the other's core (with three,
// a million-row export ran at 99,000 rows/s; with eight, 110,000). Memory
// stays flat whatever the export's size: 2,048 rows at most.
const (
	exportBatchRows = 256
	exportBatches   = 8
)

// pipeExport runs read on this goroutine and write on another, so that
// reading rows from the database (and whatever read makes of them) and
// formatting them overlap on two cores. read calls emit with a fill
// function for each row; fill sets a slot (the slots live in a few reused
// batches, so a slot's old content must be overwritten). write receives
// the filled slots in order. When fill or read fails, every slot filled
// before is still written; an error of write stops read; write's error
// wins over read's.
func pipeExport[T any](ctx context.Context, read func(emit func(fill func(*T) error) error) error, write func(*T) error) error {
	type batch struct {
		slots []T
		n     int // how many are filled
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free, full := make(chan *batch, exportBatches), make(chan *batch, exportBatches)
	for range exportBatches {
		free <- &batch{slots: make([]T, exportBatchRows)}
	}
	written := make(chan error, 1)
	go func() {
		var err error
		for b := range full {
			for i := 0; i < b.n && err == nil; i++ {
				if err = write(&b.slots[i]); err != nil {
					cancel()
				}
			}
			b.n = 0
			free <- b
		}
		written <- err
	}()
	var cur *batch
	send := func() {
		if cur != nil && cur.n > 0 {
			full <- cur
			cur = nil
		}
	}
	err := read(func(fill func(*T) error) error {
		if cur == nil {
			// Checked first: with a batch free and the writer stopped,
			// select would pick either at random.
			if err := ctx.Err(); err != nil {
				return err
			}
			select {
			case cur = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := fill(&cur.slots[cur.n]); err != nil {
			return err
		}
		if cur.n++; cur.n == len(cur.slots) {
			send()
		}
		return nil
	})
	send()
	close(full)
	if werr := <-written; werr != nil {
		return werr
	}
	return err
}

// unsafeCell undoes safeCell on a cell read back from a file Sentinel
// exported (a watchlist imported again): a single quote that safeCell would
// have added is dropped.
func unsafeCell(s string) string {
	if rest, ok := strings.CutPrefix(s, "'"); ok && safeCell(rest) != rest {
		return rest
	}
	return s
}

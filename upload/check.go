// Package upload checks and processes CSV files of transactions that
// people upload: every file is checked whole before a row is stored
// (size, name, text, UTF-8, line length, gzip expansion, header, row
// count), then each valid row is scored through the scoring service and
// stored with source upload, and each invalid row is recorded with its
// number, column and reason. Large files run as jobs whose state is in the
// database, so that any replica takes over the job of a process that died.
package upload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

// Defaults of Limits.
const (
	DefaultMaxBytes  = 50 << 20
	DefaultMaxRows   = 200_000
	DefaultMaxLine   = 64 << 10
	DefaultSyncRows  = 5_000
	DefaultPerMinute = 10
	DefaultPerDay    = 100
)

// Limits bound what one upload may be.
type Limits struct {
	// MaxBytes bounds the request body and, for gzip, the inflated file.
	MaxBytes int64
	// MaxRows bounds the data rows (the header is not one).
	MaxRows int64
	// MaxLine bounds one line, in bytes.
	MaxLine int
	// SyncRows is the most rows processed while the uploader waits; a
	// larger file is a background job.
	SyncRows int64
	Rate     store.UploadRate
}

// DefaultLimits are the limits of the issue: 50 MB, 200,000 rows, 64 KiB
// lines, 10 uploads a minute and 100 a day per user.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxRows: DefaultMaxRows, MaxLine: DefaultMaxLine, SyncRows: DefaultSyncRows,
		Rate: store.UploadRate{PerMinute: DefaultPerMinute, PerDay: DefaultPerDay}}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.SyncRows <= 0 {
		l.SyncRows = d.SyncRows
	}
	return l
}

// Refusal is why a whole file is refused: a code for the record, the
// message for the uploader and the HTTP status.
type Refusal struct {
	Code    string
	Message string
	Status  int
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code string, status int, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// TooLarge is the refusal of a body past the limit.
func TooLarge(limit int64) *Refusal {
	return refuse("too_large", http.StatusRequestEntityTooLarge,
		"The upload is larger than the %s allowed; send a smaller file (or gzip it).", mb(limit))
}

// mb formats a byte count in MB.
func mb(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// IsGzipName reports whether a file name says .csv.gz; CheckName refuses
// any name other than .csv or .csv.gz.
func IsGzipName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".csv.gz") }

// CheckName refuses a file name other than .csv or .csv.gz.
func CheckName(name string) *Refusal {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz") {
		return nil
	}
	return refuse("extension", http.StatusUnsupportedMediaType,
		"Only .csv and .csv.gz files are accepted; %q is neither.", scoring.Truncate(name, 80))
}

// signatures are the starts of common binary files.
var signatures = []struct {
	magic []byte
	what  string
}{
	{[]byte("\x89PNG\r\n\x1a\n"), "a PNG image"},
	{[]byte("PK\x03\x04"), "a ZIP archive (or an Excel workbook)"},
	{[]byte("PK\x05\x06"), "a ZIP archive"},
	{[]byte("%PDF-"), "a PDF document"},
	{[]byte("\x7fELF"), "an ELF executable"},
	{[]byte("GIF87a"), "a GIF image"},
	{[]byte("GIF89a"), "a GIF image"},
	{[]byte("\xff\xd8\xff"), "a JPEG image"},
	{[]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "an old Office document"},
	{[]byte("7z\xbc\xaf\x27\x1c"), "a 7-Zip archive"},
	{[]byte("Rar!\x1a\x07"), "a RAR archive"},
	{[]byte("\x1f\x8b"), "gzip data"},
	{[]byte("MZ\x90\x00"), "a Windows executable"},
}

// sniff refuses the start of a file (its first KiB) that is not text.
func sniff(head []byte) *Refusal {
	for _, s := range signatures {
		if bytes.HasPrefix(head, s.magic) {
			return refuse("binary", http.StatusUnsupportedMediaType,
				"The file is %s, not CSV text. Export the data as CSV and upload that.", s.what)
		}
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return refuse("binary", http.StatusUnsupportedMediaType,
			"The file is not text: it holds a NUL byte at byte %d. Export the data as CSV and upload that.", i+1)
	}
	return nil
}

// guard passes the text of a file through while checking it: at most
// limit bytes (inflated), no NUL, valid UTF-8, no line longer than maxLine.
// The first problem stops it: Read returns the *Refusal, and so does
// refusal().
type guard struct {
	r       io.Reader
	limit   int64
	gzip    bool
	maxLine int
	n       int64 // bytes passed
	line    int64 // line number (1-based) of the current line
	lineLen int
	carry   []byte // an incomplete UTF-8 sequence at the end of the last read
	refused *Refusal
}

func (g *guard) refusal() *Refusal { return g.refused }

func (g *guard) Read(p []byte) (int, error) {
	if g.refused != nil {
		return 0, g.refused
	}
	n, err := g.r.Read(p)
	if n > 0 {
		if r := g.check(p[:n]); r != nil {
			g.refused = r
			return 0, r
		}
	}
	if err == io.EOF && len(g.carry) > 0 {
		g.refused = g.badUTF8()
		return n, g.refused
	}
	return n, err
}

func (g *guard) badUTF8() *Refusal {
	return refuse("utf8", http.StatusUnprocessableEntity,
		"The file is not valid UTF-8 text (line %d). Save it as UTF-8 (a byte order mark is fine) and upload it again.", g.line)
}

// check looks at bytes about to pass.
func (g *guard) check(b []byte) *Refusal {
	g.n += int64(len(b))
	if g.n > g.limit {
		if g.gzip {
			return refuse("gzip_bomb", http.StatusRequestEntityTooLarge,
				"The gzip file expands past the %s allowed; it was stopped there. Send a smaller file.", mb(g.limit))
		}
		return TooLarge(g.limit)
	}
	if g.line == 0 {
		g.line = 1
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := b
		if i >= 0 {
			seg = b[:i]
		}
		if bytes.IndexByte(seg, 0) >= 0 {
			return refuse("binary", http.StatusUnsupportedMediaType,
				"The file is not text: line %d holds a NUL byte.", g.line)
		}
		g.lineLen += len(seg)
		if g.lineLen > g.maxLine {
			return refuse("long_line", http.StatusUnprocessableEntity,
				"Line %d is longer than %d KiB; no CSV row of transactions is that long. Check the file's line endings.", g.line, g.maxLine>>10)
		}
		if !g.validUTF8(seg) {
			return g.badUTF8()
		}
		if i < 0 {
			break
		}
		g.line++
		g.lineLen = 0
		b = b[i+1:]
	}
	return nil
}

// validUTF8 checks seg, joined to the incomplete sequence of the last read;
// an incomplete sequence at its end waits for the next.
func (g *guard) validUTF8(seg []byte) bool {
	if len(g.carry) > 0 {
		need := append(g.carry, seg...)
		g.carry = nil
		seg = need
	}
	// Keep back an incomplete rune at the end (at most 3 bytes).
	end := len(seg)
	for k := 1; k <= 3 && k <= len(seg); k++ {
		c := seg[len(seg)-k]
		if c < 0x80 {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(seg[len(seg)-k:]) {
				end = len(seg) - k
			}
			break
		}
	}
	if !utf8.Valid(seg[:end]) {
		return false
	}
	if end < len(seg) {
		g.carry = append([]byte(nil), seg[end:]...)
	}
	return true
}

// open returns the checked text of a file: r inflated when gz (bounded),
// its first KiB sniffed, a leading BOM dropped, behind the guard.
func open(r io.Reader, gz bool, lim Limits) (*guard, func(), *Refusal) {
	br := bufio.NewReaderSize(r, 64<<10)
	closeFn := func() {}
	var src io.Reader = br
	if gz {
		magic, _ := br.Peek(2)
		if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
			if ref := sniff(magic); ref != nil {
				return nil, closeFn, ref
			}
			return nil, closeFn, refuse("not_gzip", http.StatusUnsupportedMediaType,
				"The file is named .csv.gz but is not gzip. Name a plain CSV file .csv.")
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, closeFn, refuse("not_gzip", http.StatusUnsupportedMediaType, "The gzip file cannot be read: %v.", err)
		}
		closeFn = func() { zr.Close() }
		// The inflated bytes are counted by the guard, which stops at the
		// limit: a bomb is read only that far.
		src = bufio.NewReaderSize(&countStop{r: zr, limit: lim.MaxBytes + 1}, 64<<10)
	}
	sb := src.(*bufio.Reader)
	head, _ := sb.Peek(1024)
	if ref := sniff(head); ref != nil {
		return nil, closeFn, ref
	}
	if bytes.HasPrefix(head, []byte("\ufeff")) {
		_, _ = sb.Discard(3)
	}
	return &guard{r: sb, limit: lim.MaxBytes, gzip: gz, maxLine: lim.MaxLine}, closeFn, nil
}

// countStop reads at most limit bytes of r, then reports EOF: what lies
// past it is never inflated.
type countStop struct {
	r     io.Reader
	limit int64
}

func (c *countStop) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.r.Read(p)
	c.limit -= int64(n)
	return n, err
}

// Check reads a whole file once and refuses it when anything is wrong with
// it as a whole; otherwise it returns its number of data rows. Nothing is
// stored. err is a failure to read (not the file's fault).
func Check(r io.Reader, name string, lim Limits) (rows int64, ref *Refusal, err error) {
	lim = lim.withDefaults()
	if ref := CheckName(name); ref != nil {
		return 0, ref, nil
	}
	g, closeFn, ref := open(r, IsGzipName(name), lim)
	defer closeFn()
	if ref != nil {
		return 0, ref, nil
	}
	rd, err := training.NewTextReader(g)
	if ref := fileRefusal(g, err); ref != nil || err != nil {
		return 0, ref, nil
	}
	defer rd.Close()
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if g.refusal() != nil {
			return 0, g.refusal(), nil
		}
		var re *training.RowError
		if err != nil && !errors.As(err, &re) {
			if ref := fileRefusal(g, err); ref != nil {
				return 0, ref, nil
			}
			return 0, nil, err
		}
		rows++
		if rows > lim.MaxRows {
			return 0, refuse("too_many_rows", http.StatusRequestEntityTooLarge,
				"The file has more than %d data rows, the most one upload may have. Split it into smaller files.", lim.MaxRows), nil
		}
	}
	if g.refusal() != nil {
		return 0, g.refusal(), nil
	}
	if rows == 0 {
		return 0, refuse("no_rows", http.StatusUnprocessableEntity, "The file has a header but no rows."), nil
	}
	return rows, nil, nil
}

// fileRefusal turns a reader's header error (or a guard's refusal behind
// it) into the refusal to show.
func fileRefusal(g *guard, err error) *Refusal {
	if g.refusal() != nil {
		return g.refusal()
	}
	if err == nil {
		return nil
	}
	var he *training.HeaderError
	switch {
	case errors.As(err, &he):
		return refuse("columns", http.StatusUnprocessableEntity,
			"The header lacks the column%s %s. Required columns, any case, each by one of its names: %s. Optional: %s.",
			plural(len(he.Missing)), strings.Join(he.Missing, ", "), training.Accepted(true), training.Accepted(false))
	case errors.Is(err, training.ErrEmpty):
		return refuse("empty", http.StatusUnprocessableEntity, "The file is empty.")
	}
	return refuse("header", http.StatusUnprocessableEntity, "The header cannot be read: %s.", strings.TrimPrefix(err.Error(), "training: "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

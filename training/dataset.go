// Package training is Sentinel's offline side: PaySim-format dataset I/O,
// splits, the GBDT trainer, metrics and reports. It depends on scoring for
// the feature registry, so training and serving share one implementation.
package training

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// Column names of the Kaggle PaySim header.
const (
	colStep           = "step"
	colType           = "type"
	colAmount         = "amount"
	colNameOrig       = "nameOrig"
	colOldBalanceOrg  = "oldbalanceOrg"
	colNewBalanceOrig = "newbalanceOrig"
	colNameDest       = "nameDest"
	colOldBalanceDest = "oldbalanceDest"
	colNewBalanceDest = "newbalanceDest"
	colIsFraud        = "isFraud"
	colIsFlaggedFraud = "isFlaggedFraud"
	// Optional columns of where the money moves (never model features).
	colOrigCountry = "orig_country"
	colDestCountry = "dest_country"
	colOrigRegion  = "orig_region"
	colDestRegion  = "dest_region"
)

// KaggleHeader is the PaySim CSV header Sentinel writes.
var KaggleHeader = []string{colStep, colType, colAmount, colNameOrig, colOldBalanceOrg, colNewBalanceOrig,
	colNameDest, colOldBalanceDest, colNewBalanceDest, colIsFraud, colIsFlaggedFraud}

// colExternalID is the optional column of the client's own transaction id.
const colExternalID = "external_id"

// Column is one column a PaySim-format file may have: its name, every
// spelling accepted in a header (compared case-insensitively, so camelCase
// and snake_case both work), and whether a file must have it.
type Column struct {
	Name     string
	Aliases  []string
	Required bool
}

// Columns is the one table of the columns Sentinel reads from PaySim-format
// files (training, offline scoring and uploads): a new column is one line
// here and its parsing in Next.
var Columns = []Column{
	{colStep, []string{"step"}, true},
	{colType, []string{"type"}, true},
	{colAmount, []string{"amount"}, true},
	{colNameOrig, []string{"nameOrig", "name_orig"}, true},
	{colOldBalanceOrg, []string{"oldbalanceOrg", "old_balance_org", "old_balance_orig"}, true},
	{colNewBalanceOrig, []string{"newbalanceOrig", "new_balance_orig", "new_balance_org"}, true},
	{colNameDest, []string{"nameDest", "name_dest"}, true},
	{colOldBalanceDest, []string{"oldbalanceDest", "old_balance_dest"}, true},
	{colNewBalanceDest, []string{"newbalanceDest", "new_balance_dest"}, true},
	{colIsFraud, []string{"isFraud", "is_fraud"}, false},
	{colIsFlaggedFraud, []string{"isFlaggedFraud", "is_flagged_fraud"}, false},
	{colExternalID, []string{"external_id", "externalId", "ext_id"}, false},
	{colOrigCountry, []string{"orig_country", "origCountry", "sender_country"}, false},
	{colDestCountry, []string{"dest_country", "destCountry", "receiver_country"}, false},
	{colOrigRegion, []string{"orig_region", "origRegion", "sender_region"}, false},
	{colDestRegion, []string{"dest_region", "destRegion", "receiver_region"}, false},
}

// aliases maps accepted header spellings (lowercased) to the Kaggle names.
var aliases = func() map[string]string {
	m := map[string]string{}
	for _, c := range Columns {
		for _, a := range c.Aliases {
			m[strings.ToLower(a)] = c.Name
		}
	}
	return m
}()

// HeaderError is a header without every required column: the missing
// ones, by their Kaggle name.
type HeaderError struct {
	Missing []string
}

func (e *HeaderError) Error() string {
	return "missing column " + strings.Join(e.Missing, ", ")
}

// Accepted lists the accepted spellings of each column, for a message:
// "step; type; …; nameOrig or name_orig; …", required ones first.
func Accepted(required bool) string {
	var parts []string
	for _, c := range Columns {
		if c.Required == required {
			parts = append(parts, strings.Join(c.Aliases, " or "))
		}
	}
	return strings.Join(parts, "; ")
}

// RowError is a bad row: its number (1 is the first row after the header),
// the field and the reason. Reading can go on after one.
type RowError struct {
	Row    int64
	Field  string
	Reason string
	// Value is the cell as given (the whole of it, unlike the reason's
	// quote), when one cell is at fault.
	Value string
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Field, e.Reason)
}

// Row is one transaction read from a file. Label is 1 for fraud, 0 for not,
// -1 when the file has no isFraud column.
type Row struct {
	Number int64
	Tx     scoring.Transaction
	Label  int8
	// ExternalID is the file's external_id cell, "" without the column.
	ExternalID string
}

// Reader streams PaySim-format rows from CSV (gzip is detected and read
// transparently).
type Reader struct {
	csv    *csv.Reader
	col    map[string]int
	width  int
	rows   int64
	closer io.Closer
	pipe   *io.PipeReader // set while a goroutine inflates gzip input
}

// ErrEmpty is returned for a file with no header.
var ErrEmpty = errors.New("the file is empty")

// NewReader reads the header of r and returns a reader of its rows.
func NewReader(r io.Reader) (*Reader, error) {
	return newReader(r, true)
}

// NewTextReader is NewReader for text that is never gzip: the caller has
// inflated (and bounded) it already.
func NewTextReader(r io.Reader) (*Reader, error) {
	return newReader(r, false)
}

func newReader(r io.Reader, inflate bool) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var pipe *io.PipeReader
	if magic, _ := br.Peek(2); inflate && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("training: gzip: %w", err)
		}
		// Decompress on a goroutine of its own, so the second core inflates
		// while this one parses. Close stops it.
		pr, pw := io.Pipe()
		go func() {
			_, err := io.Copy(pw, zr)
			pw.CloseWithError(err)
		}()
		pipe = pr
		br = bufio.NewReaderSize(pr, 1<<16)
	}
	c := csv.NewReader(br)
	c.ReuseRecord = true
	c.FieldsPerRecord = -1
	rd := &Reader{csv: c, col: map[string]int{}, pipe: pipe}
	header, err := c.Read()
	if err == io.EOF {
		rd.Close()
		return nil, ErrEmpty
	}
	if err != nil {
		rd.Close()
		return nil, fmt.Errorf("training: header: %w", err)
	}
	rd.width = len(header)
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !utf8.ValidString(h) {
			rd.Close()
			return nil, fmt.Errorf("training: header column %d is not UTF-8", i+1)
		}
		name, ok := aliases[strings.ToLower(h)]
		if !ok {
			continue // extra columns are ignored
		}
		if _, dup := rd.col[name]; dup {
			rd.Close()
			return nil, fmt.Errorf("training: header names column %q twice", name)
		}
		rd.col[name] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := rd.col[c.Name]; c.Required && !ok {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		rd.Close()
		return nil, fmt.Errorf("training: %w", &HeaderError{Missing: missing})
	}
	return rd, nil
}

// Open opens a CSV or CSV.gz file for reading; Close closes it.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// eachLabelledRow opens a labelled file and calls fn with every good row,
// and progress (when set) every million rows. Bad rows are counted; unless
// skipBad, any of them fails the read at the end with the first ones named.
// A file without good rows is an error too.
func eachLabelledRow(path string, skipBad bool, progress func(rows int64), fn func(*Row)) (skipped int64, err error) {
	r, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if !r.HasLabels() {
		return 0, fmt.Errorf("training: %s has no isFraud column: it can be scored, not trained on or evaluated", path)
	}
	var good int64
	var bad []string
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			skipped++
			if len(bad) < 5 {
				bad = append(bad, re.Error())
			}
			continue
		}
		if err != nil {
			return skipped, err
		}
		good++
		fn(&row)
		if progress != nil && row.Number%1_000_000 == 0 {
			progress(row.Number)
		}
	}
	if skipped > 0 && !skipBad {
		return skipped, fmt.Errorf("training: %s has %d bad rows (first: %v); fix them or pass --skip-bad-rows", path, skipped, bad)
	}
	if good == 0 {
		return skipped, fmt.Errorf("training: %s has no usable rows", path)
	}
	return skipped, nil
}

// Close stops the gzip goroutine, if any, and closes the file Open opened.
func (r *Reader) Close() error {
	if r.pipe != nil {
		r.pipe.Close()
	}
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// HasLabels reports whether the file has an isFraud column.
func (r *Reader) HasLabels() bool {
	_, ok := r.col[colIsFraud]
	return ok
}

// Next returns the next row, a *RowError for a bad row (call Next again to go
// on), or io.EOF at the end.
func (r *Reader) Next() (Row, error) {
	rec, err := r.csv.Read()
	if err == io.EOF {
		return Row{}, io.EOF
	}
	r.rows++
	row := Row{Number: r.rows, Label: -1}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return row, &RowError{Row: r.rows, Reason: "malformed CSV: " + pe.Err.Error()}
		}
		return row, fmt.Errorf("training: row %d: %w", r.rows, err)
	}
	if len(rec) != r.width {
		return row, &RowError{Row: r.rows, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), r.width)}
	}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return row, &RowError{Row: r.rows, Field: fmt.Sprintf("column %d", i+1), Reason: "is not valid UTF-8"}
		}
	}
	get := func(name string) string { return strings.TrimSpace(rec[r.col[name]]) }
	num := func(name string) (float64, *RowError) {
		s := get(name)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, &RowError{Row: r.rows, Field: name, Reason: fmt.Sprintf("bad number %q", scoring.Truncate(s, 40)), Value: s}
		}
		return v, nil
	}
	t := &row.Tx
	step, perr := strconv.Atoi(get(colStep))
	if perr != nil {
		return row, &RowError{Row: r.rows, Field: colStep, Reason: fmt.Sprintf("bad integer %q", scoring.Truncate(get(colStep), 40)), Value: get(colStep)}
	}
	t.Step = step
	t.Type = get(colType)
	if !scoring.IsType(t.Type) {
		return row, &RowError{Row: r.rows, Field: colType, Reason: fmt.Sprintf("unknown type %q", scoring.Truncate(t.Type, 40)), Value: t.Type}
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{colAmount, &t.Amount}, {colOldBalanceOrg, &t.OldBalanceOrg}, {colNewBalanceOrig, &t.NewBalanceOrig},
		{colOldBalanceDest, &t.OldBalanceDest}, {colNewBalanceDest, &t.NewBalanceDest},
	} {
		v, rerr := num(f.name)
		if rerr != nil {
			return row, rerr
		}
		*f.dst = v
	}
	t.NameOrig = get(colNameOrig)
	t.NameDest = get(colNameDest)
	for _, g := range []struct {
		name string
		dst  *string
	}{{colOrigCountry, &t.OrigCountry}, {colDestCountry, &t.DestCountry}, {colOrigRegion, &t.OrigRegion}, {colDestRegion, &t.DestRegion}} {
		if _, ok := r.col[g.name]; ok {
			*g.dst = strings.ToUpper(get(g.name))
		}
	}
	if err := t.Validate(); err != nil {
		var ve *scoring.ValidationError
		if errors.As(err, &ve) {
			f := ve.Fields[0].Field
			return row, &RowError{Row: r.rows, Field: f, Reason: ve.Fields[0].Message, Value: cellOf(t, f)}
		}
		return row, err
	}
	if i, ok := r.col[colIsFraud]; ok {
		switch strings.TrimSpace(rec[i]) {
		case "0":
			row.Label = 0
		case "1":
			row.Label = 1
		default:
			return row, &RowError{Row: r.rows, Field: colIsFraud, Reason: fmt.Sprintf("must be 0 or 1, got %q", scoring.Truncate(rec[i], 40)), Value: rec[i]}
		}
	}
	if i, ok := r.col[colExternalID]; ok {
		id := strings.TrimSpace(rec[i])
		if msg := scoring.ExternalIDProblem(id); msg != "" {
			return row, &RowError{Row: r.rows, Field: colExternalID, Reason: msg, Value: id}
		}
		row.ExternalID = id
	}
	return row, nil
}

// cellOf is the text of a transaction's field named as Validate names it.
func cellOf(t *scoring.Transaction, field string) string {
	switch field {
	case "nameOrig":
		return t.NameOrig
	case "nameDest":
		return t.NameDest
	case "type":
		return t.Type
	}
	return ""
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
)

func TestSafeCell(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"leaves plain text alone", "mule network", "mule network"},
		{"leaves an empty cell alone", "", ""},
		{"leaves spaces alone", "   ", "   "},
		{"quotes an equals sign", "=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"quotes a plus sign", "+1", "'+1"},
		{"quotes a minus sign", "-2+3", "'-2+3"},
		{"quotes an at sign", "@SUM(A1)", "'@SUM(A1)"},
		{"quotes a leading tab", "\t=1", "'\t=1"},
		{"quotes a leading carriage return", "\r=1", "'\r=1"},
		{"quotes a formula after leading spaces", "   =1+1", "'   =1+1"},
		{"quotes a full-width equals sign", "＝1+1", "'＝1+1"},
		{"quotes a full-width plus sign", "＋1", "'＋1"},
		{"quotes a full-width minus sign", "－1", "'－1"},
		{"quotes a full-width at sign", "＠A1", "'＠A1"},
		{"leaves a formula character later in the text alone", "a=b", "a=b"},
		{"leaves a quote alone", "'quoted", "'quoted"},
		{"does not look past a leading letter", "x\t=1", "x\t=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeCell(tc.in); got != tc.want {
				t.Errorf("safeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := unsafeCell(safeCell(tc.in)); got != tc.in {
				t.Errorf("unsafeCell(safeCell(%q)) = %q, want it back", tc.in, got)
			}
		})
	}
}

// slot is what the tests' reader prepares for the writer.
type slot struct{ id, explanation string }

// storeLike reads n rows as the store does (one row and one explanation
// buffer, overwritten for each row) and fills a slot with each; the row
// numbered bad (when not -1) fails to fill.
func storeLike(n, bad int, read *int) func(emit func(func(*slot) error) error) error {
	return func(emit func(func(*slot) error) error) error {
		var r store.ExportRow
		buf := make([]byte, 0, 64)
		for i := range n {
			r.ID = strconv.Itoa(i)
			buf = append(buf[:0], fmt.Sprintf(`{"row":%d}`, i)...)
			r.Explanation = buf
			*read = i + 1
			err := emit(func(s *slot) error {
				if i == bad {
					return errors.New("unreadable explanation")
				}
				*s = slot{id: r.ID, explanation: string(r.Explanation)}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func TestPipeExportKeepsEveryRowInOrder(t *testing.T) {
	const n = exportBatchRows*exportBatches*3 + 17
	var read int
	var got []string
	err := pipeExport(context.Background(), storeLike(n, -1, &read), func(s *slot) error {
		got = append(got, s.id+" "+s.explanation)
		return nil
	})
	if err != nil || len(got) != n {
		t.Fatalf("pipeExport() = %v with %d rows, want nil with %d", err, len(got), n)
	}
	for i, g := range got {
		if want := fmt.Sprintf(`%d {"row":%d}`, i, i); g != want {
			t.Fatalf("row %d = %q, want %q (rows or explanations mixed up)", i, g, want)
		}
	}
}

func TestPipeExportStopsReadingWhenWritingFails(t *testing.T) {
	const n = 100_000
	broken := errors.New("client went away")
	var read, written int
	err := pipeExport(context.Background(), storeLike(n, -1, &read), func(*slot) error {
		if written == 300 {
			return broken
		}
		written++
		return nil
	})
	if !errors.Is(err, broken) {
		t.Fatalf("pipeExport() = %v, want the writer's error", err)
	}
	// The reader stops once every batch is taken: at most the batches in
	// flight past the failing row.
	if limit := 300 + (exportBatches+1)*exportBatchRows; read > limit {
		t.Fatalf("the reader read %d rows after the writer failed at 300, want at most %d", read, limit)
	}
}

func TestPipeExportReturnsTheReadersError(t *testing.T) {
	// Row 300 cannot be filled: the 300 rows before it are still written,
	// in order, and the error is the reader's.
	var read int
	var got []string
	err := pipeExport(context.Background(), storeLike(1000, 300, &read), func(s *slot) error {
		got = append(got, s.id)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "unreadable explanation") {
		t.Fatalf("pipeExport() = %v, want the reader's error", err)
	}
	if len(got) != 300 || got[0] != "0" || got[299] != "299" {
		t.Fatalf("written before the failing row: %d rows (%v…), want rows 0-299", len(got), got[:min(3, len(got))])
	}
}

package training

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// ScoreOptions configure Score.
type ScoreOptions struct {
	// Format is "csv" or "jsonl".
	Format string
	// Explain adds the base value and every feature's contribution.
	Explain bool
}

// ScoreStats counts what Score did.
type ScoreStats struct {
	Scored int64
	Bad    int64
}

// scoreLine is one jsonl output line.
type scoreLine struct {
	Row           int64              `json:"row"`
	RawMargin     *float64           `json:"raw_margin,omitempty"`
	Score         *float64           `json:"score,omitempty"`
	Band          scoring.Band       `json:"band,omitempty"`
	BaseValue     *float64           `json:"base_value,omitempty"`
	Contributions map[string]float64 `json:"contributions,omitempty"`
	Error         string             `json:"error,omitempty"`
}

// Score streams every row of r through m and writes one output row per input
// row, in order: raw margin, score and band, and with Explain the base value
// and each feature's contribution. A bad row gets an output row carrying its
// error (and a note on errw) and scoring goes on. Numbers are written in the
// shortest form that reads back to the same float64.
func Score(w io.Writer, errw io.Writer, r *Reader, m *scoring.Model, opt ScoreOptions) (ScoreStats, error) {
	var st ScoreStats
	bw := bufio.NewWriterSize(w, 1<<16)
	names := m.Features().Names()
	x := make([]float64, len(names))
	var out [1]float64
	var cw *csv.Writer
	var enc *json.Encoder
	switch opt.Format {
	case "csv", "":
		cw = csv.NewWriter(bw)
		header := []string{"row", "raw_margin", "score", "band"}
		if opt.Explain {
			header = append(header, "base_value")
			for _, n := range names {
				header = append(header, "contrib_"+n)
			}
		}
		header = append(header, "error")
		if err := cw.Write(header); err != nil {
			return st, fmt.Errorf("training: write: %w", err)
		}
	case "jsonl":
		enc = json.NewEncoder(bw)
	default:
		return st, fmt.Errorf("training: unknown format %q (want csv or jsonl)", opt.Format)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			st.Bad++
			fmt.Fprintln(errw, rowErr.Error())
		} else if err != nil {
			return st, err
		}
		line := scoreLine{Row: row.Number}
		if rowErr != nil {
			line.Error = rowErr.Error()
		} else {
			st.Scored++
			m.Features().Compute(&row.Tx, x)
			raw := m.Margin(x, out[:])
			score := m.Calibrate(raw)
			line.RawMargin, line.Score, line.Band = &raw, &score, m.Thresholds().BandOf(score)
			if opt.Explain {
				base := m.BaseValue()
				line.BaseValue = &base
				line.Contributions = map[string]float64{}
				for i, c := range m.Contributions(x) {
					line.Contributions[names[i]] = c
				}
			}
		}
		if enc != nil {
			err = enc.Encode(line)
		} else {
			rec := []string{strconv.FormatInt(line.Row, 10), "", "", ""}
			if line.RawMargin != nil {
				rec = []string{rec[0], num(*line.RawMargin), num(*line.Score), string(line.Band)}
			}
			if opt.Explain {
				if line.BaseValue != nil {
					rec = append(rec, num(*line.BaseValue))
				} else {
					rec = append(rec, "")
				}
				for _, n := range names {
					if line.Contributions != nil {
						rec = append(rec, num(line.Contributions[n]))
					} else {
						rec = append(rec, "")
					}
				}
			}
			err = cw.Write(append(rec, line.Error))
		}
		if err != nil {
			return st, fmt.Errorf("training: write: %w", err)
		}
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return st, fmt.Errorf("training: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("training: write: %w", err)
	}
	return st, nil
}

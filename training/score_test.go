package training_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/training"
)

const refDir = "../scoring/testdata/reference"

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// sentinel score --explain on the reference rows reproduces LightGBM's raw
// margins and SHAP contributions.
func TestScoreReproducesLightGBM(t *testing.T) {
	for _, name := range []string{"seed16", "nobal300"} {
		t.Run(name, func(t *testing.T) {
			m, err := scoring.LoadFile(filepath.Join(refDir, name, "model.txt"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := training.Open(filepath.Join(refDir, "rows.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var out bytes.Buffer
			st, err := training.Score(&out, io.Discard, r, m, training.ScoreOptions{Format: "csv", Explain: true})
			if err != nil || st.Scored != 1000 || st.Bad != 0 {
				t.Fatalf("Score() = %+v, %v; want 1000 scored", st, err)
			}
			got, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			raw := readCSV(t, filepath.Join(refDir, name, "raw.csv"))
			contrib := readCSV(t, filepath.Join(refDir, name, "contrib.csv"))
			// Output columns: row, raw_margin, score, band, base_value, contrib_<feature>..., error.
			for i := 1; i < len(got); i++ {
				wantRaw, _ := strconv.ParseFloat(raw[i][0], 64)
				scale := math.Max(1, math.Abs(wantRaw))
				check := func(col int, want string, what string) {
					g, _ := strconv.ParseFloat(got[i][col], 64)
					w, _ := strconv.ParseFloat(want, 64)
					if math.Abs(g-w)/scale > 1e-9 {
						t.Fatalf("row %d %s = %v, LightGBM %v", i, what, g, w)
					}
				}
				check(1, raw[i][0], "raw margin")
				nf := len(contrib[0]) - 1
				for j := 0; j < nf; j++ {
					if got[0][5+j] != "contrib_"+contrib[0][j] {
						t.Fatalf("column %q, want contrib_%s", got[0][5+j], contrib[0][j])
					}
					check(5+j, contrib[i][j], contrib[0][j])
				}
				check(4, contrib[i][nf], "base value")
			}
		})
	}
}

func TestScoreReportsBadRowsAndGoesOn(t *testing.T) {
	m, err := scoring.LoadFile(filepath.Join(refDir, "seed16", "model.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in := "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n" +
		"1,PAYMENT,abc,C1,0,0,M1,0,0\n" +
		"2,PAYMENT,10,C1,100,90,M1,0,0\n"
	r, err := training.NewReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	st, err := training.Score(&out, &errs, r, m, training.ScoreOptions{Format: "jsonl"})
	if err != nil || st.Scored != 1 || st.Bad != 1 {
		t.Fatalf("Score() = %+v, %v; want 1 scored, 1 bad", st, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["row"] != 1.0 || !strings.Contains(first["error"].(string), "amount: bad number") {
		t.Errorf("line 1 = %s, want row 1 with the amount error", lines[0])
	}
	if second["row"] != 2.0 || second["band"] != "low" || second["error"] != nil {
		t.Errorf("line 2 = %s, want row 2 scored", lines[1])
	}
	if !strings.Contains(errs.String(), "row 1: amount") {
		t.Errorf("stderr = %q, want the row error", errs.String())
	}
}

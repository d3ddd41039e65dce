package scoring_test

import (
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/training"
)

// testdata/reference is a copy of shared/data/lightgbm-reference: models
// trained by LightGBM 4.6 with its own raw margins and SHAP values for 1,000
// PaySim rows.
const refDir = "testdata/reference"

func readRefRows(t testing.TB) []scoring.Transaction {
	t.Helper()
	r, err := training.Open(filepath.Join(refDir, "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []scoring.Transaction
	for {
		row, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row.Tx)
	}
}

func readFloatCSV(t testing.TB, path string, header bool) [][]float64 {
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
	if header {
		recs = recs[1:]
	}
	out := make([][]float64, len(recs))
	for i, rec := range recs {
		for _, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s row %d: %v", path, i, err)
			}
			out[i] = append(out[i], v)
		}
	}
	return out
}

func loadRef(t testing.TB, name string) *scoring.Model {
	t.Helper()
	m, err := scoring.LoadFile(filepath.Join(refDir, name, "model.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatchesLightGBMOnReferenceData(t *testing.T) {
	rows := readRefRows(t)
	if len(rows) != 1000 {
		t.Fatalf("read %d reference rows, want 1000", len(rows))
	}
	for _, name := range []string{"seed16", "nobal300"} {
		t.Run(name, func(t *testing.T) {
			m := loadRef(t, name)
			b, _ := os.ReadFile(filepath.Join(refDir, name, "features.txt"))
			if want := strings.Fields(string(b)); !slices.Equal(m.Features().Names(), want) {
				t.Fatalf("features = %v, want %v", m.Features().Names(), want)
			}
			raw := readFloatCSV(t, filepath.Join(refDir, name, "raw.csv"), true)
			contrib := readFloatCSV(t, filepath.Join(refDir, name, "contrib.csv"), true)
			n := m.Features().Len()
			worstRaw, worstShap := 0.0, 0.0
			for i := range rows {
				res := m.Predict(&rows[i])
				want := raw[i][0]
				if d := math.Abs(res.RawMargin-want) / math.Max(1, math.Abs(want)); d > worstRaw {
					worstRaw = d
				}
				x := make([]float64, n)
				m.Features().Compute(&rows[i], x)
				phi := m.Contributions(x)
				scale := math.Max(1, math.Abs(want))
				for j := 0; j < n; j++ {
					if d := math.Abs(phi[j]-contrib[i][j]) / scale; d > worstShap {
						worstShap = d
					}
				}
				if d := math.Abs(m.BaseValue()-contrib[i][n]) / scale; d > worstShap {
					worstShap = d
				}
			}
			t.Logf("%s: worst relative difference: raw margin %.3g, SHAP %.3g", name, worstRaw, worstShap)
			if worstRaw > 1e-9 {
				t.Errorf("raw margins differ from LightGBM by up to %.3g (relative), want ≤ 1e-9", worstRaw)
			}
			if worstShap > 1e-9 {
				t.Errorf("SHAP values differ from LightGBM by up to %.3g (relative), want ≤ 1e-9", worstShap)
			}
		})
	}
}

package training

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// Dataset is a labelled file in memory: features column-major as float32,
// labels, steps (for temporal splits) and the file's fingerprint.
type Dataset struct {
	Features *scoring.FeatureSet
	// X[f][i] is feature f of row i.
	X       [][]float32
	Labels  []uint8
	Steps   []int32
	Skipped int64
	// Overdrafts counts the rows with a negative balance, sender's or
	// receiver's, before or after: accounts inside their overdraft limit.
	Overdrafts int64
	Print      scoring.Fingerprint
}

// Rows is the number of rows.
func (d *Dataset) Rows() int { return len(d.Labels) }

// LoadOptions configure LoadDataset.
type LoadOptions struct {
	// SkipBadRows drops bad rows (and counts them) instead of failing.
	SkipBadRows bool
	// Progress, when set, is called every million rows.
	Progress func(rows int64)
}

// LoadDataset reads a labelled PaySim-format file and computes the features
// through the scoring registry. Any bad row fails the load unless
// SkipBadRows; the error names the first bad rows.
func LoadDataset(path string, fs *scoring.FeatureSet, opt LoadOptions) (*Dataset, error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Features: fs, X: make([][]float32, fs.Len())}
	x := make([]float64, fs.Len())
	d.Skipped, err = eachLabelledRow(path, opt.SkipBadRows, opt.Progress, func(row *Row) {
		fs.Compute(&row.Tx, x)
		for f, v := range x {
			d.X[f] = append(d.X[f], float32(v))
		}
		d.Labels = append(d.Labels, uint8(row.Label))
		d.Steps = append(d.Steps, int32(row.Tx.Step))
		if tx := &row.Tx; min(tx.OldBalanceOrg, tx.NewBalanceOrig, tx.OldBalanceDest, tx.NewBalanceDest) < 0 {
			d.Overdrafts++
		}
	})
	if err != nil {
		return nil, err
	}
	d.Print = scoring.Fingerprint{File: filepath.Base(path), SHA256: sum, Rows: int64(d.Rows())}
	for _, y := range d.Labels {
		d.Print.Frauds += int64(y)
	}
	return d, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("training: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("training: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

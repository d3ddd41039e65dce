package training_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/training"
)

const kaggle = "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud\n"

func readAll(t *testing.T, r *training.Reader) ([]training.Row, []error) {
	t.Helper()
	var rows []training.Row
	var errs []error
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, row)
	}
}

func TestReaderHeadersAndGzip(t *testing.T) {
	snake := "step,type,amount,name_orig,old_balance_org,new_balance_orig,name_dest,old_balance_dest,new_balance_dest\n" +
		"5,TRANSFER,100.5,C1,100.5,0,C2,0,0\n"
	r, err := training.NewReader(strings.NewReader(snake))
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := readAll(t, r)
	if len(errs) != 0 || len(rows) != 1 || rows[0].Tx.Amount != 100.5 || rows[0].Tx.NameDest != "C2" || rows[0].Label != -1 || r.HasLabels() {
		t.Fatalf("snake_case file: rows %+v errs %v labels %v", rows, errs, r.HasLabels())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(kaggle + "1,CASH_OUT,10,C1,10,0,M1,0,10,1,0\n"))
	zw.Close()
	r, err = training.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs = readAll(t, r)
	if len(errs) != 0 || len(rows) != 1 || rows[0].Label != 1 || !r.HasLabels() {
		t.Fatalf("gzip file: rows %+v errs %v", rows, errs)
	}
}

func TestReaderErrors(t *testing.T) {
	if _, err := training.NewReader(strings.NewReader("")); !errors.Is(err, training.ErrEmpty) {
		t.Errorf("empty file: %v, want ErrEmpty", err)
	}
	if _, err := training.NewReader(strings.NewReader("step,type,amount\n")); err == nil || !strings.Contains(err.Error(), "missing column nameOrig") {
		t.Errorf("missing columns: %v", err)
	}
	for _, tc := range []struct {
		name, row, field, reason string
	}{
		{"bad number", "1,PAYMENT,1e,C1,0,0,M1,0,0,0,0", "amount", "bad number"},
		{"bad step", "x,PAYMENT,1,C1,0,0,M1,0,0,0,0", "step", "bad integer"},
		{"unknown type", "1,WIRE,1,C1,0,0,M1,0,0,0,0", "type", "unknown type"},
		{"NaN", "1,PAYMENT,NaN,C1,0,0,M1,0,0,0,0", "amount", "finite"},
		{"negative", "1,PAYMENT,-3,C1,0,0,M1,0,0,0,0", "amount", "0 or more"},
		{"bad label", "1,PAYMENT,1,C1,0,0,M1,0,0,2,0", "isFraud", "0 or 1"},
		{"short row", "1,PAYMENT,1", "", "has 3 fields"},
		{"not UTF-8", "1,PAYMENT,1,C\xff1,0,0,M1,0,0,0,0", "column 4", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := training.NewReader(strings.NewReader(kaggle + "1,PAYMENT,1,C1,0,0,M1,0,0,0,0\n" + tc.row + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			rows, errs := readAll(t, r)
			var re *training.RowError
			if len(rows) != 1 || len(errs) != 1 || !errors.As(errs[0], &re) {
				t.Fatalf("rows %d errs %v, want 1 good row and 1 RowError", len(rows), errs)
			}
			if re.Row != 2 || re.Field != tc.field || !strings.Contains(re.Reason, tc.reason) {
				t.Fatalf("error = %+v, want row 2, field %q, reason with %q", re, tc.field, tc.reason)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(kaggle + "1,PAYMENT,1,C1,0,0,M1,0,0,0,0\n"))
	f.Add([]byte("step,type\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := training.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			if err == nil {
				if verr := row.Tx.Validate(); verr != nil {
					t.Fatalf("row %d passed the reader but not validation: %v", row.Number, verr)
				}
			}
		}
	})
}

func TestLoadDatasetRefusesBadRowsUnlessSkipped(t *testing.T) {
	path := t.TempDir() + "/d.csv"
	body := kaggle + "1,PAYMENT,1,C1,5,4,M1,0,0,0,0\n2,TRANSFER,-9,C1,9,0,C2,0,9,1,0\n3,TRANSFER,9,C1,9,0,C2,0,9,1,0\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, _ := scoring.NewFeatureSet(scoring.ReferenceFeatures)
	_, err := training.LoadDataset(path, fs, training.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "1 bad rows") || !strings.Contains(err.Error(), "--skip-bad-rows") {
		t.Fatalf("LoadDataset(bad row) error = %v, want a refusal naming --skip-bad-rows", err)
	}
	d, err := training.LoadDataset(path, fs, training.LoadOptions{SkipBadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 2 || d.Skipped != 1 || d.Print.Frauds != 1 || len(d.Print.SHA256) != 64 || len(d.X) != 16 || d.X[0][1] != 9 {
		t.Fatalf("dataset = %d rows, %d skipped, %+v", d.Rows(), d.Skipped, d.Print)
	}
}

func TestLoadDatasetKeepsOverdrafts(t *testing.T) {
	path := t.TempDir() + "/d.csv"
	// Rows of the PaySim file: into the overdraft, from an overdrawn
	// account, an overdrawn receiver, and one with no negative balance.
	body := kaggle + "1,PAYMENT,3493.73,C9313903670,43.66,-3450.07,M1893780002,0.00,3493.73,0,0\n" +
		"2,TRANSFER,500,C1,-1200,-1700,C2,0,500,0,0\n" +
		"3,CASH_IN,20,C3,5,25,M1,-40,-60,0,0\n" +
		"4,TRANSFER,9,C1,9,0,C2,0,9,1,0\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := scoring.NewFeatureSet([]string{"oldbalanceOrg", "amount_to_balance_ratio", "balance_drained"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := training.LoadDataset(path, fs, training.LoadOptions{})
	if err != nil {
		t.Fatalf("LoadDataset(overdrafts) = %v, want every row read", err)
	}
	if d.Rows() != 4 || d.Skipped != 0 || d.Overdrafts != 3 {
		t.Fatalf("dataset = %d rows, %d skipped, %d overdrafts, want 4, 0, 3", d.Rows(), d.Skipped, d.Overdrafts)
	}
	if got := [3]float32{d.X[0][1], d.X[1][1], d.X[2][1]}; got != [3]float32{-1200, 500, 1} {
		t.Fatalf("row 2 features = %v, want balance -1200, ratio 500, drained 1", got)
	}
}

func TestReaderReadsCountriesAndRegions(t *testing.T) {
	csv := "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,sender_country,orig_region,dest_country\n" +
		"1,PAYMENT,10,C1,100,90,M1,0,0,us,US-NY,GB\n" +
		"1,PAYMENT,10,C1,100,90,M1,0,0,XX,,GB\n"
	r, err := training.NewReader(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	row, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if tx := row.Tx; tx.OrigCountry != "US" || tx.OrigRegion != "US-NY" || tx.DestCountry != "GB" || tx.DestRegion != "" {
		t.Errorf("row 1 places = %q %q %q %q, want US US-NY GB and none", tx.OrigCountry, tx.OrigRegion, tx.DestCountry, tx.DestRegion)
	}
	_, err = r.Next()
	var re *training.RowError
	if !errors.As(err, &re) || re.Field != "orig_country" {
		t.Errorf("row 2 = %v, want a bad orig_country", err)
	}
}

package seed_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/training"
)

func simulate(t testing.TB, cfg seed.SimConfig) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := seed.Simulate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSimulatorWritesValidDeterministicPaySim(t *testing.T) {
	cfg := seed.DefaultSimConfig()
	cfg.Rows = 50_000
	cfg.FraudRate = 0.01
	cfg.Seed = 9
	a := simulate(t, cfg)
	if b := simulate(t, cfg); !bytes.Equal(a, b) {
		t.Fatal("the same seed wrote different files")
	}
	cfg.Seed = 10
	if c := simulate(t, cfg); bytes.Equal(a, c) {
		t.Fatal("another seed wrote the same file")
	}
	r, err := training.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []training.Row
	types := map[string]int{}
	lastStep := 0
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the reader refuses a simulated row: %v", err)
		}
		if row.Tx.Step < lastStep {
			t.Fatalf("row %d goes back in time: step %d after %d", row.Number, row.Tx.Step, lastStep)
		}
		lastStep = row.Tx.Step
		types[row.Tx.Type]++
		rows = append(rows, row)
	}
	if len(rows) != cfg.Rows {
		t.Fatalf("rows = %d, want %d", len(rows), cfg.Rows)
	}
	frauds := 0
	for i, row := range rows {
		if row.Label != 1 || row.Tx.Type != "TRANSFER" {
			continue
		}
		// A takeover: the whole balance to a mule, then the mule's cash-out of it in the same step.
		next := rows[i+1]
		if row.Tx.Amount != row.Tx.OldBalanceOrg || row.Tx.NewBalanceOrig != 0 || !strings.HasPrefix(row.Tx.NameDest, "CC") ||
			next.Label != 1 || next.Tx.Type != "CASH_OUT" || next.Tx.NameOrig != row.Tx.NameDest ||
			next.Tx.Amount != row.Tx.Amount || next.Tx.Step != row.Tx.Step {
			t.Fatalf("fraud pair at row %d is not a takeover: %+v then %+v", row.Number, row.Tx, next.Tx)
		}
		frauds += 2
	}
	if frauds != 500 {
		t.Errorf("fraud rows = %d, want 500 (1%% of 50,000)", frauds)
	}
	for _, typ := range []string{"CASH_IN", "CASH_OUT", "PAYMENT", "TRANSFER", "DEBIT"} {
		if types[typ] == 0 {
			t.Errorf("no %s rows", typ)
		}
	}
	if types["CASH_IN"] < types["PAYMENT"] || types["DEBIT"] > types["TRANSFER"] {
		t.Errorf("type mix %v does not look like PaySim's", types)
	}
}

// BenchmarkSimulate reports the simulator's speed in rows/s.
func BenchmarkSimulate(b *testing.B) {
	cfg := seed.DefaultSimConfig()
	cfg.Rows = 200_000
	for i := 0; i < b.N; i++ {
		if err := seed.Simulate(io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestSimulatedPlacesAndFraudCorridors(t *testing.T) {
	cfg := seed.DefaultSimConfig()
	cfg.Rows, cfg.FraudRate = 20_000, 0.02
	txs, labels, err := seed.SimulateTransactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	senders := map[string]int{}
	fraudFrom := map[string]int{}
	frauds := 0
	for i, tx := range txs {
		if err := tx.Validate(); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if tx.OrigCountry == "" || tx.DestCountry == "" {
			t.Fatalf("row %d has no country: %+v", i, tx)
		}
		if (tx.OrigCountry == "US") != (tx.OrigRegion != "") {
			t.Fatalf("row %d: country %s region %q: a US account has a state, others none", i, tx.OrigCountry, tx.OrigRegion)
		}
		if c, r := seed.Home(tx.NameOrig); c != tx.OrigCountry || r != tx.OrigRegion {
			t.Fatalf("row %d: %s is placed in %s/%s, its home is %s/%s", i, tx.NameOrig, tx.OrigCountry, tx.OrigRegion, c, r)
		}
		senders[tx.OrigCountry]++
		if labels[i] && tx.Type == "CASH_OUT" {
			fraudFrom[tx.OrigCountry]++
			frauds++
		}
	}
	if share := float64(senders["US"]) / float64(len(txs)); share < 0.3 || share > 0.5 {
		t.Errorf("US sends %.2f of the rows, want the skew's 0.4", share)
	}
	// Mules cash out from a few corridor countries only.
	corridors := 0
	for _, c := range []string{"NG", "RO", "HK", "US", "PH"} {
		corridors += fraudFrom[c]
	}
	if frauds == 0 || corridors != frauds || len(fraudFrom) > 5 {
		t.Errorf("fraud cash-outs come from %v (%d of %d in the corridors)", fraudFrom, corridors, frauds)
	}
}

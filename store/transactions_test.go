package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// scoredRows makes n transactions with predictions of model mv.
func scoredRows(mv *store.ModelVersion, prefix string, n int) ([]store.Transaction, []store.Prediction) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	fraud := true
	var txs []store.Transaction
	var ps []store.Prediction
	for i := range n {
		tx := store.Transaction{ID: store.NewID(), ExternalID: fmt.Sprintf("%s-%d", prefix, i), Step: i, Type: "TRANSFER",
			Amount: 100.25 + float64(i), NameOrig: fmt.Sprintf("C%d", i), OldBalanceOrg: 500, NewBalanceOrig: 399.75,
			NameDest: "M1", ReceivedAt: now}
		if i%2 == 0 {
			tx.IsFraud = &fraud
		}
		txs = append(txs, tx)
		ps = append(ps, store.Prediction{ID: store.NewID(), ModelVersionID: mv.ID, Score: 0.5 + float64(i)/100,
			RawMargin: -1.5, Band: "high", Threshold: 0.4, Explanation: []byte(fmt.Sprintf(`{"n": %d, "s": "é"}`, i)),
			LatencyUS: 17, CreatedAt: now})
	}
	return txs, ps
}

func TestSaveScoredBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, _, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		txs, ps := scoredRows(mv, "ext", 3)
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatalf("SaveScoredBatch() = %v", err)
		}

		got, err := store.ScoredByExternalIDs(ctx, a, []string{"ext-0", "ext-2", "missing"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["ext-0"] == nil || got["ext-2"] == nil {
			t.Fatalf("ScoredByExternalIDs() = %v, want ext-0 and ext-2", got)
		}
		s := got["ext-2"]
		if s.Transaction.ID != txs[2].ID || s.Transaction.TenantID != a.ID() || s.Transaction.Amount != 102.25 ||
			s.Transaction.IsFraud == nil || !*s.Transaction.IsFraud || !s.Transaction.ReceivedAt.Equal(txs[2].ReceivedAt) {
			t.Fatalf("stored transaction = %+v, want %+v", s.Transaction, txs[2])
		}
		if got["ext-0"].Transaction.IsFraud == nil || got["ext-0"].Transaction.Step != 0 {
			t.Fatalf("ext-0 = %+v", got["ext-0"].Transaction)
		}
		p := s.Prediction
		if p.ID != ps[2].ID || p.TransactionID != txs[2].ID || p.ModelVersionID != mv.ID || p.Score != 0.52 ||
			p.Band != "high" || p.LatencyUS != 17 || p.TenantID != a.ID() {
			t.Fatalf("stored prediction = %+v, want %+v", p, ps[2])
		}
		var ex struct {
			N int    `json:"n"`
			S string `json:"s"`
		}
		if err := json.Unmarshal(p.Explanation, &ex); err != nil || ex.N != 2 || ex.S != "é" {
			t.Fatalf("explanation = %s (%v), want n 2", p.Explanation, err)
		}
		one, _ := store.GetScored(ctx, a, txs[1].ID)
		if one == nil || one.Transaction.IsFraud != nil {
			t.Fatalf("GetScored(ext-1) = %+v, want no is_fraud", one)
		}

		t.Run("another tenant sees none of them", func(t *testing.T) {
			got, err := store.ScoredByExternalIDs(ctx, b, []string{"ext-0", "ext-1", "ext-2"})
			if err != nil || len(got) != 0 {
				t.Fatalf("ScoredByExternalIDs(b) = %v, %v; want none", got, err)
			}
			// The same external ids are free in another tenant.
			mb := productionModel(t, b)
			txs, ps := scoredRows(mb, "ext", 3)
			if err := store.SaveScoredBatch(ctx, b, txs, ps); err != nil {
				t.Fatalf("SaveScoredBatch(b, same external ids) = %v", err)
			}
		})
		t.Run("a taken external id writes nothing of the batch", func(t *testing.T) {
			txs, ps := scoredRows(mv, "new", 4)
			txs[3].ExternalID = "ext-1"
			err := store.SaveScoredBatch(ctx, a, txs, ps)
			if !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("SaveScoredBatch(taken id) = %v, want ErrDuplicate", err)
			}
			if n, _ := store.CountTransactions(ctx, a); n != 3 {
				t.Fatalf("transactions after the failed batch = %d, want 3", n)
			}
			if got, _ := store.ScoredByExternalIDs(ctx, a, []string{"new-0"}); len(got) != 0 {
				t.Fatalf("new-0 was stored: %v", got)
			}
		})
	})
}

// Every column a batch stores reads back as given, set or NULL: on
// PostgreSQL the batch is written in COPY's binary format by hand, field by
// field and 64 KiB at a time (store/copy.go); 300 rows of 1 KB take several.
func TestSaveScoredBatchKeepsEveryField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, _, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		txs, ps := scoredRows(mv, "full", 300)
		for i := range ps {
			ps[i].Explanation = fmt.Appendf(nil, `{"row":%d,"pad":"%s"}`, i, strings.Repeat("x", 1000))
		}
		no, key, user, upload, shadowBand := false, "key-1", "user-ü", "up-1", "critical"
		priority, shadowScore, shadowLatency := 0.125, 0.875, int64(-3)
		full, fp := &txs[0], &ps[0]
		full.Step, full.Type, full.Amount, full.OldBalanceOrg, full.NewBalanceOrig = -2147483648, "CASH_OUT", -0.5, -1e300, 5e-324
		full.NameOrig, full.NameDest, full.OldBalanceDest, full.NewBalanceDest = "C-ü✓", "M\"x", 1.5, -2.25
		full.IsFraud, full.Label, full.Source, full.SubmittedByKey, full.SubmittedByUser = &no, "fraud", store.SourceUpload, &key, &user
		full.ReviewPriority, full.UploadID = &priority, &upload
		full.OrigCountry, full.DestCountry, full.OrigRegion, full.DestRegion = "DE", "FR", "DE-BE", "FR-75"
		full.ReceivedAt = time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC) // before PostgreSQL's epoch
		fp.Explanation, fp.LatencyUS, fp.CreatedAt = []byte(`{"a":"\u00e9 é"}`), 1<<40, time.Date(2038, 1, 19, 3, 14, 8, 1000, time.UTC)
		fp.ShadowModelVersionID, fp.ShadowScore, fp.ShadowBand, fp.ShadowLatencyUS = &mv.ID, &shadowScore, &shadowBand, &shadowLatency
		// Row 1 stores NULL where row 0 does not: no explanation, and no
		// review priority (low band, under the threshold).
		ps[1].Explanation, ps[1].Band, ps[1].Score = nil, "low", 0.1
		var want []store.Scored
		for i := range txs {
			want = append(want, store.Scored{Transaction: txs[i], Prediction: ps[i]})
		}
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatalf("SaveScoredBatch() = %v", err)
		}
		if txs[1].ReviewPriority != nil {
			t.Fatalf("row 1's review priority = %v, want none", *txs[1].ReviewPriority)
		}
		for i, w := range want {
			w.Transaction.TenantID, w.Prediction.TenantID, w.Prediction.TransactionID = a.ID(), a.ID(), w.Transaction.ID
			w.Transaction.Score = w.Prediction.Score
			if i > 0 {
				w.Transaction.Source = store.SourceAPI               // the column's default
				w.Transaction.ReviewPriority = txs[i].ReviewPriority // from its band
			}
			got, err := store.GetScored(ctx, a, w.Transaction.ID)
			if err != nil {
				t.Fatal(err)
			}
			got.Transaction.ReceivedAt, got.Prediction.CreatedAt = got.Transaction.ReceivedAt.UTC(), got.Prediction.CreatedAt.UTC()
			if !reflect.DeepEqual(got.Transaction, w.Transaction) {
				t.Errorf("row %d: transaction\n got %+v\nwant %+v", i, got.Transaction, w.Transaction)
			}
			if !reflect.DeepEqual(got.Prediction, w.Prediction) {
				t.Errorf("row %d: prediction\n got %+v\nwant %+v", i, got.Prediction, w.Prediction)
			}
		}
	})
}

// On PostgreSQL a step that does not fit the INTEGER column fails the
// batch (the COPY's writer checks it) and nothing of it is stored. SQLite's
// integers hold it; the scorer refuses such steps long before either.
func TestSaveScoredBatchRefusesAStepOutOfRange(t *testing.T) {
	db := storetest.Postgres(t) // skips without PostgreSQL
	ctx := context.Background()
	a, _, _, _ := twoTenants(t, db)
	mv := productionModel(t, a)
	txs, ps := scoredRows(mv, "range", 300)
	for i := range ps {
		ps[i].Explanation = fmt.Appendf(nil, `{"pad":"%s"}`, strings.Repeat("x", 1000))
	}
	step := int64(1) << 31
	txs[299].Step = int(step) // the last row: the COPY has sent several pieces before it
	if err := store.SaveScoredBatch(ctx, a, txs, ps); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("SaveScoredBatch() = %v, want the step refused", err)
	}
	if n, err := store.CountTransactions(ctx, a); err != nil || n != 0 {
		t.Fatalf("CountTransactions() = %d, %v; want nothing stored", n, err)
	}
}

// On PostgreSQL the prediction -> transaction key includes the tenant
// (migration 0005): a prediction cannot point at another tenant's
// transaction even through SQL that bypasses the store.
func TestPredictionKeyHoldsTheTenant(t *testing.T) {
	db, u := storetest.PostgresUnmigrated(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	a, b, _, _ := twoTenants(t, db)
	mv := productionModel(t, a)
	txs, ps := scoredRows(mv, "k", 1)
	if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	insert := `INSERT INTO predictions (id, tenant_id, transaction_id, model_version_id, score, raw_margin, band, threshold, latency_us, created_at)
		VALUES ($1, $2, $3, $4, 0.1, 0, 'low', 0.5, 1, now())`
	if _, err := conn.ExecContext(ctx, `DELETE FROM predictions WHERE transaction_id = $1`, txs[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, insert, store.NewID(), b.ID(), txs[0].ID, mv.ID)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23503" {
		t.Fatalf("prediction of tenant b for a's transaction: error %v, want a foreign-key violation", err)
	}
	if _, err := conn.ExecContext(ctx, insert, store.NewID(), a.ID(), txs[0].ID, mv.ID); err != nil {
		t.Fatalf("prediction of the transaction's own tenant: %v", err)
	}
}

// On PostgreSQL every table of a new database has statistics once migrated
// (analyzeNewTables): without them, the key check of each stored
// prediction could be planned on the amount index and read every
// transaction of the tenant per row.
func TestMigrateLeavesNoTableWithoutStatistics(t *testing.T) {
	db, u := storetest.PostgresUnmigrated(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT relname, reltuples FROM pg_class
		WHERE relkind = 'r' AND relnamespace = CAST(current_schema() AS regnamespace)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var name string
		var tuples float64
		if err := rows.Scan(&name, &tuples); err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		if tuples < 0 {
			t.Errorf("table %s was never analyzed (reltuples %v)", name, tuples)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !seen["transactions"] || !seen["predictions"] {
		t.Fatalf("tables of the schema = %v, want transactions and predictions among them", seen)
	}
}

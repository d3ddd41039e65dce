package live_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
	"github.com/sentinel-fraud/sentinel/training"
)

var admin = store.Actor{Email: "admin@example.test"}

// demoTenant is the first demo tenant of a freshly seeded database, with
// a month of simulated traffic scored by scorer (a third of the demo's
// 3,000 rows, which under -race on SQLite took a minute and a half a test).
func demoTenant(t *testing.T, db *store.DB, scorer *live.Scorer) store.Tenant {
	t.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Bulk(ctx, db, scorer, seed.BulkConfig{Tenant: seed.Tenants()[0].Slug, Transactions: 1000, Days: 30,
		FraudRate: 0.02, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	row, err := store.AdminTenantBySlug(ctx, db, seed.Tenants()[0].Slug)
	if err != nil {
		t.Fatal(err)
	}
	return store.ForTenant(db, row.ID)
}

func seed16(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/reference/seed16/model.txt")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importModel(t *testing.T, r *live.Registry, tn store.Tenant, name string, data []byte) *store.ModelVersion {
	t.Helper()
	mv, err := r.Import(context.Background(), tn, admin, live.ImportInput{Name: name, FileName: name + ".txt", Data: data})
	if err != nil {
		t.Fatalf("Import(%s) = %v", name, err)
	}
	return mv
}

func transfer(i int) scoring.Transaction {
	return scoring.Transaction{Step: 10 + i%50, Type: "TRANSFER", Amount: 1000 + float64(i), NameOrig: fmt.Sprintf("C%d", i),
		OldBalanceOrg: 1000 + float64(i), NewBalanceOrig: 0, NameDest: fmt.Sprintf("C9%d", i)}
}

func TestImportStoresCheckedModelsInStaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scorer := live.NewScorer(db)
		tn := demoTenant(t, db, scorer)
		r := live.NewRegistry(scorer)
		for _, tc := range []struct {
			name, wantName string
			in             live.ImportInput
		}{
			{"a bundle keeps its own name", "paysim-gbdt", live.ImportInput{FileName: "b.json", Data: models.Default}},
			{"a LightGBM v4 text file is named after the file", "model", live.ImportInput{FileName: "model.txt", Data: seed16(t)}},
			{"a name given wins", "challenger", live.ImportInput{Name: "challenger", FileName: "model.txt", Data: seed16(t)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				mv, err := r.Import(ctx, tn, admin, tc.in)
				if err != nil {
					t.Fatal(err)
				}
				if mv.Name != tc.wantName || mv.Stage != store.StageStaging || len(mv.SHA256) != 64 || mv.SizeBytes != int64(len(tc.in.Data)) {
					t.Fatalf("Import() = %s v%d %s sha %q size %d", mv.Name, mv.Version, mv.Stage, mv.SHA256, mv.SizeBytes)
				}
				full, err := store.GetModelVersion(ctx, tn, mv.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := scoring.Load(full.Bundle); err != nil {
					t.Fatalf("the stored bundle does not load: %v", err)
				}
			})
		}
		t.Run("a refused file stores nothing", func(t *testing.T) {
			before, _ := store.ListModelVersions(ctx, tn)
			_, err := r.Import(ctx, tn, admin, live.ImportInput{FileName: "x.txt", Data: []byte("tree\nversion=v9\n")})
			var refused *live.RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Import(bad) error = %v, want a RefusedError", err)
			}
			if after, _ := store.ListModelVersions(ctx, tn); len(after) != len(before) {
				t.Fatalf("versions after a refused import = %d, want %d", len(after), len(before))
			}
		})
	})
}

func TestThresholdsApplyToTheNextScoredTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scorer := live.NewScorer(db)
		tn := demoTenant(t, db, scorer)
		other := live.NewScorer(db) // a second replica
		r := live.NewRegistry(scorer)
		prod, err := store.ProductionModel(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		tx := transfer(1)
		first, _, _, err := scorer.Score(ctx, tn, live.Input{ExternalID: "th-1", Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := other.Score(ctx, tn, live.Input{ExternalID: "th-2", Tx: tx}); err != nil {
			t.Fatal(err)
		}
		// Thresholds that put this score in another band (high, or else
		// medium) and outside review.
		s := first.Prediction.Score
		th := scoring.Thresholds{Review: 0.99, Medium: s / 3, High: s / 2, Critical: (1 + s) / 2}
		if first.Prediction.Band == string(scoring.BandHigh) {
			th = scoring.Thresholds{Review: 0.99, Medium: s / 2, High: (1 + s) / 2, Critical: (3 + s) / 4}
		}
		if _, err := r.SetThresholds(ctx, tn, admin, prod.ID, th); err != nil {
			t.Fatal(err)
		}
		want := string(th.BandOf(s))
		if want == first.Prediction.Band {
			t.Fatalf("test thresholds %+v do not move band %s", th, want)
		}
		t.Run("this replica uses them for the next transaction", func(t *testing.T) {
			next, _, _, err := scorer.Score(ctx, tn, live.Input{ExternalID: "th-3", Tx: tx})
			if err != nil {
				t.Fatal(err)
			}
			if next.Prediction.Band != want || next.Prediction.Threshold != 0.99 || next.Prediction.Score != s {
				t.Fatalf("next prediction = band %s threshold %v score %v; want %s, 0.99, %v", next.Prediction.Band, next.Prediction.Threshold, next.Prediction.Score, want, s)
			}
		})
		t.Run("another replica uses them after its next check", func(t *testing.T) {
			if _, err := other.Reload(ctx, tn); err != nil { // what Watch does every 15 s
				t.Fatal(err)
			}
			next, _, _, err := other.Score(ctx, tn, live.Input{ExternalID: "th-4", Tx: tx})
			if err != nil || next.Prediction.Band != want {
				t.Fatalf("other replica's next prediction = %+v, %v; want band %s", next, err, want)
			}
			loads, err := store.ListModelLoads(ctx, tn, prod.ID)
			if err != nil || len(loads) != 2 || loads[0].Revision != 2 || loads[1].Revision != 2 {
				t.Fatalf("loads = %+v, %v; want both replicas at revision 2", loads, err)
			}
		})
		t.Run("invalid thresholds are refused and change nothing", func(t *testing.T) {
			for _, bad := range []scoring.Thresholds{
				{Review: 0.5, Medium: 0.6, High: 0.6, Critical: 0.9},
				{Review: 0, Medium: 0.1, High: 0.2, Critical: 0.3},
				{Review: 0.5, Medium: 0.1, High: 0.2, Critical: 1},
			} {
				var refused *live.RefusedError
				if _, err := r.SetThresholds(ctx, tn, admin, prod.ID, bad); !errors.As(err, &refused) {
					t.Errorf("SetThresholds(%+v) error = %v, want refused", bad, err)
				}
			}
			mv, _ := store.GetModelVersionInfo(ctx, tn, prod.ID)
			if mv.Revision != 2 {
				t.Fatalf("revision after refused changes = %d, want 2", mv.Revision)
			}
		})
	})
}

func TestShadowScoresAreStoredBesideProduction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scorer := live.NewScorer(db)
		tn := demoTenant(t, db, scorer)
		r := live.NewRegistry(scorer)
		shadow := importModel(t, r, tn, "challenger", seed16(t))
		if _, err := r.SetStage(ctx, tn, admin, shadow.ID, store.StageShadow); err != nil {
			t.Fatal(err)
		}
		// Thresholds under which the shadow flags everything: its bands must
		// still never reach the stored band.
		if _, err := r.SetThresholds(ctx, tn, admin, shadow.ID, scoring.Thresholds{Review: 1e-9, Medium: 1e-9, High: 2e-9, Critical: 3e-9}); err != nil {
			t.Fatal(err)
		}
		prodModel, err := scorer.Current(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		shadowModel := scorer.Shadow(tn)
		if shadowModel == nil || shadowModel.VersionID != shadow.ID {
			t.Fatalf("Shadow() = %+v, want the challenger", shadowModel)
		}
		var ins []live.Input
		for i := range 20 {
			ins = append(ins, live.Input{ExternalID: fmt.Sprintf("sh-%d", i), Tx: transfer(i)})
		}
		one, _, _, err := scorer.Score(ctx, tn, ins[0])
		if err != nil {
			t.Fatal(err)
		}
		batch, err := scorer.ScoreBatch(ctx, tn, ins[1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		stored := []*store.Scored{one}
		for _, b := range batch {
			stored = append(stored, b.Scored)
		}
		for i, s := range stored {
			p := &s.Prediction
			want := prodModel.Model.Predict(&ins[i].Tx)
			if p.ModelVersionID != prodModel.VersionID || p.Score != want.Score || p.Band != string(want.Band) {
				t.Errorf("%s: production prediction %s %v %s, want %s %v %s", ins[i].ExternalID, p.ModelVersionID, p.Score, p.Band, prodModel.VersionID, want.Score, want.Band)
			}
			sw := shadowModel.Model.Predict(&ins[i].Tx)
			if p.ShadowModelVersionID == nil || *p.ShadowModelVersionID != shadow.ID || *p.ShadowScore != sw.Score ||
				*p.ShadowBand != string(sw.Band) || p.ShadowLatencyUS == nil {
				t.Errorf("%s: shadow fields %v %v %v, want %s %v %s", ins[i].ExternalID, p.ShadowModelVersionID, p.ShadowScore, p.ShadowBand, shadow.ID, sw.Score, sw.Band)
			}
			fe, err := live.DecodeFrozen(s)
			if err != nil || fe.Model.ID != prodModel.VersionID {
				t.Errorf("%s: frozen explanation names %+v, %v; want the production model", ins[i].ExternalID, fe.Model, err)
			}
		}
		t.Run("the comparison uses the live shadow scores", func(t *testing.T) {
			cmp, err := r.Compare(ctx, tn, prodModel.VersionID, shadow.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Live || cmp.Rows != len(ins) || cmp.B.MeanLatencyUS < 0 {
				t.Fatalf("Compare() live %v over %d rows; want live over %d", cmp.Live, cmp.Rows, len(ins))
			}
			var sum int64
			for _, row := range cmp.Agreement {
				for _, n := range row {
					sum += n
				}
			}
			if sum != int64(cmp.Rows) || cmp.B.Bands[3] != int64(cmp.Rows) {
				t.Fatalf("agreement sums to %d, shadow critical %d; want %d each", sum, cmp.B.Bands[3], cmp.Rows)
			}
		})
		t.Run("where analysts decided, both are judged by average precision on their labels", func(t *testing.T) {
			analyst, err := store.AdminFindLoginUser(ctx, db, "analyst@sentinel.demo")
			if err != nil {
				t.Fatal(err)
			}
			who := store.Actor{UserID: analyst.ID, Email: analyst.Email}
			var prodScores, shadowScores []float64
			var labels []uint8
			for i, s := range stored[:8] {
				decision := []string{store.DecisionConfirmedFraud, store.DecisionFalsePositive, store.DecisionEscalated, store.DecisionFalsePositive}[i%4]
				if _, err := store.Decide(ctx, tn, who, s.Transaction.ID, decision, "checked"); err != nil {
					t.Fatal(err)
				}
				if decision == store.DecisionEscalated {
					continue
				}
				prodScores = append(prodScores, s.Prediction.Score)
				shadowScores = append(shadowScores, *s.Prediction.ShadowScore)
				labels = append(labels, map[bool]uint8{true: 1}[decision == store.DecisionConfirmedFraud])
			}
			cmp, err := r.Compare(ctx, tn, prodModel.VersionID, shadow.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			// Compare walks the newest first; average precision does not care.
			wantA, wantB := training.AveragePrecision(prodScores, labels), training.AveragePrecision(shadowScores, labels)
			if cmp.Labelled != 6 || cmp.Frauds != 2 || math.Abs(cmp.A.LabelAP-wantA) > 1e-12 || math.Abs(cmp.B.LabelAP-wantB) > 1e-12 {
				t.Fatalf("Compare() labelled %d, frauds %d, AP %v and %v; want 6, 2, %v and %v",
					cmp.Labelled, cmp.Frauds, cmp.A.LabelAP, cmp.B.LabelAP, wantA, wantB)
			}
		})
		t.Run("stopping the shadow stops shadow scoring", func(t *testing.T) {
			if _, err := r.SetStage(ctx, tn, admin, shadow.ID, store.StageStaging); err != nil {
				t.Fatal(err)
			}
			s, _, _, err := scorer.Score(ctx, tn, live.Input{ExternalID: "sh-after", Tx: transfer(99)})
			if err != nil || s.Prediction.ShadowScore != nil || scorer.Shadow(tn) != nil {
				t.Fatalf("after stopping: %+v, %v", s.Prediction, err)
			}
		})
	})
}

// bruteWhatIf rescored every transaction of the window with m.
func bruteWhatIf(m *scoring.Model, rows []store.SampleRow, cur, next scoring.Thresholds) (moves [4][4]int64, enter, leave int64) {
	idx := map[scoring.Band]int{}
	for i, b := range live.Bands {
		idx[b] = i
	}
	for i := range rows {
		tx := rows[i].Transaction
		s := m.Predict(&scoring.Transaction{Step: tx.Step, Type: tx.Type, Amount: tx.Amount, NameOrig: tx.NameOrig, OldBalanceOrg: tx.OldBalanceOrg,
			NewBalanceOrig: tx.NewBalanceOrig, NameDest: tx.NameDest, OldBalanceDest: tx.OldBalanceDest, NewBalanceDest: tx.NewBalanceDest}).Score
		moves[idx[cur.BandOf(s)]][idx[next.BandOf(s)]]++
		switch {
		case s >= next.Review && s < cur.Review:
			enter++
		case s >= cur.Review && s < next.Review:
			leave++
		}
	}
	return moves, enter, leave
}

func TestWhatIfEqualsBruteForceRescoring(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scorer := live.NewScorer(db)
		tn := demoTenant(t, db, scorer)
		r := live.NewRegistry(scorer)
		prod, err := scorer.Current(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		staged := importModel(t, r, tn, "challenger", seed16(t))
		stagedModel, err := scoring.Load(seed16(t))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := store.ScoredSample(ctx, tn, store.SampleFilter{Since: time.Now().Add(-live.WhatIfWindow)})
		if err != nil || len(rows) == 0 {
			t.Fatalf("ScoredSample() = %d rows, %v", len(rows), err)
		}
		next := scoring.Thresholds{Review: 0.02, Medium: 0.01, High: 0.5, Critical: 0.95}
		for _, tc := range []struct {
			name string
			id   string
			m    *scoring.Model
		}{
			{"the production version, from the scores it stored", prod.VersionID, prod.Model},
			{"a staging version, rescoring recent traffic", staged.ID, stagedModel},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w, err := r.WhatIf(ctx, tn, tc.id, next, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				moves, enter, leave := bruteWhatIf(tc.m, rows, tc.m.Thresholds(), next)
				if w.Moves != moves || w.EnterReview != enter || w.LeaveReview != leave || w.Total != int64(len(rows)) {
					t.Fatalf("WhatIf() = moves %v enter %d leave %d of %d; brute force %v %d %d of %d",
						w.Moves, w.EnterReview, w.LeaveReview, w.Total, moves, enter, leave, len(rows))
				}
				if w.Rescored != (tc.id == staged.ID) {
					t.Fatalf("Rescored = %v", w.Rescored)
				}
			})
		}
	})
}

func TestPromoteSwapsWithoutAFailedRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scorer := live.NewScorer(db)
		go scorer.RunWriter(t.Context())
		tn := demoTenant(t, db, scorer)
		r := live.NewRegistry(scorer)
		old, err := scorer.Current(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		next := importModel(t, r, tn, "challenger", seed16(t))
		type result struct {
			version       string
			before, after bool // started after the promotion returned; ended before it began
		}
		var promoting, promoted atomic.Bool
		var mu sync.Mutex
		var results []result
		var failures atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					startedAfter := promoted.Load()
					s, _, _, err := scorer.Score(ctx, tn, live.Input{ExternalID: fmt.Sprintf("swap-%d-%d", w, i), Tx: transfer(i)})
					endedBefore := !promoting.Load()
					if err != nil {
						failures.Add(1)
						continue
					}
					mu.Lock()
					results = append(results, result{s.Prediction.ModelVersionID, startedAfter, endedBefore})
					mu.Unlock()
				}
			}()
		}
		// waitFor lets the workers store n more results.
		waitFor := func(n int) {
			mu.Lock()
			want := len(results) + n
			mu.Unlock()
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				got := len(results)
				mu.Unlock()
				if got >= want {
					return
				}
			}
		}
		waitFor(20)
		promoting.Store(true)
		if _, _, err := r.Promote(ctx, tn, admin, next.ID); err != nil {
			t.Fatal(err)
		}
		promoted.Store(true)
		waitFor(20)
		close(stop)
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Fatalf("%d requests failed during the promotion", n)
		}
		var sawOld, sawNew int
		for _, res := range results {
			switch {
			case res.before && res.version != next.ID:
				t.Fatalf("a request started after the promotion was scored by %s", res.version)
			case res.after && res.version != old.VersionID:
				t.Fatalf("a request that ended before the promotion was scored by %s", res.version)
			case res.version == old.VersionID:
				sawOld++
			case res.version == next.ID:
				sawNew++
			default:
				t.Fatalf("a request was scored by %s, neither version", res.version)
			}
		}
		if sawOld == 0 || sawNew == 0 {
			t.Fatalf("requests by the old version %d, by the new %d; want both", sawOld, sawNew)
		}
		t.Run("rolling back is promoting the previous version", func(t *testing.T) {
			before, after, err := r.Promote(ctx, tn, admin, old.VersionID)
			if err != nil || before.ID != next.ID || after.ID != old.VersionID {
				t.Fatalf("Promote(previous) = %v, %v, %v", before, after, err)
			}
			s, _, _, err := scorer.Score(ctx, tn, live.Input{ExternalID: "after-rollback", Tx: transfer(1)})
			if err != nil || s.Prediction.ModelVersionID != old.VersionID {
				t.Fatalf("after the rollback scored by %v, %v", s, err)
			}
		})
	})
}

package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// stages returns each version's stage by id.
func stages(t *testing.T, tn store.Tenant) map[string]string {
	t.Helper()
	rows, err := store.ListModelVersions(context.Background(), tn)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ID] = r.Stage
	}
	return out
}

func TestModelRegistryStages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		v1 := productionModel(t, a)
		imp := func(name string) *store.ModelVersion {
			t.Helper()
			mv, err := store.ImportModel(ctx, a, actor, store.NewModelVersion{Name: name, Bundle: []byte(`{"x":1}`), Stage: store.StageStaging,
				Thresholds: []byte(`{"review":0.5,"medium":0.3,"high":0.6,"critical":0.85}`)})
			if err != nil {
				t.Fatal(err)
			}
			return mv
		}
		v2, v3 := imp("m"), imp("m")

		t.Run("an import is the next staging version, with its file's SHA-256 and who made it", func(t *testing.T) {
			if v2.Version != 2 || v3.Version != 3 || v2.Stage != store.StageStaging || v2.CreatedByEmail != ua.Email || v2.Revision != 1 {
				t.Fatalf("imports = %+v, %+v", v2, v3)
			}
			// sha256 of {"x":1}
			if v2.SHA256 != "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22" || v2.SizeBytes != 7 {
				t.Fatalf("SHA256, size = %s, %d", v2.SHA256, v2.SizeBytes)
			}
		})
		t.Run("promoting archives the production version in the same change, audited with both", func(t *testing.T) {
			before, after, err := store.PromoteModel(ctx, a, actor, v2.ID)
			if err != nil || before.ID != v1.ID || after.ID != v2.ID || after.Stage != store.StageProduction || after.Revision != 2 {
				t.Fatalf("PromoteModel() = %+v, %+v, %v", before, after, err)
			}
			st := stages(t, a)
			if st[v1.ID] != store.StageArchived || st[v2.ID] != store.StageProduction {
				t.Fatalf("stages = %v", st)
			}
			events, _ := store.ListAudit(ctx, a, store.AuditFilter{Action: store.ActionModelPromote})
			if len(events) != 1 {
				t.Fatalf("promote events = %d, want 1", len(events))
			}
			var d struct{ Before, After struct{ ID string } }
			if err := json.Unmarshal(events[0].Details, &d); err != nil || d.Before.ID != v1.ID || d.After.ID != v2.ID {
				t.Fatalf("promote details = %s, %v", events[0].Details, err)
			}
		})
		t.Run("promoting the production version is refused", func(t *testing.T) {
			if _, _, err := store.PromoteModel(ctx, a, actor, v2.ID); !errors.Is(err, store.ErrAlreadyProduction) {
				t.Fatalf("PromoteModel(production) error = %v", err)
			}
		})
		t.Run("rolling back is promoting the previous version", func(t *testing.T) {
			if _, _, err := store.PromoteModel(ctx, a, actor, v1.ID); err != nil {
				t.Fatal(err)
			}
			if st := stages(t, a); st[v1.ID] != store.StageProduction || st[v2.ID] != store.StageArchived {
				t.Fatalf("stages after rollback = %v", st)
			}
		})
		t.Run("a new shadow sends the previous one back to staging", func(t *testing.T) {
			if _, err := store.SetModelStage(ctx, a, actor, v2.ID, store.StageShadow); err != nil {
				t.Fatal(err)
			}
			if _, err := store.SetModelStage(ctx, a, actor, v3.ID, store.StageShadow); err != nil {
				t.Fatal(err)
			}
			if st := stages(t, a); st[v2.ID] != store.StageStaging || st[v3.ID] != store.StageShadow {
				t.Fatalf("stages = %v", st)
			}
			live, err := store.LiveModels(ctx, a)
			if err != nil || len(live) != 2 {
				t.Fatalf("LiveModels() = %v, %v; want production and shadow", live, err)
			}
		})
		t.Run("the production version cannot be moved to another stage", func(t *testing.T) {
			if _, err := store.SetModelStage(ctx, a, actor, v1.ID, store.StageArchived); !errors.Is(err, store.ErrProductionStage) {
				t.Fatalf("SetModelStage(production, archived) error = %v", err)
			}
			if _, err := store.SetModelStage(ctx, a, actor, v2.ID, store.StageProduction); !errors.Is(err, store.ErrBadStage) {
				t.Fatalf("SetModelStage(production) error = %v", err)
			}
		})
		t.Run("thresholds raise the revision and are audited with the old and new values", func(t *testing.T) {
			before, _ := store.GetModelVersionInfo(ctx, a, v3.ID)
			mv, err := store.SetModelThresholds(ctx, a, actor, v3.ID, []byte(`{"review":0.4,"medium":0.2,"high":0.5,"critical":0.9}`))
			if err != nil || mv.Revision != before.Revision+1 {
				t.Fatalf("SetModelThresholds() = %+v, %v; want revision %d", mv, err, before.Revision+1)
			}
			events, _ := store.ListAudit(ctx, a, store.AuditFilter{Action: store.ActionModelThresholds})
			var d struct{ Old, New struct{ Review float64 } }
			if len(events) != 1 || json.Unmarshal(events[0].Details, &d) != nil || d.Old.Review != 0.5 || d.New.Review != 0.4 {
				t.Fatalf("thresholds events = %v", events)
			}
		})
		t.Run("a replica's load is kept once per version and replica", func(t *testing.T) {
			for rev := 1; rev <= 2; rev++ {
				if err := store.RecordModelLoad(ctx, a, store.Actor{Email: "replica r1"}, v1.ID, rev, "r1"); err != nil {
					t.Fatal(err)
				}
			}
			loads, err := store.ListModelLoads(ctx, a, v1.ID)
			if err != nil || len(loads) != 1 || loads[0].Revision != 2 {
				t.Fatalf("ListModelLoads() = %+v, %v; want r1 at revision 2", loads, err)
			}
		})
	})
}

func TestModelRegistryStaysInItsTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, ub := twoTenants(t, db)
		actorB := store.Actor{UserID: ub.ID, Email: ub.Email}
		prod := productionModel(t, a)
		staged, err := store.ImportModel(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email},
			store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageShadow})
		if err != nil {
			t.Fatal(err)
		}
		txs, ps := scoredRows(prod, "reg", 3)
		score, band := 0.7, "high"
		ps[0].ShadowModelVersionID, ps[0].ShadowScore, ps[0].ShadowBand = &staged.ID, &score, &band
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordModelLoad(ctx, a, store.Actor{Email: "replica"}, prod.ID, 1, "r"); err != nil {
			t.Fatal(err)
		}
		notFound := func(name string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s as another tenant: error = %v, want ErrNotFound", name, err)
			}
		}
		empty := func(name string, n int, err error) {
			t.Helper()
			if err != nil || n != 0 {
				t.Errorf("%s as another tenant = %d rows, %v; want none", name, n, err)
			}
		}
		_, err = store.GetModelVersion(ctx, b, prod.ID)
		notFound("GetModelVersion", err)
		_, err = store.GetModelVersionInfo(ctx, b, prod.ID)
		notFound("GetModelVersionInfo", err)
		_, _, err = store.PromoteModel(ctx, b, actorB, staged.ID)
		notFound("PromoteModel", err)
		_, err = store.SetModelStage(ctx, b, actorB, staged.ID, store.StageArchived)
		notFound("SetModelStage", err)
		_, err = store.SetModelThresholds(ctx, b, actorB, prod.ID, []byte(`{}`))
		notFound("SetModelThresholds", err)
		versions, err := store.ListModelVersions(ctx, b)
		empty("ListModelVersions", len(versions), err)
		live, err := store.LiveModels(ctx, b)
		empty("LiveModels", len(live), err)
		loads, err := store.ListModelLoads(ctx, b, prod.ID)
		empty("ListModelLoads", len(loads), err)
		counts, err := store.CountScoredByVersion(ctx, b)
		empty("CountScoredByVersion", len(counts.Production)+len(counts.Shadow), err)
		shifts, err := store.ThresholdShifts(ctx, b, prod.ID, false, time.Time{}, store.Cutoffs{}, store.Cutoffs{})
		empty("ThresholdShifts", len(shifts), err)
		sample, err := store.ScoredSample(ctx, b, store.SampleFilter{Limit: 10})
		empty("ScoredSample", len(sample), err)

		// Tenant a's registry is untouched and counts its own.
		if st := stages(t, a); st[prod.ID] != store.StageProduction || st[staged.ID] != store.StageShadow {
			t.Errorf("a's stages after b's attempts = %v", st)
		}
		counts, err = store.CountScoredByVersion(ctx, a)
		if err != nil || counts.Production[prod.ID] != 3 || counts.Shadow[staged.ID] != 1 {
			t.Errorf("CountScoredByVersion(a) = %+v, %v; want 3 in production, 1 in shadow", counts, err)
		}
		sample, err = store.ScoredSample(ctx, a, store.SampleFilter{Limit: 10, ShadowOf: staged.ID})
		if err != nil || len(sample) != 1 || *sample[0].ShadowScore != 0.7 || *sample[0].ShadowBand != "high" {
			t.Errorf("ScoredSample(a, shadow) = %+v, %v; want the one shadow-scored row", sample, err)
		}
	})
}

func TestThresholdShiftsCountMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, _, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		txs, ps := scoredRows(mv, "shift", 4)
		for i, s := range []float64{0.1, 0.35, 0.7, 0.9} {
			ps[i].Score = s
		}
		old := time.Now().UTC().Add(-40 * 24 * time.Hour)
		ps[3].CreatedAt = old // outside the window
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		shifts, err := store.ThresholdShifts(ctx, a, mv.ID, false, time.Now().Add(-30*24*time.Hour),
			store.Cutoffs{Review: 0.5, Medium: 0.3, High: 0.6, Critical: 0.85},
			store.Cutoffs{Review: 0.3, Medium: 0.4, High: 0.6, Critical: 0.65})
		if err != nil {
			t.Fatal(err)
		}
		got := map[store.BandShift]bool{}
		for _, s := range shifts {
			got[s] = true
		}
		want := []store.BandShift{
			{From: 0, To: 0, N: 1}, // 0.1 stays low
			{From: 1, To: 0, ReviewFrom: false, ReviewTo: true, N: 1}, // 0.35: medium → low, enters review
			{From: 2, To: 3, ReviewFrom: true, ReviewTo: true, N: 1},  // 0.7: high → critical
		}
		if len(shifts) != len(want) {
			t.Fatalf("ThresholdShifts() = %+v, want %+v", shifts, want)
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("ThresholdShifts() = %+v, missing %+v", shifts, w)
			}
		}
	})
}

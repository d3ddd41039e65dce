package live_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// gathered reads the samples of one metric family from reg, keyed by their
// labels ("band=low,source=api"): a counter's value or a histogram's count.
func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

func TestScorerMetrics(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	tenant, err := store.AdminTenantBySlug(ctx, db, seed.Tenants()[0].Slug)
	if err != nil {
		t.Fatal(err)
	}
	tn := store.ForTenant(db, tenant.ID)
	reg := prometheus.NewRegistry()
	scorer := live.NewScorer(db)
	if err := scorer.Instrument(reg); err != nil {
		t.Fatalf("Instrument() = %v", err)
	}

	takeover := scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1", OldBalanceOrg: 181000, NameDest: "C2"}
	payment := scoring.Transaction{Step: 9, Type: "PAYMENT", Amount: 12.34, NameOrig: "C3", OldBalanceOrg: 1e6, NewBalanceOrig: 1e6 - 12.34, NameDest: "M4"}
	for _, in := range []live.Input{
		{ExternalID: "one", Tx: takeover, Source: "seed"},
		{ExternalID: "two", Tx: payment},
		{ExternalID: "one", Tx: takeover, Source: "seed"}, // a repeat: scored, not stored
	} {
		if _, _, _, err := scorer.Score(ctx, tn, in); err != nil {
			t.Fatalf("Score(%s) = %v", in.ExternalID, err)
		}
	}
	bad := payment
	bad.Amount = -1
	_, err = scorer.ScoreBatch(ctx, tn, []live.Input{
		{ExternalID: "three", Tx: payment},
		{ExternalID: "four", Tx: takeover},
		{ExternalID: "four", Tx: takeover}, // scored once
		{ExternalID: "five", Tx: bad},      // invalid: never scored
		{ExternalID: "two", Tx: payment},   // stored before: not scored again
	}, nil)
	if err != nil {
		t.Fatalf("ScoreBatch() = %v", err)
	}

	t.Run("counts stored transactions by band and source", func(t *testing.T) {
		got := gathered(t, reg, "sentinel_scored_transactions_total")
		want := map[string]float64{
			"band=critical,source=seed": 1,
			"band=critical,source=api":  1,
			"band=low,source=api":       2,
			"band=medium,source=api":    0,
			"band=high,source=api":      0,
		}
		if len(got) != len(want) {
			t.Errorf("sentinel_scored_transactions_total = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("sentinel_scored_transactions_total{%s} = %v, want %v", k, got[k], v)
			}
		}
	})
	t.Run("times every score and explanation made", func(t *testing.T) {
		// Three singles (the repeat is scored before its id is found taken)
		// and the batch's two new ids.
		if got := gathered(t, reg, "sentinel_scoring_duration_seconds")[""]; got != 5 {
			t.Errorf("sentinel_scoring_duration_seconds count = %v, want 5", got)
		}
	})
	t.Run("reports the loaded model without loading one", func(t *testing.T) {
		if lm := scorer.Live(tenant.ID); lm == nil || lm.Version != 1 {
			t.Errorf("Live(own tenant) = %+v, want version 1", lm)
		}
		other, err := store.AdminTenantBySlug(ctx, db, seed.Tenants()[1].Slug)
		if err != nil {
			t.Fatal(err)
		}
		if lm := scorer.Live(other.ID); lm != nil {
			t.Errorf("Live(tenant never scored) = %+v, want nil", lm)
		}
	})
	t.Run("refuses to register twice on one registry", func(t *testing.T) {
		if err := live.NewScorer(db).Instrument(reg); err == nil {
			t.Error("second Instrument() on the same registry = nil, want an error")
		}
	})
}

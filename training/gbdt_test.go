package training_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/training"
)

// toy builds a dataset on features amount and oldbalanceOrg with labels from rule.
func toy(t *testing.T, n int, seed uint64, rule func(a, b float64) bool) *training.Dataset {
	t.Helper()
	fs, err := scoring.NewFeatureSet([]string{"amount", "oldbalanceOrg"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &training.Dataset{Features: fs, X: make([][]float32, 2)}
	for i := 0; i < n; i++ {
		a, b := math.Round(rng.Float64()*1000), math.Round(rng.Float64()*1000)
		d.X[0] = append(d.X[0], float32(a))
		d.X[1] = append(d.X[1], float32(b))
		y := uint8(0)
		if rule(a, b) {
			y = 1
		}
		d.Labels = append(d.Labels, y)
		d.Steps = append(d.Steps, 0)
	}
	return d
}

func allRows(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

func logLoss(t *testing.T, m *scoring.Model, d *training.Dataset) float64 {
	t.Helper()
	probs := make([]float64, d.Rows())
	x := make([]float64, 2)
	out := make([]float64, 1)
	for i := range probs {
		x[0], x[1] = float64(d.X[0][i]), float64(d.X[1][i])
		probs[i] = scoring.Sigmoid(m.Margin(x, out))
	}
	return training.LogLoss(probs, d.Labels)
}

func trainToy(t *testing.T, d *training.Dataset, p training.Params) (*training.Ensemble, *scoring.Model) {
	t.Helper()
	e, err := training.Train(context.Background(), d, allRows(d.Rows()), nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := scoring.Load([]byte(e.ModelText()))
	if err != nil {
		t.Fatalf("the trained model does not load: %v", err)
	}
	return e, m
}

func TestTrainerLearnsToyProblems(t *testing.T) {
	p := training.DefaultParams()
	p.NumTrees = 200
	p.MinDataInLeaf = 5
	for _, tc := range []struct {
		name string
		rule func(a, b float64) bool
	}{
		{"threshold", func(a, b float64) bool { return a > 600 }},
		{"xor", func(a, b float64) bool { return (a > 500) != (b > 500) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := toy(t, 4000, 1, tc.rule)
			e, m := trainToy(t, d, p)
			if ll := logLoss(t, m, d); ll > 0.01 {
				t.Fatalf("log loss after %d trees = %v, want near zero", len(e.Trees), ll)
			}
		})
	}
}

func TestTrainedModelLoadsWithExactSHAPAndIsDeterministic(t *testing.T) {
	p := training.DefaultParams()
	p.NumTrees = 30
	p.NumLeaves = 15
	p.FeatureFraction = 0.5
	p.BaggingFraction = 0.8
	p.BaggingFreq = 1
	rule := func(a, b float64) bool { return a+0.5*b > 900 }
	d := toy(t, 120_000, 2, rule) // large enough for the two-goroutine histograms
	e1, m := trainToy(t, d, p)
	e2, _ := trainToy(t, d, p)
	if e1.ModelText() != e2.ModelText() {
		t.Fatal("two runs with the same data and seed wrote different model text")
	}
	x := make([]float64, 2)
	for i := 0; i < 500; i++ {
		x[0], x[1] = float64(d.X[0][i]), float64(d.X[1][i])
		phi := m.Contributions(x)
		var out [1]float64
		margin := m.Margin(x, out[:])
		if s := m.BaseValue() + phi[0] + phi[1]; math.Abs(s-margin) > 1e-9 {
			t.Fatalf("row %d: base + Σφ = %v, margin %v", i, s, margin)
		}
	}
	p.Seed = 7
	e3, _ := trainToy(t, d, p)
	if e3.ModelText() == e1.ModelText() {
		t.Error("another seed wrote the same model text")
	}
}

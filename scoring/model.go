package scoring

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"

	"github.com/dmitryikh/leaves"
)

// Model is a loaded, cross-checked model ready to score: safe for concurrent
// use and swapped as a whole when another version is promoted.
type Model struct {
	bundle     Bundle // without ModelText
	features   *FeatureSet
	lgbm       *lgbmModel
	ens        *leaves.Ensemble
	shap       *shapForest
	calib      *Calibration
	thresholds Thresholds

	predictPool sync.Pool // *predictScratch
	shapPool    sync.Pool // *shapScratch
}

type predictScratch struct {
	x   []float64
	out [1]float64
}

// LoadFile loads a bundle or a plain LightGBM model text file.
func LoadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scoring: read model: %w", err)
	}
	m, err := Load(b)
	if err != nil {
		return nil, fmt.Errorf("scoring: load %s: %w", path, err)
	}
	return m, nil
}

// Load reads a model bundle (JSON) or plain LightGBM model text. Plain text
// must name registry features; it gets identity calibration and the default
// thresholds.
func Load(data []byte) (m *Model, err error) {
	var b *Bundle
	text := data
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		if b, err = decodeBundle(trimmed); err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		text = []byte(b.ModelText)
	}
	lg, err := parseLightGBM(text)
	if err != nil {
		return nil, fmt.Errorf("scoring: model text: %w", err)
	}
	if b == nil {
		b = &Bundle{Format: BundleFormat, Name: "lightgbm", Features: lg.featureNames, Thresholds: DefaultThresholds}
	}
	if !slices.Equal(b.Features, lg.featureNames) {
		return nil, fmt.Errorf("scoring: bundle features %v differ from the model's feature_names %v", b.Features, lg.featureNames)
	}
	fs, err := NewFeatureSet(lg.featureNames)
	if err != nil {
		return nil, fmt.Errorf("scoring: model features: %w", err)
	}
	ens, err := loadLeaves(text)
	if err != nil {
		return nil, err
	}
	// leaves reports 0 features for a one-feature model, so only "more" is an error.
	if ens.NFeatures() > fs.Len() {
		return nil, fmt.Errorf("scoring: leaves sees %d features, the model names %d", ens.NFeatures(), fs.Len())
	}
	if d := maxDistinctPathFeatures(lg); d > maxPathFeatures {
		return nil, fmt.Errorf("scoring: a tree path uses %d distinct features, more than the %d supported", d, maxPathFeatures)
	}
	m = &Model{features: fs, lgbm: lg, ens: ens, shap: newShapForest(lg), calib: b.Calibration, thresholds: b.Thresholds}
	m.bundle = *b
	m.bundle.ModelText = ""
	m.predictPool.New = func() any { return &predictScratch{x: make([]float64, fs.Len())} }
	m.shapPool.New = func() any { return m.shap.newScratch() }
	if err := m.crossCheck(); err != nil {
		return nil, fmt.Errorf("scoring: cross-check failed, refusing the model: %w", err)
	}
	return m, nil
}

// loadLeaves hands the validated text to leaves. leaves is third-party code
// reading text that may be hostile, so a panic in it becomes an error.
func loadLeaves(text []byte) (ens *leaves.Ensemble, err error) {
	defer func() {
		if r := recover(); r != nil {
			ens, err = nil, fmt.Errorf("scoring: leaves could not read the model: %v", r)
		}
	}()
	ens, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(leavesText(text))), false)
	if err != nil {
		return nil, fmt.Errorf("scoring: leaves: %w", err)
	}
	return ens, nil
}

// crossCheck compares leaves' raw margin with the package's own tree walk,
// and TreeSHAP's local accuracy, on probe rows: realistic transactions of
// every type and rows sitting exactly on split thresholds.
func (m *Model) crossCheck() error {
	probes := m.probeRows()
	phi := make([]float64, m.features.Len())
	for i, x := range probes {
		own := m.lgbm.rawMargin(x)
		var out [1]float64
		if err := m.ens.Predict(x, 0, out[:]); err != nil {
			return fmt.Errorf("leaves predict: %w", err)
		}
		tol := 1e-9 * (1 + math.Abs(own))
		if math.Abs(out[0]-own) > tol {
			return fmt.Errorf("probe %d: leaves margin %.17g, tree walk %.17g", i, out[0], own)
		}
		clear(phi)
		m.contributions(x, phi)
		sum := m.shap.baseValue
		for _, p := range phi {
			sum += p
		}
		if math.Abs(sum-own) > tol {
			return fmt.Errorf("probe %d: base value + contributions = %.17g, margin %.17g", i, sum, own)
		}
	}
	return nil
}

// probeRows builds deterministic feature vectors: 40 synthetic transactions
// and up to 200 rows each placed exactly on one split threshold.
func (m *Model) probeRows() [][]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows [][]float64
	for i := 0; i < 40; i++ {
		amount := math.Round(math.Exp(rng.Float64()*14)*100) / 100
		old := 0.0
		if i%3 != 0 {
			old = math.Round(math.Exp(rng.Float64()*14)*100) / 100
		}
		if i%4 == 1 {
			amount = old
		}
		t := Transaction{
			Step: rng.IntN(744), Type: Types[i%len(Types)], Amount: amount,
			OldBalanceOrg: old, NewBalanceOrig: math.Max(0, old-amount),
			OldBalanceDest: float64(i%2) * 1000 * float64(i), NewBalanceDest: float64(i%2)*1000*float64(i) + amount,
		}
		x := make([]float64, m.features.Len())
		m.features.Compute(&t, x)
		rows = append(rows, x)
	}
	n := 0
	for ti := range m.lgbm.trees {
		t := &m.lgbm.trees[ti]
		for k := 0; k < t.numLeaves-1 && n < 200; k++ {
			x := slices.Clone(rows[n%len(rows)])
			x[t.splitFeature[k]] = t.threshold[k]
			rows = append(rows, x)
			n++
		}
	}
	return rows
}

// WithThresholds returns the same model deciding with other thresholds:
// the trees, calibration and TreeSHAP tables are shared, nothing is parsed
// or checked again. The receiver is unchanged, so requests scoring with it
// meanwhile keep its thresholds.
func (m *Model) WithThresholds(t Thresholds) *Model {
	n := &Model{bundle: m.bundle, features: m.features, lgbm: m.lgbm, ens: m.ens, shap: m.shap, calib: m.calib, thresholds: t}
	n.bundle.Thresholds = t
	n.predictPool.New = m.predictPool.New
	n.shapPool.New = m.shapPool.New
	return n
}

// Features is the model's ordered feature set.
func (m *Model) Features() *FeatureSet { return m.features }

// Thresholds are the model's review threshold and band cut-offs.
func (m *Model) Thresholds() Thresholds { return m.thresholds }

// Bundle returns the model's metadata (the bundle without its model text).
func (m *Model) Bundle() Bundle { return m.bundle }

// BaseValue is the expected raw margin over the training data: TreeSHAP's
// starting point.
func (m *Model) BaseValue() float64 { return m.shap.baseValue }

// Result is a scored transaction.
type Result struct {
	RawMargin float64 `json:"raw_margin"`
	Score     float64 `json:"score"`
	Band      Band    `json:"band"`
	// ModelBand is the band before watchlist overrides.
	ModelBand Band `json:"model_band"`
	// Override names why Band differs from ModelBand ("blocked account").
	Override string `json:"override,omitempty"`
	// Trusted flags a transaction involving a trusted account.
	Trusted bool `json:"trusted,omitempty"`
	// Review reports a score at or above the review threshold.
	Review bool `json:"review"`
}

// Predict scores t with no watchlist information.
func (m *Model) Predict(t *Transaction) Result { return m.Score(t, Watch{}) }

// Score computes the raw margin through leaves, calibrates it, bands it and
// applies the watchlist. It does not allocate after warm-up.
func (m *Model) Score(t *Transaction, w Watch) Result {
	s := m.predictPool.Get().(*predictScratch)
	m.features.Compute(t, s.x)
	raw := m.Margin(s.x, s.out[:])
	m.predictPool.Put(s)
	return m.decide(raw, w)
}

// Margin is the raw margin of a feature vector; out is a one-element buffer.
func (m *Model) Margin(x []float64, out []float64) float64 {
	if err := m.ens.Predict(x, 0, out); err != nil {
		// Sizes were checked at load; this cannot happen. Use the own walk.
		return m.lgbm.rawMargin(x)
	}
	return out[0]
}

func (m *Model) decide(raw float64, w Watch) Result {
	score := m.calib.Apply(raw)
	mb := m.thresholds.BandOf(score)
	band, reason, trusted := w.override(mb)
	return Result{RawMargin: raw, Score: score, Band: band, ModelBand: mb, Override: reason, Trusted: trusted,
		Review: score >= m.thresholds.Review || reason != ""}
}

// Calibrate maps a raw margin to the model's calibrated score.
func (m *Model) Calibrate(raw float64) float64 { return m.calib.Apply(raw) }

// contributions adds the SHAP values of feature vector x into phi.
func (m *Model) contributions(x, phi []float64) {
	s := m.shapPool.Get().(*shapScratch)
	m.shap.contributions(x, phi, s)
	m.shapPool.Put(s)
}

// Contributions returns the exact TreeSHAP values of feature vector x, one
// per model feature, in margin space: BaseValue() + Σ = raw margin.
func (m *Model) Contributions(x []float64) []float64 {
	phi := make([]float64, m.features.Len())
	m.contributions(x, phi)
	return phi
}

package scoring_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// oneSplit is a one-tree model: amount ≤ 100 gives −1 (30 training rows),
// else 2 (10 rows).
const oneSplit = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=0
objective=binary sigmoid:1
feature_names=amount
feature_infos=[0:1000]
tree_sizes=300

Tree=0
num_leaves=2
num_cat=0
split_feature=0
split_gain=10
threshold=100
decision_type=2
left_child=-1
right_child=-2
leaf_value=-1 2
leaf_weight=30 10
leaf_count=30 10
internal_value=0
internal_weight=40
internal_count=40
is_linear=0
shrinkage=1


end of trees
`

func TestOneSplitModelByHand(t *testing.T) {
	m, err := scoring.Load([]byte(oneSplit))
	if err != nil {
		t.Fatal(err)
	}
	// Base value: (−1·30 + 2·10)/40 = −0.25.
	if got := m.BaseValue(); got != -0.25 {
		t.Fatalf("BaseValue() = %v, want -0.25", got)
	}
	for _, tc := range []struct {
		amount, margin, phi float64
	}{
		{50, -1, -0.75},
		{100, -1, -0.75}, // LightGBM sends x ≤ threshold left
		{500, 2, 2.25},
	} {
		tx := scoring.Transaction{Type: "PAYMENT", Amount: tc.amount, NameOrig: "C1", NameDest: "M1"}
		res := m.Predict(&tx)
		if res.RawMargin != tc.margin {
			t.Errorf("amount %v: margin %v, want %v", tc.amount, res.RawMargin, tc.margin)
		}
		if want := 1 / (1 + math.Exp(-tc.margin)); res.Score != want {
			t.Errorf("amount %v: score %v, want sigmoid %v (identity calibration)", tc.amount, res.Score, want)
		}
		ex := m.Explain(&tx, 5)
		if len(ex.All) != 1 || ex.All[0].Contribution != tc.phi {
			t.Errorf("amount %v: contributions %+v, want amount %v", tc.amount, ex.All, tc.phi)
		}
	}
}

func TestLocalAccuracyOnEveryModel(t *testing.T) {
	rows := readRefRows(t)
	for _, name := range []string{"seed16", "nobal300"} {
		m := loadRef(t, name)
		for i := range rows {
			ex := m.Explain(&rows[i], 5)
			sum := ex.BaseValue
			for _, c := range ex.All {
				sum += c.Contribution
			}
			if math.Abs(sum-ex.RawMargin) > 1e-9*math.Max(1, math.Abs(ex.RawMargin)) {
				t.Fatalf("%s row %d: base + Σ = %.15g, margin %.15g", name, i, sum, ex.RawMargin)
			}
		}
	}
}

func TestLoaderVersionsAndRefusals(t *testing.T) {
	v4, err := os.ReadFile(filepath.Join(refDir, "seed16", "model.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(v4)
	for _, v := range []string{"v2", "v3", "v4"} {
		if _, err := scoring.Load([]byte(strings.Replace(text, "version=v4", "version="+v, 1))); err != nil {
			t.Errorf("Load(version=%s) = %v, want success", v, err)
		}
	}
	for _, tc := range []struct {
		name, from, to, wantErr string
	}{
		{"future version", "version=v4", "version=v9", "unsupported model version"},
		{"multiclass", "num_class=1", "num_class=3", "only binary models"},
		{"regression", "objective=binary sigmoid:1", "objective=regression", "not supported"},
		{"categorical split", "num_cat=0", "num_cat=1", "categorical splits are not supported"},
		{"categorical decision type", "decision_type=2\n", "decision_type=3\n", "categorical splits are not supported"},
		{"linear tree", "is_linear=0", "is_linear=1", "linear trees are not supported"},
		{"unknown feature", "feature_names=amount ", "feature_names=velocity ", "unknown feature"},
		{"child out of range", "left_child=-1\n", "left_child=-7\n", "out of range"},
		{"missing tree", "Tree=60\n", "Tree=61\n", "expected Tree=60"},
		{"not a model", "tree\n", "hello\n", "not a LightGBM model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(text, tc.from, tc.to, 1)
			if broken == text {
				t.Fatalf("the test's replacement %q did not apply", tc.from)
			}
			_, err := scoring.Load([]byte(broken))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestBundleRoundTrip(t *testing.T) {
	cal := &scoring.Calibration{X: []float64{-10, 0, 10}, Y: []float64{0.001, 0.2, 0.9}}
	thr := scoring.Thresholds{Review: 0.4, Medium: 0.1, High: 0.5, Critical: 0.8}
	b := scoring.Bundle{Name: "one-split", Features: []string{"amount"}, Calibration: cal, Thresholds: thr, ModelText: oneSplit}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"format": "sentinel-model-bundle/1"`) {
		t.Fatalf("a bundle whose calibration has no method is not written as version 1:\n%s", data)
	}
	m, err := scoring.Load(data)
	if err != nil {
		t.Fatalf("Load(bundle) = %v", err)
	}
	if m.Bundle().Name != "one-split" || m.Thresholds() != thr {
		t.Fatalf("bundle metadata = %+v", m.Bundle())
	}
	tx := scoring.Transaction{Type: "TRANSFER", Amount: 500, NameOrig: "C1", NameDest: "C2"}
	res := m.Predict(&tx)
	// margin 2 lies between blocks (0, 0.2) and (10, 0.9): 0.2 + 0.7·0.2 = 0.34.
	if math.Abs(res.Score-0.34) > 1e-12 || res.Band != scoring.BandLow && res.Band != scoring.BandMedium {
		t.Fatalf("score %v band %v, want 0.34 medium", res.Score, res.Band)
	}
	if res.Band != scoring.BandMedium || res.Review {
		t.Fatalf("band %v review %v, want medium, no review (threshold 0.4)", res.Band, res.Review)
	}
	bad := strings.Replace(string(data), `"amount"`, `"hour"`, 1)
	if _, err := scoring.Load([]byte(bad)); err == nil {
		t.Fatal("Load(bundle whose features differ from the model's) = nil error")
	}
}

func TestOldFormatCalibrationStillLoads(t *testing.T) {
	// A bundle as Sentinel wrote it before calibrations had a method: blocks
	// at 0 and 1 and flat ends. It loads and scores as it always did.
	old := `{"format": "sentinel-model-bundle/1", "name": "old", "features": ["amount"],
		"calibration": {"x": [-1, 2], "y": [0, 1]},
		"thresholds": {"review": 0.5, "medium": 0.3, "high": 0.6, "critical": 0.85},
		"model_text": ` + strconv.Quote(oneSplit) + `}`
	m, err := scoring.Load([]byte(old))
	if err != nil {
		t.Fatalf("Load(old bundle) = %v", err)
	}
	if c := m.Bundle().Calibration; c == nil || c.Method != "" || c.TailSlope != 0 {
		t.Fatalf("old calibration = %+v, want no method and no tail slope", c)
	}
	for margin, want := range map[float64]float64{-50: 0, -1: 0, 0.5: 0.5, 2: 1, 50: 1} {
		if got := m.Calibrate(margin); got != want {
			t.Errorf("Calibrate(%v) = %v, want %v", margin, got, want)
		}
	}
}

func TestLogitCalibrationRoundTrip(t *testing.T) {
	cal := &scoring.Calibration{Method: scoring.CalibrationLogit, X: []float64{-1, 2}, Y: []float64{0.01, 0.98}, TailSlope: 0.7}
	b := scoring.Bundle{Name: "one-split", Features: []string{"amount"}, Calibration: cal, Thresholds: scoring.DefaultThresholds, ModelText: oneSplit}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"format": "sentinel-model-bundle/2"`, `"method": "isotonic-logit"`, `"tail_slope": 0.7`} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("encoded bundle lacks %s:\n%s", want, data)
		}
	}
	m, err := scoring.Load(data)
	if err != nil {
		t.Fatalf("Load(bundle) = %v", err)
	}
	if got := m.Bundle().Calibration; !reflect.DeepEqual(got, cal) {
		t.Fatalf("calibration after a round trip = %+v, want %+v", got, cal)
	}
	// The one-split model's margins are −1 and 2: the two block centres.
	for amount, want := range map[float64]float64{50: 0.01, 500: 0.98} {
		tx := scoring.Transaction{Type: "TRANSFER", Amount: amount, NameOrig: "C1", NameDest: "C2"}
		if got := m.Predict(&tx).Score; math.Abs(got-want) > 1e-15 {
			t.Errorf("amount %v: score %v, want %v", amount, got, want)
		}
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"negative tail slope", `"tail_slope": 0.7`, `"tail_slope": -0.7`, "tail_slope"},
		// A Sentinel that reads only version 1 would ignore the method and score differently.
		{"method in a version 1 bundle", "sentinel-model-bundle/2", "sentinel-model-bundle/1", "no calibration methods"},
		{"unknown version", "sentinel-model-bundle/2", "sentinel-model-bundle/3", "is not"},
	} {
		broken := strings.Replace(string(data), tc.from, tc.to, 1)
		if _, err := scoring.Load([]byte(broken)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestBandsAndWatchlist(t *testing.T) {
	thr := scoring.DefaultThresholds
	for score, want := range map[float64]scoring.Band{
		0: scoring.BandLow, 0.2999: scoring.BandLow, 0.3: scoring.BandMedium, 0.6: scoring.BandHigh,
		0.8499: scoring.BandHigh, 0.85: scoring.BandCritical, 1: scoring.BandCritical,
	} {
		if got := thr.BandOf(score); got != want {
			t.Errorf("BandOf(%v) = %v, want %v", score, got, want)
		}
	}
	m, err := scoring.Load([]byte(oneSplit))
	if err != nil {
		t.Fatal(err)
	}
	tx := scoring.Transaction{Type: "PAYMENT", Amount: 50, NameOrig: "C1", NameDest: "M1"}
	plain := m.Predict(&tx)
	if plain.Band != scoring.BandLow {
		t.Fatalf("plain band = %v, want low", plain.Band)
	}
	blocked := m.Score(&tx, scoring.Watch{ReceiverBlocked: true})
	if blocked.Band != scoring.BandCritical || blocked.Override != "blocked account" || blocked.ModelBand != scoring.BandLow || !blocked.Review {
		t.Fatalf("blocked receiver = %+v, want critical, reason blocked account, model band low, review", blocked)
	}
	trusted := m.Score(&tx, scoring.Watch{SenderTrusted: true})
	if trusted.Band != plain.Band || !trusted.Trusted || trusted.Score != plain.Score {
		t.Fatalf("trusted sender = %+v, want band kept and flagged", trusted)
	}
	for _, w := range []scoring.Watch{{}, {ReceiverBlocked: true}, {SenderTrusted: true}} {
		res, ex := m.ScoreExplain(&tx, w, 3)
		if want := m.Score(&tx, w); res != want {
			t.Errorf("ScoreExplain(%+v) result = %+v, want Score's %+v", w, res, want)
		}
		if want := m.Explain(&tx, 3); !reflect.DeepEqual(ex, want) {
			t.Errorf("ScoreExplain(%+v) explanation = %+v, want Explain's %+v", w, ex, want)
		}
	}
	if err := (scoring.Thresholds{Review: 0.5, Medium: 0.7, High: 0.6, Critical: 0.9}).Validate(); err == nil {
		t.Error("Validate(falling cut-offs) = nil")
	}
}

func TestExplanationsReadWell(t *testing.T) {
	m := loadRef(t, "seed16")
	fraud := scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1", OldBalanceOrg: 181000,
		NewBalanceOrig: 0, NameDest: "C2", OldBalanceDest: 0, NewBalanceDest: 0}
	ex := m.Explain(&fraud, 5)
	if len(ex.Top) == 0 || len(ex.Top) > 5 {
		t.Fatalf("top = %d contributions, want 1..5", len(ex.Top))
	}
	for i := 1; i < len(ex.Top); i++ {
		if math.Abs(ex.Top[i].Contribution) > math.Abs(ex.Top[i-1].Contribution) {
			t.Fatalf("top is not sorted by size: %+v", ex.Top)
		}
	}
	t.Logf("fraud: %s", ex.Summary)
	for _, want := range []string{"This transfer of 181,000.00 scores as critical risk", "moving 100% of the sender's balance", "raise"} {
		if !strings.Contains(ex.Summary, want) {
			t.Errorf("fraud summary %q lacks %q", ex.Summary, want)
		}
	}
	legit := scoring.Transaction{Step: 10, Type: "PAYMENT", Amount: 9839.64, NameOrig: "C3", OldBalanceOrg: 170136,
		NewBalanceOrig: 160296.36, NameDest: "M1", OldBalanceDest: 0, NewBalanceDest: 0}
	lx := m.Explain(&legit, 5)
	t.Logf("legit: %s", lx.Summary)
	if !strings.HasPrefix(lx.Summary, "This payment of 9,839.64 scores as low risk: ") {
		t.Errorf("legit summary %q does not describe a low-risk payment", lx.Summary)
	}
	if again := m.Explain(&legit, 5); again.Summary != lx.Summary {
		t.Error("the summary is not deterministic")
	}
}

func TestConcurrentScoring(t *testing.T) {
	rows := readRefRows(t)
	m := loadRef(t, "seed16")
	want := make([]float64, len(rows))
	for i := range rows {
		want[i] = m.Predict(&rows[i]).RawMargin
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rows {
				if got := m.Predict(&rows[i]).RawMargin; got != want[i] {
					t.Errorf("row %d: concurrent margin %v, want %v", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzLoad(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join(refDir, "seed16", "model.txt"))
	f.Add([]byte(oneSplit))
	f.Add(seed[:len(seed)/3])
	f.Add([]byte(strings.Replace(oneSplit, "left_child=-1", "left_child=0", 1)))
	f.Add([]byte(`{"format":"sentinel-model-bundle/1","model_text":"tree"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := scoring.Load(data)
		if err != nil {
			return
		}
		// A model that loads must score without panicking.
		tx := scoring.Transaction{Type: "TRANSFER", Amount: 10, NameOrig: "C1", NameDest: "C2"}
		m.Predict(&tx)
		m.Explain(&tx, 3)
	})
}

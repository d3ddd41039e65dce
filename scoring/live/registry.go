package live

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

// MaxModelFile is the largest model file the registry imports.
const MaxModelFile = 32 << 20

// Registry is the model registry: it imports model files, promotes and
// rolls back versions, runs a challenger in shadow, sets thresholds and
// compares versions. The admin forms, the CLI and the tests share it. With
// a scorer, every change is swapped into this process's live models at
// once; other replicas take it within their Watch interval.
type Registry struct {
	scorer *Scorer // nil: no live models in this process (the CLI)
	cards  sync.Map
	// loaded keeps the last few versions loaded for comparisons and
	// what-ifs: loading one (parse, cross-check, TreeSHAP tables) takes
	// 0.1 to 0.3 s, longer than rescoring thousands of transactions.
	mu     sync.Mutex
	loaded []loadedModel
}

// loadedModel is a version loaded outside the live slots.
type loadedModel struct {
	id       string
	revision int
	m        *scoring.Model
}

// maxLoaded is how many such versions the registry keeps.
const maxLoaded = 4

// NewRegistry returns the registry; scorer may be nil.
func NewRegistry(scorer *Scorer) *Registry { return &Registry{scorer: scorer} }

// RefusedError is a change the registry refused, with a message for the
// person who asked for it.
type RefusedError struct {
	Message string
	Err     error
}

func (e *RefusedError) Error() string { return e.Message }
func (e *RefusedError) Unwrap() error { return e.Err }

func refused(err error, format string, args ...any) error {
	return &RefusedError{Message: fmt.Sprintf(format, args...), Err: err}
}

// ImportInput is a model file to import.
type ImportInput struct {
	// Name is the model's name; empty takes the bundle's.
	Name     string
	FileName string
	Data     []byte
}

// Import checks a Sentinel bundle or a plain LightGBM model text file with
// every check loading makes (supported kind, registry features, leaves
// against the own tree walk, TreeSHAP local accuracy on probe rows) and
// stores it as the next staging version of its name, with the file's
// SHA-256, audited. A plain LightGBM file is stored wrapped in a bundle
// with the default thresholds. A refused file stores nothing and comes
// back as a *RefusedError.
func (r *Registry) Import(ctx context.Context, t store.Tenant, a store.Actor, in ImportInput) (*store.ModelVersion, error) {
	if len(in.Data) == 0 {
		return nil, refused(nil, "The file is empty.")
	}
	if len(in.Data) > MaxModelFile {
		return nil, refused(nil, "The file is larger than the %d MB allowed.", MaxModelFile>>20)
	}
	if !utf8.Valid(in.Data) || bytes.IndexByte(in.Data, 0) >= 0 {
		return nil, refused(nil, "The file is not a model: it is not UTF-8 text (a Sentinel bundle is JSON, a LightGBM model is text).")
	}
	m, err := scoring.Load(in.Data)
	if err != nil {
		return nil, refused(err, "The model was refused: %s.", strings.TrimPrefix(err.Error(), "scoring: "))
	}
	b := m.Bundle()
	bundle := in.Data
	plain := !isBundle(in.Data)
	name := strings.TrimSpace(in.Name)
	if name == "" && !plain {
		name = b.Name
	}
	if name == "" {
		name = strings.TrimSuffix(cleanFileName(in.FileName), filepath.Ext(in.FileName))
	}
	if msg := nameProblem(name); msg != "" {
		return nil, refused(nil, "%s", msg)
	}
	if plain {
		b.Name, b.ModelText = name, string(in.Data)
		if bundle, err = b.Encode(); err != nil {
			return nil, err
		}
	}
	thresholds, err := json.Marshal(b.Thresholds)
	if err != nil {
		return nil, err
	}
	features, err := json.Marshal(b.Features)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(in.Data)
	return store.ImportModel(ctx, t, a, store.NewModelVersion{
		Name: name, Bundle: bundle, Metrics: b.Metrics, Thresholds: thresholds, FeatureSet: features,
		Stage: store.StageStaging, SHA256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(in.Data)),
		FileName: cleanFileName(in.FileName), CreatedBy: userID(a),
	})
}

func isBundle(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

func userID(a store.Actor) *string {
	if a.UserID == "" {
		return nil
	}
	return &a.UserID
}

// nameProblem says what is wrong with a model name, or "" when nothing:
// 1 to 64 letters, digits, dots, dashes and underscores.
func nameProblem(name string) string {
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return "Give the model a name of 1 to 64 characters."
	}
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(".-_", c) {
			return "A model name holds letters, digits, dots, dashes and underscores only."
		}
	}
	return ""
}

// cleanFileName keeps the base name of an uploaded file, as valid UTF-8
// without control characters, at most 200 bytes.
func cleanFileName(name string) string {
	name = strings.ToValidUTF8(filepath.Base(strings.ReplaceAll(name, `\`, "/")), "")
	name = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, name)
	if name == "." || name == "/" {
		return ""
	}
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// Promote makes version id the tenant's production model and archives the
// one it replaces, audited; rolling back is promoting the previous
// version. This process swaps at once, other replicas within their Watch
// interval. It returns the replaced version (nil when none) and the new one.
func (r *Registry) Promote(ctx context.Context, t store.Tenant, a store.Actor, id string) (before, after *store.ModelVersion, err error) {
	before, after, err = store.PromoteModel(ctx, t, a, id)
	switch {
	case errors.Is(err, store.ErrAlreadyProduction):
		return nil, nil, refused(err, "This version is already in production.")
	case errors.Is(err, store.ErrConcurrentChange):
		return nil, nil, refused(err, "Another change of model stages happened at the same time. Reload the page and try again.")
	case err != nil:
		return nil, nil, err
	}
	return before, after, r.reload(ctx, t)
}

// SetStage moves a version to staging, shadow or archived, audited. A new
// shadow version replaces the previous one, which returns to staging.
func (r *Registry) SetStage(ctx context.Context, t store.Tenant, a store.Actor, id, stage string) (*store.ModelVersion, error) {
	mv, err := store.SetModelStage(ctx, t, a, id, stage)
	switch {
	case errors.Is(err, store.ErrProductionStage):
		return nil, refused(err, "The production version leaves production only when another version is promoted.")
	case errors.Is(err, store.ErrBadStage):
		return nil, refused(err, "Choose staging, shadow or archived; production goes through promotion.")
	case errors.Is(err, store.ErrConcurrentChange):
		return nil, refused(err, "Another change of model stages happened at the same time. Reload the page and try again.")
	case err != nil:
		return nil, err
	}
	return mv, r.reload(ctx, t)
}

// SetThresholds validates and sets a version's thresholds, audited with the
// old and new values. When the version is live, the next transaction this
// process scores uses them; other replicas follow within their Watch
// interval.
func (r *Registry) SetThresholds(ctx context.Context, t store.Tenant, a store.Actor, id string, th scoring.Thresholds) (*store.ModelVersion, error) {
	if err := th.ValidateSetting(); err != nil {
		return nil, refused(err, "Thresholds not saved: %s.", err)
	}
	b, err := json.Marshal(th)
	if err != nil {
		return nil, err
	}
	mv, err := store.SetModelThresholds(ctx, t, a, id, b)
	if err != nil {
		return nil, err
	}
	return mv, r.reload(ctx, t)
}

// reload swaps the change into this process's live models.
func (r *Registry) reload(ctx context.Context, t store.Tenant) error {
	if r.scorer == nil {
		return nil
	}
	if _, err := r.scorer.Reload(ctx, t); err != nil && !errors.Is(err, ErrNoModel) {
		return err
	}
	return nil
}

// Thresholds are the thresholds version mv scores with: those set in the
// registry, or else its bundle's.
func (r *Registry) Thresholds(ctx context.Context, t store.Tenant, mv *store.ModelVersion) (scoring.Thresholds, error) {
	if len(mv.Thresholds) > 0 && string(mv.Thresholds) != "null" {
		var th scoring.Thresholds
		if err := json.Unmarshal(mv.Thresholds, &th); err != nil {
			return th, fmt.Errorf("live: thresholds of %s: %w", mv.ID, err)
		}
		return th, nil
	}
	card, err := r.Card(ctx, t, mv.ID)
	if err != nil {
		return scoring.Thresholds{}, err
	}
	return card.Bundle.Thresholds, nil
}

// model returns version id loaded to score, with the thresholds it scores
// with: this process's live model when it is that version, else read from
// the database and checked.
func (r *Registry) model(ctx context.Context, t store.Tenant, id string) (*scoring.Model, *store.ModelVersion, error) {
	mv, err := store.GetModelVersionInfo(ctx, t, id)
	if err != nil {
		return nil, nil, err
	}
	if r.scorer != nil {
		for _, v := range []*Version{r.scorer.slot(t.ID()).Load(), r.scorer.Shadow(t)} {
			if v != nil && v.VersionID == id && v.Revision == mv.Revision {
				return v.Model, mv, nil
			}
		}
	}
	key := t.ID() + "/" + id
	r.mu.Lock()
	for _, l := range r.loaded {
		if l.id == key && l.revision == mv.Revision {
			r.mu.Unlock()
			return l.m, mv, nil
		}
	}
	r.mu.Unlock()
	full, err := store.GetModelVersion(ctx, t, id)
	if err != nil {
		return nil, nil, err
	}
	m, err := scoring.Load(full.Bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("live: load model %s v%d: %w", mv.Name, mv.Version, err)
	}
	th, err := registryThresholds(mv, m)
	if err != nil {
		return nil, nil, err
	}
	m = m.WithThresholds(th)
	r.mu.Lock()
	r.loaded = append(r.loaded, loadedModel{id: key, revision: mv.Revision, m: m})
	if len(r.loaded) > maxLoaded {
		r.loaded = r.loaded[1:]
	}
	r.mu.Unlock()
	return m, mv, nil
}

// Summary is the headline of a version's training report, on its hidden
// test split. Known is false when the bundle carries no report.
type Summary struct {
	Known             bool
	AP                float64
	ROCAUC            float64
	Brier             float64
	ECE               float64
	PrecisionAtReview float64
	RecallAtReview    float64
}

// Card is what a version's bundle says about it: the bundle without its
// model text, its training report (nil when it has none, as for a plain
// LightGBM file) and the report's headline.
type Card struct {
	Bundle  scoring.Bundle
	Report  *training.Report
	Summary Summary
}

// Card reads version id's bundle for its model card. Bundles never change,
// so cards are kept once read.
func (r *Registry) Card(ctx context.Context, t store.Tenant, id string) (*Card, error) {
	key := t.ID() + "/" + id
	if c, ok := r.cards.Load(key); ok {
		return c.(*Card), nil
	}
	mv, err := store.GetModelVersion(ctx, t, id)
	if err != nil {
		return nil, err
	}
	c := &Card{}
	if err := json.Unmarshal(mv.Bundle, &c.Bundle); err != nil {
		return nil, fmt.Errorf("live: bundle of %s: %w", id, err)
	}
	c.Bundle.ModelText = ""
	if len(c.Bundle.Report) > 0 {
		if rep, err := training.ReportOf(c.Bundle); err == nil {
			c.Report = rep
			c.Summary = Summary{Known: true, AP: rep.Test.AveragePrecision, ROCAUC: rep.Test.ROCAUC, Brier: rep.Test.Brier,
				ECE: rep.Test.ECE, PrecisionAtReview: rep.Test.AtReview.Precision, RecallAtReview: rep.Test.AtReview.Recall}
		}
	}
	r.cards.Store(key, c)
	return c, nil
}

package scoring

import (
	"encoding/json"
	"fmt"
)

// Versions of the model bundle file (docs/model-bundle.md). Version 2 added
// calibration methods (Calibration.Method). A bundle is written as version 1
// when its calibration has no method, so that a Sentinel that predates
// methods, which would ignore one and score differently, refuses exactly the
// bundles it cannot score.
const (
	BundleFormat   = "sentinel-model-bundle/2"
	BundleFormatV1 = "sentinel-model-bundle/1"
)

// Fingerprint identifies the data a model was trained on.
type Fingerprint struct {
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256"`
	Rows   int64  `json:"rows"`
	Frauds int64  `json:"frauds"`
}

// Bundle is the self-describing model artifact: LightGBM model text plus
// everything needed to turn its margin into a decision. It is one JSON
// document; see docs/model-bundle.md.
type Bundle struct {
	Format      string          `json:"format"`
	Name        string          `json:"name"`
	CreatedAt   string          `json:"created_at,omitempty"`
	Features    []string        `json:"features"`
	Calibration *Calibration    `json:"calibration,omitempty"`
	Thresholds  Thresholds      `json:"thresholds"`
	Metrics     json.RawMessage `json:"metrics,omitempty"`
	Data        *Fingerprint    `json:"data,omitempty"`
	Report      json.RawMessage `json:"report,omitempty"`
	// Baseline is the training split's distributions (drift compares with
	// it); CalibrationCurve the calibration split's labelled scores by
	// tuner threshold (the cost tuner's first source). Both are optional:
	// bundles written before them load as they did.
	Baseline         *Baseline  `json:"baseline,omitempty"`
	CalibrationCurve *CurveData `json:"calibration_curve,omitempty"`
	ModelText        string     `json:"model_text"`
}

// Encode writes the bundle as indented JSON, setting Format to the oldest
// version that reads it correctly.
func (b *Bundle) Encode() ([]byte, error) {
	b.Format = BundleFormat
	if b.Calibration == nil || b.Calibration.Method == "" {
		b.Format = BundleFormatV1
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("scoring: encode bundle: %w", err)
	}
	return append(out, '\n'), nil
}

func decodeBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("bundle is not valid JSON: %w", err)
	}
	switch b.Format {
	case BundleFormat:
	case BundleFormatV1:
		if b.Calibration != nil && b.Calibration.Method != "" {
			return nil, fmt.Errorf("bundle format %q has no calibration methods; a bundle with one is %q", BundleFormatV1, BundleFormat)
		}
	default:
		return nil, fmt.Errorf("bundle format %q is not %q or %q", b.Format, BundleFormat, BundleFormatV1)
	}
	if b.ModelText == "" {
		return nil, fmt.Errorf("bundle has no model_text")
	}
	if err := b.Calibration.Validate(); err != nil {
		return nil, err
	}
	if err := b.Thresholds.Validate(); err != nil {
		return nil, err
	}
	if err := b.Baseline.Validate(); err != nil {
		return nil, err
	}
	if c := b.CalibrationCurve; c != nil && len(c.Bins) != len(TunerGrid) {
		return nil, fmt.Errorf("bundle calibration_curve has %d bins; want %d (one per tuner threshold)", len(c.Bins), len(TunerGrid))
	}
	return &b, nil
}

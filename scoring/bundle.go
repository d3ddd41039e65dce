package scoring

import (
	"encoding/json"
	"fmt"
)

// BundleFormat identifies version 1 of the model bundle file (docs/model-bundle.md).
const BundleFormat = "sentinel-model-bundle/1"

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
	ModelText   string          `json:"model_text"`
}

// Encode writes the bundle as indented JSON.
func (b *Bundle) Encode() ([]byte, error) {
	b.Format = BundleFormat
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
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("bundle format %q is not %q", b.Format, BundleFormat)
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
	return &b, nil
}

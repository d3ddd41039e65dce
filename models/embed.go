// Package models holds the default model bundle, trained by `make model` on
// shared/data/paysim/paysim-train.csv.gz (see docs/model_card.md), embedded
// so `sentinel seed` can register it without any file at run time.
package models

import _ "embed"

// DefaultName is the name the default model is registered under.
const DefaultName = "paysim-gbdt"

// Default is the default model bundle (JSON, docs/model-bundle.md).
//
//go:embed paysim-gbdt.json
var Default []byte

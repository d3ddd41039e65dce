package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestWaterfallOptions(t *testing.T) {
	ex := scoring.Explanation{BaseValue: -10}
	for i, f := range scoring.Registry()[:14] {
		ex.All = append(ex.All, scoring.Contribution{Feature: f.Name, Label: f.Label, Value: float64(i), Contribution: float64(i+1) - 7.5})
	}
	ex.All[0].Contribution = 0 // zero contributions get no bar
	ex.RawMargin = ex.BaseValue
	for _, c := range ex.All {
		ex.RawMargin += c.Contribution
	}
	js, err := waterfallOptions(ex)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		YAxis  []struct{ Data []string } `json:"yAxis"`
		Series []struct {
			StackStrategy string           `json:"stackStrategy"`
			Data          []map[string]any `json:"data"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatalf("options are not JSON: %v", err)
	}
	cats := o.YAxis[0].Data
	// Base, 10 named features, "Other features (3)", raw margin.
	if len(cats) != 13 || !strings.HasPrefix(cats[0], "Base value") || cats[11] != "Other features (3)" || !strings.HasPrefix(cats[12], "Raw margin") {
		t.Fatalf("categories = %q", cats)
	}
	if len(o.Series) != 2 || o.Series[0].StackStrategy != "all" || o.Series[1].StackStrategy != "all" {
		t.Fatalf("series = %+v, want two stacked with stackStrategy all", o.Series)
	}
	// Each floating bar starts where the previous one ended.
	offsets, deltas := o.Series[0].Data, o.Series[1].Data
	cum := -10.0
	for i := 1; i < 12; i++ {
		start, _ := offsets[i]["value"].(float64)
		if d := start - cum; d > 1e-9 || d < -1e-9 {
			t.Fatalf("bar %d (%s) starts at %v, want %v", i, cats[i], start, cum)
		}
		delta, _ := deltas[i]["value"].(float64)
		cum += delta
	}
	if d := cum - ex.RawMargin; d > 1e-9 || d < -1e-9 {
		t.Fatalf("bars end at %v, want the raw margin %v", cum, ex.RawMargin)
	}
	if strings.Contains(js, "#") {
		t.Error("the chart carries raw colours; it must use theme tokens")
	}
}

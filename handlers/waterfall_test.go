package handlers

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// rawColour is a colour written as a value instead of a theme token.
var rawColour = regexp.MustCompile(`"(#[0-9a-fA-F]{3,8}|rgba?\([^"]*)"`)

// waterfallJSON is the part of the waterfall's options the tests read.
type waterfallJSON struct {
	BaseOption struct {
		YAxis []struct {
			Data      []string       `json:"data"`
			AxisLabel map[string]any `json:"axisLabel"`
		} `json:"yAxis"`
		Tooltip map[string]any `json:"tooltip"`
		Series  []struct {
			StackStrategy string           `json:"stackStrategy"`
			Silent        bool             `json:"silent"`
			Data          []map[string]any `json:"data"`
		} `json:"series"`
	} `json:"baseOption"`
	Media []struct {
		Query  map[string]float64 `json:"query"`
		Option struct {
			YAxis []struct {
				AxisLabel map[string]any `json:"axisLabel"`
			} `json:"yAxis"`
		} `json:"option"`
	} `json:"media"`
}

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
	chart, err := waterfall(ex)
	if err != nil {
		t.Fatal(err)
	}
	js := chart.Options
	var w waterfallJSON
	if err := json.Unmarshal([]byte(js), &w); err != nil {
		t.Fatalf("options are not JSON: %v", err)
	}
	o := w.BaseOption
	cats := o.YAxis[0].Data
	// Base, 10 named features, "Other features (3)", raw margin.
	if len(cats) != 13 || !strings.HasPrefix(cats[0], "Base value") || cats[11] != "Other features (3)" || !strings.HasPrefix(cats[12], "Raw margin") {
		t.Fatalf("categories = %q", cats)
	}
	if len(o.Series) != 2 || o.Series[0].StackStrategy != "all" || o.Series[1].StackStrategy != "all" {
		t.Fatalf("series = %+v, want two stacked with stackStrategy all", o.Series)
	}
	if !o.Series[0].Silent || o.Series[1].Silent {
		t.Errorf("silent = %v, %v; want the invisible offsets silent and the bars with tooltips", o.Series[0].Silent, o.Series[1].Silent)
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
	if c := rawColour.FindString(js); c != "" {
		t.Errorf("the chart carries the raw colour %s; it must use theme tokens", c)
	}

	t.Run("has a table of every bar with its whole label", func(t *testing.T) {
		rows := chart.Table.Rows
		if len(rows) != len(cats) {
			t.Fatalf("table has %d rows, want %d", len(rows), len(cats))
		}
		for i, r := range rows {
			if len(r) != len(chart.Table.Head) || r[0] != cats[i] || r[1] != signed(deltas[i]["value"].(float64)) {
				t.Errorf("table row %d = %q, want %q and the bar's contribution", i, r, cats[i])
			}
		}
	})

	t.Run("lays labels out for a narrow chart", func(t *testing.T) {
		if len(w.Media) != 2 || w.Media[0].Query != nil || w.Media[1].Query["maxWidth"] != waterfallNarrowMax {
			t.Fatalf("media = %+v, want a default and a query for charts up to %dpx", w.Media, waterfallNarrowMax)
		}
		if l := w.Media[0].Option.YAxis[0].AxisLabel; l["overflow"] != "truncate" || l["width"] != float64(waterfallWideLabel) {
			t.Errorf("wide axis label = %v, want cut at %dpx", l, waterfallWideLabel)
		}
		if l := w.Media[1].Option.YAxis[0].AxisLabel; l["overflow"] != "break" || l["width"] != float64(waterfallNarrowLabel) {
			t.Errorf("narrow axis label = %v, want broken over lines at %dpx", l, waterfallNarrowLabel)
		}
		if o.Tooltip["show"] != true || o.Tooltip["confine"] != true {
			t.Errorf("tooltip = %v, want shown and confined to the chart", o.Tooltip)
		}
	})
}

func TestWaterfallLongLabels(t *testing.T) {
	long := "Amount relative to sender balance <b>and</b> " + strings.Repeat("x", 40)
	ex := scoring.Explanation{BaseValue: -2, RawMargin: -1.5, All: []scoring.Contribution{
		{Feature: "no_such_feature", Label: long, Value: 0.5, Contribution: 0.5}}}
	chart, err := waterfall(ex)
	if err != nil {
		t.Fatal(err)
	}
	var w waterfallJSON
	if err := json.Unmarshal([]byte(chart.Options), &w); err != nil {
		t.Fatal(err)
	}
	whole := long + " = 0.5"
	axis := w.BaseOption.YAxis[0].Data[1]
	if n := len([]rune(axis)); n != waterfallMaxLabel || !strings.HasSuffix(axis, "…") || !strings.HasPrefix(whole, strings.TrimSuffix(axis, "…")) {
		t.Errorf("axis label = %q (%d runes), want the label cut to %d runes with an ellipsis", axis, n, waterfallMaxLabel)
	}
	tip, _ := w.BaseOption.Series[1].Data[1]["tooltip"].(map[string]any)
	formatter, _ := tip["formatter"].(string)
	if !strings.Contains(formatter, "&lt;b&gt;and&lt;/b&gt; "+strings.Repeat("x", 40)+" = 0.5") || !strings.Contains(formatter, "+0.500") {
		t.Errorf("tooltip = %q, want the whole label, escaped, and the contribution", formatter)
	}
	if got := chart.Table.Rows[1][0]; got != whole {
		t.Errorf("table label = %q, want the whole label %q", got, whole)
	}
}

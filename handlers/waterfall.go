package handlers

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"sort"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/views"
)

// waterfallTop is how many contributions the waterfall names; the rest are
// summed into one "other features" bar.
const waterfallTop = 10

// Colours are theme tokens; the page script resolves them from the stylesheet.
const (
	colorUp      = "var(--color-danger)"
	colorDown    = "var(--color-success)"
	colorTotal   = "var(--color-primary)"
	colorText    = "var(--color-text)"
	colorMuted   = "var(--color-text-muted)"
	colorBorder  = "var(--color-border)"
	colorSurface = "var(--color-surface)"
)

// Axis label sizes of the waterfall. A wide chart writes each label on one
// line and cuts the rare longer one with an ellipsis; a narrow one (a phone)
// breaks labels over lines in a column of waterfallNarrowLabel pixels, so
// that the bars keep most of the width. Labels longer than
// waterfallMaxLabel runes are cut on the axis in any case (three lines at
// most on a phone); the tooltip and the table keep them whole.
const (
	waterfallWideLabel   = 260
	waterfallNarrowLabel = 140
	waterfallNarrowMax   = 520 // container width, in pixels, up to which the chart is narrow
	waterfallMaxLabel    = 56
)

// waterfallBar is one bar of the waterfall.
type waterfallBar struct {
	label string // whole: the feature's human name and value
	start float64
	delta float64
	color string
	note  string // what the bar means, for the tooltip
}

// waterfallBars lays out the SHAP waterfall of an explanation: base value,
// the top contributions (each labelled with the feature's human name and
// value), the rest summed, and the raw margin.
func waterfallBars(ex scoring.Explanation) []waterfallBar {
	var all []scoring.Contribution
	for _, c := range ex.All {
		if c.Contribution != 0 {
			all = append(all, c)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return math.Abs(all[i].Contribution) > math.Abs(all[j].Contribution) })
	top := all
	if len(top) > waterfallTop {
		top = top[:waterfallTop]
	}
	other := 0.0
	for _, c := range all[len(top):] {
		other += c.Contribution
	}
	direction := func(d float64) (string, string) {
		if d < 0 {
			return colorDown, "lowers the score"
		}
		return colorUp, "raises the score"
	}
	bars := []waterfallBar{{label: "Base value (typical transaction)", delta: ex.BaseValue, color: colorTotal,
		note: "where every transaction starts"}}
	cum := ex.BaseValue
	for _, c := range top {
		color, note := direction(c.Contribution)
		bars = append(bars, waterfallBar{label: fmt.Sprintf("%s = %s", c.Label, featureValue(c)),
			start: cum, delta: c.Contribution, color: color, note: note})
		cum += c.Contribution
	}
	if len(all) > len(top) {
		color, note := direction(other)
		bars = append(bars, waterfallBar{label: fmt.Sprintf("Other features (%d)", len(all)-len(top)),
			start: cum, delta: other, color: color, note: note})
	}
	return append(bars, waterfallBar{label: "Raw margin (log-odds)", delta: ex.RawMargin, color: colorTotal,
		note: "this transaction's margin: the base value plus every contribution"})
}

// waterfall builds the SHAP waterfall chart of an explanation and its text
// fallback, a table of the same bars with their whole labels.
func waterfall(ex scoring.Explanation) (views.ChartProps, error) {
	bars := waterfallBars(ex)
	js, err := waterfallOptions(bars)
	if err != nil {
		return views.ChartProps{}, err
	}
	p := views.ChartProps{
		TestID:  "waterfall",
		Options: js,
		Label:   "SHAP waterfall: how each feature moves the score from the base value to this transaction's margin",
		Table: views.ChartTable{
			Caption: "SHAP contributions in log-odds, largest first, from the base value to the raw margin",
			Head:    []string{"Feature", "Log-odds"},
		},
	}
	for _, b := range bars {
		p.Table.Rows = append(p.Table.Rows, []string{b.label, signed(b.delta)})
	}
	return p, nil
}

// waterfallOptions builds the ECharts options of the waterfall with
// go-echarts. Bars float on an invisible offset series stacked with
// ECharts' stackStrategy "all", so negative margins stack correctly. A media
// query lays the chart out for a narrow container.
func waterfallOptions(bars []waterfallBar) (string, error) {
	var cats []string
	var offset, deltas []opts.BarData
	for _, b := range bars {
		cats = append(cats, axisLabel(b.label))
		offset = append(offset, opts.BarData{Value: b.start})
		deltas = append(deltas, opts.BarData{Value: b.delta, ItemStyle: &opts.ItemStyle{Color: b.color},
			Label: &opts.Label{Show: opts.Bool(true), Position: "right", Formatter: signed(b.delta), Color: colorText},
			// ECharts writes a tooltip's formatter string as HTML: escape the text.
			Tooltip: &opts.Tooltip{Formatter: types.FuncStr(html.EscapeString(b.label) + "<br/><b>" + signed(b.delta) +
				"</b> log-odds: " + html.EscapeString(b.note))},
		})
	}

	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item",
			BackgroundColor: colorSurface, BorderColor: colorBorder}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "3%", Right: "12%", Top: "2%", Bottom: "2%", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", AxisLabel: &opts.AxisLabel{Color: colorMuted, HideOverlap: opts.Bool(true)},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: colorBorder}}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: cats, Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Color: colorText, Interval: "0"}}),
	)
	b.AddSeries("offset", offset, charts.WithBarChartOpts(opts.BarChart{Stack: "w"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"}))
	b.AddSeries("contribution", deltas, charts.WithBarChartOpts(opts.BarChart{Stack: "w"}))

	// go-echarts has no fields for what follows (stackStrategy, ECharts ≥
	// 5.5; label width and overflow; tooltip text style; media queries): set
	// them on the options' JSON form.
	raw, err := json.Marshal(b.JSON())
	if err != nil {
		return "", fmt.Errorf("waterfall options: %w", err)
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", fmt.Errorf("waterfall options: %w", err)
	}
	delete(o, "title")
	delete(o, "toolbox")
	delete(o, "color") // go-echarts' default palette: every bar has its own token colour
	series, _ := o["series"].([]any)
	for i, sr := range series {
		s := sr.(map[string]any)
		s["stackStrategy"] = "all"
		s["silent"] = i == 0 // the offset bars are invisible: no hover, no tooltip
	}
	tooltip := o["tooltip"].(map[string]any)
	tooltip["confine"] = true
	tooltip["textStyle"] = map[string]any{"color": colorText}
	o["yAxis"].([]any)[0].(map[string]any)["axisLabel"].(map[string]any)["ellipsis"] = "…"
	// ECharts media queries test the chart's own width, and resizing the
	// chart applies them again. Options merge, so the query-less default
	// restores what the narrow layout changes when the chart widens again.
	options := map[string]any{
		"baseOption": o,
		"media": []any{
			map[string]any{"option": waterfallLayout(false)},
			map[string]any{"query": map[string]any{"maxWidth": waterfallNarrowMax}, "option": waterfallLayout(true)},
		},
	}
	js, err := json.Marshal(options)
	if err != nil {
		return "", fmt.Errorf("waterfall options: %w", err)
	}
	return string(js), nil
}

// waterfallLayout is what differs between the wide and the narrow
// waterfall: margins, tick count, font sizes, and labels cut on one line or
// broken over several.
func waterfallLayout(narrow bool) map[string]any {
	if !narrow {
		return map[string]any{
			"grid":  []any{map[string]any{"left": "3%", "right": "12%", "top": "2%", "bottom": "2%"}},
			"xAxis": []any{map[string]any{"splitNumber": 5, "axisLabel": map[string]any{"fontSize": 12}}},
			"yAxis": []any{map[string]any{"axisLabel": map[string]any{
				"width": waterfallWideLabel, "overflow": "truncate", "fontSize": 12, "lineHeight": 14}}},
			"series": []any{map[string]any{}, map[string]any{"barMaxWidth": 28, "label": map[string]any{"fontSize": 12}}},
		}
	}
	return map[string]any{
		"grid":  []any{map[string]any{"left": 0, "right": 48, "top": 4, "bottom": 4}},
		"xAxis": []any{map[string]any{"splitNumber": 3, "axisLabel": map[string]any{"fontSize": 11}}},
		"yAxis": []any{map[string]any{"axisLabel": map[string]any{
			"width": waterfallNarrowLabel, "overflow": "break", "fontSize": 12, "lineHeight": 14}}},
		"series": []any{map[string]any{}, map[string]any{"barMaxWidth": 22, "label": map[string]any{"fontSize": 11}}},
	}
}

// axisLabel cuts a label longer than waterfallMaxLabel runes for the axis.
func axisLabel(s string) string {
	r := []rune(s)
	if len(r) <= waterfallMaxLabel {
		return s
	}
	return string(r[:waterfallMaxLabel-1]) + "…"
}

func featureValue(c scoring.Contribution) string {
	if f, ok := scoring.FeatureByName(c.Feature); ok && f.Flag {
		if c.Value == 1 {
			return "yes"
		}
		return "no"
	}
	switch v := c.Value; {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		s := scoring.FormatAmount(v)
		return s[:len(s)-3] // no ".00"
	case math.Abs(v) >= 100:
		return scoring.FormatAmount(v)
	default:
		return fmt.Sprintf("%.4g", v)
	}
}

// signed labels a bar's contribution; tiny ones keep their size readable.
func signed(d float64) string {
	if d != 0 && math.Abs(d) < 0.001 {
		return fmt.Sprintf("%+.1e", d)
	}
	return fmt.Sprintf("%+.3f", d)
}

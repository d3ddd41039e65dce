package handlers

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// waterfallTop is how many contributions the waterfall names; the rest are
// summed into one "other features" bar.
const waterfallTop = 10

// Colours are theme tokens; the page script resolves them from the stylesheet.
const (
	colorUp     = "var(--color-danger)"
	colorDown   = "var(--color-success)"
	colorTotal  = "var(--color-primary)"
	colorText   = "var(--color-text)"
	colorMuted  = "var(--color-text-muted)"
	colorBorder = "var(--color-border)"
)

// waterfallOptions builds the ECharts options of a SHAP waterfall with
// go-echarts: base value, the top contributions (each labelled with the
// feature's human name and value), the rest summed, and the raw margin.
// Bars float on an invisible offset series stacked with ECharts'
// stackStrategy "all", so negative margins stack correctly.
func waterfallOptions(ex scoring.Explanation) (string, error) {
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
	var cats []string
	var offset, bars []opts.BarData
	bar := func(cat string, start, delta float64, color string) {
		cats = append(cats, cat)
		offset = append(offset, opts.BarData{Value: start})
		bars = append(bars, opts.BarData{Value: delta, ItemStyle: &opts.ItemStyle{Color: color},
			Label: &opts.Label{Show: opts.Bool(true), Position: "right", Formatter: signed(delta), Color: colorText}})
	}
	bar("Base value (typical transaction)", 0, ex.BaseValue, colorTotal)
	cum := ex.BaseValue
	for _, c := range top {
		color := colorUp
		if c.Contribution < 0 {
			color = colorDown
		}
		bar(fmt.Sprintf("%s = %s", c.Label, featureValue(c)), cum, c.Contribution, color)
		cum += c.Contribution
	}
	if len(all) > len(top) {
		color := colorUp
		if other < 0 {
			color = colorDown
		}
		bar(fmt.Sprintf("Other features (%d)", len(all)-len(top)), cum, other, color)
		cum += other
	}
	bar("Raw margin (log-odds)", 0, ex.RawMargin, colorTotal)

	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(false)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "3%", Right: "12%", Top: "2%", Bottom: "2%", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", AxisLabel: &opts.AxisLabel{Color: colorMuted},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: colorBorder}}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: cats, Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Color: colorText, Interval: "0"}}),
	)
	b.AddSeries("offset", offset, charts.WithBarChartOpts(opts.BarChart{Stack: "w"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"}))
	b.AddSeries("contribution", bars, charts.WithBarChartOpts(opts.BarChart{Stack: "w"}))
	o := b.JSON()
	// go-echarts has no field for stackStrategy (ECharts ≥ 5.5): set it on
	// both series through their JSON form.
	raw, err := json.Marshal(o["series"])
	if err != nil {
		return "", fmt.Errorf("waterfall series: %w", err)
	}
	var series []map[string]any
	if err := json.Unmarshal(raw, &series); err != nil {
		return "", fmt.Errorf("waterfall series: %w", err)
	}
	for _, sr := range series {
		sr["stackStrategy"] = "all"
		sr["silent"] = true
	}
	o["series"] = series
	delete(o, "title")
	delete(o, "color") // go-echarts' default palette: every bar has its own token colour

	js, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("waterfall options: %w", err)
	}
	return string(js), nil
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

package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/views"
)

// Colours of the model charts' two series, as theme tokens.
const (
	colorSeriesA = "var(--color-primary)"
	colorSeriesB = "var(--color-warning)"
)

// modelCard shapes a version's training report for its page.
func modelCard(card *live.Card) views.ModelCardProps {
	rep := card.Report
	if rep == nil {
		return views.ModelCardProps{Facts: []views.Field{{Label: "Thresholds in the file", Value: fmt.Sprintf("review %g; medium %g, high %g, critical %g",
			card.Bundle.Thresholds.Review, card.Bundle.Thresholds.Medium, card.Bundle.Thresholds.High, card.Bundle.Thresholds.Critical)}}}
	}
	c := views.ModelCardProps{HasReport: true}
	calibration := "sigmoid of the margin"
	if cal := card.Bundle.Calibration; cal != nil {
		calibration = fmt.Sprintf("%s on %d blocks, tail slope %.4g", cal.Method, len(cal.X), cal.TailSlope)
		if cal.Method == "" {
			calibration = fmt.Sprintf("isotonic on %d blocks", len(cal.X))
		}
	}
	c.Facts = []views.Field{
		{Label: "Trained", Value: rep.CreatedAt},
		{Label: "Split", Value: fmt.Sprintf("%s, seed %d", rep.Split, rep.Params.Seed)},
		{Label: "Rows used", Value: fmt.Sprintf("%s (%s frauds), %s skipped", formatCount(rep.Data.Rows), formatCount(rep.Data.Frauds), formatCount(rep.SkippedRows))},
		{Label: "Trees", Value: fmt.Sprintf("%d (learning rate %g, %d leaves, feature fraction %g)", rep.Trees, rep.Params.LearningRate, rep.Params.NumLeaves, rep.Params.FeatureFraction)},
		{Label: "Calibration", Value: calibration},
		{Label: "Training thresholds", Value: fmt.Sprintf("review %g; medium %g, high %g, critical %g", rep.Thresholds.Review, rep.Thresholds.Medium, rep.Thresholds.High, rep.Thresholds.Critical)},
	}
	v, t := rep.Valid, rep.Test
	for _, m := range []struct {
		label       string
		valid, test string
	}{
		{"Rows (frauds)", fmt.Sprintf("%s (%d)", formatCount(int64(v.Rows)), v.Frauds), fmt.Sprintf("%s (%d)", formatCount(int64(t.Rows)), t.Frauds)},
		{"Average precision", metric(v.AveragePrecision), metric(t.AveragePrecision)},
		{"ROC-AUC", metric(v.ROCAUC), metric(t.ROCAUC)},
		{"Brier score", small(v.Brier), small(t.Brier)},
		{"Expected calibration error", small(v.ECE), small(t.ECE)},
		{"Log loss", small(v.LogLoss), small(t.LogLoss)},
		{"Precision at review", metric(v.AtReview.Precision), metric(t.AtReview.Precision)},
		{"Recall at review", metric(v.AtReview.Recall), metric(t.AtReview.Recall)},
		{"Precision in the top 100", metric(v.PrecisionAt100), metric(t.PrecisionAt100)},
		{"Distinct scores", formatCount(int64(v.DistinctScores)), formatCount(int64(t.DistinctScores))},
	} {
		c.Metrics = append(c.Metrics, views.MetricRow{Label: m.label, Valid: m.valid, Test: m.test})
	}
	shap := map[string]float64{}
	var gainSum, shapSum float64
	for _, im := range rep.ImportanceSHAP {
		shap[im.Feature] = im.Value
		shapSum += im.Value
	}
	for _, im := range rep.ImportanceGain {
		gainSum += im.Value
	}
	var names []string
	var gains, shaps []float64
	for _, im := range rep.ImportanceGain {
		c.Importance = append(c.Importance, views.ImportanceRow{Feature: im.Feature,
			Gain: fmt.Sprintf("%.4g (%.1f%%)", im.Value, 100*share(im.Value, gainSum)), SHAP: fmt.Sprintf("%.4g", shap[im.Feature])})
		names = append(names, im.Feature)
		gains = append(gains, 100*share(im.Value, gainSum))
		shaps = append(shaps, 100*share(shap[im.Feature], shapSum))
	}
	c.ImportanceJSON = importanceOptions(names, gains, shaps)
	for _, b := range t.Calibration {
		if b.Rows > 0 {
			c.Calibration = append(c.Calibration, views.CalibrationRow{Bin: fmt.Sprintf("%.1f–%.1f", b.Lo, b.Hi), Rows: formatCount(int64(b.Rows)),
				MeanScore: scoring.FormatScore(b.MeanScore), FraudRate: scoring.FormatScore(b.FraudRate)})
		}
	}
	var recall, savings [][2]float64
	for _, p := range t.CostCurve {
		if p.TP+p.FP > 0 {
			recall = append(recall, [2]float64{p.Recall, p.Precision})
		}
		savings = append(savings, [2]float64{p.Threshold, p.NetSavings})
		if int(p.Threshold*100+0.5)%10 == 0 {
			c.Costs = append(c.Costs, views.CostRow{Threshold: strconv.FormatFloat(p.Threshold, 'f', 2, 64), Caught: strconv.Itoa(p.TP),
				Missed: strconv.Itoa(p.FN), False: formatCount(int64(p.FP)), Precision: metric(p.Precision), Recall: metric(p.Recall),
				Savings: scoring.FormatAmount(p.NetSavings)})
		}
	}
	c.PRJSON = lineOptions("Recall", "Precision", "precision", recall, 0, 1)
	c.CostJSON = lineOptions("Threshold", "Net savings ($)", "net savings", savings, 0, 0)
	return c
}

func share(v, sum float64) float64 {
	if sum == 0 {
		return 0
	}
	return v / sum
}

// chartJSON turns go-echarts options into the JSON the page mounts,
// without go-echarts' title and palette (colours are theme tokens).
func chartJSON(o map[string]any) string {
	delete(o, "title")
	delete(o, "color")
	b, err := json.Marshal(o)
	if err != nil {
		// Options are numbers and strings built here: this cannot fail.
		panic(fmt.Sprintf("handlers: chart options: %v", err))
	}
	return string(b)
}

func axisStyle() (*opts.AxisLabel, *opts.SplitLine) {
	return &opts.AxisLabel{Color: colorMuted}, &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: colorBorder}}
}

// importanceOptions is a horizontal bar chart of each feature's share of
// the split gain and of the mean |SHAP|.
func importanceOptions(names []string, gains, shaps []float64) string {
	label, split := axisStyle()
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", TextStyle: &opts.TextStyle{Color: colorText}}),
		charts.WithGridOpts(opts.Grid{Left: "2%", Right: "4%", Top: "36", Bottom: "36", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "% of the total", NameLocation: "middle", NameGap: 26, AxisLabel: label, SplitLine: split}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: names, Inverse: opts.Bool(true), AxisLabel: &opts.AxisLabel{Color: colorText, Interval: "0"}}),
	)
	bars := func(v []float64) []opts.BarData {
		out := make([]opts.BarData, len(v))
		for i, x := range v {
			out[i] = opts.BarData{Value: round(x, 2)}
		}
		return out
	}
	b.AddSeries("split gain", bars(gains))
	b.AddSeries("mean |SHAP| on test", bars(shaps))
	o := b.JSON()
	setLegendColors(o, colorSeriesA, colorSeriesB)
	return chartJSON(o)
}

// setLegendColors gives each series its token colour as a whole (through
// the series' JSON: go-echarts sets colours per item), so that the legend
// shows it too.
func setLegendColors(o map[string]any, colors ...string) {
	raw, _ := json.Marshal(o["series"])
	var series []map[string]any
	_ = json.Unmarshal(raw, &series)
	o["series"] = series
	for i, s := range series {
		if i < len(colors) {
			s["itemStyle"] = map[string]any{"color": colors[i]}
			s["lineStyle"] = map[string]any{"color": colors[i]}
		}
	}
}

func round(v float64, places int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', places, 64), 64)
	return f
}

// lineOptions is a line through points on two value axes; yMin and yMax
// fix the y axis when they differ.
func lineOptions(xName, yName, series string, points [][2]float64, yMin, yMax float64) string {
	label, split := axisStyle()
	y := opts.YAxis{Type: "value", Name: yName, AxisLabel: label, SplitLine: split}
	if yMin != yMax {
		y.Min, y.Max = yMin, yMax
	}
	l := charts.NewLine()
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "3%", Right: "6%", Top: "40", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: xName, NameLocation: "middle", NameGap: 28, Min: 0, Max: 1, AxisLabel: label, SplitLine: split}),
		charts.WithYAxisOpts(y),
	)
	data := make([]opts.LineData, len(points))
	for i, p := range points {
		data[i] = opts.LineData{Value: []float64{round(p[0], 4), round(p[1], 4)}}
	}
	l.AddSeries(series, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}))
	o := l.JSON()
	setLegendColors(o, colorSeriesA)
	return chartJSON(o)
}

// distributionOptions is a bar chart of two versions' score counts per
// bin, on a log scale (nearly all traffic scores near 0).
func distributionOptions(a, b string, binsA, binsB []int64) string {
	label, split := axisStyle()
	var cats []string
	for i := range binsA {
		cats = append(cats, binLabel(i))
	}
	bc := charts.NewBar()
	bc.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", TextStyle: &opts.TextStyle{Color: colorText}}),
		charts.WithGridOpts(opts.Grid{Left: "2%", Right: "3%", Top: "48", Bottom: "8", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cats, Name: "score", AxisLabel: &opts.AxisLabel{Color: colorMuted, Interval: "0", Rotate: 30}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "log", Name: "transactions", AxisLabel: label, SplitLine: split}),
	)
	bars := func(v []int64) []opts.BarData {
		out := make([]opts.BarData, len(v))
		for i, n := range v {
			out[i] = opts.BarData{Value: n}
			if n == 0 {
				out[i].Value = nil // a log axis has no 0
			}
		}
		return out
	}
	bc.AddSeries(a, bars(binsA))
	bc.AddSeries(b, bars(binsB))
	o := bc.JSON()
	setLegendColors(o, colorSeriesA, colorSeriesB)
	return chartJSON(o)
}

package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// windowWords name monitor.DriftWindows.
var windowWords = []string{"24 hours", "7 days", "30 days"}

// variableLabel is a drift variable in words.
func variableLabel(name string) string {
	switch name {
	case monitor.VarScore:
		return "Score"
	case monitor.VarType:
		return "Type mix"
	}
	if f, ok := scoring.FeatureByName(name); ok {
		return f.Label
	}
	return name
}

// DriftShow is the drift page: PSI per variable and window against the
// production model's baseline, the score's two distributions, the PSI
// history; ?feature=NAME adds that variable's distributions (the panel
// alone for htmx).
func (s *Server) DriftShow(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	v, err := monitor.View(ctx, p.Tenant, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return render(c, http.StatusOK, views.DriftPage(views.DriftProps{Pending: true,
			Baseline: "This tenant has no production model yet: promote one on the models page."}), nil)
	}
	if err != nil {
		return err
	}
	m := v.Model
	props := views.DriftProps{ModelName: m.Version.Name, ModelID: m.Version.ID, ModelVersion: m.Version.Version, Windows: windowWords}
	switch {
	case m.Baseline == nil && !m.FirstTraffic.IsZero():
		props.Pending = true
		props.Baseline = fmt.Sprintf("Its bundle has no baseline: one is computed from its first 7 days of traffic, which began %s UTC; drift shows from %s UTC on.",
			m.FirstTraffic.Format(timeFormat), m.FirstTraffic.Add(monitor.TrafficBaselineWindow).Format(timeFormat))
	case m.Baseline == nil:
		props.Pending = true
		props.Baseline = "Its bundle has no baseline and it has scored no traffic yet: a baseline is computed from its first 7 days of traffic."
	case m.Baseline.Source == scoring.BaselineTraffic:
		props.Baseline = fmt.Sprintf("Its bundle has no baseline: the baseline is its first 7 days of traffic on this tenant (%s to %s UTC, %s transactions).",
			m.BaselineFrom.Format(timeFormat), m.BaselineTo.Format(timeFormat), formatCount(m.Baseline.Rows))
	default:
		props.Baseline = fmt.Sprintf("Baseline: the model's training split (%s rows).", formatCount(m.Baseline.Rows))
	}
	if props.Pending {
		return render(c, http.StatusOK, views.DriftPage(props), nil)
	}
	if !v.Last.IsZero() {
		props.Last = v.Last.Format(timeFormat)
	}
	feature := c.QueryParam("feature")
	var chosen *monitor.VarDrift
	for i := range v.Vars {
		vd := &v.Vars[i]
		row := views.DriftRowProps{Name: vd.Name, Label: variableLabel(vd.Name),
			Href: string(views.WithQuery(views.URL(ctx, "DriftShow"), url.Values{"feature": {vd.Name}}))}
		for w := range monitor.DriftWindows {
			cell := views.DriftCell{N: formatCount(int64(vd.N[w]))}
			if vd.OK[w] {
				cell.PSI, cell.Reading = fmt.Sprintf("%.3f", vd.PSI[w]), scoring.PSIReading(vd.PSI[w])
			}
			row.Cells = append(row.Cells, cell)
		}
		props.Rows = append(props.Rows, row)
		if vd.Name == feature {
			chosen = vd
		}
	}
	if feature != "" && chosen == nil {
		return echo.NewHTTPError(http.StatusNotFound, "The production model's baseline has no such variable.")
	}
	if chosen != nil {
		props.Feature = driftFeature(m, chosen)
	}
	if score, ok := v.Var(monitor.VarScore); ok {
		props.Score = distChart(m, score, "drift-score")
	}
	props.History = historyChart(v.Vars, "drift-history", "PSI of every variable, hour by hour")
	if isFragmentRequest(c) && props.Feature != nil {
		return render(c, http.StatusOK, views.DriftPage(props), views.DriftFeaturePanel(*props.Feature))
	}
	return render(c, http.StatusOK, views.DriftPage(props), nil)
}

// timeFormat is how the monitoring pages write times (UTC).
const timeFormat = "2006-01-02 15:04"

func driftFeature(m *monitor.Model, vd *monitor.VarDrift) *views.DriftFeatureProps {
	return &views.DriftFeatureProps{Name: vd.Name, Label: variableLabel(vd.Name), Dist: distChart(m, vd, "drift-dist"),
		History: historyChart([]monitor.VarDrift{*vd}, "drift-feature-history", "PSI of "+variableLabel(vd.Name)+", hour by hour")}
}

// distChart draws a variable's baseline and last-7-days shares as paired bars.
func distChart(m *monitor.Model, vd *monitor.VarDrift, testID string) views.ChartProps {
	var labels []string
	var base, recent []float64
	if vd.Name == monitor.VarType {
		labels = scoring.CategoryUnion(m.Baseline.Types, vd.Recent.Cats)
		n := vd.Recent.N()
		for _, c := range labels {
			base = append(base, 100*m.Baseline.Types[c])
			recent = append(recent, 100*share(vd.Recent.Cats[c], n))
		}
	} else {
		d, _ := m.Dist(vd.Name)
		labels = binLabels(d.Edges)
		n := vd.Recent.N()
		for i, sh := range d.Shares {
			base = append(base, 100*sh)
			c := 0.0
			if i < len(vd.Recent.Counts) {
				c = vd.Recent.Counts[i]
			}
			recent = append(recent, 100*share(c, n))
		}
	}
	table := views.ChartTable{Caption: variableLabel(vd.Name) + ": share of transactions by bin (%)", Head: []string{"Bin", "Baseline", "Last 7 days"}}
	for i, l := range labels {
		table.Rows = append(table.Rows, []string{l, fmt.Sprintf("%.2f", base[i]), fmt.Sprintf("%.2f", recent[i])})
	}
	label, split := axisStyle()
	o := map[string]any{
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"show": true, "top": 0, "textStyle": map[string]any{"color": colorText}},
		"grid":    map[string]any{"left": "3%", "right": "4%", "top": 36, "bottom": 40, "containLabel": true},
		"xAxis":   map[string]any{"type": "category", "data": labels, "axisLabel": map[string]any{"color": colorMuted, "rotate": 30}},
		"yAxis":   map[string]any{"type": "value", "name": "% of transactions", "axisLabel": label, "splitLine": split},
		"series": []map[string]any{
			{"name": "baseline", "type": "bar", "data": rounded(base), "itemStyle": map[string]any{"color": colorSeriesA}},
			{"name": "last 7 days", "type": "bar", "data": rounded(recent), "itemStyle": map[string]any{"color": colorSeriesB}},
		},
	}
	return views.ChartProps{TestID: testID, Options: chartJSON(o), Label: table.Caption, Table: table}
}

func rounded(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round(x, 3)
	}
	return out
}

// binLabels names quantile bins with open outer edges.
func binLabels(edges []float64) []string {
	if len(edges) == 0 {
		return []string{"all"}
	}
	out := []string{"< " + num(edges[0])}
	for i := 1; i < len(edges); i++ {
		out = append(out, num(edges[i-1])+" – "+num(edges[i]))
	}
	return append(out, "≥ "+num(edges[len(edges)-1]))
}

func num(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".0") }

// historyChart draws each variable's hourly PSI as a line over time.
func historyChart(vars []monitor.VarDrift, testID, caption string) views.ChartProps {
	label, split := axisStyle()
	var series []map[string]any
	table := views.ChartTable{Caption: caption + " (latest value)", Head: []string{"Variable", "Latest PSI", "Hours"}}
	for _, vd := range vars {
		data := make([][2]any, len(vd.History))
		for i, h := range vd.History {
			data[i] = [2]any{h.At.UnixMilli(), round(h.PSI, 4)}
		}
		series = append(series, map[string]any{"name": variableLabel(vd.Name), "type": "line", "showSymbol": false, "data": data})
		latest := "—"
		if n := len(vd.History); n > 0 {
			latest = fmt.Sprintf("%.3f", vd.History[n-1].PSI)
		}
		table.Rows = append(table.Rows, []string{variableLabel(vd.Name), latest, formatCount(int64(len(vd.History)))})
	}
	mark := map[string]any{"silent": true, "symbol": "none", "lineStyle": map[string]any{"type": "dashed", "color": colorMuted},
		"data": []map[string]any{{"yAxis": 0.1}, {"yAxis": 0.25}}}
	if len(series) > 0 {
		series[0]["markLine"] = mark
	}
	o := map[string]any{
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"show": len(vars) > 1, "type": "scroll", "top": 0, "textStyle": map[string]any{"color": colorText}},
		"grid":    map[string]any{"left": "3%", "right": "4%", "top": 36, "bottom": 30, "containLabel": true},
		"xAxis":   map[string]any{"type": "time", "axisLabel": label},
		"yAxis":   map[string]any{"type": "value", "name": "PSI", "axisLabel": label, "splitLine": split},
		"series":  series,
	}
	return views.ChartProps{TestID: testID, Options: chartJSON(o), Label: caption, Table: table}
}

// whenUTC writes an optional time for the monitoring tables.
func whenUTC(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

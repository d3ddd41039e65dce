package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// Dashboard windows (the window query parameter).
const (
	window24h = "24h"
	window7d  = "7d"
	window30d = "30d"
	windowAll = "all"
)

var dashboardWindows = []views.Option{{Value: window24h, Label: "24 h"}, {Value: window7d, Label: "7 days"},
	{Value: window30d, Label: "30 days"}, {Value: windowAll, Label: "All time"}}

// Map views and metrics of the geo map and the heatmap.
const (
	mapWorld     = "world"
	mapUS        = "us"
	metricVolume = "volume"
	metricRisk   = "risk"
	metricFraud  = "fraud"
)

var dashboardMetrics = []views.Option{{Value: metricVolume, Label: "Volume"}, {Value: metricRisk, Label: "High-risk rate"},
	{Value: metricFraud, Label: "Confirmed fraud rate"}}

// tickerSize is how many transactions the live ticker shows.
const tickerSize = 10

// dashboardQuery is the dashboard's state in the query string.
type dashboardQuery struct {
	Window, Map, Metric string
}

func parseDashboardQuery(q url.Values) dashboardQuery {
	d := dashboardQuery{Window: window24h, Map: mapWorld, Metric: metricVolume}
	if w := q.Get("window"); slices.ContainsFunc(dashboardWindows, func(o views.Option) bool { return o.Value == w }) {
		d.Window = w
	}
	if q.Get("map") == mapUS {
		d.Map = mapUS
	}
	if m := q.Get("metric"); slices.ContainsFunc(dashboardMetrics, func(o views.Option) bool { return o.Value == m }) {
		d.Metric = m
	}
	return d
}

func (d dashboardQuery) values(kv ...string) url.Values {
	v := url.Values{"window": {d.Window}, "map": {d.Map}, "metric": {d.Metric}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// windowBounds is where the window starts (zero for all time) and the
// width of the buckets its time charts use.
func windowBounds(w string, now time.Time) (time.Time, time.Duration) {
	hour := now.UTC().Truncate(time.Hour)
	day := now.UTC().Truncate(24 * time.Hour)
	switch w {
	case window7d:
		return day.AddDate(0, 0, -6), time.Hour
	case window30d:
		return day.AddDate(0, 0, -29), 24 * time.Hour
	case windowAll:
		return time.Time{}, 24 * time.Hour
	}
	return hour.Add(-23 * time.Hour), time.Hour
}

// Home is the dashboard: is today normal? Every panel reads the hourly
// rollups of the window, never the transactions table.
func (s *Server) Home(c echo.Context) error {
	ctx := c.Request().Context()
	p := currentPrincipal(c)
	t := p.Tenant
	dq := parseDashboardQuery(c.QueryParams())
	now := s.now().UTC()
	from, step := windowBounds(dq.Window, now)
	d, err := store.LoadDashboard(ctx, t, from, time.Time{})
	if err != nil {
		return err
	}
	backlog, err := store.CountBacklog(ctx, t)
	if err != nil {
		return err
	}
	cases, err := store.CountCases(ctx, t, p.User.ID, now)
	if err != nil {
		return err
	}
	home := routePath(c, "Home")
	props := views.DashboardProps{Window: dq.Window, Map: dq.Map, Metric: dq.Metric}
	for _, w := range dashboardWindows {
		props.Windows = append(props.Windows, views.Link{Label: w.Label, Href: withQuery(home, dq.values("window", w.Value)), Selected: w.Value == dq.Window})
	}
	for _, m := range dashboardMetrics {
		props.Metrics = append(props.Metrics, views.Link{Label: m.Label, Href: withQuery(home, dq.values("metric", m.Value)), Selected: m.Value == dq.Metric})
	}
	props.Maps = []views.Link{
		{Label: "World", Href: withQuery(home, dq.values("map", mapWorld)), Selected: dq.Map == mapWorld},
		{Label: "US states", Href: withQuery(home, dq.values("map", mapUS)), Selected: dq.Map == mapUS},
	}
	switch {
	case d.Latest == "":
		props.Empty = true
	case d.Total.N == 0:
		latest, _ := time.Parse(store.HourLayout, d.Latest)
		props.Fallback = fmt.Sprintf("No transactions arrived in this window. The latest arrived on %s UTC.", latest.Format("2 January 2006 at 15:00"))
		props.FallbackHref = withQuery(home, dq.values("window", windowAll))
	}
	investigate := routePath(c, "InvestigateList")
	queue := routePath(c, "QueueList")
	fromParam := url.Values{}
	if !from.IsZero() {
		fromParam.Set("from", from.Format("2006-01-02"))
	}
	with := func(base string, kv ...string) string {
		v := url.Values{}
		for k, vs := range fromParam {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return withQuery(base, v)
	}
	series := timeSeries(d.Hours, from, now, step)
	tot := d.Total
	props.Cards = []views.KPICard{
		{Label: "Transactions", Value: formatCount(tot.N), Note: fmt.Sprintf("%s in amount", scoring.FormatAmount(tot.Amount)),
			Href: with(investigate), TestID: "kpi-transactions", Spark: spark("spark-transactions", "Transactions per bucket", series, func(x store.DashboardSums) float64 { return float64(x.N) })},
		{Label: "Flagged for review", Value: formatCount(tot.Flagged), Note: percent(float64(tot.Flagged), float64(tot.N)) + " of transactions",
			Href: with(investigate, "view", views.ViewReview), TestID: "kpi-flagged", Spark: spark("spark-flagged", "Flagged per bucket", series, func(x store.DashboardSums) float64 { return float64(x.Flagged) })},
		{Label: "Blocked exposure", Value: scoring.FormatAmount(tot.Exposure), Note: "critical band plus confirmed fraud",
			Href: with(investigate, "band", "critical"), TestID: "kpi-exposure", Spark: spark("spark-exposure", "Exposure per bucket", series, func(x store.DashboardSums) float64 { return x.Exposure })},
		{Label: "Average score", Value: scoring.FormatScore(tot.AvgScore()), Note: fmt.Sprintf("%s high or critical", percent(float64(tot.Risky), float64(tot.N))),
			Href: with(investigate, "sort", store.SortScore), TestID: "kpi-score", Spark: spark("spark-score", "Average score per bucket", series, func(x store.DashboardSums) float64 { return x.AvgScore() })},
		{Label: "Queue backlog", Value: formatCount(backlog), Note: "undecided, needing review (all time)", Href: queue, TestID: "kpi-backlog"},
		{Label: "Open cases", Value: formatCount(cases.Open), Note: fmt.Sprintf("%s overdue", formatCount(cases.Overdue)),
			Href: routePath(c, "CaseList"), TestID: "kpi-cases"},
	}
	props.CaseLoad = caseCounts(templ.SafeURL(routePath(c, "CaseList")), cases)
	props.RiskMix = riskMixChart(d.TypeBands, investigate, fromParam)
	props.Volume = volumeChart(series, step)
	props.ByType = byTypeChart(d.TypeBands, investigate, fromParam)
	props.Scores = scoreChart(d.TypeBands)
	props.Geo = geoChart(d.Countries, dq, investigate, fromParam)
	props.Heatmap = heatmapChart(d.Hours, dq.Metric)

	high, err := store.ListQueue(ctx, t, store.QueueFilter{Review: true, Sort: store.SortRisk, Limit: 5})
	if err != nil {
		return err
	}
	for i := range high.Rows {
		props.HighRisk = append(props.HighRisk, queueRow(&high.Rows[i], false))
	}
	props.HighRiskHref = queue
	if props.Ticker, err = s.ticker(c, ""); err != nil {
		return err
	}
	if props.Replay, err = s.replayPanel(c); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(props), nil)
}

// DashboardTicker is the live ticker's poll: the newest transactions in
// arrival order, those newer than since (the newest the page had) marked.
func (s *Server) DashboardTicker(c echo.Context) error {
	since := c.QueryParam("since")
	if scoring.IDProblem(since) != "" || len(since) > 64 {
		since = ""
	}
	props, err := s.ticker(c, since)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardTickerPage(props), views.Ticker(props))
}

func (s *Server) ticker(c echo.Context, since string) (views.TickerProps, error) {
	page, err := store.ListQueue(c.Request().Context(), currentPrincipal(c).Tenant, store.QueueFilter{Sort: store.SortTime, Limit: tickerSize})
	if err != nil {
		return views.TickerProps{}, err
	}
	var props views.TickerProps
	for i := range page.Rows {
		r := &page.Rows[i]
		row := queueRow(r, since != "" && r.ID > since)
		row.Country = r.OrigCountry
		props.Rows = append(props.Rows, row)
	}
	newest := since
	if len(page.Rows) > 0 && page.Rows[0].ID > newest {
		newest = page.Rows[0].ID
	}
	props.PollHref = withQuery(routePath(c, "DashboardTicker"), url.Values{"since": {newest}})
	return props, nil
}

// bucket is one point of a time chart.
type bucket struct {
	At time.Time
	store.DashboardSums
}

// timeSeries sums the hours into buckets of step from from (the first
// hour with data, for all time) to now, empty buckets included.
func timeSeries(hours []store.HourSums, from, now time.Time, step time.Duration) []bucket {
	if from.IsZero() {
		if len(hours) == 0 {
			return nil
		}
		first, _ := time.Parse(store.HourLayout, hours[0].Hour)
		from = first.Truncate(step)
	}
	n := int(now.Sub(from)/step) + 1
	if n < 1 || n > 5000 {
		n = max(1, min(n, 5000))
	}
	out := make([]bucket, n)
	for i := range out {
		out[i].At = from.Add(time.Duration(i) * step)
	}
	for _, h := range hours {
		at, err := time.Parse(store.HourLayout, h.Hour)
		if err != nil {
			continue
		}
		i := int(at.Sub(from) / step)
		if i >= 0 && i < n {
			out[i].DashboardSums = addSums(out[i].DashboardSums, h.DashboardSums)
		}
	}
	return out
}

func addSums(a, b store.DashboardSums) store.DashboardSums {
	return store.DashboardSums{N: a.N + b.N, Flagged: a.Flagged + b.Flagged, Fraud: a.Fraud + b.Fraud, Risky: a.Risky + b.Risky,
		Exposure: a.Exposure + b.Exposure, Amount: a.Amount + b.Amount, Score: a.Score + b.Score}
}

func percent(a, b float64) string {
	if b == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*a/b)
}

func bucketLabel(at time.Time, step time.Duration) string {
	if step < 24*time.Hour {
		return at.Format("Jan 2 15:04")
	}
	return at.Format("Jan 2")
}

type obj = map[string]any

// spark is a KPI card's sparkline.
func spark(id, label string, series []bucket, val func(store.DashboardSums) float64) views.ChartProps {
	data := make([]float64, len(series))
	for i, b := range series {
		data[i] = round4(val(b.DashboardSums))
	}
	return views.ChartProps{TestID: id, Label: label, Class: "chart-spark", Options: chartJSON(obj{
		"animation": false, "grid": obj{"left": 0, "right": 0, "top": 2, "bottom": 2},
		"xAxis": obj{"type": "category", "show": false, "data": make([]int, len(data))},
		"yAxis": obj{"type": "value", "show": false},
		"series": []obj{{"type": "line", "data": data, "showSymbol": false, "smooth": true,
			"lineStyle": obj{"color": "var(--color-primary)", "width": 1.5}, "areaStyle": obj{"color": "var(--color-info-soft)"}}},
	})}
}

func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }

// riskMixChart is the bands as one stacked bar of shares.
func riskMixChart(tb []store.TypeBandSums, investigate string, from url.Values) views.ChartProps {
	counts := map[string]int64{}
	var total int64
	for _, r := range tb {
		counts[r.Band] += r.N
		total += r.N
	}
	var series []obj
	table := views.ChartTable{Caption: "Transactions by risk band", Head: []string{"Band", "Transactions", "Share"}}
	for _, b := range scoring.Bands {
		band := string(b)
		share := 0.0
		if total > 0 {
			share = 100 * float64(counts[band]) / float64(total)
		}
		// One decimal, as the table beside it says it.
		series = append(series, obj{"name": bandWord(band), "type": "bar", "stack": "mix", "data": []float64{math.Round(10*share) / 10},
			"itemStyle": obj{"color": bandColors[band]}, "label": obj{"show": share >= 4, "formatter": "{a} {c}%"}})
		table.Rows = append(table.Rows, []string{bandWord(band), formatCount(counts[band]), percent(float64(counts[band]), float64(total))})
		table.Hrefs = append(table.Hrefs, withQuery(investigate, mergeValues(from, "band", band)))
	}
	return views.ChartProps{TestID: "chart-risk-mix", Label: "Share of transactions in each risk band", Class: "chart-mix", Table: table,
		Options: chartJSON(obj{"animation": false, "tooltip": obj{"trigger": "item", "valueFormatter": nil}, "legend": obj{"bottom": 0},
			"grid":  obj{"left": 8, "right": 24, "top": 8, "bottom": 40, "containLabel": true}, // room for "100%"
			"xAxis": obj{"type": "value", "max": 100, "axisLabel": obj{"formatter": "{value}%"}},
			"yAxis": obj{"type": "category", "data": []string{""}, "show": false}, "series": series})}
}

func bandWord(b string) string {
	if b == "" {
		return b
	}
	return strings.ToUpper(b[:1]) + b[1:]
}

func mergeValues(base url.Values, kv ...string) url.Values {
	v := url.Values{}
	for k, vs := range base {
		v[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// volumeChart is count, flagged and confirmed fraud per bucket, with the
// fraud rate on a second axis.
func volumeChart(series []bucket, step time.Duration) views.ChartProps {
	var labels []string
	var n, flagged, fraud []int64
	var rate []float64
	table := views.ChartTable{Caption: "Volume over time", Head: []string{"From (UTC)", "Transactions", "Flagged", "Confirmed fraud", "Fraud rate"}}
	for _, b := range series {
		labels = append(labels, bucketLabel(b.At, step))
		n, flagged, fraud = append(n, b.N), append(flagged, b.Flagged), append(fraud, b.Fraud)
		rate = append(rate, round4(100*b.FraudRate()))
		if b.N > 0 {
			table.Rows = append(table.Rows, []string{bucketLabel(b.At, step), formatCount(b.N), formatCount(b.Flagged), formatCount(b.Fraud), percent(float64(b.Fraud), float64(b.N))})
		}
	}
	return views.ChartProps{TestID: "chart-volume", Label: "Transactions, flagged and confirmed fraud over time, with the fraud rate", Table: table, Class: "chart-sm",
		Options: chartJSON(obj{"animation": false, "tooltip": obj{"trigger": "axis"}, "legend": obj{"bottom": 0},
			"grid":  obj{"left": 8, "right": 8, "top": 24, "bottom": 40, "containLabel": true},
			"xAxis": obj{"type": "category", "data": labels},
			// The axes' names start at their axis, inward: centred on it, the
			// left one was cut off at the chart's edge.
			"yAxis": []obj{{"type": "value", "name": "Transactions", "nameTextStyle": obj{"align": "left"}},
				{"type": "value", "name": "Fraud rate", "nameTextStyle": obj{"align": "right"}, "axisLabel": obj{"formatter": "{value}%"}, "splitLine": obj{"show": false}}},
			"series": []obj{
				{"name": "Transactions", "type": "bar", "data": n, "itemStyle": obj{"color": "var(--color-primary)"}},
				{"name": "Flagged", "type": "line", "data": flagged, "showSymbol": false, "itemStyle": obj{"color": "var(--color-warning)"}},
				{"name": "Confirmed fraud", "type": "line", "data": fraud, "showSymbol": false, "itemStyle": obj{"color": "var(--color-danger)"}},
				{"name": "Fraud rate", "type": "line", "yAxisIndex": 1, "data": rate, "showSymbol": false, "lineStyle": obj{"type": "dashed"}, "itemStyle": obj{"color": "var(--color-text-muted)"}},
			}})}
}

// byTypeChart is the bands of each transaction type, stacked.
func byTypeChart(tb []store.TypeBandSums, investigate string, from url.Values) views.ChartProps {
	counts := map[string]map[string]int64{}
	for _, r := range tb {
		if counts[r.Type] == nil {
			counts[r.Type] = map[string]int64{}
		}
		counts[r.Type][r.Band] += r.N
	}
	table := views.ChartTable{Caption: "Risk by transaction type", Head: []string{"Type", "Low", "Medium", "High", "Critical", "High-risk share"}}
	var series []obj
	for _, b := range scoring.Bands {
		band := string(b)
		data := make([]int64, len(scoring.Types))
		for i, ty := range scoring.Types {
			data[i] = counts[ty][band]
		}
		series = append(series, obj{"name": bandWord(band), "type": "bar", "stack": "type", "data": data, "itemStyle": obj{"color": bandColors[band]}})
	}
	for _, ty := range scoring.Types {
		c := counts[ty]
		total := c["low"] + c["medium"] + c["high"] + c["critical"]
		table.Rows = append(table.Rows, []string{ty, formatCount(c["low"]), formatCount(c["medium"]), formatCount(c["high"]), formatCount(c["critical"]),
			percent(float64(c["high"]+c["critical"]), float64(total))})
		table.Hrefs = append(table.Hrefs, withQuery(investigate, mergeValues(from, "type", ty)))
	}
	return views.ChartProps{TestID: "chart-by-type", Label: "Transactions of each type by risk band", Table: table, Class: "chart-sm",
		Options: chartJSON(obj{"animation": false, "tooltip": obj{"trigger": "axis", "axisPointer": obj{"type": "shadow"}}, "legend": obj{"bottom": 0},
			"grid":  obj{"left": 8, "right": 8, "top": 8, "bottom": 40, "containLabel": true},
			"xAxis": obj{"type": "value"}, "yAxis": obj{"type": "category", "data": scoring.Types}, "series": series})}
}

// scoreChart is the window's score histogram (the rollups' buckets).
func scoreChart(tb []store.TypeBandSums) views.ChartProps {
	var h store.Histogram
	for _, r := range tb {
		for i := range h {
			h[i] += r.H[i]
		}
	}
	labels := make([]string, len(h))
	table := views.ChartTable{Caption: "Transactions by score", Head: []string{"Score", "Transactions"}}
	for i := range h {
		lo := 0.0
		if i > 0 {
			lo = store.ScoreEdges[i-1]
		}
		labels[i] = fmt.Sprintf("≥ %g", lo)
		table.Rows = append(table.Rows, []string{labels[i], formatCount(h[i])})
	}
	return views.ChartProps{TestID: "chart-scores", Label: "How many transactions fall in each score bucket", Table: table, Class: "chart-sm",
		Options: chartJSON(obj{"animation": false, "tooltip": obj{"trigger": "axis"},
			"grid":  obj{"left": 8, "right": 8, "top": 8, "bottom": 8, "containLabel": true},
			"xAxis": obj{"type": "category", "data": labels, "axisLabel": obj{"rotate": 45}},
			// From 0.5, so that a bucket of one transaction has a bar.
			"yAxis": obj{"type": "log", "min": 0.5}, "series": []obj{{"type": "bar", "data": h[:], "itemStyle": obj{"color": "var(--color-primary)"}}}})}
}

// metricValue is a sums' value in the chosen metric (a rate in percent).
func metricValue(s store.DashboardSums, metric string) float64 {
	switch metric {
	case metricRisk:
		return round4(100 * s.RiskRate())
	case metricFraud:
		return round4(100 * s.FraudRate())
	}
	return float64(s.N)
}

func metricLabel(metric string) string {
	for _, m := range dashboardMetrics {
		if m.Value == metric {
			return m.Label
		}
	}
	return metric
}

// geoChart is the world (by sender country) or the US (by state) in the
// chosen metric; clicking a place opens investigate filtered by it.
func geoChart(cs []store.CountrySums, dq dashboardQuery, investigate string, from url.Values) views.ChartProps {
	by := map[string]store.DashboardSums{}
	unknown := store.DashboardSums{}
	for _, c := range cs {
		key := c.Country
		if dq.Map == mapUS {
			if c.Country != "US" {
				continue
			}
			key = c.Region
		}
		if key == "" {
			unknown = addSums(unknown, c.DashboardSums)
			continue
		}
		by[key] = addSums(by[key], c.DashboardSums)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(by[b].N - by[a].N) })
	var data []obj
	maxV := 0.0
	place := "Sender country"
	mapName := views.MapWorld
	if dq.Map == mapUS {
		place, mapName = "US state", views.MapUSStates
	}
	table := views.ChartTable{Caption: metricLabel(dq.Metric) + " by " + strings.ToLower(place),
		Head: []string{place, "Transactions", "High-risk rate", "Confirmed fraud rate"}}
	for _, k := range keys {
		s := by[k]
		v := metricValue(s, dq.Metric)
		maxV = max(maxV, v)
		href := withQuery(investigate, mergeValues(from, "country", k))
		name := k
		if dq.Map == mapWorld {
			name = scoring.CountryName(k)
		}
		data = append(data, obj{"name": k, "value": v, "href": href})
		table.Rows = append(table.Rows, []string{name + " (" + k + ")", formatCount(s.N), percent(float64(s.Risky), float64(s.N)), percent(float64(s.Fraud), float64(s.N))})
		table.Hrefs = append(table.Hrefs, href)
	}
	if unknown.N > 0 {
		table.Rows = append(table.Rows, []string{"Not given", formatCount(unknown.N), percent(float64(unknown.Risky), float64(unknown.N)), percent(float64(unknown.Fraud), float64(unknown.N))})
	}
	if maxV == 0 {
		maxV = 1
	}
	series := obj{"type": "map", "map": mapName, "roam": true, "data": data, "nameProperty": "name",
		"itemStyle": obj{"areaColor": "var(--color-surface-2)", "borderColor": "var(--color-border)"},
		"emphasis":  obj{"label": obj{"show": false}, "itemStyle": obj{"areaColor": "var(--color-focus)"}}}
	if dq.Map == mapUS {
		series["aspectScale"] = 1
	}
	return views.ChartProps{TestID: "chart-geo", Class: "chart-geo", Label: metricLabel(dq.Metric) + " by " + strings.ToLower(place) + " on a map; select a place to investigate it",
		Map: mapName, Table: table,
		// The map lies above its colour scale (beside it, the scale covered
		// the map on a phone) and keeps its aspect: wide, its height is
		// given and its width follows; narrow, the other way round.
		Options: chartJSON(obj{"baseOption": obj{"animation": false, "tooltip": obj{"trigger": "item"},
			"visualMap": obj{"min": 0, "max": maxV, "calculable": true, "orient": "horizontal", "left": "center", "bottom": 0, "text": []string{"High", "Low"},
				"inRange": obj{"color": []string{"var(--color-info-soft)", "var(--color-primary)", "var(--color-danger)"}}},
			"series": []obj{series}},
			"media": []obj{
				{"option": obj{"series": []obj{{"left": "center", "top": 8, "bottom": 64}}}},
				{"query": obj{"maxWidth": graphNarrow}, "option": obj{"series": []obj{{"left": 8, "right": 8, "top": "middle"}}}},
			}})}
}

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// heatmapChart is weekday × hour of day (UTC) in the chosen metric.
func heatmapChart(hours []store.HourSums, metric string) views.ChartProps {
	var cells [7][24]store.DashboardSums
	for _, h := range hours {
		at, err := time.Parse(store.HourLayout, h.Hour)
		if err != nil {
			continue
		}
		d := (int(at.Weekday()) + 6) % 7
		cells[d][at.Hour()] = addSums(cells[d][at.Hour()], h.DashboardSums)
	}
	var data [][3]float64
	maxV := 0.0
	table := views.ChartTable{Caption: metricLabel(metric) + " by weekday and hour (UTC)", Head: append([]string{"Day"}, hourLabels()...)}
	for d := range 7 {
		row := []string{weekdays[d]}
		for h := range 24 {
			v := metricValue(cells[d][h], metric)
			maxV = max(maxV, v)
			data = append(data, [3]float64{float64(h), float64(d), v})
			row = append(row, fmt.Sprintf("%g", v))
		}
		table.Rows = append(table.Rows, row)
	}
	if maxV == 0 {
		maxV = 1
	}
	return views.ChartProps{TestID: "chart-heatmap", Label: metricLabel(metric) + " by weekday and hour of day, UTC", Table: table, Class: "chart-sm",
		Options: chartJSON(obj{"animation": false, "tooltip": obj{"position": "top"},
			// Room under the hours for the colour scale and its handles' values.
			"grid":      obj{"left": 8, "right": 8, "top": 8, "bottom": 84, "containLabel": true},
			"xAxis":     obj{"type": "category", "data": hourLabels(), "splitArea": obj{"show": true}},
			"yAxis":     obj{"type": "category", "data": weekdays, "inverse": true, "splitArea": obj{"show": true}},
			"visualMap": obj{"min": 0, "max": maxV, "calculable": true, "orient": "horizontal", "left": "center", "bottom": 0, "inRange": obj{"color": []string{"var(--color-info-soft)", "var(--color-primary)", "var(--color-danger)"}}},
			"series":    []obj{{"type": "heatmap", "data": data, "name": metricLabel(metric)}}})}
}

func hourLabels() []string {
	out := make([]string, 24)
	for h := range out {
		out[h] = fmt.Sprintf("%02d", h)
	}
	return out
}

// withQuery is path with the query v.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

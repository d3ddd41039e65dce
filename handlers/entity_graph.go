package handlers

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

const (
	// graphTop is how many counterparties the graph draws; graphHop how
	// many of one counterparty's own counterparties the second hop adds.
	graphTop = 25
	graphHop = 12
	// activityDays is how many days the activity chart shows at most (the
	// latest ones).
	activityDays = 180
	// graphNarrow is the chart width, in pixels, up to which the graph
	// drops the counterparties' labels (a phone): the table under it names
	// them.
	graphNarrow = 520
)

// bandColors colours the bands with the theme's tokens.
var bandColors = map[string]string{
	string(scoring.BandCritical): "var(--color-danger)",
	string(scoring.BandHigh):     "var(--color-warning)",
	string(scoring.BandMedium):   "var(--color-primary)",
	string(scoring.BandLow):      "var(--color-success)",
}

// graphNode is one node of the counterparty graph.
type graphNode struct {
	account string
	x, y    float64
	size    float64
	band    string
	watch   string // blocked, trusted or ""
	center  bool   // the profile's account, or the second hop's
	tooltip string
}

// graphEdge is money that went one way between two nodes.
type graphEdge struct {
	from, to string
	flow     store.Flow
	curved   bool // the pair has an edge each way
}

// counterpartyGraph lays out the account, its counterparties (the riskiest
// first, as ProfileEntity ranks them) on a ring, the riskiest at the top and
// clockwise, and, with via, via's own riskiest counterparties (up to
// graphHop, the account aside) on an arc beyond it.
func counterpartyGraph(e *store.Entity, watch map[string][]string, via *store.Entity) ([]graphNode, []graphEdge) {
	const cx, cy, ring, hopRing = 1000.0, 1000.0, 400.0, 320.0
	top := e.Counterparties
	kind := func(a string) string {
		if k := watch[a]; len(k) > 0 {
			return k[0]
		}
		return ""
	}
	maxAmount := 1.0
	for i := range top {
		maxAmount = max(maxAmount, top[i].Total().Amount)
	}
	size := func(amount float64) float64 { return 12 + 22*math.Sqrt(amount/maxAmount) }
	nodes := []graphNode{{account: e.Account, x: cx, y: cy, size: 40, band: e.All.Band(), watch: kind(e.Account), center: true,
		tooltip: nodeTooltip(e.Account, &e.Sent, &e.Received, kind(e.Account))}}
	at := map[string]int{e.Account: 0}
	var edges []graphEdge
	addEdges := func(a, b string, out, in *store.Flow) {
		both := out.Count > 0 && in.Count > 0
		if out.Count > 0 {
			edges = append(edges, graphEdge{from: a, to: b, flow: *out, curved: both})
		}
		if in.Count > 0 {
			edges = append(edges, graphEdge{from: b, to: a, flow: *in, curved: both})
		}
	}
	for i := range top {
		r := &top[i]
		total := r.Total()
		angle := -math.Pi/2 + 2*math.Pi*float64(i)/float64(len(top))
		at[r.Account] = len(nodes)
		nodes = append(nodes, graphNode{account: r.Account, x: cx + ring*math.Cos(angle), y: cy + ring*math.Sin(angle),
			size: size(total.Amount), band: total.Band(), watch: kind(r.Account),
			tooltip: nodeTooltip(r.Account, &r.In, &r.Out, kind(r.Account))})
		addEdges(e.Account, r.Account, &r.Out, &r.In)
	}
	if via == nil {
		return nodes, edges
	}
	v, ok := at[via.Account]
	if !ok {
		return nodes, edges
	}
	nodes[v].center = true
	var hop []*store.Counterparty
	for i := range via.Counterparties {
		if r := &via.Counterparties[i]; r.Account != e.Account && len(hop) < graphHop {
			hop = append(hop, r)
		}
	}
	// Spread over three quarters of a circle around via, facing away from
	// the centre.
	base := math.Atan2(nodes[v].y-cy, nodes[v].x-cx)
	for i, r := range hop {
		if _, drawn := at[r.Account]; !drawn {
			angle := base
			if len(hop) > 1 {
				angle += 1.5 * math.Pi * (float64(i)/float64(len(hop)-1) - 0.5)
			}
			total := r.Total()
			at[r.Account] = len(nodes)
			nodes = append(nodes, graphNode{account: r.Account, x: nodes[v].x + hopRing*math.Cos(angle),
				y: nodes[v].y + hopRing*math.Sin(angle), size: 10, band: total.Band(), watch: kind(r.Account),
				tooltip: nodeTooltip(r.Account, &r.In, &r.Out, kind(r.Account))})
		}
		addEdges(via.Account, r.Account, &r.Out, &r.In)
	}
	return nodes, edges
}

// nodeTooltip describes an account of the graph: what it sent and
// received in the graph's terms.
func nodeTooltip(account string, sent, received *store.Flow, watch string) string {
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(account) + "</b>")
	if watch != "" {
		b.WriteString(" (" + strings.ToLower(watchLabel(watch)) + ")")
	}
	if sent.Count > 0 {
		fmt.Fprintf(&b, "<br/>sent %s, %s", countWords(int(sent.Count), "transaction", "transactions"), scoring.FormatAmount(sent.Amount))
	}
	if received.Count > 0 {
		fmt.Fprintf(&b, "<br/>received %s, %s", countWords(int(received.Count), "transaction", "transactions"), scoring.FormatAmount(received.Amount))
	}
	return b.String()
}

// graphOptions builds the ECharts options of the graph with go-echarts.
// Positions are the server's (layout "none"), so the picture is the same
// at every width; a media query drops the counterparties' labels in a
// narrow chart (the table under it names them). Every node carries the path of its profile (href), which
// the page script opens on a click.
func graphOptions(nodes []graphNode, edges []graphEdge, href func(string) string) (string, error) {
	maxAmount := 1.0
	for _, e := range edges {
		maxAmount = max(maxAmount, e.flow.Amount)
	}
	var gn []opts.GraphNode
	for _, n := range nodes {
		symbol := "circle"
		switch n.watch {
		case store.WatchBlocked:
			symbol = "diamond"
		case store.WatchTrusted:
			symbol = "rect"
		}
		color := bandColors[n.band]
		if n.center {
			color = colorTotal
		}
		gn = append(gn, opts.GraphNode{Name: n.account, X: float32(n.x), Y: float32(n.y), Symbol: symbol, SymbolSize: n.size,
			ItemStyle: &opts.ItemStyle{Color: color, BorderColor: colorSurface, BorderWidth: 1},
			Tooltip:   &opts.Tooltip{Formatter: types.FuncStr(n.tooltip)}})
	}
	var gl []opts.GraphLink
	for _, e := range edges {
		curve := float32(0)
		if e.curved {
			curve = 0.2
		}
		gl = append(gl, opts.GraphLink{Source: e.from, Target: e.to,
			LineStyle: &opts.LineStyle{Width: float32(1 + 7*math.Sqrt(e.flow.Amount/maxAmount)), Color: bandColors[e.flow.Band()],
				Curveness: curve, Opacity: opts.Float(0.85)}})
	}
	g := charts.NewGraph()
	g.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", BackgroundColor: colorSurface, BorderColor: colorBorder}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)
	g.AddSeries("counterparties", gn, gl, charts.WithGraphChartOpts(opts.GraphChart{Layout: "none",
		EdgeSymbol: []string{"none", "arrow"}, EdgeSymbolSize: 8}))

	// go-echarts has no fields for what follows (a node's label and link,
	// an edge's tooltip, the series' placement, media queries): set them on
	// the options' JSON form.
	raw, err := json.Marshal(g.JSON())
	if err != nil {
		return "", fmt.Errorf("graph options: %w", err)
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", fmt.Errorf("graph options: %w", err)
	}
	delete(o, "title")
	delete(o, "toolbox")
	delete(o, "color")
	o["tooltip"].(map[string]any)["confine"] = true
	o["tooltip"].(map[string]any)["textStyle"] = map[string]any{"color": colorText}
	s := o["series"].([]any)[0].(map[string]any)
	for k, v := range s {
		if v == nil {
			delete(s, k) // ECharts reads a null categories as a list
		}
	}
	s["emphasis"] = map[string]any{"focus": "adjacency"}
	s["labelLayout"] = map[string]any{"hideOverlap": true}
	s["label"] = map[string]any{"show": true, "position": "right", "color": colorText, "fontSize": 11}
	for i, d := range s["data"].([]any) {
		node := d.(map[string]any)
		node["href"] = href(nodes[i].account)
		label := nodes[i].account
		if w := nodes[i].watch; w != "" {
			label += " (" + strings.ToLower(watchLabel(w)) + ")"
		}
		node["label"] = map[string]any{"formatter": label}
		if nodes[i].center {
			node["label"] = map[string]any{"formatter": label, "show": true, "fontWeight": "bold"}
		}
	}
	for i, l := range s["links"].([]any) {
		e := edges[i]
		l.(map[string]any)["tooltip"] = map[string]any{"formatter": fmt.Sprintf("%s → %s<br/>%s, %s<br/>highest band: %s",
			html.EscapeString(e.from), html.EscapeString(e.to), countWords(int(e.flow.Count), "transaction", "transactions"),
			scoring.FormatAmount(e.flow.Amount), e.flow.Band())}
	}
	// The graph keeps its aspect (a ring stays round) only when its box
	// leaves one side to it: wide, the height is given and the width
	// follows; narrow, the other way round. Media options merge into the
	// last ones, so each names "center" or "middle" for the side it frees.
	options := map[string]any{
		"baseOption": o,
		"media": []any{
			map[string]any{"option": map[string]any{"series": []any{map[string]any{"label": map[string]any{"show": true},
				"left": "center", "top": "6%", "bottom": "6%"}}}},
			map[string]any{"query": map[string]any{"maxWidth": graphNarrow},
				"option": map[string]any{"series": []any{map[string]any{"label": map[string]any{"show": false},
					"left": 28, "right": 28, "top": "middle"}}}}, // room for the largest node at each side
		},
	}
	js, err := json.Marshal(options)
	if err != nil {
		return "", fmt.Errorf("graph options: %w", err)
	}
	return string(js), nil
}

// graphProps builds the counterparty graph of a profile (its
// counterparties are the graphTop riskiest), its fallback table and the
// second-hop choices; hop, when it is one of those counterparties, adds its
// own counterparties (secondHop).
func (s *Server) graphProps(c echo.Context, e *store.Entity, hop *store.Entity) (views.EntityGraphProps, error) {
	ctx := c.Request().Context()
	t := currentPrincipal(c).Tenant
	p := views.EntityGraphProps{Account: e.Account}
	drawn := []string{e.Account}
	for _, r := range e.Counterparties {
		p.Hops = append(p.Hops, views.Option{Value: r.Account, Label: r.Account})
		drawn = append(drawn, r.Account)
	}
	if hop != nil && !slices.ContainsFunc(e.Counterparties, func(r store.Counterparty) bool { return r.Account == hop.Account }) {
		hop = nil
	}
	if hop != nil {
		p.Via = hop.Account
		others := hop.CounterpartyCount - 1 // the profile's account aside
		p.ViaNote = fmt.Sprintf("With the %s of %s that deal the most risk and money (of %d).",
			countWords(min(others, graphHop), "counterparty", "counterparties"), hop.Account, others)
		for _, r := range hop.Counterparties {
			drawn = append(drawn, r.Account)
		}
	}
	watch, err := store.WatchKinds(ctx, t, drawn)
	if err != nil {
		return p, err
	}
	nodes, edges := counterpartyGraph(e, watch, hop)
	href := func(a string) string { return routePath(c, "EntityShow", a) }
	js, err := graphOptions(nodes, edges, href)
	if err != nil {
		return p, err
	}
	p.Chart = views.ChartProps{TestID: "graph", Options: js,
		Label: fmt.Sprintf("Counterparty graph of %s: its %d riskiest counterparties and the money between them", e.Account, len(e.Counterparties)),
		Table: views.ChartTable{
			Caption: "Counterparties, riskiest first: what this account sent to each and received from each (count · amount), and the highest band between them",
			Head:    []string{"Account", "Sent", "Received", "Band"},
		}}
	for i := range e.Counterparties {
		r := &e.Counterparties[i]
		name := r.Account
		if k := watch[r.Account]; len(k) > 0 {
			name += " (" + strings.ToLower(watchLabel(k[0])) + ")"
		}
		total := r.Total()
		p.Chart.Table.Rows = append(p.Chart.Table.Rows, []string{name, flowCell(&r.Out), flowCell(&r.In), total.Band()})
		p.Chart.Table.Hrefs = append(p.Chart.Table.Hrefs, href(r.Account))
	}
	if more := e.CounterpartyCount - len(e.Counterparties); more > 0 {
		p.More = fmt.Sprintf("…and %s more, lower in risk or amount: the transactions below list them all.",
			countWords(more, "counterparty", "counterparties"))
	}
	return p, nil
}

// flowCell writes a flow for a table cell: "3 · 1,200.00", or "—".
func flowCell(f *store.Flow) string {
	if f.Count == 0 {
		return "—"
	}
	return fmt.Sprintf("%d · %s", f.Count, scoring.FormatAmount(f.Amount))
}

// activityChart is the account's daily activity: transactions and flagged
// ones as bars, the average score as a line on its own axis; days without
// transactions between the first and the last are zeros, and only the
// latest activityDays days are drawn.
func activityChart(days []store.DayActivity) (views.ChartProps, error) {
	if len(days) > 0 {
		first, last := days[0].Day, days[len(days)-1].Day
		if earliest := last.AddDate(0, 0, -(activityDays - 1)); first.Before(earliest) {
			first = earliest
		}
		byDay := make(map[time.Time]store.DayActivity, len(days))
		for _, d := range days {
			byDay[d.Day] = d
		}
		days = nil
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			a := byDay[d]
			a.Day = d
			days = append(days, a)
		}
	}
	var x []string
	var count, flagged []opts.BarData
	var avg []opts.LineData
	p := views.ChartProps{TestID: "activity", Label: "Daily activity: transactions, flagged transactions and the average score",
		Table: views.ChartTable{Caption: "Transactions per day (UTC), flagged ones (they needed review), and their average score",
			Head: []string{"Day", "Count", "Flagged", "Avg score"}}}
	for _, d := range days {
		day := d.Day.Format("2006-01-02")
		x = append(x, day)
		count = append(count, opts.BarData{Value: d.Count})
		flagged = append(flagged, opts.BarData{Value: d.Flagged})
		score := "—"
		if d.Count > 0 {
			a := d.ScoreSum / float64(d.Count)
			avg = append(avg, opts.LineData{Value: math.Round(a*1e4) / 1e4})
			score = scoring.FormatScore(a)
		} else {
			avg = append(avg, opts.LineData{Value: nil})
		}
		p.Table.Rows = append(p.Table.Rows, []string{day, fmt.Sprint(d.Count), fmt.Sprint(d.Flagged), score})
	}
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", BackgroundColor: colorSurface, BorderColor: colorBorder}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", TextStyle: &opts.TextStyle{Color: colorText}}),
		// Room beside the axes for half of their names, which are centred
		// on them ("transactions" was cut off at the left edge).
		charts.WithGridOpts(opts.Grid{Left: "44", Right: "24", Top: "14%", Bottom: "3%", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: x, AxisLabel: &opts.AxisLabel{Color: colorMuted, HideOverlap: opts.Bool(true)}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "transactions", AxisLabel: &opts.AxisLabel{Color: colorMuted},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: colorBorder}}}),
	)
	b.ExtendYAxis(opts.YAxis{Type: "value", Name: "score", Min: 0, Max: 1, AxisLabel: &opts.AxisLabel{Color: colorMuted},
		SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	b.AddSeries("Transactions", count, charts.WithItemStyleOpts(opts.ItemStyle{Color: colorTotal}))
	b.AddSeries("Flagged", flagged, charts.WithItemStyleOpts(opts.ItemStyle{Color: "var(--color-warning)"}))
	line := charts.NewLine()
	line.AddSeries("Average score", avg, charts.WithItemStyleOpts(opts.ItemStyle{Color: "var(--color-danger)"}),
		charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1, ConnectNulls: opts.Bool(false)}))
	b.Overlap(line)
	raw, err := json.Marshal(b.JSON())
	if err != nil {
		return p, fmt.Errorf("activity options: %w", err)
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		return p, fmt.Errorf("activity options: %w", err)
	}
	delete(o, "title")
	delete(o, "toolbox")
	delete(o, "color")
	o["tooltip"].(map[string]any)["confine"] = true
	o["tooltip"].(map[string]any)["textStyle"] = map[string]any{"color": colorText}
	o["yAxis"].([]any)[0].(map[string]any)["minInterval"] = 1 // counts
	for _, sr := range o["series"].([]any) {
		if s := sr.(map[string]any); s["type"] == "bar" {
			s["barMaxWidth"] = 28 // a few days would make slabs of bars
		}
	}
	js, err := json.Marshal(o)
	if err != nil {
		return p, fmt.Errorf("activity options: %w", err)
	}
	p.Options = string(js)
	return p, nil
}

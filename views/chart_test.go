package views

import (
	"context"
	"strings"
	"testing"

	"github.com/sentinel-fraud/sentinel/assets"
)

func TestChartMountsOptionsWithTextFallback(t *testing.T) {
	p := ChartProps{
		TestID:  "demo",
		Options: `{"series":[{"name":"<b>"}]}`,
		Label:   "A demo chart",
		Table: ChartTable{
			Caption: "Demo values",
			Head:    []string{"Feature", "Value"},
			Rows:    [][]string{{"Amount <script> = 1", "+0.500"}, {"Hour of day = 7", "-0.100"}},
		},
	}
	var b strings.Builder
	if err := Chart(p).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`data-testid="demo"`,
		`data-echarts="{&#34;series&#34;:[{&#34;name&#34;:&#34;&lt;b&gt;&#34;}]}"`,
		`data-echarts-src="` + assets.URL("echarts.min.js") + `"`,
		`role="img" aria-label="A demo chart"`,
		`<div class="chart-table" data-testid="demo-table"><table><caption>Demo values</caption>`,
		`<th scope="col">Feature</th><th scope="col" class="num">Value</th>`,
		`<tr><th scope="row">Amount &lt;script&gt; = 1</th><td class="num mono">+0.500</td></tr>`,
		`<tr><th scope="row">Hour of day = 7</th><td class="num mono">-0.100</td></tr>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("Chart() lacks %s\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "style=") {
		t.Errorf("Chart() writes inline script or style, which the CSP forbids:\n%s", html)
	}
}

package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// TunerShow is the cost tuner; ?t= moves the slider (htmx gets the curves
// alone).
func (s *Server) TunerShow(c echo.Context) error {
	return s.renderTuner(c, http.StatusOK, tunerState{threshold: c.QueryParam("t")})
}

// tunerState is what a tuner request adds to the page.
type tunerState struct {
	threshold  string
	cost       *scoring.CostModel
	form       *views.CostForm
	notice     string
	applyError string
}

func (s *Server) renderTuner(c echo.Context, status int, st tunerState) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	tu, err := monitor.LoadTuner(ctx, p.Tenant, st.cost)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This tenant has no production model yet: the tuner works on the production model.")
	}
	if err != nil {
		return err
	}
	th, err := s.registry.Thresholds(ctx, p.Tenant, tu.Model.Version)
	if err != nil {
		return err
	}
	at := th.Review
	if st.threshold != "" {
		v, err := strconv.ParseFloat(st.threshold, 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
			return echo.NewHTTPError(http.StatusBadRequest, "The threshold must be a number between 0 and 1.")
		}
		at = v
	}
	at = scoring.TunerGrid[scoring.GridBin(at+1e-9)]
	role := p.User.Role
	props := views.TunerProps{
		CanEdit: Can(role, PermManageCosts), CanApply: Can(role, PermManageModels), Notice: st.notice, ApplyError: st.applyError,
		ModelName: tu.Model.Version.Name, ModelID: tu.Model.Version.ID, ModelVersion: tu.Model.Version.Version,
		CurrentReview: strconv.FormatFloat(th.Review, 'g', 4, 64),
	}
	if st.form != nil {
		props.Cost = *st.form
	} else {
		props.Cost = costForm(tu.Cost)
	}
	if tu.CostRow != nil && props.Cost.Error == "" {
		props.Cost.Saved = fmt.Sprintf("Saved by %s on %s UTC.", tu.CostRow.UpdatedByEmail, tu.CostRow.UpdatedAt.UTC().Format(timeFormat))
	}
	curves := views.TunerCurvesProps{Threshold: strconv.FormatFloat(at, 'f', -1, 64), CanApply: props.CanApply}
	cal := views.TunerSourceProps{ID: "calibration", Title: "The model's calibration split",
		Note: "Held-out labelled rows of the training data, scaled to the days they cover. Alerts a day count at the training data's volume."}
	if tu.Calibration == nil {
		cal.Hidden = "This model's bundle has no calibration curve (it was trained before Sentinel wrote one, or outside Sentinel)."
	} else {
		fillSource(&cal, tu.Calibration, at)
	}
	lab := views.TunerSourceProps{ID: "labelled", Title: "Your labelled transactions",
		Note: fmt.Sprintf("%s analyst decisions (confirmed fraud or false positive) with the score they were given. Analysts mostly label what was reviewed, so low scores are rare here.",
			formatCount(tu.Labelled.Labels))}
	if tu.Labelled.Hidden {
		lab.Hidden = fmt.Sprintf("Hidden until there are at least %d labels: there are %s.", monitor.MinLabels, formatCount(tu.Labelled.Labels))
	} else {
		fillSource(&lab, tu.Labelled, at)
	}
	curves.Sources = []views.TunerSourceProps{cal, lab}
	props.Curves = curves
	if isFragmentRequest(c) && c.Request().Method == http.MethodGet {
		return render(c, status, views.TunerPage(props), views.TunerCurves(curves))
	}
	return render(c, status, views.TunerPage(props), nil)
}

func costForm(cm scoring.CostModel) views.CostForm {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return views.CostForm{MissedShare: f(round(100*cm.MissedShare, 6)), MissedFixed: f(cm.MissedFixed), ReviewCost: f(cm.ReviewCost), DeclineCost: f(cm.DeclineCost)}
}

func fillSource(v *views.TunerSourceProps, src *monitor.TunerSource, at float64) {
	p, _ := scoring.At(src.Points, at)
	v.At = []views.Field{
		{Label: "Precision", Value: fmt.Sprintf("%.1f%%", 100*p.Precision)},
		{Label: "Recall", Value: fmt.Sprintf("%.1f%%", 100*p.Recall)},
		{Label: "Alerts a day", Value: fmt.Sprintf("%.1f", p.AlertsPerDay)},
		{Label: "Expected cost a day", Value: money(p.CostPerDay)},
	}
	r := src.Recommended
	v.RecommendedValue = strconv.FormatFloat(r.Threshold, 'f', -1, 64)
	v.Recommended = fmt.Sprintf("%s (expected cost %s a day; precision %.1f%%, recall %.1f%%, %.1f alerts a day)",
		v.RecommendedValue, money(r.CostPerDay), 100*r.Precision, 100*r.Recall, r.AlertsPerDay)
	v.Chart = tunerChart(v.ID, v.Title, src.Points, at, r.Threshold)
}

func money(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// tunerChart draws precision and recall (left axis) and alerts and cost a
// day (right axis) over the threshold, with the slider's and the
// recommended threshold marked.
func tunerChart(id, title string, pts []scoring.CurvePoint, at, best float64) views.ChartProps {
	label, split := axisStyle()
	line := func(f func(p scoring.CurvePoint) float64) [][2]float64 {
		out := make([][2]float64, len(pts))
		for i, p := range pts {
			out[i] = [2]float64{p.Threshold, round(f(p), 4)}
		}
		return out
	}
	table := views.ChartTable{Caption: title + ": curves over the review threshold",
		Head: []string{"Threshold", "Precision", "Recall", "Alerts a day", "Cost a day"}}
	for _, p := range pts {
		if int(math.Round(p.Threshold*100))%10 == 0 || p.Threshold == at {
			table.Rows = append(table.Rows, []string{strconv.FormatFloat(p.Threshold, 'f', -1, 64), fmt.Sprintf("%.3f", p.Precision),
				fmt.Sprintf("%.3f", p.Recall), fmt.Sprintf("%.1f", p.AlertsPerDay), money(p.CostPerDay)})
		}
	}
	marks := map[string]any{"silent": true, "symbol": "none", "label": map[string]any{"color": colorText, "formatter": "{b}"},
		"data": []map[string]any{
			{"name": "slider", "xAxis": at, "lineStyle": map[string]any{"color": colorText, "type": "solid", "width": 2}},
			{"name": "recommended", "xAxis": best, "lineStyle": map[string]any{"color": "var(--color-success)", "type": "dashed"}},
		}}
	o := map[string]any{
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"show": true, "top": 0, "textStyle": map[string]any{"color": colorText}},
		"grid":    map[string]any{"left": "3%", "right": "3%", "top": 40, "bottom": 36, "containLabel": true},
		"xAxis":   map[string]any{"type": "value", "min": 0, "max": 1, "name": "threshold", "nameLocation": "middle", "nameGap": 24, "axisLabel": label},
		"yAxis": []map[string]any{
			{"type": "value", "min": 0, "max": 1, "name": "rate", "axisLabel": label, "splitLine": split},
			{"type": "value", "name": "a day", "axisLabel": label, "splitLine": map[string]any{"show": false}},
		},
		"series": []map[string]any{
			{"name": "precision", "type": "line", "showSymbol": false, "data": line(func(p scoring.CurvePoint) float64 { return p.Precision }), "itemStyle": map[string]any{"color": colorSeriesA}, "markLine": marks},
			{"name": "recall", "type": "line", "showSymbol": false, "data": line(func(p scoring.CurvePoint) float64 { return p.Recall }), "itemStyle": map[string]any{"color": colorSeriesB}},
			{"name": "alerts a day", "type": "line", "yAxisIndex": 1, "showSymbol": false, "data": line(func(p scoring.CurvePoint) float64 { return p.AlertsPerDay }), "itemStyle": map[string]any{"color": colorMuted}},
			{"name": "cost a day", "type": "line", "yAxisIndex": 1, "showSymbol": false, "data": line(func(p scoring.CurvePoint) float64 { return p.CostPerDay }), "itemStyle": map[string]any{"color": "var(--color-danger)"}},
		},
	}
	return views.ChartProps{TestID: "tuner-chart-" + id, Options: chartJSON(o), Label: table.Caption, Table: table}
}

// TunerCosts saves the tenant's cost model (admins).
func (s *Server) TunerCosts(c echo.Context) error {
	p := currentPrincipal(c)
	form := views.CostForm{MissedShare: strings.TrimSpace(c.FormValue("missed_share")), MissedFixed: strings.TrimSpace(c.FormValue("missed_fixed")),
		ReviewCost: strings.TrimSpace(c.FormValue("review_cost")), DeclineCost: strings.TrimSpace(c.FormValue("decline_cost"))}
	var cm scoring.CostModel
	for _, f := range []struct {
		name, text string
		dst        *float64
	}{{"The missed fraud share", form.MissedShare, &cm.MissedShare}, {"The missed fraud fixed cost", form.MissedFixed, &cm.MissedFixed},
		{"The review cost", form.ReviewCost, &cm.ReviewCost}, {"The decline cost", form.DeclineCost, &cm.DeclineCost}} {
		v, err := strconv.ParseFloat(f.text, 64)
		if err != nil {
			form.Error = f.name + " must be a number, such as 5."
			return s.renderTuner(c, http.StatusUnprocessableEntity, tunerState{form: &form})
		}
		*f.dst = v
	}
	cm.MissedShare /= 100
	if err := cm.Validate(); err != nil {
		form.Error = strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + "."
		return s.renderTuner(c, http.StatusUnprocessableEntity, tunerState{form: &form})
	}
	err := store.SetCostModel(c.Request().Context(), p.Tenant, actorOf(c, p), store.CostModelRow{MissedShare: cm.MissedShare,
		MissedFixed: cm.MissedFixed, ReviewCost: cm.ReviewCost, DeclineCost: cm.DeclineCost})
	if err != nil {
		return err
	}
	return s.renderTuner(c, http.StatusOK, tunerState{notice: "Cost model saved. The curves and the recommended threshold use it."})
}

// TunerApply sets the production model's review threshold through the
// registry's thresholds change (validated and audited like the model
// page's form); the bands stay as they are.
func (s *Server) TunerApply(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	mv, err := store.ProductionModel(ctx, p.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "This tenant has no production model.")
	}
	if err != nil {
		return err
	}
	th, err := s.registry.Thresholds(ctx, p.Tenant, mv)
	if err != nil {
		return err
	}
	v, perr := strconv.ParseFloat(strings.TrimSpace(c.FormValue("review")), 64)
	if perr != nil {
		return s.renderTuner(c, http.StatusUnprocessableEntity, tunerState{applyError: "The review threshold must be a number between 0 and 1."})
	}
	th.Review = v
	if _, err := s.registry.SetThresholds(ctx, p.Tenant, actorOf(c, p), mv.ID, th); err != nil {
		if refused := (*live.RefusedError)(nil); errors.As(err, &refused) {
			return s.renderTuner(c, http.StatusUnprocessableEntity, tunerState{applyError: err.Error()})
		}
		return err
	}
	return s.renderTuner(c, http.StatusOK, tunerState{threshold: c.FormValue("review"),
		notice: fmt.Sprintf("The production model's review threshold is now %s.", strconv.FormatFloat(v, 'g', 4, 64))})
}

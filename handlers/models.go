package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// ModelList shows every model version of the tenant.
func (s *Server) ModelList(c echo.Context) error {
	return s.renderModels(c, http.StatusOK, views.ModelsProps{})
}

func (s *Server) renderModels(c echo.Context, status int, props views.ModelsProps) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	versions, err := store.ListModelVersions(ctx, p.Tenant)
	if err != nil {
		return err
	}
	counts, err := store.CountScoredByVersion(ctx, p.Tenant)
	if err != nil {
		return err
	}
	rollback := rollbackTarget(versions)
	props.CanManage = Can(p.User.Role, PermManageModels)
	props.MaxUploadMB = live.MaxModelFile >> 20
	for i := range versions {
		mv := &versions[i]
		card, err := s.registry.Card(ctx, p.Tenant, mv.ID)
		if err != nil {
			return err
		}
		th, err := s.registry.Thresholds(ctx, p.Tenant, mv)
		if err != nil {
			return err
		}
		row := views.ModelRow{
			ID: mv.ID, Name: mv.Name, Version: mv.Version, Stage: mv.Stage,
			Created: shortTime(&mv.CreatedAt), CreatedBy: who(mv.CreatedByEmail), Promoted: shortTime(mv.ActivatedAt),
			Features: card.Bundle.Features, Thresholds: thresholdValues(th),
			Scored: formatCount(counts.Production[mv.ID]), Rollback: mv.ID == rollback,
		}
		if mv.ActivatedAt != nil {
			row.PromotedBy = who(mv.PromotedByEmail)
		}
		if d := card.Bundle.Data; d != nil {
			row.Data = fmt.Sprintf("%s rows, %s frauds", formatCount(d.Rows), formatCount(d.Frauds))
			row.DataFile = strings.TrimSpace(d.File + " " + shortSHA(d.SHA256))
		} else {
			row.Data = "not recorded"
		}
		if n := counts.Shadow[mv.ID]; n > 0 {
			row.Shadowed = formatCount(n)
		}
		if sm := card.Summary; sm.Known {
			row.AP, row.ROCAUC, row.Brier, row.ECE = metric(sm.AP), metric(sm.ROCAUC), small(sm.Brier), small(sm.ECE)
			row.Precision = metric(sm.PrecisionAtReview)
		} else {
			row.AP, row.ROCAUC, row.Brier, row.ECE, row.Precision = "—", "—", "—", "—", "—"
		}
		props.Rows = append(props.Rows, row)
		props.Options = append(props.Options, views.ModelOption{ID: mv.ID, Label: versionLabel(mv)})
	}
	props.CompareA, props.CompareB = defaultPair(versions)
	return render(c, status, views.ModelsPage(props), nil)
}

// rollbackTarget is the version production would roll back to: the
// archived one promoted most recently.
func rollbackTarget(versions []store.ModelVersion) string {
	var best *store.ModelVersion
	for i := range versions {
		v := &versions[i]
		if v.Stage == store.StageArchived && v.ActivatedAt != nil && (best == nil || v.ActivatedAt.After(*best.ActivatedAt)) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// defaultPair is what the compare form proposes: production against the
// shadow, or else against the newest other version.
func defaultPair(versions []store.ModelVersion) (a, b string) {
	for _, v := range versions {
		switch v.Stage {
		case store.StageProduction:
			a = v.ID
		case store.StageShadow:
			b = v.ID
		}
	}
	for _, v := range versions {
		if b == "" && v.ID != a {
			b = v.ID
		}
	}
	return a, b
}

func versionLabel(mv *store.ModelVersion) string {
	return fmt.Sprintf("%s v%d (%s)", mv.Name, mv.Version, mv.Stage)
}

// who names the person (or process) behind a change; older versions and
// the seed's have no one recorded.
func who(email string) string {
	if email == "" {
		return "the seed"
	}
	return email
}

func dataFingerprint(f *scoring.Fingerprint) string {
	if f == nil {
		return "not recorded"
	}
	name := f.File
	if name == "" {
		name = "data"
	}
	return fmt.Sprintf("%s: %s rows, %s frauds, sha256 %s", name, formatCount(f.Rows), formatCount(f.Frauds), f.SHA256)
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8] + "…"
	}
	return sha
}

// shortTime is a time in a table: minutes, UTC said in the header.
func shortTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func thresholdValues(t scoring.Thresholds) views.ThresholdValues {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return views.ThresholdValues{Review: f(t.Review), Medium: f(t.Medium), High: f(t.High), Critical: f(t.Critical)}
}

// formatCount writes n with thousands separators.
func formatCount(n int64) string {
	return strings.TrimSuffix(scoring.FormatAmount(float64(n)), ".00")
}

// metric shows a metric in [0, 1] with four decimals.
func metric(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// small shows a small error measure (Brier, ECE) readably.
func small(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// ModelImport uploads a model file: checked as scoring would load it, then
// stored as the next staging version of its name.
func (s *Server) ModelImport(c echo.Context) error {
	p := currentPrincipal(c)
	name := strings.TrimSpace(c.FormValue("name"))
	fail := func(status int, msg string) error {
		return s.renderModels(c, status, views.ModelsProps{UploadError: msg, UploadName: name})
	}
	if msg := freeTextProblem("name", name); msg != "" {
		return fail(http.StatusUnprocessableEntity, msg)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "Choose a model file to upload.")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, live.MaxModelFile+1))
	if err != nil {
		return err
	}
	mv, err := s.registry.Import(c.Request().Context(), p.Tenant, actorOf(c, p), live.ImportInput{Name: name, FileName: fh.Filename, Data: data})
	if refused := (*live.RefusedError)(nil); errors.As(err, &refused) {
		status := http.StatusUnprocessableEntity
		if len(data) > live.MaxModelFile {
			status = http.StatusRequestEntityTooLarge
		}
		return fail(status, refused.Message)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "ModelShow", mv.ID))
}

// ModelShow is one version's page.
func (s *Server) ModelShow(c echo.Context) error {
	props, err := s.modelProps(c, c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ModelPage(*props), nil)
}

// modelProps builds a version's page, with the threshold form showing the
// current values.
func (s *Server) modelProps(c echo.Context, id string) (*views.ModelProps, error) {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	mv, err := store.GetModelVersionInfo(ctx, p.Tenant, id)
	if err != nil {
		return nil, err
	}
	versions, err := store.ListModelVersions(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	card, err := s.registry.Card(ctx, p.Tenant, id)
	if err != nil {
		return nil, err
	}
	th, err := s.registry.Thresholds(ctx, p.Tenant, mv)
	if err != nil {
		return nil, err
	}
	loads, err := store.ListModelLoads(ctx, p.Tenant, id)
	if err != nil {
		return nil, err
	}
	counts, err := store.CountScoredByVersion(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	current := thresholdValues(th)
	props := &views.ModelProps{
		ID: mv.ID, Title: fmt.Sprintf("%s v%d", mv.Name, mv.Version), Stage: mv.Stage, Features: card.Bundle.Features,
		CanManage: Can(p.User.Role, PermManageModels), Rollback: mv.ID == rollbackTarget(versions),
		Thresholds: current, Form: views.ThresholdFormProps{ID: mv.ID, Current: current, Values: current},
		Card: modelCard(card),
	}
	file, sha := mv.FileName, mv.SHA256
	if file == "" {
		file = "—"
	}
	if sha == "" {
		sha = "not recorded (registered before the registry kept it)"
	}
	props.Fields = []views.Field{
		{Label: "Stage", Value: mv.Stage},
		{Label: "Created", Value: formatTime(&mv.CreatedAt) + " by " + who(mv.CreatedByEmail)},
		{Label: "Promoted", Value: promotedText(mv)},
		{Label: "Transactions scored", Value: scoredText(counts, mv.ID)},
		{Label: "Uploaded file", Value: file},
		{Label: "File SHA-256", Value: sha},
		{Label: "File size", Value: formatCount(mv.SizeBytes) + " bytes"},
		{Label: "Training data", Value: dataFingerprint(card.Bundle.Data)},
		{Label: "Revision", Value: strconv.Itoa(mv.Revision) + " (rises with every change of stage or thresholds)"},
	}
	for i, l := range loads {
		if i == maxLoadsShown {
			break
		}
		props.Loads = append(props.Loads, views.LoadRow{Replica: l.Replica, Revision: l.Revision,
			When: l.LoadedAt.UTC().Format("2006-01-02 15:04:05"), Current: l.Revision == mv.Revision})
	}
	if err := s.shadowSection(ctx, p.Tenant, mv, versions, props); err != nil {
		return nil, err
	}
	return props, nil
}

// maxLoadsShown is how many replicas' loads a version's page lists: the
// latest ones (a process that stopped stays in the record).
const maxLoadsShown = 10

func promotedText(mv *store.ModelVersion) string {
	if mv.ActivatedAt == nil {
		return "never"
	}
	return formatTime(mv.ActivatedAt) + " by " + who(mv.PromotedByEmail)
}

func scoredText(counts store.ScoredCounts, id string) string {
	out := formatCount(counts.Production[id]) + " in production"
	if n := counts.Shadow[id]; n > 0 {
		out += ", " + formatCount(n) + " in shadow"
	}
	return out
}

// shadowSection adds the live shadow-against-production comparison to a
// production or shadow version's page.
func (s *Server) shadowSection(ctx context.Context, t store.Tenant, mv *store.ModelVersion, versions []store.ModelVersion, props *views.ModelProps) error {
	if mv.Stage != store.StageProduction && mv.Stage != store.StageShadow {
		return nil
	}
	var prod, shadow string
	for _, v := range versions {
		switch v.Stage {
		case store.StageProduction:
			prod = v.ID
		case store.StageShadow:
			shadow = v.ID
		}
	}
	if prod == "" || shadow == "" {
		props.ShadowNote = "No version runs in shadow. Run a staging version in shadow to see how it would have scored the same transactions."
		return nil
	}
	cmp, err := s.registry.Compare(ctx, t, prod, shadow, live.DefaultSample)
	if err != nil {
		return err
	}
	if !cmp.Live {
		props.ShadowNote = "The shadow version has not scored any transaction yet."
		return nil
	}
	res := compareResult(cmp)
	props.Shadow = &res
	return nil
}

// ModelPromote makes a version production (a rollback when it is the
// previous one).
func (s *Server) ModelPromote(c echo.Context) error {
	p := currentPrincipal(c)
	id := c.Param("id")
	_, _, err := s.registry.Promote(c.Request().Context(), p.Tenant, actorOf(c, p), id)
	return s.afterModelChange(c, id, err)
}

// ModelStage moves a version to staging, shadow or archived.
func (s *Server) ModelStage(c echo.Context) error {
	p := currentPrincipal(c)
	id := c.Param("id")
	_, err := s.registry.SetStage(c.Request().Context(), p.Tenant, actorOf(c, p), id, c.FormValue("stage"))
	return s.afterModelChange(c, id, err)
}

// afterModelChange sends the admin back to the version's page, or shows it
// again with the reason a change was refused.
func (s *Server) afterModelChange(c echo.Context, id string, err error) error {
	if refused := (*live.RefusedError)(nil); errors.As(err, &refused) {
		props, perr := s.modelProps(c, id)
		if perr != nil {
			return perr
		}
		props.ActionError = refused.Message
		return render(c, http.StatusUnprocessableEntity, views.ModelPage(*props), nil)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "ModelShow", id))
}

// readThresholds parses the threshold form's four fields.
func readThresholds(c echo.Context) (scoring.Thresholds, views.ThresholdValues, string) {
	v := views.ThresholdValues{Review: strings.TrimSpace(c.FormValue("review")), Medium: strings.TrimSpace(c.FormValue("medium")),
		High: strings.TrimSpace(c.FormValue("high")), Critical: strings.TrimSpace(c.FormValue("critical"))}
	var th scoring.Thresholds
	for _, f := range []struct {
		name, text string
		dst        *float64
	}{{"review", v.Review, &th.Review}, {"medium", v.Medium, &th.Medium}, {"high", v.High, &th.High}, {"critical", v.Critical, &th.Critical}} {
		x, err := strconv.ParseFloat(f.text, 64)
		if err != nil {
			return th, v, fmt.Sprintf("%s must be a number between 0 and 1, such as 0.5.", f.name)
		}
		*f.dst = x
	}
	if err := th.ValidateSetting(); err != nil {
		return th, v, err.Error() + "."
	}
	return th, v, ""
}

// ModelThresholds sets a version's thresholds; with intent=preview (the
// form's button without JavaScript) it only shows what they would change.
func (s *Server) ModelThresholds(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	th, values, problem := readThresholds(c)
	if problem == "" && c.FormValue("intent") != "preview" {
		_, err := s.registry.SetThresholds(ctx, p.Tenant, actorOf(c, p), id, th)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, routePath(c, "ModelShow", id))
		}
		if refused := (*live.RefusedError)(nil); !errors.As(err, &refused) {
			return err
		}
		problem = err.Error()
	}
	props, err := s.modelProps(c, id)
	if err != nil {
		return err
	}
	props.Form.Values = values
	status := http.StatusOK
	if problem != "" {
		props.Form.Error, status = problem, http.StatusUnprocessableEntity
	} else if props.Form.WhatIf, err = s.whatIf(ctx, p.Tenant, id, th); err != nil {
		return err
	}
	return render(c, status, views.ModelPage(*props), nil)
}

// ModelWhatIf says what the thresholds in the query would have changed over
// the last 30 days: the what-if panel for htmx, or the whole page.
func (s *Server) ModelWhatIf(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	th, values, problem := readThresholds(c)
	w := &views.WhatIfProps{Error: problem}
	if problem == "" {
		var err error
		if w, err = s.whatIf(ctx, p.Tenant, id, th); err != nil {
			return err
		}
	} else if _, err := store.GetModelVersionInfo(ctx, p.Tenant, id); err != nil {
		return err
	}
	if isFragmentRequest(c) {
		return render(c, http.StatusOK, views.WhatIfPanel(w), nil)
	}
	props, err := s.modelProps(c, id)
	if err != nil {
		return err
	}
	props.Form.Values, props.Form.WhatIf = values, w
	return render(c, http.StatusOK, views.ModelPage(*props), nil)
}

func (s *Server) whatIf(ctx context.Context, t store.Tenant, id string, th scoring.Thresholds) (*views.WhatIfProps, error) {
	w, err := s.registry.WhatIf(ctx, t, id, th, time.Now())
	if err != nil {
		return nil, err
	}
	source := "this version scored"
	if w.Rescored {
		source = fmt.Sprintf("rescored with this version: the latest %s received", formatCount(int64(live.MaxSample)))
	}
	out := &views.WhatIfProps{Source: source, Total: formatCount(w.Total), Changed: formatCount(w.Changed),
		Enter: formatCount(w.EnterReview), Leave: formatCount(w.LeaveReview), Before: formatCount(w.ReviewBefore),
		After: formatCount(w.ReviewAfter), NoChanges: w.Current == w.Proposed}
	for _, row := range w.Moves {
		var r []string
		for _, n := range row {
			r = append(r, formatCount(n))
		}
		out.Moves = append(out.Moves, r)
	}
	return out, nil
}

// ModelCompare sets two versions side by side on recent traffic.
func (s *Server) ModelCompare(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	versions, err := store.ListModelVersions(ctx, p.Tenant)
	if err != nil {
		return err
	}
	props := views.CompareProps{A: c.QueryParam("a"), B: c.QueryParam("b"), N: c.QueryParam("n")}
	for i := range versions {
		props.Options = append(props.Options, views.ModelOption{ID: versions[i].ID, Label: versionLabel(&versions[i])})
	}
	if props.A == "" && props.B == "" {
		props.A, props.B = defaultPair(versions)
	}
	n := live.DefaultSample
	if props.N != "" {
		if n, err = strconv.Atoi(props.N); err != nil || n < 1 || n > live.MaxSample {
			props.Error = fmt.Sprintf("Compare on 1 to %s recent transactions.", formatCount(live.MaxSample))
			return render(c, http.StatusUnprocessableEntity, views.ComparePage(props), nil)
		}
	}
	props.N = strconv.Itoa(n)
	if props.A == "" || props.B == "" {
		props.Error = "Choose two versions."
		return render(c, http.StatusOK, views.ComparePage(props), nil)
	}
	cmp, err := s.registry.Compare(ctx, p.Tenant, props.A, props.B, n)
	if err != nil {
		return err
	}
	res := compareResult(cmp)
	props.Result = &res
	return render(c, http.StatusOK, views.ComparePage(props), nil)
}

// compareResult shapes a comparison for the views.
func compareResult(cmp *live.Comparison) views.CompareResult {
	a, b := &cmp.A, &cmp.B
	r := views.CompareResult{A: versionName(a.Version), B: versionName(b.Version),
		AID: a.Version.ID, BID: b.Version.ID}
	if cmp.Live {
		r.Source = fmt.Sprintf("The latest %s transactions both scored live: the production model deciding, the shadow model beside it (bands after watchlist overrides).",
			formatCount(int64(cmp.Rows)))
	} else {
		r.Source = fmt.Sprintf("The latest %s stored transactions, rescored with both versions (bands before watchlist overrides).", formatCount(int64(cmp.Rows)))
	}
	sm := func(s live.Summary, f func(live.Summary) string) string {
		if !s.Known {
			return "—"
		}
		return f(s)
	}
	for _, m := range []struct {
		label string
		f     func(live.Summary) string
	}{
		{"AP (test split)", func(s live.Summary) string { return metric(s.AP) }},
		{"ROC-AUC (test split)", func(s live.Summary) string { return metric(s.ROCAUC) }},
		{"Brier (test split)", func(s live.Summary) string { return small(s.Brier) }},
		{"ECE (test split)", func(s live.Summary) string { return small(s.ECE) }},
		{"Precision at review (test split)", func(s live.Summary) string { return metric(s.PrecisionAtReview) }},
		{"Recall at review (test split)", func(s live.Summary) string { return metric(s.RecallAtReview) }},
	} {
		r.Metrics = append(r.Metrics, views.MetricPair{Label: m.label, A: sm(a.Summary, m.f), B: sm(b.Summary, m.f)})
	}
	th := func(s *live.Side) string {
		t := s.Thresholds
		return fmt.Sprintf("%g / %g / %g / %g", t.Review, t.Medium, t.High, t.Critical)
	}
	pct := func(n int64) string {
		if cmp.Rows == 0 {
			return "—"
		}
		return fmt.Sprintf("%s (%.1f%%)", formatCount(n), 100*float64(n)/float64(cmp.Rows))
	}
	r.Live = append(r.Live,
		views.MetricPair{Label: "Thresholds (review / medium / high / critical)", A: th(a), B: th(b)},
		views.MetricPair{Label: "Flagged for review here", A: pct(a.Review), B: pct(b.Review)},
		views.MetricPair{Label: "Medium, high or critical here", A: pct(a.Bands[1] + a.Bands[2] + a.Bands[3]), B: pct(b.Bands[1] + b.Bands[2] + b.Bands[3])},
	)
	if cmp.Labelled > 0 && cmp.Frauds > 0 {
		label := fmt.Sprintf("AP on analysts' decisions (%s decided, %s confirmed fraud)", formatCount(int64(cmp.Labelled)), formatCount(int64(cmp.Frauds)))
		r.Live = append(r.Live, views.MetricPair{Label: label, A: metric(a.LabelAP), B: metric(b.LabelAP)})
	} else {
		r.Live = append(r.Live, views.MetricPair{Label: "AP on analysts' decisions", A: "no confirmed fraud decided yet", B: "—"})
	}
	if a.MeanLatencyUS > 0 || b.MeanLatencyUS > 0 {
		r.Live = append(r.Live, views.MetricPair{Label: "Shadow scoring time (mean / p99)", A: shadowLatency(a), B: shadowLatency(b)})
	}
	for i := range cmp.Agreement {
		var row []string
		for j := range cmp.Agreement[i] {
			row = append(row, formatCount(cmp.Agreement[i][j]))
		}
		r.Agreement = append(r.Agreement, row)
	}
	r.Agree = pct(cmp.Agree)
	for i := range a.Bins {
		r.Dist = append(r.Dist, views.DistRow{Bin: binLabel(i), A: formatCount(a.Bins[i]), B: formatCount(b.Bins[i])})
	}
	r.DistJSON = distributionOptions(r.A, r.B, a.Bins, b.Bins)
	return r
}

func shadowLatency(s *live.Side) string {
	if s.MeanLatencyUS == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f µs / %.0f µs", s.MeanLatencyUS, s.P99LatencyUS)
}

func versionName(mv *store.ModelVersion) string { return fmt.Sprintf("%s v%d", mv.Name, mv.Version) }

func binLabel(i int) string {
	return fmt.Sprintf("%s–%s", strconv.FormatFloat(live.ScoreBins[i], 'g', -1, 64), strconv.FormatFloat(live.ScoreBins[i+1], 'g', -1, 64))
}

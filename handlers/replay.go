package handlers

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/replay"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// replayStateWords say a replay's state to people.
var replayStateWords = map[string]string{store.ReplayRunning: "Running", store.ReplayFinished: "Finished",
	store.ReplayStopped: "Stopped", store.ReplayInterrupted: "Interrupted", store.ReplayFailed: "Failed"}

// replayPanel shapes the tenant's latest replay for its panel.
func (s *Server) replayPanel(c echo.Context) (views.ReplayPanelProps, error) {
	p := currentPrincipal(c)
	props := views.ReplayPanelProps{CanControl: p.User != nil && Can(p.User.Role, PermReplay),
		Form: views.ReplayForm{Rate: "50", Duration: "60", FraudShare: "0.01"},
		Limits: fmt.Sprintf("Rate %d–%d per second, duration %d s – %d min, fraud share 0–%g.", replay.MinRate, replay.MaxRate,
			int(replay.MinDuration.Seconds()), int(replay.MaxDuration.Minutes()), replay.MaxFraudShare)}
	run, err := store.LatestReplay(c.Request().Context(), p.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return props, nil
	}
	if err != nil {
		return props, err
	}
	now := s.now().UTC()
	props.Has = true
	props.Running = run.State == store.ReplayRunning
	props.State = replayStateWords[run.State]
	props.StateID = run.State
	props.Source = "Simulator (seed " + strconv.FormatInt(run.Seed, 10) + fmt.Sprintf(", fraud share %g)", run.FraudShare)
	if run.FileName != "" {
		props.Source = "File " + run.FileName
	}
	props.Requested = fmt.Sprintf("%d per second for %s", run.Rate, (time.Duration(run.DurationS) * time.Second).String())
	elapsed := run.ActiveS
	if props.Running && run.HeartbeatAt != nil {
		elapsed = min(float64(run.DurationS), elapsed+max(0, now.Sub(*run.HeartbeatAt).Seconds()))
	}
	props.Replayed, props.Flagged, props.Invalid = formatCount(run.Replayed), formatCount(run.Flagged), formatCount(run.Invalid)
	if run.ActiveS > 0 {
		props.Achieved = fmt.Sprintf("%.1f per second", float64(run.Replayed+run.Invalid)/run.ActiveS)
	} else {
		props.Achieved = "–"
	}
	props.Elapsed = (time.Duration(elapsed) * time.Second).String()
	props.Remaining = (time.Duration(math.Max(0, float64(run.DurationS)-elapsed)) * time.Second).String()
	if !props.Running {
		props.Remaining = "–"
	}
	props.StartedBy = run.StartedEmail
	props.StartedAt = run.StartedAt.UTC().Format("2006-01-02 15:04:05")
	props.Error = run.Error
	return props, nil
}

// ReplayShow is the replay panel: its page, or (for htmx) the panel alone.
func (s *Server) ReplayShow(c echo.Context) error {
	props, err := s.replayPanel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ReplayPage(props), views.ReplayPanel(props))
}

// ReplayStart starts a replay: the simulator, or the uploaded file. The
// multipart body was read behind this route's size limit (uploadLimits)
// before the CSRF check. 422 for bounds out of range, 409 when one runs.
func (s *Server) ReplayStart(c echo.Context) error {
	p := currentPrincipal(c)
	form := views.ReplayForm{Rate: strings.TrimSpace(c.FormValue("rate")), Duration: strings.TrimSpace(c.FormValue("duration")),
		FraudShare: strings.TrimSpace(c.FormValue("fraud_share"))}
	var problems []string
	cfg := replay.Config{}
	var err error
	if cfg.Rate, err = strconv.Atoi(form.Rate); err != nil {
		problems = append(problems, "Rate must be a whole number of transactions per second.")
	}
	secs, err := strconv.Atoi(form.Duration)
	if err != nil {
		problems = append(problems, "Duration must be a whole number of seconds.")
	}
	cfg.Duration = time.Duration(secs) * time.Second
	if form.FraudShare == "" {
		form.FraudShare = "0"
	}
	if cfg.FraudShare, err = strconv.ParseFloat(form.FraudShare, 64); err != nil {
		problems = append(problems, "Fraud share must be a number from 0 to 0.5.")
	}
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		cfg.File, cfg.FileName = data, filepath.Base(fh.Filename)
		if len(cfg.FileName) > 200 || scoring.IDProblem(strings.ReplaceAll(cfg.FileName, " ", "_")) != "" {
			cfg.FileName = "upload.csv"
		}
	}
	if len(problems) == 0 {
		for _, fe := range cfg.Problems() {
			problems = append(problems, replayFieldWords[fe.Field]+" "+fe.Message+".")
		}
	}
	fail := func(status int, msgs ...string) error {
		props, err := s.replayPanel(c)
		if err != nil {
			return err
		}
		props.Form, props.Problems = form, msgs
		return render(c, status, views.ReplayPage(props), views.ReplayPanel(props))
	}
	if len(problems) > 0 {
		return fail(http.StatusUnprocessableEntity, problems...)
	}
	_, err = s.replay.Start(c.Request().Context(), p.Tenant, actorOf(c, p), cfg)
	switch {
	case errors.Is(err, store.ErrReplayRunning):
		return fail(http.StatusConflict, "A replay is already running for this tenant. Stop it first, or wait for it to finish.")
	case errors.Is(err, live.ErrNoModel):
		return fail(http.StatusConflict, "No production model is active for this tenant; an admin must promote one before a replay can score.")
	case err != nil:
		return err
	}
	return s.afterReplayChange(c)
}

var replayFieldWords = map[string]string{"rate": "Rate", "duration": "Duration", "fraud_share": "Fraud share", "file": "The file"}

// ReplayStop stops the tenant's running replay; 409 when none runs.
func (s *Server) ReplayStop(c echo.Context) error {
	p := currentPrincipal(c)
	_, err := s.replay.Stop(c.Request().Context(), p.Tenant, actorOf(c, p))
	if errors.Is(err, store.ErrNotFound) {
		props, perr := s.replayPanel(c)
		if perr != nil {
			return perr
		}
		props.Problems = []string{"No replay is running."}
		return render(c, http.StatusConflict, views.ReplayPage(props), views.ReplayPanel(props))
	}
	if err != nil {
		return err
	}
	return s.afterReplayChange(c)
}

// afterReplayChange answers a start or stop: the panel for htmx, a
// redirect to it otherwise.
func (s *Server) afterReplayChange(c echo.Context) error {
	if isFragmentRequest(c) {
		props, err := s.replayPanel(c)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.ReplayPage(props), views.ReplayPanel(props))
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "ReplayShow"))
}

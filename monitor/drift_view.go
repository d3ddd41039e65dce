package monitor

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// DriftWindows are the recent windows the drift page compares with the
// baseline: 24 hours, 7 days, 30 days (ending with the last snapshot hour).
var DriftWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}

// DistWindow is the window whose distributions the page draws: 7 days.
const DistWindow = 1

// VarDrift is one variable's drift over each window and its PSI history.
type VarDrift struct {
	Name string
	// PSI, OK and N per window (DriftWindows): OK is false without traffic.
	PSI [3]float64
	OK  [3]bool
	N   [3]float64
	// Recent is the variable's counts over the distribution window.
	Recent HourBins
	// History is the hourly snapshots' trailing 24-hour PSI.
	History []HistoryPoint
}

// HistoryPoint is one snapshot's PSI.
type HistoryPoint struct {
	At  time.Time
	PSI float64
}

// DriftView is what the drift page shows.
type DriftView struct {
	Model *Model
	Vars  []VarDrift
	// Last is the end of the latest snapshot hour (zero when none).
	Last time.Time
}

// Var returns a variable's drift.
func (v *DriftView) Var(name string) (*VarDrift, bool) {
	for i := range v.Vars {
		if v.Vars[i].Name == name {
			return &v.Vars[i], true
		}
	}
	return nil, false
}

// View reads the production model's drift of the last 30 days: PSI per
// variable and window from the difference of running totals in the latest
// snapshot and the one a window earlier (a few rows per variable), and the
// PSI history from every hour's PSI alone. It never reads transactions.
func View(ctx context.Context, t store.Tenant, now time.Time) (*DriftView, error) {
	m, err := ProductionModel(ctx, t)
	if err != nil {
		return nil, err
	}
	out := &DriftView{Model: m}
	if m.Baseline == nil {
		first, err := store.FirstTraffic(ctx, t, m.Version.ID)
		if err == nil {
			m.FirstTraffic = first
		}
		return out, nil
	}
	history, err := store.ListDriftHistory(ctx, t, m.Version.ID, now.Add(-HistoryWindow-time.Hour))
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for _, v := range m.Variables() {
		idx[v] = len(out.Vars)
		out.Vars = append(out.Vars, VarDrift{Name: v})
	}
	var last time.Time
	for _, h := range history {
		if i, ok := idx[h.Feature]; ok {
			out.Vars[i].History = append(out.Vars[i].History, HistoryPoint{At: h.WindowEnd.UTC(), PSI: h.PSI})
		}
		if h.WindowEnd.After(out.Last) {
			out.Last, last = h.WindowEnd.UTC(), h.WindowStart.UTC()
		}
	}
	if out.Last.IsZero() {
		return out, nil
	}
	at := []time.Time{last}
	for _, d := range DriftWindows {
		at = append(at, last.Add(-d))
	}
	snaps, err := store.DriftSnapshotsAt(ctx, t, m.Version.ID, at)
	if err != nil {
		return nil, err
	}
	totals := map[time.Time]map[string]HourBins{}
	for _, s := range snaps {
		var b SnapshotBins
		if err := json.Unmarshal(s.Bins, &b); err != nil {
			return nil, err
		}
		ws := s.WindowStart.UTC()
		if totals[ws] == nil {
			totals[ws] = map[string]HourBins{}
		}
		totals[ws][s.Feature] = b.Total
	}
	for i := range out.Vars {
		vd := &out.Vars[i]
		end := totals[last][vd.Name]
		for w, d := range DriftWindows {
			// The window's counts: the totals now less those at its start
			// (nothing when the model is younger than the window).
			sum := end.sub(totals[last.Add(-d)][vd.Name])
			vd.N[w] = sum.N()
			vd.PSI[w], vd.OK[w] = m.PSI(vd.Name, sum)
			if w == DistWindow {
				vd.Recent = sum
			}
		}
	}
	return out, nil
}

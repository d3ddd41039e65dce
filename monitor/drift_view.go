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

// View sums the production model's hourly snapshots of the last 30 days
// into PSI per variable and window: the page reads snapshots only (at most
// 720 rows per variable), never the transactions.
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
	snaps, err := store.ListDriftSnapshots(ctx, t, m.Version.ID, "", now.Add(-HistoryWindow-time.Hour))
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		if s.WindowEnd.After(out.Last) {
			out.Last = s.WindowEnd.UTC()
		}
	}
	idx := map[string]int{}
	for _, v := range m.Variables() {
		idx[v] = len(out.Vars)
		out.Vars = append(out.Vars, VarDrift{Name: v})
	}
	sums := make([][3]HourBins, len(out.Vars))
	for _, s := range snaps {
		i, ok := idx[s.Feature]
		if !ok {
			continue
		}
		vd := &out.Vars[i]
		vd.History = append(vd.History, HistoryPoint{At: s.WindowEnd.UTC(), PSI: s.PSI})
		var h HourBins
		if err := json.Unmarshal(s.Bins, &h); err != nil {
			continue
		}
		for w, d := range DriftWindows {
			if !s.WindowStart.Before(out.Last.Add(-d)) {
				sums[i][w].add(h)
			}
		}
	}
	for i := range out.Vars {
		vd := &out.Vars[i]
		for w := range DriftWindows {
			vd.N[w] = sums[i][w].N()
			vd.PSI[w], vd.OK[w] = m.PSI(vd.Name, sums[i][w])
		}
		vd.Recent = sums[i][DistWindow]
	}
	return out, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Replay run states.
const (
	ReplayRunning     = "running"
	ReplayFinished    = "finished"
	ReplayStopped     = "stopped"
	ReplayInterrupted = "interrupted"
	ReplayFailed      = "failed"
)

// Audit actions of replays.
const (
	ActionReplayStart = "replay.start"
	ActionReplayStop  = "replay.stop"
)

// ErrReplayRunning is returned when the tenant already has a running replay.
var ErrReplayRunning = errors.New("a replay is already running for this tenant")

// ReplayRun is one replay: simulated or uploaded traffic scored at a set
// rate (migration 0016). While it runs, the replica named by Holder works
// on it and renews HeartbeatAt; a run whose heartbeat went stale is taken
// over or marked interrupted, never left running forever.
type ReplayRun struct {
	ID string `gorm:"primaryKey"`
	Owned
	State      string
	Rate       int // transactions per second
	DurationS  int `gorm:"column:duration_s"`
	FraudShare float64
	Seed       int64
	// FileName and FileData are the uploaded file replayed instead of the
	// simulator ("" and nil for the simulator).
	FileName     string
	FileData     []byte
	StartedBy    *string
	StartedEmail string
	StartedAt    time.Time
	FinishedAt   *time.Time
	// ActiveS is how long the run has been replaying, up to its last
	// heartbeat (a resumed run goes on from there).
	ActiveS  float64 `gorm:"column:active_s"`
	Replayed int64
	Flagged  int64
	Invalid  int64
	Holder   string
	// HeartbeatAt is when its holder last reported progress.
	HeartbeatAt   *time.Time
	StopRequested bool
	Error         string
}

// StartReplay stores run as the tenant's running replay, held by holder,
// and audits the start, in one database transaction. ErrReplayRunning when
// one runs already (the unique index decides, across replicas).
func StartReplay(ctx context.Context, t Tenant, a Actor, run *ReplayRun, holder string, now time.Time) error {
	run.ID, run.State, run.Holder = NewID(), ReplayRunning, holder // NewID: time-ordered even within a millisecond
	now = now.UTC()
	run.StartedAt, run.HeartbeatAt = now, &now
	if a.UserID != "" {
		run.StartedBy = &a.UserID
	}
	run.StartedEmail = a.Email
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.create(ctx, run); err != nil {
			return Event{}, err
		}
		details := map[string]any{"rate": run.Rate, "duration_s": run.DurationS, "fraud_share": run.FraudShare, "seed": run.Seed}
		if run.FileName != "" {
			details["file"] = run.FileName
			details["file_bytes"] = len(run.FileData)
		}
		return Event{Action: ActionReplayStart, ObjectType: "replay", ObjectID: run.ID, Details: details}, nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrReplayRunning
	}
	if err != nil {
		return fmt.Errorf("store: start replay: %w", err)
	}
	return nil
}

// StopReplay stops the tenant's running replay and audits it, in one
// database transaction; its holder notices at its next heartbeat.
// ErrNotFound when none runs.
func StopReplay(ctx context.Context, t Tenant, a Actor, now time.Time) (*ReplayRun, error) {
	var run ReplayRun
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if err := tx.scoped(ctx).Where("state = ?", ReplayRunning).Take(&run).Error; err != nil {
			return Event{}, notFound(err)
		}
		now := now.UTC()
		res := tx.scoped(ctx).Model(&ReplayRun{}).Where("id = ? AND state = ?", run.ID, ReplayRunning).
			Updates(map[string]any{"state": ReplayStopped, "finished_at": now, "stop_requested": true})
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected == 0 {
			return Event{}, ErrNotFound
		}
		run.State, run.FinishedAt = ReplayStopped, &now
		return Event{Action: ActionReplayStop, ObjectType: "replay", ObjectID: run.ID,
			Details: map[string]any{"replayed": run.Replayed, "flagged": run.Flagged}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: stop replay: %w", err)
	}
	return &run, nil
}

// LatestReplay is the tenant's newest replay, ErrNotFound without one.
// The file's bytes are left out.
func LatestReplay(ctx context.Context, t Tenant) (*ReplayRun, error) {
	var run ReplayRun
	err := t.scoped(ctx).Omit("file_data").Order("id DESC").Take(&run).Error
	if err != nil {
		return nil, fmt.Errorf("store: latest replay: %w", notFound(err))
	}
	return &run, nil
}

// GetReplay loads one replay of the tenant, its file included.
func GetReplay(ctx context.Context, t Tenant, id string) (*ReplayRun, error) {
	var run ReplayRun
	if err := t.scoped(ctx).Where("id = ?", id).Take(&run).Error; err != nil {
		return nil, fmt.Errorf("store: replay %s: %w", id, notFound(err))
	}
	return &run, nil
}

// ReplayProgress records the holder's progress and renews its heartbeat.
// It reports false when the run is no longer the holder's to run (stopped,
// or taken over), and the holder must then stop.
func ReplayProgress(ctx context.Context, t Tenant, id, holder string, replayed, flagged, invalid int64, activeS float64, now time.Time) (bool, error) {
	res := t.scoped(ctx).Model(&ReplayRun{}).Where("id = ? AND state = ? AND holder = ?", id, ReplayRunning, holder).
		Updates(map[string]any{"replayed": replayed, "flagged": flagged, "invalid": invalid, "active_s": activeS,
			"heartbeat_at": now.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("store: replay progress: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// FinishReplay ends the holder's run in state (finished, failed or
// interrupted) with its last counts; false when it was not the holder's.
func FinishReplay(ctx context.Context, t Tenant, id, holder, state string, replayed, flagged, invalid int64, activeS float64, errText string, now time.Time) (bool, error) {
	now = now.UTC()
	res := t.scoped(ctx).Model(&ReplayRun{}).Where("id = ? AND state = ? AND holder = ?", id, ReplayRunning, holder).
		Updates(map[string]any{"state": state, "replayed": replayed, "flagged": flagged, "invalid": invalid,
			"active_s": activeS, "heartbeat_at": now, "finished_at": now, "error": errText})
	if res.Error != nil {
		return false, fmt.Errorf("store: finish replay: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ClaimReplay makes holder the holder of a running replay whose heartbeat
// is older than staleBefore (its replica is gone), or that holder holds
// already. It reports whether holder now holds it.
func ClaimReplay(ctx context.Context, t Tenant, id, holder string, staleBefore, now time.Time) (bool, error) {
	res := t.scoped(ctx).Model(&ReplayRun{}).
		Where("id = ? AND state = ? AND (holder = ? OR heartbeat_at IS NULL OR heartbeat_at < ?)", id, ReplayRunning, holder, staleBefore.UTC()).
		Updates(map[string]any{"holder": holder, "heartbeat_at": now.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("store: claim replay: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// AdminRunningReplays lists every tenant's running replays (file bytes
// left out), for the replicas that recover them.
func AdminRunningReplays(ctx context.Context, db *DB) ([]ReplayRun, error) {
	var runs []ReplayRun
	if err := db.gorm.WithContext(ctx).Omit("file_data").Where("state = ?", ReplayRunning).Order("id").Find(&runs).Error; err != nil {
		return nil, fmt.Errorf("store: running replays: %w", err)
	}
	return runs, nil
}

// ReplayCounts saves the holder's counts whatever the run's state: a run
// stopped meanwhile keeps what it replayed up to the stop.
func ReplayCounts(ctx context.Context, t Tenant, id, holder string, replayed, flagged, invalid int64, activeS float64) (bool, error) {
	res := t.scoped(ctx).Model(&ReplayRun{}).Where("id = ? AND holder = ?", id, holder).
		Updates(map[string]any{"replayed": replayed, "flagged": flagged, "invalid": invalid, "active_s": activeS})
	if res.Error != nil {
		return false, fmt.Errorf("store: replay counts: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

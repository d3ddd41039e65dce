package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/datatypes"
	"gorm.io/gorm/clause"
)

// DriftRow is a stored transaction as drift reads it: the columns the
// features are computed from, and its score.
type DriftRow struct {
	Transaction
	ModelVersionID string
}

// DriftRows returns up to limit transactions received in [from, to) and
// scored by the model version, in id order: one hour of traffic for the
// hourly snapshot (bounded by limit). The range is found on the (tenant,
// id) index, ids carrying their time (idAt, idSlack): there is no index on
// received_at.
func DriftRows(ctx context.Context, t Tenant, modelVersionID string, from, to time.Time, limit int) ([]DriftRow, error) {
	rs, err := t.scoped(ctx).Model(&Transaction{}).
		Select("transactions.step, transactions.type, transactions.amount, transactions.old_balance_org, "+
			"transactions.new_balance_orig, transactions.old_balance_dest, transactions.new_balance_dest, p.score").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
		Where("transactions.id >= ? AND transactions.id < ?", idAt(from.Add(-idSlack)), idAt(to.Add(idSlack))).
		Where("transactions.received_at >= ? AND transactions.received_at < ? AND p.model_version_id = ?", from.UTC(), to.UTC(), modelVersionID).
		Order("transactions.id").Limit(limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: drift rows: %w", err)
	}
	defer rs.Close()
	var out []DriftRow
	for rs.Next() {
		r := DriftRow{ModelVersionID: modelVersionID}
		tx := &r.Transaction
		if err := rs.Scan(&tx.Step, &tx.Type, &tx.Amount, &tx.OldBalanceOrg, &tx.NewBalanceOrig, &tx.OldBalanceDest,
			&tx.NewBalanceDest, &tx.Score); err != nil {
			return nil, fmt.Errorf("store: drift rows: %w", err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: drift rows: %w", err)
	}
	return out, nil
}

// FirstTraffic is when the earliest transaction the model version scored
// was received (ErrNotFound when it has scored none; within idSlack of the
// earliest). It walks the transactions in id order, which is the order they
// were received in, until one was scored by the version: the job asks it
// only before a version's first snapshot, and while a version has no
// baseline.
func FirstTraffic(ctx context.Context, t Tenant, modelVersionID string) (time.Time, error) {
	var rows []Transaction
	err := t.scoped(ctx).Select("transactions.received_at").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
		Where("p.model_version_id = ?", modelVersionID).Order("transactions.id").Limit(1).Find(&rows).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("store: first traffic of %s: %w", modelVersionID, err)
	}
	if len(rows) == 0 {
		return time.Time{}, ErrNotFound
	}
	return rows[0].ReceivedAt.UTC(), nil
}

// SaveDriftHour writes one hour's snapshots (one row per variable) unless
// that hour was written already: the unique key (tenant, model, variable,
// window start) makes a second writer's rows no-ops. It reports whether
// this call wrote them.
func SaveDriftHour(ctx context.Context, t Tenant, rows []DriftSnapshot) (bool, error) {
	if len(rows) == 0 {
		return false, nil
	}
	var wrote int64
	err := t.Tx(ctx, func(tx Tenant) error {
		for i := range rows {
			rows[i].setTenant(tx.id)
			if rows[i].ID == "" {
				rows[i].ID = NewID()
			}
		}
		res := tx.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows)
		wrote = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("store: save drift hour: %w", err)
	}
	return wrote > 0, nil
}

// LastDriftHour is the start of the latest hour snapshotted for the model
// version (ErrNotFound when none is).
func LastDriftHour(ctx context.Context, t Tenant, modelVersionID string) (time.Time, error) {
	var rows []DriftSnapshot
	err := t.scoped(ctx).Select("window_start").Where("model_version_id = ?", modelVersionID).
		Order("window_start DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last drift hour: %w", err)
	}
	if len(rows) == 0 {
		return time.Time{}, ErrNotFound
	}
	return rows[0].WindowStart.UTC(), nil
}

// ListDriftSnapshots returns the model version's hourly snapshots from
// since on (by window start), oldest first; feature "" is every variable.
func ListDriftSnapshots(ctx context.Context, t Tenant, modelVersionID, feature string, since time.Time) ([]DriftSnapshot, error) {
	q := t.scoped(ctx).Where("model_version_id = ? AND window_start >= ?", modelVersionID, since.UTC())
	if feature != "" {
		q = q.Where("feature = ?", feature)
	}
	var rows []DriftSnapshot
	if err := q.Order("window_start, feature").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: drift snapshots: %w", err)
	}
	return rows, nil
}

// DriftPoint is one snapshot's PSI.
type DriftPoint struct {
	Feature                string
	WindowStart, WindowEnd time.Time
	PSI                    float64
}

// ListDriftHistory returns every variable's hourly PSI from since on, in
// time order: three small columns of the window index's rows, scanned by
// hand (GORM's reflection was most of the time of 13,000 rows).
func ListDriftHistory(ctx context.Context, t Tenant, modelVersionID string, since time.Time) ([]DriftPoint, error) {
	rs, err := t.scoped(ctx).Model(&DriftSnapshot{}).Select("feature, window_start, window_end, psi").
		Where("model_version_id = ? AND window_start >= ?", modelVersionID, since.UTC()).Order("window_start").Rows()
	if err != nil {
		return nil, fmt.Errorf("store: drift history: %w", err)
	}
	defer rs.Close()
	var out []DriftPoint
	for rs.Next() {
		var p DriftPoint
		if err := rs.Scan(&p.Feature, &p.WindowStart, &p.WindowEnd, &p.PSI); err != nil {
			return nil, fmt.Errorf("store: drift history: %w", err)
		}
		out = append(out, p)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: drift history: %w", err)
	}
	return out, nil
}

// DriftSnapshotsAt returns the model version's snapshots of the hours
// starting at the given times (every variable).
func DriftSnapshotsAt(ctx context.Context, t Tenant, modelVersionID string, starts []time.Time) ([]DriftSnapshot, error) {
	utc := make([]time.Time, len(starts))
	for i, s := range starts {
		utc[i] = s.UTC()
	}
	var rows []DriftSnapshot
	if err := t.scoped(ctx).Where("model_version_id = ? AND window_start IN ?", modelVersionID, utc).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: drift snapshots at: %w", err)
	}
	return rows, nil
}

// CountDriftSnapshots counts the model version's snapshot rows (tests).
func CountDriftSnapshots(ctx context.Context, t Tenant, modelVersionID string) (int64, error) {
	var n int64
	err := t.scoped(ctx).Model(&DriftSnapshot{}).Where("model_version_id = ?", modelVersionID).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: count drift snapshots: %w", err)
	}
	return n, nil
}

// DriftBaseline is a baseline computed from traffic for a model version
// whose bundle has none.
type DriftBaseline struct {
	Owned
	ModelVersionID string `gorm:"primaryKey"`
	Baseline       datatypes.JSON
	TrafficFrom    time.Time
	TrafficTo      time.Time
	ComputedAt     time.Time
}

// GetDriftBaseline returns the computed baseline of a version (ErrNotFound
// when there is none).
func GetDriftBaseline(ctx context.Context, t Tenant, modelVersionID string) (*DriftBaseline, error) {
	var b DriftBaseline
	if err := t.scoped(ctx).Where("model_version_id = ?", modelVersionID).Take(&b).Error; err != nil {
		return nil, fmt.Errorf("store: drift baseline of %s: %w", modelVersionID, notFound(err))
	}
	return &b, nil
}

// SaveDriftBaseline stores a computed baseline once: a second writer's is
// ignored.
func SaveDriftBaseline(ctx context.Context, t Tenant, b *DriftBaseline) error {
	b.setTenant(t.id)
	err := t.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(b).Error
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: save drift baseline: %w", err)
	}
	return nil
}

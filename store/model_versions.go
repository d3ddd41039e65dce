package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/datatypes"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Model stages. A tenant has at most one production and one shadow version.
const (
	StageStaging    = "staging"
	StageProduction = "production"
	StageArchived   = "archived"
	StageShadow     = "shadow"
)

// Audit actions of the model registry.
const (
	ActionModelImport     = "model.import"
	ActionModelPromote    = "model.promote"
	ActionModelStage      = "model.stage"
	ActionModelThresholds = "model.thresholds"
	ActionModelLoad       = "model.load"
)

// Errors of the registry's changes.
var (
	// ErrAlreadyProduction is returned when promoting the production version.
	ErrAlreadyProduction = errors.New("this version is already in production")
	// ErrProductionStage is returned when moving the production version to
	// another stage: promote another version instead.
	ErrProductionStage = errors.New("the production version leaves production only when another version is promoted")
	// ErrBadStage is returned for a stage that cannot be set directly.
	ErrBadStage = errors.New("a version can be set to staging, shadow or archived; production goes through promotion")
	// ErrConcurrentChange is returned when another change of the tenant's
	// stages committed first (two promotions at once).
	ErrConcurrentChange = errors.New("another change of model stages happened at the same time; reload and try again")
)

// NewModelVersion is what RegisterModel and ImportModel need.
type NewModelVersion struct {
	Name       string
	Bundle     []byte
	Metrics    []byte
	Thresholds []byte
	FeatureSet []byte
	CreatedBy  *string
	Stage      string
	// SHA256 and SizeBytes describe the uploaded file; empty, they are those
	// of Bundle.
	SHA256    string
	SizeBytes int64
	FileName  string
}

// RegisterModel stores a bundle as the next version of its name, without
// an audit event (the seed's bootstrap). A production registration archives
// the tenant's current production model in the same transaction, so there
// is always at most one.
func RegisterModel(ctx context.Context, t Tenant, in NewModelVersion) (*ModelVersion, error) {
	var mv *ModelVersion
	err := t.Tx(ctx, func(tx Tenant) error {
		var err error
		mv, err = tx.insertVersion(ctx, in, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: register model %s: %w", in.Name, err)
	}
	return mv, nil
}

// ImportModel stores an uploaded model as the next version of its name,
// audited as the actor's import.
func ImportModel(ctx context.Context, t Tenant, a Actor, in NewModelVersion) (*ModelVersion, error) {
	var mv *ModelVersion
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if mv, err = tx.insertVersion(ctx, in, a.Email); err != nil {
			return Event{}, err
		}
		return Event{Action: ActionModelImport, ObjectType: "model_version", ObjectID: mv.ID, Details: map[string]any{
			"name": mv.Name, "version": mv.Version, "stage": mv.Stage, "sha256": mv.SHA256,
			"size_bytes": mv.SizeBytes, "file_name": mv.FileName,
		}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: import model %s: %w", in.Name, err)
	}
	return mv, nil
}

// insertVersion adds the next version of in.Name inside the caller's
// transaction.
func (t Tenant) insertVersion(ctx context.Context, in NewModelVersion, by string) (*ModelVersion, error) {
	var last int
	if err := t.scoped(ctx).Model(&ModelVersion{}).Where("name = ?", in.Name).
		Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
		return nil, err
	}
	if in.SHA256 == "" {
		sum := sha256.Sum256(in.Bundle)
		in.SHA256, in.SizeBytes = hex.EncodeToString(sum[:]), int64(len(in.Bundle))
	}
	now := time.Now().UTC()
	mv := &ModelVersion{
		ID: NewID(), Name: in.Name, Version: last + 1, Stage: in.Stage, Bundle: in.Bundle,
		Metrics: datatypes.JSON(in.Metrics), Thresholds: datatypes.JSON(in.Thresholds),
		FeatureSet: datatypes.JSON(in.FeatureSet), CreatedBy: in.CreatedBy, CreatedAt: now,
		SHA256: in.SHA256, SizeBytes: in.SizeBytes, FileName: in.FileName, CreatedByEmail: by, Revision: 1,
	}
	if in.Stage == StageProduction || in.Stage == StageShadow {
		mv.ActivatedAt, mv.PromotedByEmail = &now, by
		to := StageArchived
		if in.Stage == StageShadow {
			to = StageStaging
		}
		if err := t.leaveStage(ctx, in.Stage, to, ""); err != nil {
			return nil, err
		}
	}
	if err := t.create(ctx, mv); err != nil {
		return nil, err
	}
	return mv, nil
}

// leaveStage moves the version in stage (production or shadow), if any and
// other than keep, to stage to, raising its revision.
func (t Tenant) leaveStage(ctx context.Context, stage, to, keep string) error {
	q := t.scoped(ctx).Model(&ModelVersion{}).Where("stage = ?", stage)
	if keep != "" {
		q = q.Where("id <> ?", keep)
	}
	return q.Updates(map[string]any{"stage": to, "revision": gorm.Expr("revision + 1")}).Error
}

// ProductionModel returns the tenant's production model version.
func ProductionModel(ctx context.Context, t Tenant) (*ModelVersion, error) {
	var mv ModelVersion
	err := t.scoped(ctx).Where("stage = ?", StageProduction).Take(&mv).Error
	if err != nil {
		return nil, fmt.Errorf("store: production model: %w", notFound(err))
	}
	return &mv, nil
}

// LiveModels returns the tenant's production and shadow versions (at most
// one each) without their bundles: the cheap question a replica asks to
// notice a promotion, a new shadow or changed thresholds (Revision).
func LiveModels(ctx context.Context, t Tenant) ([]ModelVersion, error) {
	var rows []ModelVersion
	if err := t.scoped(ctx).Omit("bundle").Where("stage IN ?", []string{StageProduction, StageShadow}).
		Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: live models: %w", err)
	}
	return rows, nil
}

// GetModelVersion returns one of the tenant's versions with its bundle.
func GetModelVersion(ctx context.Context, t Tenant, id string) (*ModelVersion, error) {
	var mv ModelVersion
	if err := t.scoped(ctx).Where("id = ?", id).Take(&mv).Error; err != nil {
		return nil, fmt.Errorf("store: model version %s: %w", id, notFound(err))
	}
	return &mv, nil
}

// GetModelVersionInfo returns one of the tenant's versions without its bundle.
func GetModelVersionInfo(ctx context.Context, t Tenant, id string) (*ModelVersion, error) {
	mv, err := t.takeMeta(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("store: model version %s: %w", id, err)
	}
	return mv, nil
}

// ListModelVersions lists the tenant's versions without their bundles,
// newest first.
func ListModelVersions(ctx context.Context, t Tenant) ([]ModelVersion, error) {
	var rows []ModelVersion
	if err := t.scoped(ctx).Omit("bundle").Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list model versions: %w", err)
	}
	return rows, nil
}

// HasModelNamed reports whether the tenant has any version of a model name.
func HasModelNamed(ctx context.Context, t Tenant, name string) (bool, error) {
	var n int64
	if err := t.scoped(ctx).Model(&ModelVersion{}).Where("name = ?", name).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: find model %s: %w", name, err)
	}
	return n > 0, nil
}

// versionRef is how an audit event names a version.
func versionRef(mv *ModelVersion) map[string]any {
	return map[string]any{"id": mv.ID, "name": mv.Name, "version": mv.Version, "stage": mv.Stage}
}

// takeMeta loads one version without its bundle inside a transaction.
func (t Tenant) takeMeta(ctx context.Context, id string) (*ModelVersion, error) {
	var mv ModelVersion
	if err := t.scoped(ctx).Omit("bundle").Where("id = ?", id).Take(&mv).Error; err != nil {
		return nil, notFound(err)
	}
	return &mv, nil
}

// PromoteModel makes version id the tenant's production model and archives
// the one it replaces, in one transaction audited with both. It returns
// the replaced version (nil when there was none) and the promoted one.
// Rolling back is promoting the previous version.
func PromoteModel(ctx context.Context, t Tenant, a Actor, id string) (before, after *ModelVersion, err error) {
	err = change(ctx, t, a, func(tx Tenant) (Event, error) {
		target, err := tx.takeMeta(ctx, id)
		if err != nil {
			return Event{}, err
		}
		if target.Stage == StageProduction {
			return Event{}, ErrAlreadyProduction
		}
		var cur []ModelVersion
		if err := tx.scoped(ctx).Omit("bundle").Where("stage = ?", StageProduction).Find(&cur).Error; err != nil {
			return Event{}, err
		}
		details := map[string]any{"after": versionRef(target)}
		if len(cur) > 0 {
			before = &cur[0]
			details["before"] = versionRef(before)
		}
		if err := tx.leaveStage(ctx, StageProduction, StageArchived, ""); err != nil {
			return Event{}, err
		}
		now := time.Now().UTC()
		res := tx.scoped(ctx).Model(&ModelVersion{}).Where("id = ? AND stage = ?", id, target.Stage).Updates(map[string]any{
			"stage": StageProduction, "activated_at": now, "promoted_by_email": a.Email, "revision": gorm.Expr("revision + 1"),
		})
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected != 1 {
			return Event{}, ErrConcurrentChange
		}
		after = target
		after.Stage, after.ActivatedAt, after.PromotedByEmail, after.Revision = StageProduction, &now, a.Email, target.Revision+1
		return Event{Action: ActionModelPromote, ObjectType: "model_version", ObjectID: id, Details: details}, nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		err = ErrConcurrentChange
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: promote model %s: %w", id, err)
	}
	return before, after, nil
}

// SetModelStage moves a version that is not in production to staging,
// shadow or archived, audited. A new shadow version sends the previous one
// back to staging: a tenant has one challenger at a time. Setting the
// stage a version has changes nothing.
func SetModelStage(ctx context.Context, t Tenant, a Actor, id, stage string) (*ModelVersion, error) {
	if stage != StageStaging && stage != StageShadow && stage != StageArchived {
		return nil, ErrBadStage
	}
	var mv *ModelVersion
	errSame := errors.New("same stage")
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if mv, err = tx.takeMeta(ctx, id); err != nil {
			return Event{}, err
		}
		switch mv.Stage {
		case StageProduction:
			return Event{}, ErrProductionStage
		case stage:
			return Event{}, errSame
		}
		details := map[string]any{"from": mv.Stage, "to": stage}
		updates := map[string]any{"stage": stage, "revision": gorm.Expr("revision + 1")}
		if stage == StageShadow {
			var prev []ModelVersion
			if err := tx.scoped(ctx).Omit("bundle").Where("stage = ?", StageShadow).Find(&prev).Error; err != nil {
				return Event{}, err
			}
			if len(prev) > 0 {
				details["replaced_shadow"] = versionRef(&prev[0])
			}
			if err := tx.leaveStage(ctx, StageShadow, StageStaging, id); err != nil {
				return Event{}, err
			}
			now := time.Now().UTC()
			updates["activated_at"], updates["promoted_by_email"] = now, a.Email
			mv.ActivatedAt, mv.PromotedByEmail = &now, a.Email
		}
		res := tx.scoped(ctx).Model(&ModelVersion{}).Where("id = ? AND stage = ?", id, mv.Stage).Updates(updates)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected != 1 {
			return Event{}, ErrConcurrentChange
		}
		mv.Stage, mv.Revision = stage, mv.Revision+1
		return Event{Action: ActionModelStage, ObjectType: "model_version", ObjectID: id, Details: details}, nil
	})
	switch {
	case errors.Is(err, errSame):
		return mv, nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		err = ErrConcurrentChange
	}
	if err != nil {
		return nil, fmt.Errorf("store: set stage of model %s: %w", id, err)
	}
	return mv, nil
}

// SetModelThresholds replaces a version's thresholds (JSON, validated by
// the caller) and raises its revision, audited with the old and new values.
func SetModelThresholds(ctx context.Context, t Tenant, a Actor, id string, thresholds []byte) (*ModelVersion, error) {
	var mv *ModelVersion
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		var err error
		if mv, err = tx.takeMeta(ctx, id); err != nil {
			return Event{}, err
		}
		details := map[string]any{"old": json.RawMessage(mv.Thresholds), "new": json.RawMessage(thresholds)}
		if len(mv.Thresholds) == 0 {
			details["old"] = nil
		}
		err = tx.scoped(ctx).Model(&ModelVersion{}).Where("id = ?", id).Updates(map[string]any{
			"thresholds": datatypes.JSON(thresholds), "revision": gorm.Expr("revision + 1"),
		}).Error
		if err != nil {
			return Event{}, err
		}
		mv.Thresholds, mv.Revision = datatypes.JSON(thresholds), mv.Revision+1
		return Event{Action: ActionModelThresholds, ObjectType: "model_version", ObjectID: id, Details: details}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: set thresholds of model %s: %w", id, err)
	}
	return mv, nil
}

// RecordModelLoad notes that a replica now scores with a revision of a
// version, audited as the replica's.
func RecordModelLoad(ctx context.Context, t Tenant, a Actor, versionID string, revision int, replica string) error {
	row := &ModelLoad{ModelVersionID: versionID, Replica: replica, Revision: revision, LoadedAt: time.Now().UTC()}
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		row.setTenant(tx.id)
		err := tx.db.WithContext(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "model_version_id"}, {Name: "replica"}},
			DoUpdates: clause.AssignmentColumns([]string{"revision", "loaded_at"}),
		}).Create(row).Error
		return Event{Action: ActionModelLoad, ObjectType: "model_version", ObjectID: versionID,
			Details: map[string]any{"replica": replica, "revision": revision}}, err
	})
	if err != nil {
		return fmt.Errorf("store: record load of model %s: %w", versionID, err)
	}
	return nil
}

// ListModelLoads lists when each replica last loaded a version, latest first.
func ListModelLoads(ctx context.Context, t Tenant, versionID string) ([]ModelLoad, error) {
	var rows []ModelLoad
	if err := t.scoped(ctx).Where("model_version_id = ?", versionID).Order("loaded_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: loads of model %s: %w", versionID, err)
	}
	return rows, nil
}

// ScoredCounts is how many transactions each version scored: in
// production (the prediction) and in shadow (beside it).
type ScoredCounts struct {
	Production map[string]int64
	Shadow     map[string]int64
}

// CountScoredByVersion counts the tenant's predictions by version. It reads
// every prediction of the tenant (no index serves it, and one on the hot
// table would cost every insert): an admin page's query.
func CountScoredByVersion(ctx context.Context, t Tenant) (ScoredCounts, error) {
	out := ScoredCounts{Production: map[string]int64{}, Shadow: map[string]int64{}}
	for _, c := range []struct {
		column string
		into   map[string]int64
	}{{"model_version_id", out.Production}, {"shadow_model_version_id", out.Shadow}} {
		var rows []struct {
			ID string
			N  int64
		}
		err := t.scoped(ctx).Model(&Prediction{}).Select(c.column + " AS id, COUNT(*) AS n").
			Where(c.column + " IS NOT NULL").Group(c.column).Scan(&rows).Error
		if err != nil {
			return ScoredCounts{}, fmt.Errorf("store: count scored by version: %w", err)
		}
		for _, r := range rows {
			c.into[r.ID] = r.N
		}
	}
	return out, nil
}

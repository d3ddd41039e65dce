package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/datatypes"
)

// Model stages.
const (
	StageStaging    = "staging"
	StageProduction = "production"
	StageArchived   = "archived"
)

// NewModelVersion is what RegisterModel needs.
type NewModelVersion struct {
	Name       string
	Bundle     []byte
	Metrics    []byte
	Thresholds []byte
	FeatureSet []byte
	CreatedBy  *string
	Stage      string
}

// RegisterModel stores a bundle as the next version of its name. A
// production registration archives the tenant's current production model in
// the same transaction, so there is always at most one.
func RegisterModel(ctx context.Context, t Tenant, in NewModelVersion) (*ModelVersion, error) {
	var mv *ModelVersion
	err := t.Tx(ctx, func(tx Tenant) error {
		var last int
		if err := tx.scoped(ctx).Model(&ModelVersion{}).Where("name = ?", in.Name).
			Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
			return err
		}
		now := time.Now().UTC()
		mv = &ModelVersion{
			ID: NewID(), Name: in.Name, Version: last + 1, Stage: in.Stage, Bundle: in.Bundle,
			Metrics: datatypes.JSON(in.Metrics), Thresholds: datatypes.JSON(in.Thresholds),
			FeatureSet: datatypes.JSON(in.FeatureSet), CreatedBy: in.CreatedBy, CreatedAt: now,
		}
		if in.Stage == StageProduction {
			mv.ActivatedAt = &now
			if err := tx.scoped(ctx).Model(&ModelVersion{}).Where("stage = ?", StageProduction).
				Update("stage", StageArchived).Error; err != nil {
				return err
			}
		}
		return tx.create(ctx, mv)
	})
	if err != nil {
		return nil, fmt.Errorf("store: register model %s: %w", in.Name, err)
	}
	return mv, nil
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

// ProductionModelID returns the id of the tenant's production model version,
// without loading its bundle: the cheap question a replica asks to notice a
// promotion.
func ProductionModelID(ctx context.Context, t Tenant) (string, error) {
	var ids []string
	if err := t.scoped(ctx).Model(&ModelVersion{}).Where("stage = ?", StageProduction).Limit(1).Pluck("id", &ids).Error; err != nil {
		return "", fmt.Errorf("store: production model id: %w", err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("store: production model id: %w", ErrNotFound)
	}
	return ids[0], nil
}

// HasModelNamed reports whether the tenant has any version of a model name.
func HasModelNamed(ctx context.Context, t Tenant, name string) (bool, error) {
	var n int64
	if err := t.scoped(ctx).Model(&ModelVersion{}).Where("name = ?", name).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: find model %s: %w", name, err)
	}
	return n > 0, nil
}

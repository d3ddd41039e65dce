package store

import (
	"context"
	"fmt"
	"time"
)

// This file holds the registry's read-only questions about how versions
// score the tenant's traffic: the threshold what-if and the samples that
// comparisons rescore.

// Cutoffs are a review threshold and the band starts (medium, high,
// critical) on the calibrated score.
type Cutoffs struct {
	Review, Medium, High, Critical float64
}

// BandShift counts the transactions that move from one band and review
// decision to another: bands are 0 low to 3 critical.
type BandShift struct {
	From, To             int
	ReviewFrom, ReviewTo bool
	N                    int64
}

// ThresholdShifts counts, among the predictions version made since since
// (as the production model, or in shadow), how the bands and the review
// decision of their scores move from cutoffs old to cutoffs new. It groups
// in the database: one pass over the rows, a handful of groups back.
func ThresholdShifts(ctx context.Context, t Tenant, versionID string, shadow bool, since time.Time, old, new Cutoffs) ([]BandShift, error) {
	score, version := "score", "model_version_id"
	if shadow {
		score, version = "shadow_score", "shadow_model_version_id"
	}
	band := "CASE WHEN " + score + " >= ? THEN 3 WHEN " + score + " >= ? THEN 2 WHEN " + score + " >= ? THEN 1 ELSE 0 END"
	review := "CASE WHEN " + score + " >= ? THEN 1 ELSE 0 END"
	var rows []struct {
		From, To             int
		ReviewFrom, ReviewTo int
		N                    int64
	}
	err := t.scoped(ctx).Model(&Prediction{}).
		Select(band+" AS \"from\", "+band+" AS \"to\", "+review+" AS review_from, "+review+" AS review_to, COUNT(*) AS n",
			old.Critical, old.High, old.Medium, new.Critical, new.High, new.Medium, old.Review, new.Review).
		Where(version+" = ? AND created_at >= ?", versionID, since.UTC()).
		Group("1, 2, 3, 4").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: threshold shifts of %s: %w", versionID, err)
	}
	out := make([]BandShift, len(rows))
	for i, r := range rows {
		out[i] = BandShift{From: r.From, To: r.To, ReviewFrom: r.ReviewFrom == 1, ReviewTo: r.ReviewTo == 1, N: r.N}
	}
	return out, nil
}

// SampleRow is a stored transaction, as far as a model reads it (its
// names, ids and times are left out), with its label, its prediction and,
// when a shadow model scored it, the shadow's verdict.
type SampleRow struct {
	Transaction
	ModelVersionID       string
	Score                float64
	Band                 string
	ShadowModelVersionID *string
	ShadowScore          *float64
	ShadowBand           *string
	ShadowLatencyUS      *int64
}

// SampleFilter selects the transactions a comparison looks at.
type SampleFilter struct {
	// Limit is how many of the newest transactions to take (at most 100,000).
	Limit int
	// Since keeps transactions received from then on; zero keeps all.
	Since time.Time
	// ShadowOf keeps only transactions this version scored in shadow.
	ShadowOf string
}

// maxSample bounds a sample.
const maxSample = 100_000

// ScoredSample returns the tenant's newest stored transactions with their
// predictions, newest first: the sample a comparison rescores.
func ScoredSample(ctx context.Context, t Tenant, f SampleFilter) ([]SampleRow, error) {
	if f.Limit <= 0 || f.Limit > maxSample {
		f.Limit = maxSample
	}
	q := t.scoped(ctx).Model(&Transaction{}).
		// Only what a model reads and a comparison counts (no names, ids
		// or provenance), in the order ScoredSample scans them.
		Select("transactions.step, transactions.type, transactions.amount, transactions.old_balance_org, " +
			"transactions.new_balance_orig, transactions.old_balance_dest, transactions.new_balance_dest, transactions.label, " +
			"p.model_version_id, p.score, p.band, p.shadow_model_version_id, p.shadow_score, p.shadow_band, p.shadow_latency_us").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id")
	if !f.Since.IsZero() {
		q = q.Where("transactions.received_at >= ?", f.Since.UTC())
	}
	if f.ShadowOf != "" {
		q = q.Where("p.shadow_model_version_id = ?", f.ShadowOf)
	}
	// Scanned by hand: GORM's reflection was most of the time of a
	// 50,000-row sample.
	rs, err := q.Order("transactions.id DESC").Limit(f.Limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: scored sample: %w", err)
	}
	defer rs.Close()
	rows := make([]SampleRow, 0, min(f.Limit, 4096))
	for rs.Next() {
		var r SampleRow
		tx := &r.Transaction
		if err := rs.Scan(&tx.Step, &tx.Type, &tx.Amount, &tx.OldBalanceOrg, &tx.NewBalanceOrig, &tx.OldBalanceDest,
			&tx.NewBalanceDest, &tx.Label, &r.ModelVersionID, &r.Score, &r.Band, &r.ShadowModelVersionID, &r.ShadowScore,
			&r.ShadowBand, &r.ShadowLatencyUS); err != nil {
			return nil, fmt.Errorf("store: scored sample: %w", err)
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: scored sample: %w", err)
	}
	return rows, nil
}

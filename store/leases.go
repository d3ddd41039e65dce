package store

import (
	"context"
	"fmt"
	"time"
)

// JobLease is one tenant's lease on a singleton job: the replica (Holder)
// that runs it until ExpiresAt.
type JobLease struct {
	Owned
	Job       string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt time.Time
}

// Singleton jobs that hold a lease per tenant.
const (
	JobDriftSnapshot = "drift_snapshot"
	JobAlertEvaluate = "alert_evaluate"
)

// AcquireLease takes the tenant's lease on job for holder until now+ttl, or
// renews it when holder has it already; it reports false when another
// holder's lease has not expired. It is one statement (an upsert whose
// update only applies to an expired or own lease), so two replicas asking
// at once cannot both win, on either database.
func AcquireLease(ctx context.Context, t Tenant, job, holder string, now time.Time, ttl time.Duration) (bool, error) {
	now = now.UTC()
	res := t.db.WithContext(ctx).Exec(`INSERT INTO job_leases (tenant_id, job, holder, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (tenant_id, job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE job_leases.tenant_id = ? AND (job_leases.holder = excluded.holder OR job_leases.expires_at <= ?)`,
		t.id, job, holder, now.Add(ttl), t.id, now)
	if res.Error != nil {
		return false, fmt.Errorf("store: lease %s: %w", job, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives up holder's lease on job (at shutdown), so another
// replica takes over at once instead of after the expiry.
func ReleaseLease(ctx context.Context, t Tenant, job, holder string) error {
	err := t.db.WithContext(ctx).Exec("DELETE FROM job_leases WHERE tenant_id = ? AND job = ? AND holder = ?", t.id, job, holder).Error
	if err != nil {
		return fmt.Errorf("store: release lease %s: %w", job, err)
	}
	return nil
}

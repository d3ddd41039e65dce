// Package monitor runs Sentinel's watch over its live models: hourly drift
// snapshots against the model's baseline, the alert evaluator with its
// webhook deliveries, and the cost tuner's curves. Its singleton jobs hold
// a lease per tenant in the database (store.AcquireLease), so any number of
// replicas run each tenant's job once; they read time from an injected
// clock, so tests drive them without sleeping.
package monitor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// Job is one singleton job, run per tenant by whichever replica holds its
// lease.
type Job struct {
	Name  string
	Every time.Duration
	// TTL is how long a lease lasts; it must outlast a run.
	TTL time.Duration
	Run func(ctx context.Context, t store.Tenant, now time.Time) error
}

// Runner runs jobs for every tenant.
type Runner struct {
	db     *store.DB
	holder string
	now    func() time.Time
}

// NewRunner is a runner that takes leases as holder (a replica's name; ""
// is host and process id); now nil is time.Now.
func NewRunner(db *store.DB, holder string, now func() time.Time) *Runner {
	if holder == "" {
		host, _ := os.Hostname()
		holder = host + "/" + store.NewID()
	}
	if now == nil {
		now = time.Now
	}
	return &Runner{db: db, holder: holder, now: now}
}

// Tick runs job once for every tenant whose lease this runner takes or
// holds. It returns the tenants it ran for; a tenant's failure is logged and
// does not stop the others.
func (r *Runner) Tick(ctx context.Context, job Job) (ran int, err error) {
	tenants, err := store.AdminListTenants(ctx, r.db)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, tr := range tenants {
		t := store.ForTenant(r.db, tr.ID)
		ok, err := store.AcquireLease(ctx, t, job.Name, r.holder, r.now(), job.TTL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		ran++
		if err := job.Run(ctx, t, r.now()); err != nil {
			slog.Error("job failed", "job", job.Name, "tenant_id", tr.ID, "err", err)
			errs = append(errs, err)
		}
	}
	return ran, errors.Join(errs...)
}

// Start runs job every job.Every until ctx ends, then releases its leases.
func (r *Runner) Start(ctx context.Context, job Job) {
	tick := time.NewTicker(job.Every)
	defer tick.Stop()
	for {
		if _, err := r.Tick(ctx, job); err != nil && ctx.Err() == nil {
			slog.Warn("job tick", "job", job.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			r.release(job)
			return
		case <-tick.C:
		}
	}
}

func (r *Runner) release(job Job) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tenants, err := store.AdminListTenants(ctx, r.db)
	if err != nil {
		return
	}
	for _, tr := range tenants {
		_ = store.ReleaseLease(ctx, store.ForTenant(r.db, tr.ID), job.Name, r.holder)
	}
}

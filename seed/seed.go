// Package seed creates Sentinel's demo data: two tenants (demo-bank-01 and
// acme-pay, the second one to prove isolation) and a user per role in each.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// DemoPassword is the password of every demo user. It is public: demo users
// are never created on PostgreSQL unless asked for explicitly.
const DemoPassword = "demopass123"

// DemoAdminEmail identifies a seeded demo database.
const DemoAdminEmail = "admin@sentinel.demo"

// DemoTenant is one seeded tenant and its users.
type DemoTenant struct {
	Slug  string
	Name  string
	Users []DemoUser
}

// DemoUser is one seeded user.
type DemoUser struct {
	Email string
	Name  string
	Role  string
}

// Tenants lists the demo tenants.
func Tenants() []DemoTenant {
	return []DemoTenant{
		{Slug: "demo-bank-01", Name: "Demo Bank", Users: []DemoUser{
			{DemoAdminEmail, "Avery Admin", store.RoleAdmin},
			{"senior@sentinel.demo", "Sam Senior", store.RoleSeniorAnalyst},
			{"analyst@sentinel.demo", "Alex Analyst", store.RoleAnalyst},
			{"auditor@sentinel.demo", "Aude Auditor", store.RoleAuditor},
		}},
		{Slug: "acme-pay", Name: "Acme Pay", Users: []DemoUser{
			{"admin@acme.demo", "Ada Acme", store.RoleAdmin},
			{"senior@acme.demo", "Sol Acme", store.RoleSeniorAnalyst},
			{"analyst@acme.demo", "Ari Acme", store.RoleAnalyst},
			{"auditor@acme.demo", "Aud Acme", store.RoleAuditor},
		}},
	}
}

// DemoUsers lists the users of the main demo tenant, for the login page.
func DemoUsers() []DemoUser { return Tenants()[0].Users }

// Demo creates the demo tenants and users that do not exist yet. Running it
// again changes nothing, also from two processes at once: they take turns
// (store.AdminSeedLock).
func Demo(ctx context.Context, db *store.DB) error {
	// One hash serves every demo user: they share one public password.
	hash, err := store.HashPassword(DemoPassword)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return store.AdminSeedLock(ctx, db, func() error {
		for _, dt := range Tenants() {
			if err := demoTenant(ctx, db, dt, hash); err != nil {
				return err
			}
		}
		return nil
	})
}

// demoTenant creates one demo tenant, its users and its default model, each
// unless it exists.
func demoTenant(ctx context.Context, db *store.DB, dt DemoTenant, hash string) error {
	row, err := store.AdminEnsureTenant(ctx, db, dt.Slug, dt.Name)
	if err != nil {
		return fmt.Errorf("seed: tenant %s: %w", dt.Slug, err)
	}
	t := store.ForTenant(db, row.ID)
	for _, du := range dt.Users {
		exists, err := store.AdminUserExists(ctx, db, du.Email)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if exists {
			continue
		}
		_, err = store.CreateUser(ctx, t, store.NewUser{Email: du.Email, Name: du.Name, Role: du.Role, PasswordHash: hash})
		if err != nil {
			return fmt.Errorf("seed: user %s: %w", du.Email, err)
		}
		slog.Info("demo user created", "tenant", dt.Slug, "email", du.Email, "role", du.Role)
	}
	return registerDefaultModel(ctx, t, dt.Slug)
}

// DemoThresholds are the demo tenants' band cut-offs for the default model.
// On the simulator's traffic its scores gather below 0.01 (everyday
// payments), spread thinly from 0.01 to 0.35 (refused or unusual payments),
// and sit from 0.90 up for takeovers; its trained cut-offs (medium 0.3, high
// 0.6, critical 0.85) leave the medium and high bands all but empty. The demo
// cuts so that every band shows: medium from 0.02, high from 0.2, critical
// from 0.9 (every takeover). The review threshold is the model's own.
var DemoThresholds = scoring.Thresholds{Medium: 0.02, High: 0.2, Critical: 0.9}

// demoBundle is the default model bundle with the demo's band cut-offs.
func demoBundle() ([]byte, error) {
	var b map[string]json.RawMessage
	if err := json.Unmarshal(models.Default, &b); err != nil {
		return nil, fmt.Errorf("seed: default model: %w", err)
	}
	var th scoring.Thresholds
	if err := json.Unmarshal(b["thresholds"], &th); err != nil {
		return nil, fmt.Errorf("seed: default model thresholds: %w", err)
	}
	demo := DemoThresholds
	demo.Review = th.Review
	raw, err := json.Marshal(demo)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	b["thresholds"] = raw
	return json.Marshal(b)
}

// registerDefaultModel makes the embedded default model, with the demo's
// band cut-offs, the tenant's production model, unless the tenant has a
// version of it already.
func registerDefaultModel(ctx context.Context, t store.Tenant, slug string) error {
	has, err := store.HasModelNamed(ctx, t, models.DefaultName)
	if err != nil || has {
		return err
	}
	bundle, err := demoBundle()
	if err != nil {
		return err
	}
	m, err := scoring.Load(bundle)
	if err != nil {
		return fmt.Errorf("seed: default model: %w", err)
	}
	b := m.Bundle()
	thresholds, err := json.Marshal(b.Thresholds)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	features, err := json.Marshal(b.Features)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	mv, err := store.RegisterModel(ctx, t, store.NewModelVersion{
		Name: models.DefaultName, Bundle: bundle, Metrics: b.Metrics, Thresholds: thresholds,
		FeatureSet: features, Stage: store.StageProduction,
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	slog.Info("default model registered", "tenant", slug, "model", mv.Name, "version", mv.Version, "stage", mv.Stage)
	return nil
}

// IsEmpty reports whether the database has no tenants yet.
func IsEmpty(ctx context.Context, db *store.DB) (bool, error) {
	n, err := store.AdminCountTenants(ctx, db)
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	return n == 0, nil
}

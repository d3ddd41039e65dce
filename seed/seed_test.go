package seed_test

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func TestDemoIsIdempotent(t *testing.T) {
	store.PasswordCost = bcrypt.MinCost
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		empty, err := seed.IsEmpty(ctx, db)
		if err != nil || !empty {
			t.Fatalf("IsEmpty(new database) = %v, %v; want true", empty, err)
		}
		for i := 0; i < 2; i++ {
			if err := seed.Demo(ctx, db); err != nil {
				t.Fatalf("Demo() run %d = %v", i+1, err)
			}
		}
		if n, _ := store.AdminCountTenants(ctx, db); n != 2 {
			t.Fatalf("tenants after two seeds = %d, want 2", n)
		}
		for _, dt := range seed.Tenants() {
			for _, du := range dt.Users {
				u, err := store.AdminFindLoginUser(ctx, db, du.Email)
				if err != nil {
					t.Fatalf("demo user %s: %v", du.Email, err)
				}
				if u.Role != du.Role || !store.CheckPassword(u, seed.DemoPassword) {
					t.Errorf("demo user %s: role %s, password ok %v", du.Email, u.Role, store.CheckPassword(u, seed.DemoPassword))
				}
				tn := store.ForTenant(db, u.TenantID)
				users, _ := store.ListUsers(ctx, tn)
				if len(users) != len(dt.Users) {
					t.Errorf("tenant %s has %d users, want %d", dt.Slug, len(users), len(dt.Users))
				}
				mv, err := store.ProductionModel(ctx, tn)
				if err != nil || mv.Name != models.DefaultName || mv.Version != 1 {
					t.Fatalf("tenant %s production model = %+v, %v; want %s v1", dt.Slug, mv, err, models.DefaultName)
				}
				if _, err := scoring.Load(mv.Bundle); err != nil {
					t.Errorf("the registered bundle does not load: %v", err)
				}
			}
		}
	})
}

// Two seeds of demo traffic at once (replicas starting together) score each
// demo transaction once and both succeed: on PostgreSQL they take turns, on
// SQLite the loser's batch finds the winner's rows and returns them.
func TestTrafficRunTwiceAtOnceScoresEachTransactionOnce(t *testing.T) {
	store.PasswordCost = bcrypt.MinCost
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := seed.Demo(ctx, db); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = seed.Traffic(ctx, db, live.NewScorer(db)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Traffic() run %d = %v", i+1, err)
			}
		}
		for _, dt := range seed.Tenants() {
			row, err := store.AdminTenantBySlug(ctx, db, dt.Slug)
			if err != nil {
				t.Fatal(err)
			}
			n, err := store.CountTransactions(ctx, store.ForTenant(db, row.ID))
			if err != nil || n != seed.DemoTrafficRows {
				t.Errorf("CountTransactions(%s) = %d, %v; want %d", dt.Slug, n, err, seed.DemoTrafficRows)
			}
		}
	})
}

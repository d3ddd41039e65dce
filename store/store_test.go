package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// twoTenants creates tenants a and b with one user each.
func twoTenants(t *testing.T, db *store.DB) (a, b store.Tenant, ua, ub *store.User) {
	t.Helper()
	ctx := context.Background()
	mk := func(slug, email string) (store.Tenant, *store.User) {
		row, err := store.AdminEnsureTenant(ctx, db, slug, slug)
		if err != nil {
			t.Fatalf("AdminEnsureTenant(%s) = %v", slug, err)
		}
		tn := store.ForTenant(db, row.ID)
		u, err := store.CreateUser(ctx, tn, store.NewUser{Email: email, Name: slug + " user", Role: store.RoleAdmin, PasswordHash: "x"})
		if err != nil {
			t.Fatalf("CreateUser(%s) = %v", email, err)
		}
		return tn, u
	}
	a, ua = mk("tenant-a", "a@example.test")
	b, ub = mk("tenant-b", "b@example.test")
	return a, b, ua, ub
}

// productionModel registers a model version named m in production for tn.
func productionModel(t testing.TB, tn store.Tenant) *store.ModelVersion {
	t.Helper()
	mv, err := store.RegisterModel(context.Background(), tn, store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction})
	if err != nil {
		t.Fatal(err)
	}
	return mv
}

func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, ub := twoTenants(t, db)

		t.Run("a user of another tenant is not found", func(t *testing.T) {
			if _, err := store.GetUser(ctx, a, ub.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetUser(a, b's user) error = %v, want ErrNotFound", err)
			}
			if _, err := store.GetUser(ctx, a, "no-such-id"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetUser(a, missing) error = %v, want ErrNotFound", err)
			}
			got, err := store.GetUser(ctx, b, ub.ID)
			if err != nil || got.Email != ub.Email {
				t.Fatalf("GetUser(b, own user) = %v, %v; want %s", got, err, ub.Email)
			}
		})
		t.Run("lists hide other tenants' users", func(t *testing.T) {
			users, err := store.ListUsers(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 1 || users[0].ID != ua.ID {
				t.Fatalf("ListUsers(a) = %+v, want only %s", users, ua.Email)
			}
		})
		t.Run("audit trail is per tenant", func(t *testing.T) {
			if err := store.Record(ctx, a, store.Actor{Email: ua.Email}, store.Event{Action: "test.a"}); err != nil {
				t.Fatal(err)
			}
			if err := store.Record(ctx, b, store.Actor{Email: ub.Email}, store.Event{Action: "test.b"}); err != nil {
				t.Fatal(err)
			}
			rows, err := store.ListAudit(ctx, a, store.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Action != "test.a" {
				t.Fatalf("ListAudit(a) = %+v, want only test.a", rows)
			}
		})
		t.Run("a transaction keeps the tenant scope", func(t *testing.T) {
			err := a.Tx(ctx, func(tx store.Tenant) error {
				if _, err := store.GetUser(ctx, tx, ub.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("GetUser in a.Tx(b's user) error = %v, want ErrNotFound", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("emails are unique across tenants", func(t *testing.T) {
			_, err := store.CreateUser(ctx, b, store.NewUser{Email: "A@Example.test", Name: "dup", Role: store.RoleAnalyst, PasswordHash: "x"})
			if !errors.Is(err, store.ErrEmailTaken) {
				t.Fatalf("CreateUser(duplicate email) error = %v, want ErrEmailTaken", err)
			}
		})
	})
}

func TestLoginLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, _, ua, _ := twoTenants(t, db)
		u, err := store.AdminFindLoginUser(ctx, db, "  A@EXAMPLE.test ")
		if err != nil || u.ID != ua.ID {
			t.Fatalf("AdminFindLoginUser() = %v, %v; want %s", u, err, ua.ID)
		}
		if _, err := store.AdminFindLoginUser(ctx, db, "nobody@example.test"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AdminFindLoginUser(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestSessionStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := store.NewSessionStore(db)
		if err := s.CommitCtx(ctx, "tok", []byte("one"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "tok", []byte("two"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		b, found, err := s.FindCtx(ctx, "tok")
		if err != nil || !found || string(b) != "two" {
			t.Fatalf("FindCtx() = %q, %v, %v; want two, true", b, found, err)
		}
		toks, err := store.SessionTokensForTest(ctx, db)
		if err != nil || len(toks) != 1 || toks[0] != store.HashToken("tok") {
			t.Fatalf("stored session keys = %q, %v; want only the token's SHA-256", toks, err)
		}
		if err := s.CommitCtx(ctx, "old", []byte("x"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.FindCtx(ctx, "old"); found {
			t.Fatal("FindCtx(expired) found it, want not found")
		}
		n, err := store.AdminDeleteExpiredSessions(ctx, db)
		if err != nil || n != 1 {
			t.Fatalf("AdminDeleteExpiredSessions() = %d, %v; want 1", n, err)
		}
		if err := s.DeleteCtx(ctx, "tok"); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.FindCtx(ctx, "tok"); found {
			t.Fatal("FindCtx(deleted) found it")
		}
		if err := s.DeleteCtx(ctx, "never-existed"); err != nil {
			t.Fatalf("DeleteCtx(missing) = %v, want nil", err)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := store.Migrate(context.Background(), db); err != nil {
			t.Fatalf("second Migrate() = %v, want nil", err)
		}
	})
}

func TestPing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Ping(context.Background()); err != nil {
			t.Fatalf("Ping() = %v", err)
		}
		db.Close()
		if err := db.Ping(context.Background()); err == nil {
			t.Fatal("Ping() on a closed database = nil, want an error")
		}
	})
}

func TestPasswords(t *testing.T) {
	hash, err := store.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{PasswordHash: hash}
	if !store.CheckPassword(u, "correct horse") {
		t.Error("CheckPassword(right password) = false")
	}
	if store.CheckPassword(u, "correct horse ") {
		t.Error("CheckPassword(wrong password) = true")
	}
	if store.CheckPassword(nil, "anything") {
		t.Error("CheckPassword(no user) = true")
	}
}

func TestRegisterModelKeepsOneProductionVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, _, _ := twoTenants(t, db)
		if _, err := store.ProductionModel(ctx, a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ProductionModel(no models) error = %v, want ErrNotFound", err)
		}
		in := store.NewModelVersion{Name: "m", Bundle: []byte("{}"), Stage: store.StageProduction}
		v1, err := store.RegisterModel(ctx, a, in)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := store.RegisterModel(ctx, a, in)
		if err != nil {
			t.Fatal(err)
		}
		if v1.Version != 1 || v2.Version != 2 {
			t.Fatalf("versions = %d, %d; want 1, 2", v1.Version, v2.Version)
		}
		prod, err := store.ProductionModel(ctx, a)
		if err != nil || prod.ID != v2.ID {
			t.Fatalf("ProductionModel() = %v, %v; want version 2", prod, err)
		}
		if live, err := store.LiveModels(ctx, a); err != nil || len(live) != 1 || live[0].ID != v2.ID {
			t.Fatalf("LiveModels() = %v, %v; want version 2 alone", live, err)
		}
		if _, err := store.ProductionModel(ctx, b); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another tenant sees the model: %v", err)
		}
		if live, err := store.LiveModels(ctx, b); err != nil || len(live) != 0 {
			t.Fatalf("another tenant sees live models: %v, %v", live, err)
		}
		if has, _ := store.HasModelNamed(ctx, b, "m"); has {
			t.Fatal("HasModelNamed sees another tenant's model")
		}
	})
}

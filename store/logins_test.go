package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

func TestLoginThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		begin := func(email, ip string, u *store.User) (*store.LoginAttempt, error) {
			return store.AdminBeginLogin(ctx, db, store.Actor{Email: email, IP: ip}, u)
		}

		t.Run("a concurrent burst for one email and address gets five tries", func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			allowed, throttled := 0, 0
			for range 30 {
				wg.Go(func() {
					_, err := begin(ua.Email, "10.0.0.1", ua)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						allowed++
					case errors.Is(err, store.ErrLoginThrottled):
						throttled++
					default:
						t.Errorf("AdminBeginLogin() = %v", err)
					}
				})
			}
			wg.Wait()
			if allowed != store.LoginMaxPerEmailIP || throttled != 30-store.LoginMaxPerEmailIP {
				t.Fatalf("allowed %d, throttled %d; want %d and %d", allowed, throttled, store.LoginMaxPerEmailIP, 30-store.LoginMaxPerEmailIP)
			}
			events, err := store.ListAudit(ctx, a, store.AuditFilter{Action: store.ActionLoginThrottled, Limit: 100})
			if err != nil || len(events) != 25 {
				t.Fatalf("throttled events in the user's tenant = %d, %v; want 25", len(events), err)
			}
		})
		t.Run("the same email from another address still gets in", func(t *testing.T) {
			at, err := begin(ua.Email, "10.0.0.2", ua)
			if err != nil {
				t.Fatalf("AdminBeginLogin(other address) = %v", err)
			}
			if err := store.LoginSucceeded(ctx, db, at); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("one address may try 20 emails", func(t *testing.T) {
			for i := range store.LoginMaxPerIP {
				at, err := begin(fmt.Sprintf("spray%d@example.test", i), "10.0.1.1", nil)
				if err != nil {
					t.Fatalf("try %d: %v", i, err)
				}
				if err := store.AdminLoginFailed(ctx, db, at); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := begin("one-more@example.test", "10.0.1.1", nil); !errors.Is(err, store.ErrLoginThrottled) {
				t.Fatalf("try %d from one address = %v, want ErrLoginThrottled", store.LoginMaxPerIP+1, err)
			}
		})
		t.Run("one email may be tried 50 times from anywhere", func(t *testing.T) {
			for i := range store.LoginMaxPerEmail {
				if _, err := begin("target@example.test", fmt.Sprintf("10.1.%d.1", i), nil); err != nil {
					t.Fatalf("try %d: %v", i, err)
				}
			}
			if _, err := begin("target@example.test", "10.2.0.1", nil); !errors.Is(err, store.ErrLoginThrottled) {
				t.Fatalf("try %d for one email = %v, want ErrLoginThrottled", store.LoginMaxPerEmail+1, err)
			}
		})
		t.Run("successful sign-ins do not count", func(t *testing.T) {
			for i := range 2 * store.LoginMaxPerEmailIP {
				at, err := begin(ua.Email, "10.0.3.1", ua)
				if err != nil {
					t.Fatalf("sign-in %d: %v", i, err)
				}
				if err := store.LoginSucceeded(ctx, db, at); err != nil {
					t.Fatal(err)
				}
			}
			u, err := store.GetUser(ctx, a, ua.ID)
			if err != nil || u.LastLoginAt == nil {
				t.Fatalf("last sign-in = %v, %v; want set", u, err)
			}
		})
	})
}

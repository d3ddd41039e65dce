package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// actions lists the tenant's audit actions, oldest first.
func actions(t *testing.T, tn store.Tenant) []string {
	t.Helper()
	rows, err := store.ListAudit(context.Background(), tn, store.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Action)
	}
	return out
}

func TestPasswordRules(t *testing.T) {
	for _, c := range []struct {
		name     string
		password string
		want     error
	}{
		{"accepts twelve characters", "tangerine-42", nil},
		{"counts characters, not bytes", "żółćżółćżółć", nil},
		{"refuses eleven characters", "tangerine-4", store.ErrPasswordTooShort},
		{"refuses the demo password", "demopass123", store.ErrPasswordTooShort},
		{"accepts 128 characters", strings.Repeat("ab", 64), nil},
		{"refuses 129 characters", strings.Repeat("a", 129), store.ErrPasswordTooLong},
		{"refuses a common password", "qwertyqwerty", store.ErrPasswordCommon},
		{"refuses a common password in other case", "QWERTYQWERTY", store.ErrPasswordCommon},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := store.CheckNewPassword(c.password); !errors.Is(err, c.want) {
				t.Errorf("CheckNewPassword(%q) = %v, want %v", c.password, err, c.want)
			}
		})
	}
	t.Run("long passwords are hashed whole", func(t *testing.T) {
		long := strings.Repeat("x", 80) + "1"
		h, err := store.HashPassword(long)
		if err != nil {
			t.Fatal(err)
		}
		u := &store.User{PasswordHash: h}
		if !store.CheckPassword(u, long) {
			t.Error("CheckPassword(the same 81 bytes) = false")
		}
		if store.CheckPassword(u, strings.Repeat("x", 80)+"2") {
			t.Error("CheckPassword(differs after byte 72) = true: the password was cut")
		}
	})
	t.Run("a user without a password never matches", func(t *testing.T) {
		if store.CheckPassword(&store.User{}, "") {
			t.Error("CheckPassword(invited user, empty) = true")
		}
	})
}

func TestInvitationLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		admin := store.Actor{UserID: ua.ID, Email: ua.Email}
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		u, token, err := store.InviteUser(ctx, a, admin, store.Invite{Email: "New@Example.test", Name: "New", Role: store.RoleAnalyst}, now)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "new@example.test" || !u.Invited() || u.TenantID != a.ID() {
			t.Fatalf("InviteUser() = %+v, want an invited user of tenant a", u)
		}
		if _, _, err := store.InviteUser(ctx, a, admin, store.Invite{Email: "new@example.test", Name: "Again", Role: store.RoleAnalyst}, now); !errors.Is(err, store.ErrEmailTaken) {
			t.Errorf("InviteUser(same email) = %v, want ErrEmailTaken", err)
		}
		if _, _, err := store.InviteUser(ctx, a, admin, store.Invite{Email: "x@example.test", Name: "X", Role: "owner"}, now); !errors.Is(err, store.ErrBadRole) {
			t.Errorf("InviteUser(role owner) = %v, want ErrBadRole", err)
		}

		t.Run("the link works until it expires", func(t *testing.T) {
			if _, got, err := store.AdminFindPasswordLink(ctx, db, token, now.Add(71*time.Hour)); err != nil || got.ID != u.ID {
				t.Fatalf("AdminFindPasswordLink(71 h later) = %v, %v; want the user", got, err)
			}
			if _, _, err := store.AdminFindPasswordLink(ctx, db, token, now.Add(72*time.Hour)); !errors.Is(err, store.ErrLinkInvalid) {
				t.Fatalf("AdminFindPasswordLink(72 h later) = %v, want ErrLinkInvalid", err)
			}
			if _, err := store.AdminUsePasswordLink(ctx, db, store.Actor{}, token, "tangerine-42", now.Add(73*time.Hour)); !errors.Is(err, store.ErrLinkInvalid) {
				t.Fatalf("AdminUsePasswordLink(73 h later) = %v, want ErrLinkInvalid", err)
			}
		})
		t.Run("a weak password leaves the link unused", func(t *testing.T) {
			if _, err := store.AdminUsePasswordLink(ctx, db, store.Actor{}, token, "short", now); !errors.Is(err, store.ErrPasswordTooShort) {
				t.Fatalf("AdminUsePasswordLink(short) = %v, want ErrPasswordTooShort", err)
			}
		})
		t.Run("the link sets the password once", func(t *testing.T) {
			got, err := store.AdminUsePasswordLink(ctx, db, store.Actor{IP: "192.0.2.1"}, token, "tangerine-42", now.Add(time.Hour))
			if err != nil || got.ID != u.ID {
				t.Fatalf("AdminUsePasswordLink() = %v, %v", got, err)
			}
			fresh, _ := store.GetUser(ctx, a, u.ID)
			if !store.CheckPassword(fresh, "tangerine-42") {
				t.Error("the new password does not match")
			}
			if _, err := store.AdminUsePasswordLink(ctx, db, store.Actor{}, token, "another-one-42", now.Add(time.Hour)); !errors.Is(err, store.ErrLinkInvalid) {
				t.Fatalf("second AdminUsePasswordLink() = %v, want ErrLinkInvalid", err)
			}
		})
		t.Run("a reset voids the older link", func(t *testing.T) {
			first, err := store.ResetPassword(ctx, a, admin, u.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			second, err := store.ResetPassword(ctx, a, admin, u.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := store.AdminFindPasswordLink(ctx, db, first, now); !errors.Is(err, store.ErrLinkInvalid) {
				t.Errorf("older link after a reset = %v, want ErrLinkInvalid", err)
			}
			if _, _, err := store.AdminFindPasswordLink(ctx, db, second, now); err != nil {
				t.Errorf("newest link = %v, want valid", err)
			}
		})
		want := []string{store.ActionUserInvite, store.ActionPasswordSet, store.ActionPasswordReset, store.ActionPasswordReset}
		if got := actions(t, a); !slices.Equal(got, want) {
			t.Errorf("audit trail = %v, want %v", got, want)
		}
	})
}

func TestLastAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db) // ua is tenant a's only admin
		self := store.Actor{UserID: ua.ID, Email: ua.Email}
		other := store.Actor{Email: "cli"}
		if _, err := store.ChangeRole(ctx, a, other, ua.ID, store.RoleAnalyst); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("ChangeRole(last admin to analyst) = %v, want ErrLastAdmin", err)
		}
		if _, err := store.DisableUser(ctx, a, other, ua.ID); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("DisableUser(last admin) = %v, want ErrLastAdmin", err)
		}
		if _, err := store.DisableUser(ctx, a, self, ua.ID); !errors.Is(err, store.ErrDisableSelf) {
			t.Errorf("DisableUser(self) = %v, want ErrDisableSelf", err)
		}
		second, _, err := store.InviteUser(ctx, a, self, store.Invite{Email: "second@example.test", Name: "Second", Role: store.RoleAdmin}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.DisableUser(ctx, a, self, second.ID); err != nil {
			t.Fatalf("DisableUser(second admin) = %v", err)
		}
		if _, err := store.ChangeRole(ctx, a, other, ua.ID, store.RoleAnalyst); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("ChangeRole(last active admin, a disabled one left) = %v, want ErrLastAdmin", err)
		}
		if _, err := store.EnableUser(ctx, a, self, second.ID); err != nil {
			t.Fatal(err)
		}
		if u, err := store.ChangeRole(ctx, a, self, ua.ID, store.RoleSeniorAnalyst); err != nil || u.Role != store.RoleSeniorAnalyst {
			t.Fatalf("ChangeRole(one of two admins) = %v, %v", u, err)
		}
		want := []string{store.ActionUserInvite, store.ActionUserDisable, store.ActionUserEnable, store.ActionUserRole}
		if got := actions(t, a); !slices.Equal(got, want) {
			t.Errorf("audit trail = %v, want %v (refusals change nothing)", got, want)
		}
	})
}

func TestUserSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, ub := twoTenants(t, db)
		s := store.NewSessionStore(db)
		commit := func(token string, u *store.User, existing bool) {
			t.Helper()
			mctx := store.WithSessionMeta(ctx, store.SessionMeta{TenantID: u.TenantID, UserID: u.ID, IP: "192.0.2.7", UserAgent: "test", Existing: existing})
			if err := s.CommitCtx(mctx, token, []byte("x"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		commit("laptop", ua, false)
		commit("phone", ua, false)
		commit("b-laptop", ub, false)
		list, err := store.ListSessions(ctx, a, ua.ID, "laptop")
		if err != nil || len(list) != 2 {
			t.Fatalf("ListSessions() = %+v, %v; want two", list, err)
		}
		var phone string
		for _, se := range list {
			if se.IP != "192.0.2.7" || se.UserAgent != "test" {
				t.Errorf("session %+v lacks its address or device", se)
			}
			if !se.Current {
				phone = se.ID
			}
		}
		if got, _ := store.ListSessions(ctx, b, ua.ID, ""); len(got) != 0 {
			t.Errorf("ListSessions(b, a's user) = %d sessions, want none", len(got))
		}
		if err := store.EndSession(ctx, b, store.Actor{UserID: ub.ID}, ub.ID, phone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("EndSession(another user's session) = %v, want ErrNotFound", err)
		}
		if err := store.EndSession(ctx, a, store.Actor{UserID: ua.ID}, ua.ID, phone); err != nil {
			t.Fatal(err)
		}
		t.Run("an ended session stays ended when a request in flight commits it", func(t *testing.T) {
			commit("phone", ua, true)
			if _, found, _ := s.FindCtx(ctx, "phone"); found {
				t.Fatal("the ended session came back")
			}
		})
		t.Run("disabling a user ends their sessions", func(t *testing.T) {
			second, _, err := store.InviteUser(ctx, a, store.Actor{UserID: ua.ID}, store.Invite{Email: "c@example.test", Name: "C", Role: store.RoleAnalyst}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			commit("c-1", second, false)
			commit("c-2", second, false)
			if _, err := store.DisableUser(ctx, a, store.Actor{UserID: ua.ID}, second.ID); err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{"c-1", "c-2"} {
				if _, found, _ := s.FindCtx(ctx, tok); found {
					t.Errorf("session %s of a disabled user still found", tok)
				}
			}
			if _, found, _ := s.FindCtx(ctx, "laptop"); !found {
				t.Error("the admin's own session ended too")
			}
		})
		t.Run("another tenant cannot end a user's sessions", func(t *testing.T) {
			if n, err := store.EndOtherSessions(ctx, b, store.Actor{UserID: ub.ID}, ua.ID, ""); err != nil || n != 0 {
				t.Errorf("EndOtherSessions(b, a's user) = %d, %v; want 0", n, err)
			}
			if _, found, _ := s.FindCtx(ctx, "laptop"); !found {
				t.Error("tenant b ended a's session")
			}
		})
	})
}

func TestSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		actor := store.Actor{UserID: ua.ID, Email: ua.Email}
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		secret, err := store.BeginTOTP(ctx, a, actor, ua.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.EnableTOTP(ctx, a, actor, ua.ID, "000000", now); !errors.Is(err, store.ErrBadCode) {
			t.Fatalf("EnableTOTP(wrong code) = %v, want ErrBadCode", err)
		}
		if _, err := store.EnableTOTP(ctx, b, actor, ua.ID, "000000", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EnableTOTP(another tenant) = %v, want ErrNotFound", err)
		}
		code, _ := store.TOTPCode(secret, now)
		codes, err := store.EnableTOTP(ctx, a, actor, ua.ID, code, now)
		if err != nil || len(codes) != store.RecoveryCodeCount {
			t.Fatalf("EnableTOTP() = %d codes, %v; want %d", len(codes), err, store.RecoveryCodeCount)
		}
		login := func(code string, at time.Time) error {
			t.Helper()
			u, _ := store.GetUser(ctx, a, ua.ID)
			attempt, err := store.AdminBeginLogin(ctx, db, store.Actor{Email: u.Email, IP: "192.0.2.9"}, u)
			if err != nil {
				t.Fatal(err)
			}
			return store.AdminLoginSecondFactor(ctx, db, attempt, code, at)
		}
		if err := login(code, now); !errors.Is(err, store.ErrBadCode) {
			t.Errorf("sign-in with the code that enabled it = %v, want ErrBadCode (used)", err)
		}
		next, _ := store.TOTPCode(secret, now.Add(30*time.Second))
		if err := login(next, now.Add(30*time.Second)); err != nil {
			t.Errorf("sign-in with the next code = %v", err)
		}
		if err := login(next, now.Add(45*time.Second)); !errors.Is(err, store.ErrBadCode) {
			t.Errorf("the same code again = %v, want ErrBadCode", err)
		}
		if err := login(strings.ToUpper(codes[0]), now); err != nil {
			t.Errorf("sign-in with a recovery code = %v", err)
		}
		if err := login(codes[0], now); !errors.Is(err, store.ErrBadCode) {
			t.Errorf("the same recovery code again = %v, want ErrBadCode", err)
		}
		if n, err := store.CountRecoveryCodes(ctx, a, ua.ID); err != nil || n != store.RecoveryCodeCount-1 {
			t.Errorf("CountRecoveryCodes() = %d, %v; want %d", n, err, store.RecoveryCodeCount-1)
		}
		if err := store.RemoveTOTP(ctx, b, actor, ua.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RemoveTOTP(another tenant) = %v, want ErrNotFound", err)
		}
		if err := store.RemoveTOTP(ctx, a, actor, ua.ID); err != nil {
			t.Fatal(err)
		}
		if err := login(codes[1], now); !errors.Is(err, store.ErrBadCode) {
			t.Errorf("a recovery code after removal = %v, want ErrBadCode", err)
		}
		want := []string{store.ActionTOTPBegin, store.ActionTOTPEnable, store.ActionLoginFailed, store.ActionLogin,
			store.ActionLoginFailed, store.ActionLogin, store.ActionLoginFailed, store.ActionTOTPRemove, store.ActionLoginFailed}
		if got := actions(t, a); !slices.Equal(got, want) {
			t.Errorf("audit trail = %v, want %v", got, want)
		}
	})
}

func TestTenantSettingsAndCreation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		row, err := store.AdminCreateTenant(ctx, db, store.Actor{Email: "cli"}, "new-bank", "New Bank")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AdminCreateTenant(ctx, db, store.Actor{Email: "cli"}, "new-bank", "Again"); !errors.Is(err, store.ErrTenantExists) {
			t.Errorf("AdminCreateTenant(taken slug) = %v, want ErrTenantExists", err)
		}
		if _, err := store.AdminCreateTenant(ctx, db, store.Actor{Email: "cli"}, "New Bank", "x"); !errors.Is(err, store.ErrBadSlug) {
			t.Errorf("AdminCreateTenant(bad slug) = %v, want ErrBadSlug", err)
		}
		tn := store.ForTenant(db, row.ID)
		if err := store.SetTwoFactorPolicy(ctx, tn, store.Actor{Email: "cli"}, "sometimes"); !errors.Is(err, store.ErrBadTwoFactorPolicy) {
			t.Errorf("SetTwoFactorPolicy(sometimes) = %v", err)
		}
		if err := store.SetTwoFactorPolicy(ctx, tn, store.Actor{Email: "cli"}, store.TwoFactorAdmins); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetTenant(ctx, tn)
		if err != nil || got.TwoFactor != store.TwoFactorAdmins {
			t.Fatalf("tenant after SetTwoFactorPolicy = %+v, %v", got, err)
		}
		want := []string{store.ActionTenantCreate, store.ActionTwoFactorPolicy}
		if got := actions(t, tn); !slices.Equal(got, want) {
			t.Errorf("audit trail = %v, want %v", got, want)
		}
		for _, c := range []struct {
			policy, role string
			want         bool
		}{
			{store.TwoFactorOptional, store.RoleAdmin, false},
			{store.TwoFactorAdmins, store.RoleAdmin, true},
			{store.TwoFactorAdmins, store.RoleAnalyst, false},
			{store.TwoFactorEveryone, store.RoleAnalyst, true},
		} {
			if got := store.TwoFactorRequired(c.policy, c.role); got != c.want {
				t.Errorf("TwoFactorRequired(%s, %s) = %v, want %v", c.policy, c.role, got, c.want)
			}
		}
	})
}

// TestPeopleChangesAndTheirAuditEventsCommitTogether breaks the audit trail:
// no user change is saved without its event.
func TestPeopleChangesAndTheirAuditEventsCommitTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		actor := store.Actor{Email: "cli"}
		second, _, err := store.InviteUser(ctx, a, actor, store.Invite{Email: "s@example.test", Name: "S", Role: store.RoleAdmin}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.ExecForTest(ctx, db, "DROP TABLE audit_events"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.InviteUser(ctx, a, actor, store.Invite{Email: "t@example.test", Name: "T", Role: store.RoleAnalyst}, time.Now()); err == nil {
			t.Error("InviteUser() with no audit trail = nil error")
		}
		if _, err := store.ChangeRole(ctx, a, actor, second.ID, store.RoleAnalyst); err == nil {
			t.Error("ChangeRole() with no audit trail = nil error")
		}
		if _, err := store.DisableUser(ctx, a, actor, second.ID); err == nil {
			t.Error("DisableUser() with no audit trail = nil error")
		}
		if _, err := store.BeginTOTP(ctx, a, actor, ua.ID); err == nil {
			t.Error("BeginTOTP() with no audit trail = nil error")
		}
		users, err := store.ListUsers(ctx, a)
		if err != nil || len(users) != 2 {
			t.Fatalf("users after failed audits = %d, %v; want 2", len(users), err)
		}
		for _, u := range users {
			if u.ID == second.ID && (u.Role != store.RoleAdmin || u.DisabledAt != nil) {
				t.Errorf("second admin after failed audits = %+v, want unchanged", u)
			}
			if u.TOTPPendingSecret != "" {
				t.Errorf("%s has a pending secret after a failed audit", u.Email)
			}
		}
	})
}

package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// newPassword passes the password rules.
const newPassword = "violet-harbour-lantern"

var memberSeq atomic.Int64

// demoTenant is the demo bank's scope.
func (a *testApp) demoTenant() store.Tenant {
	return store.ForTenant(a.db, a.user(seed.DemoAdminEmail).TenantID)
}

// invite adds a user to the demo bank, as its admin, and returns the user
// and their set-password link's token.
func (a *testApp) invite(role string) (*store.User, string) {
	a.t.Helper()
	admin := a.user(seed.DemoAdminEmail)
	u, token, err := store.InviteUser(context.Background(), a.demoTenant(), store.Actor{UserID: admin.ID, Email: admin.Email},
		store.Invite{Email: fmt.Sprintf("member%d@sentinel.demo", memberSeq.Add(1)), Name: "Member", Role: role}, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return u, token
}

// member adds a user of the demo bank who has set newPassword.
func (a *testApp) member(role string) *store.User {
	a.t.Helper()
	u, token := a.invite(role)
	if _, err := store.AdminUsePasswordLink(context.Background(), a.db, store.Actor{}, token, newPassword, time.Now()); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// signedInAs returns a browser signed in with email and password, with the
// token of a signed-in page.
func (a *testApp) signedInAs(email, password string) *browser {
	a.t.Helper()
	b := a.browser()
	if res := b.login(email, password); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		a.t.Fatalf("login %s = %d to %q, want 303 to /", email, res.Status, res.Header.Get("Location"))
	}
	b.get("/")
	return b
}

// otherSession signs email in on a new browser and returns that session's id.
func (a *testApp) otherSession(email string) string {
	a.t.Helper()
	b := a.signedIn(email)
	u := a.user(email)
	list, err := store.ListSessions(context.Background(), store.ForTenant(a.db, u.TenantID), u.ID, b.cookie("sentinel_session"))
	if err != nil {
		a.t.Fatal(err)
	}
	for _, s := range list {
		if s.Current {
			return s.ID
		}
	}
	a.t.Fatalf("no session of %s's new browser", email)
	return ""
}

// beginTOTP starts setting up a second factor for email and returns its secret.
func (a *testApp) beginTOTP(email string) string {
	a.t.Helper()
	u := a.user(email)
	secret, err := store.BeginTOTP(context.Background(), store.ForTenant(a.db, u.TenantID), store.Actor{UserID: u.ID, Email: u.Email}, u.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

// fakeClock is the server's clock in tests that need codes of a given time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// eachClockedApp runs fn on a seeded app whose clock is clk, over every
// configured database.
func eachClockedApp(t *testing.T, clk *fakeClock, fn func(t *testing.T, a *testApp)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newTestAppWith(t, db, Config{Now: clk.Now})) })
}

var (
	linkPath      = regexp.MustCompile(`/set-password/[A-Z2-7]+`)
	secretText    = regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7 ]+)<`)
	recoveryCodes = regexp.MustCompile(`<li>([a-z2-7]{5}-[a-z2-7]{5})</li>`)
)

func TestInviteAndSetPassword(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	eachClockedApp(t, clk, func(t *testing.T, a *testApp) {
		admin := a.signedIn(seed.DemoAdminEmail)
		admin.get("/settings/users")
		invite := func(email string) response {
			return admin.post("/settings/users", url.Values{"email": {email}, "name": {"Nia New"}, "role": {store.RoleSeniorAnalyst}}, true)
		}
		res := invite("nia@sentinel.demo")
		link := linkPath.FindString(res.Body)
		if res.Status != http.StatusCreated || link == "" || !strings.Contains(res.Body, "Nia New") {
			t.Fatalf("POST /settings/users = %d, link %q; want 201 with the link", res.Status, link)
		}
		if u := a.user("nia@sentinel.demo"); u.PasswordHash != "" || u.Role != store.RoleSeniorAnalyst {
			t.Fatalf("invited user = %+v, want a senior analyst without a password", u)
		}
		for _, c := range []struct {
			name, email, want string
		}{
			{"refuses an email that has an account", "nia@sentinel.demo", "already has an account"},
			{"refuses an email of another tenant's user", "analyst@acme.demo", "already has an account"},
			{"refuses what is not an email", "nia at example", "Enter the email address"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if res := invite(c.email); res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, c.want) {
					t.Errorf("invite %q = %d, want 422 with %q", c.email, res.Status, c.want)
				}
			})
		}

		person := a.browser()
		if res := person.get(link); res.Status != http.StatusOK || !strings.Contains(res.Body, "nia@sentinel.demo") {
			t.Fatalf("GET the link = %d, want 200 naming the user", res.Status)
		}
		t.Run("the password rules apply", func(t *testing.T) {
			for _, pw := range []string{"short", seed.DemoPassword, "qwertyqwerty"} {
				if res := person.post(link, url.Values{"password": {pw}, "confirm": {pw}}, true); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("set password %q = %d, want 422", pw, res.Status)
				}
			}
			if res := person.post(link, url.Values{"password": {newPassword}, "confirm": {newPassword + "x"}}, true); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("set password with a different confirmation = %d, want 422", res.Status)
			}
		})
		res = person.post(link, url.Values{"password": {newPassword}, "confirm": {newPassword}}, true)
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login?password=set" {
			t.Fatalf("set password = %d to %q, want 303 to /login?password=set", res.Status, res.Header.Get("Location"))
		}
		a.signedInAs("nia@sentinel.demo", newPassword)
		t.Run("a second use fails", func(t *testing.T) {
			b := a.browser()
			if res := b.get(link); res.Status != http.StatusGone || !strings.Contains(res.Body, "no longer works") {
				t.Errorf("GET a used link = %d, want 410", res.Status)
			}
			b.get("/login")
			if res := b.post(link, url.Values{"password": {"another-password-9"}, "confirm": {"another-password-9"}}, true); res.Status != http.StatusGone {
				t.Errorf("POST a used link = %d, want 410", res.Status)
			}
		})
		t.Run("an expired link fails", func(t *testing.T) {
			res := invite("late@sentinel.demo")
			late := linkPath.FindString(res.Body)
			clk.Set(clk.Now().Add(store.PasswordLinkLifetime + time.Minute))
			defer clk.Set(clk.Now().Add(-store.PasswordLinkLifetime - time.Minute))
			if res := a.browser().get(late); res.Status != http.StatusGone {
				t.Errorf("GET a link after 72 h = %d, want 410", res.Status)
			}
		})
		t.Run("a reset makes a new link and voids the old one", func(t *testing.T) {
			u := a.user("late@sentinel.demo")
			first := linkPath.FindString(admin.post("/settings/users/"+u.ID+"/reset-password", url.Values{}, true).Body)
			second := linkPath.FindString(admin.post("/settings/users/"+u.ID+"/reset-password", url.Values{}, true).Body)
			if first == "" || second == "" || first == second {
				t.Fatalf("reset links = %q, %q; want two different ones", first, second)
			}
			if res := a.browser().get(first); res.Status != http.StatusGone {
				t.Errorf("GET the older reset link = %d, want 410", res.Status)
			}
			if res := a.browser().get(second); res.Status != http.StatusOK {
				t.Errorf("GET the newest reset link = %d, want 200", res.Status)
			}
		})
		got := a.auditActions(seed.DemoAdminEmail)
		for _, action := range []string{store.ActionUserInvite, store.ActionPasswordSet, store.ActionPasswordReset} {
			if count(got, action) == 0 {
				t.Errorf("audit trail lacks %s: %v", action, got)
			}
		}
	})
}

func TestAdminsManageUsers(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		admin := a.signedIn(seed.DemoAdminEmail)
		admin.get("/settings/users")
		t.Run("a role change takes effect on the next request", func(t *testing.T) {
			m := a.member(store.RoleAnalyst)
			b := a.signedInAs(m.Email, newPassword)
			if res := b.get("/settings/users"); res.Status != http.StatusForbidden {
				t.Fatalf("analyst GET /settings/users = %d, want 403", res.Status)
			}
			if res := admin.post("/settings/users/"+m.ID+"/role", url.Values{"role": {store.RoleAdmin}}, true); res.Status != http.StatusSeeOther {
				t.Fatalf("change role = %d, want 303", res.Status)
			}
			if res := b.get("/settings/users"); res.Status != http.StatusOK {
				t.Errorf("new admin GET /settings/users = %d, want 200 without signing in again", res.Status)
			}
			admin.post("/settings/users/"+m.ID+"/role", url.Values{"role": {store.RoleAnalyst}}, true)
			if res := b.get("/settings/users"); res.Status != http.StatusForbidden {
				t.Errorf("demoted GET /settings/users = %d, want 403", res.Status)
			}
		})
		t.Run("disabling ends the user's sessions and sign-ins", func(t *testing.T) {
			m := a.member(store.RoleSeniorAnalyst)
			laptop := a.signedInAs(m.Email, newPassword)
			phone := a.signedInAs(m.Email, newPassword)
			if res := admin.post("/settings/users/"+m.ID+"/disable", url.Values{}, true); res.Status != http.StatusSeeOther {
				t.Fatalf("disable = %d, want 303", res.Status)
			}
			for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
				if res := b.get("/queue"); res.Status != http.StatusSeeOther {
					t.Errorf("%s GET /queue after disable = %d, want 303 to sign in", name, res.Status)
				}
			}
			if res := a.browser().login(m.Email, newPassword); res.Status != http.StatusUnauthorized {
				t.Errorf("disabled user's login = %d, want 401", res.Status)
			}
			page := admin.get("/settings/users/" + m.ID)
			if !strings.Contains(page.Body, "Disabled") {
				t.Error("the user page does not say Disabled")
			}
			admin.post("/settings/users/"+m.ID+"/enable", url.Values{}, true)
			a.signedInAs(m.Email, newPassword)
		})
		t.Run("the last active admin keeps the role", func(t *testing.T) {
			me := a.user(seed.DemoAdminEmail)
			res := admin.post("/settings/users/"+me.ID+"/role", url.Values{"role": {store.RoleAnalyst}}, true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "last active admin") {
				t.Errorf("demote the last admin = %d, want 422 saying why", res.Status)
			}
			res = admin.post("/settings/users/"+me.ID+"/disable", url.Values{}, true)
			if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "your own account") {
				t.Errorf("disable oneself = %d, want 422", res.Status)
			}
			if a.user(seed.DemoAdminEmail).Role != store.RoleAdmin {
				t.Error("the last admin lost the role")
			}
		})
		t.Run("another tenant's user is not found", func(t *testing.T) {
			other := a.user("analyst@acme.demo")
			for _, path := range []string{"/role", "/disable", "/enable", "/reset-password", "/remove-2fa"} {
				res := admin.post("/settings/users/"+other.ID+path, url.Values{"role": {store.RoleAdmin}}, true)
				if res.Status != http.StatusNotFound || strings.Contains(res.Body, "analyst@acme.demo") {
					t.Errorf("POST %s on another tenant's user = %d, want 404 without their data", path, res.Status)
				}
			}
			if u := a.user("analyst@acme.demo"); u.Role != store.RoleAnalyst || u.DisabledAt != nil {
				t.Errorf("another tenant's user changed: %+v", u)
			}
		})
		got := a.auditActions(seed.DemoAdminEmail)
		for action, want := range map[string]int{store.ActionUserRole: 2, store.ActionUserDisable: 1, store.ActionUserEnable: 1} {
			if n := count(got, action); n != want {
				t.Errorf("%s audit events = %d, want %d", action, n, want)
			}
		}
	})
}

func TestOwnAccount(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		m := a.member(store.RoleAnalyst)
		b := a.signedInAs(m.Email, newPassword)
		other := a.signedInAs(m.Email, newPassword)
		b.header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36")
		b.get("/") // the session notes the device it is used from
		page := b.get("/account")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "This session") || !strings.Contains(page.Body, "Chrome on Linux") ||
			strings.Count(page.Body, "/end\"") != 1 {
			t.Fatalf("GET /account = %d; want this session (Chrome on Linux) and one other to end\n%s", page.Status, page.Body)
		}
		t.Run("a password change needs the current one and the rules", func(t *testing.T) {
			for _, c := range []struct {
				name, current, next, confirm, want string
			}{
				{"wrong current password", "not-my-password", "another-long-pass", "another-long-pass", "current password is not right"},
				{"too short", newPassword, "short", "short", "at least 12 characters"},
				{"common", newPassword, "1qaz2wsx3edc", "1qaz2wsx3edc", "most common"},
				{"confirmation differs", newPassword, "another-long-pass", "another-long-pasS", "differ"},
			} {
				res := b.post("/account/password", url.Values{"current": {c.current}, "password": {c.next}, "confirm": {c.confirm}}, true)
				if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, c.want) {
					t.Errorf("%s: POST /account/password = %d, want 422 with %q", c.name, res.Status, c.want)
				}
			}
		})
		t.Run("a password change ends the other sessions", func(t *testing.T) {
			res := b.post("/account/password", url.Values{"current": {newPassword}, "password": {"another-long-pass"}, "confirm": {"another-long-pass"}}, true)
			if res.Status != http.StatusOK || !strings.Contains(res.Body, "Your password is changed") {
				t.Fatalf("POST /account/password = %d, want 200", res.Status)
			}
			if other.get("/").Status != http.StatusSeeOther {
				t.Error("the other session survived the password change")
			}
			if b.get("/account").Status != http.StatusOK {
				t.Error("the session that changed the password ended")
			}
			a.signedInAs(m.Email, "another-long-pass")
		})
		t.Run("a session can be ended from another", func(t *testing.T) {
			third := a.signedInAs(m.Email, "another-long-pass")
			id := ""
			list, _ := store.ListSessions(context.Background(), a.demoTenant(), m.ID, third.cookie("sentinel_session"))
			for _, s := range list {
				if s.Current {
					id = s.ID
				}
			}
			b.get("/account")
			if res := b.post("/account/sessions/"+id+"/end", url.Values{}, true); res.Status != http.StatusSeeOther {
				t.Fatalf("end session = %d, want 303", res.Status)
			}
			if third.get("/").Status != http.StatusSeeOther {
				t.Error("the ended session still works")
			}
			adminSession := a.otherSession(seed.DemoAdminEmail)
			if res := b.post("/account/sessions/"+adminSession+"/end", url.Values{}, true); res.Status != http.StatusNotFound {
				t.Errorf("end another user's session = %d, want 404", res.Status)
			}
		})
		got := a.auditActions(m.Email)
		if count(got, store.ActionPasswordChange) != 1 || count(got, store.ActionSessionEnd) != 1 {
			t.Errorf("audit trail = %v, want one password change and one session end", got)
		}
	})
}

// rfcTimes are the times of RFC 6238's test vectors (Appendix B).
var rfcTimes = []int64{59, 1111111109, 1111111111, 1234567890, 2000000000}

func TestSecondFactorSignIn(t *testing.T) {
	t.Run("the codes are RFC 6238's", func(t *testing.T) {
		// The RFC's SHA-1 seed; its eight-digit codes end in these six.
		secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		for i, want := range []string{"287082", "081804", "050471", "005924", "279037"} {
			if got, err := store.TOTPCode(secret, time.Unix(rfcTimes[i], 0)); err != nil || got != want {
				t.Errorf("TOTPCode(RFC seed, %d) = %s, %v; want %s", rfcTimes[i], got, err, want)
			}
		}
	})
	clk := &fakeClock{t: time.Unix(rfcTimes[1], 0).UTC()}
	eachClockedApp(t, clk, func(t *testing.T, a *testApp) {
		clk.Set(time.Unix(rfcTimes[1], 0).UTC())
		m := a.member(store.RoleAnalyst)
		b := a.signedInAs(m.Email, newPassword)
		if res := b.post("/account/2fa", url.Values{}, true); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/2fa" {
			t.Fatalf("POST /account/2fa = %d to %q", res.Status, res.Header.Get("Location"))
		}
		setup := b.get("/account/2fa")
		sm := secretText.FindStringSubmatch(setup.Body)
		if setup.Status != http.StatusOK || sm == nil || !strings.Contains(setup.Body, `src="data:image/svg+xml;base64,`) {
			t.Fatalf("GET /account/2fa = %d; want the secret as a QR image and as text", setup.Status)
		}
		secret := strings.ReplaceAll(sm[1], " ", "")
		code := func() string { c, _ := store.TOTPCode(secret, clk.Now()); return c }
		if res := b.post("/account/2fa/confirm", url.Values{"code": {"000000"}}, true); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("confirm with a wrong code = %d, want 422", res.Status)
		}
		if a.user(m.Email).HasTOTP() {
			t.Fatal("the second factor is on before a right code")
		}
		res := b.post("/account/2fa/confirm", url.Values{"code": {code()}}, true)
		codes := recoveryCodes.FindAllStringSubmatch(res.Body, -1)
		if res.Status != http.StatusOK || len(codes) != store.RecoveryCodeCount {
			t.Fatalf("confirm = %d with %d recovery codes, want 200 with %d", res.Status, len(codes), store.RecoveryCodeCount)
		}

		signIn := func() *browser {
			t.Helper()
			nb := a.browser()
			res := nb.login(m.Email, newPassword)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login/code" {
				t.Fatalf("password of a user with a second factor = %d to %q, want 303 to /login/code", res.Status, res.Header.Get("Location"))
			}
			if nb.get("/").Status != http.StatusSeeOther {
				t.Fatal("signed in before the second factor")
			}
			if page := nb.get("/login/code"); page.Status != http.StatusOK {
				t.Fatalf("GET /login/code = %d", page.Status)
			}
			return nb
		}
		t.Run("a code from the app signs in once", func(t *testing.T) {
			nb := signIn() // still in the step of the code that turned it on
			if res := nb.post("/login/code", url.Values{"code": {code()}}, true); res.Status != http.StatusUnauthorized {
				t.Errorf("the code of an already used step = %d, want 401", res.Status)
			}
			clk.Set(time.Unix(rfcTimes[2], 0).UTC()) // the next step
			c := code()
			if res := nb.post("/login/code", url.Values{"code": {c[:3] + " " + c[3:]}}, true); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				t.Fatalf("POST /login/code = %d to %q, want 303 to /", res.Status, res.Header.Get("Location"))
			}
			if nb.get("/").Status != http.StatusOK {
				t.Error("not signed in after the code")
			}
			if res := signIn().post("/login/code", url.Values{"code": {c}}, true); res.Status != http.StatusUnauthorized {
				t.Errorf("the same code on another device = %d, want 401", res.Status)
			}
		})
		t.Run("a recovery code signs in once", func(t *testing.T) {
			if res := signIn().post("/login/code", url.Values{"code": {codes[0][1]}}, true); res.Status != http.StatusSeeOther {
				t.Fatalf("recovery code = %d, want 303", res.Status)
			}
			if res := signIn().post("/login/code", url.Values{"code": {codes[0][1]}}, true); res.Status != http.StatusUnauthorized {
				t.Errorf("the same recovery code again = %d, want 401", res.Status)
			}
		})
		t.Run("wrong codes count against the sign-in throttle", func(t *testing.T) {
			clk.Set(time.Unix(rfcTimes[4], 0).UTC())
			nb := signIn()
			throttled := false
			for range store.LoginMaxPerEmailIP + 1 {
				if res := nb.post("/login/code", url.Values{"code": {"000000"}}, true); res.Status == http.StatusTooManyRequests {
					throttled = true
					break
				}
			}
			if !throttled {
				t.Fatalf("%d wrong codes were not throttled", store.LoginMaxPerEmailIP+1)
			}
			if res := nb.post("/login/code", url.Values{"code": {code()}}, true); res.Status != http.StatusTooManyRequests {
				t.Errorf("the right code while throttled = %d, want 429", res.Status)
			}
		})
		got := a.auditActions(m.Email)
		for _, action := range []string{store.ActionTOTPBegin, store.ActionTOTPEnable, store.ActionLoginPassword, store.ActionLoginThrottled} {
			if count(got, action) == 0 {
				t.Errorf("audit trail lacks %s: %v", action, got)
			}
		}
	})
}

func TestMandatorySecondFactor(t *testing.T) {
	clk := &fakeClock{t: time.Unix(rfcTimes[3], 0).UTC()}
	eachClockedApp(t, clk, func(t *testing.T, a *testApp) {
		admin := a.signedIn(seed.DemoAdminEmail)
		admin.get("/settings/security")
		if res := admin.post("/settings/security", url.Values{"two_factor": {store.TwoFactorAdmins}}, true); res.Status != http.StatusOK ||
			!strings.Contains(res.Body, "Avery Admin") {
			t.Fatalf("require for admins = %d; want 200 listing the admin without one", res.Status)
		}
		t.Run("an analyst signs in as before", func(t *testing.T) {
			if res := a.browser().login("analyst@sentinel.demo", seed.DemoPassword); res.Header.Get("Location") != "/" {
				t.Errorf("analyst login to %q, want /", res.Header.Get("Location"))
			}
		})
		b := a.browser()
		res := b.login(seed.DemoAdminEmail, seed.DemoPassword)
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/login/enroll" {
			t.Fatalf("admin login = %d to %q, want 303 to /login/enroll", res.Status, res.Header.Get("Location"))
		}
		for _, path := range []string{"/", "/queue", "/account", "/login/code"} {
			if res := b.get(path); res.Status != http.StatusSeeOther || res.Header.Get("Location") == path {
				t.Errorf("GET %s before enrolment = %d, want a redirect away", path, res.Status)
			}
		}
		page := b.get("/login/enroll")
		sm := secretText.FindStringSubmatch(page.Body)
		if page.Status != http.StatusOK || sm == nil {
			t.Fatalf("GET /login/enroll = %d, want the set-up page", page.Status)
		}
		if res := b.post("/login/enroll", url.Values{"code": {"000000"}}, true); res.Status != http.StatusUnauthorized {
			t.Errorf("enrol with a wrong code = %d, want 401", res.Status)
		}
		code, _ := store.TOTPCode(strings.ReplaceAll(sm[1], " ", ""), clk.Now())
		res = b.post("/login/enroll", url.Values{"code": {code}}, true)
		if res.Status != http.StatusOK || len(recoveryCodes.FindAllString(res.Body, -1)) != store.RecoveryCodeCount {
			t.Fatalf("enrol = %d, want 200 with the recovery codes", res.Status)
		}
		if b.get("/").Status != http.StatusOK {
			t.Fatal("not signed in after enrolling")
		}
		b.get("/account")
		if res := b.post("/account/2fa/remove", url.Values{"password": {seed.DemoPassword}}, true); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("remove a required second factor = %d, want 422", res.Status)
		}
		t.Run("everyone", func(t *testing.T) {
			admin.post("/settings/security", url.Values{"two_factor": {store.TwoFactorEveryone}}, true)
			if res := a.browser().login("analyst@sentinel.demo", seed.DemoPassword); res.Header.Get("Location") != "/login/enroll" {
				t.Errorf("analyst login with everyone required to %q, want /login/enroll", res.Header.Get("Location"))
			}
		})
		got := a.auditActions(seed.DemoAdminEmail)
		if n := count(got, store.ActionTwoFactorPolicy); n != 2 {
			t.Errorf("policy audit events = %d, want 2", n)
		}
		if !slices.Contains(got, store.ActionTOTPEnable) {
			t.Errorf("audit trail lacks %s", store.ActionTOTPEnable)
		}
	})
}

func TestQRCodeIsAnSVGImage(t *testing.T) {
	got, err := qrDataURL(store.TOTPURI("Sentinel", "a@example.test", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "data:image/svg+xml;base64,") || len(got) < 500 {
		t.Fatalf("qrDataURL() = %.60q…, want an SVG data URL", got)
	}
}

func TestDeviceOf(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":    "Safari on macOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36 Edg/140.0": "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148":         "Browser on iPhone",
		"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0":                                                "Firefox on Linux",
		"Go-http-client/1.1": "Browser",
		"":                   "Unknown device",
	} {
		if got := deviceOf(ua); got != want {
			t.Errorf("deviceOf(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestOwnPasswordGuessesAreThrottled(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		m := a.member(store.RoleAnalyst)
		b := a.signedInAs(m.Email, newPassword)
		guess := func(current string) response {
			return b.post("/account/password", url.Values{"current": {current}, "password": {"another-long-pass"}, "confirm": {"another-long-pass"}}, true)
		}
		for i := range store.LoginMaxPerEmailIP {
			if res := guess(fmt.Sprintf("guess-%d", i)); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d = %d, want 422", i, res.Status)
			}
		}
		// Over the limit even the right password waits, like a sign-in.
		res := guess(newPassword)
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many failed sign-in attempts") ||
			res.Header.Get("Retry-After") == "" {
			t.Fatalf("guess over the limit = %d (Retry-After %q), want 429 with the throttle message", res.Status, res.Header.Get("Retry-After"))
		}
		if u := a.user(m.Email); !store.CheckPassword(u, newPassword) {
			t.Fatal("the password changed while throttled")
		}
		if n := count(a.auditActions(m.Email), store.ActionPasswordChangeRefused); n != store.LoginMaxPerEmailIP {
			t.Errorf("%s events = %d, want %d", store.ActionPasswordChangeRefused, n, store.LoginMaxPerEmailIP)
		}
	})
}

package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	if !VerifyPassword(h, "a long enough password") {
		t.Fatal("right password rejected")
	}
	if VerifyPassword(h, "a long enough passworD") {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("a long enough password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", MaxPasswordLen+1)} {
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("password of %d bytes accepted", len(pw))
		}
	}
	// Length counts characters, not bytes: 12 CJK characters pass.
	if err := CheckPasswordPolicy("安全运营平台密码足够长啊"); err != nil {
		t.Errorf("12-character Chinese password refused: %v", err)
	}
}

func FuzzVerifyPassword(f *testing.F) {
	h, err := HashPassword("seed password 123")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h, "seed password 123")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$AAAA$AAAA", "x")
	f.Add("$argon2id$v=19$m=99999999,t=99,p=255$AAAA$AAAA", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		// Must never panic, and never accept a hash it did not make
		// unless the password really matches.
		if VerifyPassword(encoded, pw) && encoded != h {
			if !strings.HasPrefix(encoded, "$argon2id$") {
				t.Fatalf("accepted non-argon2id hash %q", encoded)
			}
		}
	})
}

func TestPrincipalCan(t *testing.T) {
	admin := &Principal{UserID: "u1", Username: "root", GlobalRole: RoleAdmin}
	analyst := &Principal{UserID: "u2", Roles: map[string]string{"A": RoleAnalyst}}
	tenantAdmin := &Principal{UserID: "u3", Roles: map[string]string{"A": RoleAdmin}}
	customer := &Principal{UserID: "u4", Roles: map[string]string{"B": RoleCustomer}}
	regulator := &Principal{UserID: "u5", Roles: map[string]string{"A": RoleRegulator, "B": RoleRegulator}}
	anon := &Principal{}
	cases := []struct {
		name   string
		p      *Principal
		perm   Perm
		tenant string
		want   bool
	}{
		{"admin anywhere", admin, PermAssetWrite, "Z", true},
		{"admin global", admin, PermTenantAdmin, "", true},
		{"analyst reads own tenant", analyst, PermAssetRead, "A", true},
		{"analyst cannot write assets", analyst, PermAssetWrite, "A", false},
		{"analyst not in other tenant", analyst, PermAssetRead, "B", false},
		{"tenant admin cannot create tenants", tenantAdmin, PermTenantAdmin, "A", false},
		{"tenant admin cannot admin users", tenantAdmin, PermUserAdmin, "", false},
		{"tenant admin writes its tenant", tenantAdmin, PermAssetWrite, "A", true},
		{"customer read-only", customer, PermAssetWrite, "B", false},
		{"customer reads own", customer, PermAssetRead, "B", true},
		{"customer no audit", customer, PermAuditRead, "B", false},
		{"regulator reads granted", regulator, PermReportRead, "B", true},
		{"regulator no writes", regulator, PermAssetWrite, "A", false},
		{"regulator no contacts", regulator, PermContactRead, "A", false},
		{"regulator inspects granted", regulator, PermInspectWrite, "A", true},
		{"regulator no assessment writes", regulator, PermAssessWrite, "A", false},
		{"regulator does not inspect others", regulator, PermInspectWrite, "C", false},
		{"analyst no inspections", analyst, PermInspectWrite, "A", false},
		{"anonymous nothing", anon, PermTenantRead, "A", false},
	}
	for _, c := range cases {
		if got := c.p.Can(c.perm, c.tenant); got != c.want {
			t.Errorf("%s: Can(%s, %q) = %v, want %v", c.name, c.perm, c.tenant, got, c.want)
		}
	}
}

func TestEveryRoleHasPermissionsAndReadOnlyRolesWriteNothing(t *testing.T) {
	for _, r := range Roles() {
		perms := RolePerms(r)
		if len(perms) == 0 {
			t.Errorf("role %s has no permissions", r)
		}
		if r == RoleAuditor || r == RoleCustomer || r == RoleRegulator {
			for _, p := range perms {
				// A regulator writes only its own inspections and commissions.
				if r == RoleRegulator && (p == PermInspectWrite || p == PermCommissionWrite) {
					continue
				}
				if !strings.HasSuffix(string(p), ".read") {
					t.Errorf("read-only role %s holds %s", r, p)
				}
			}
		}
	}
}

func TestLimiter(t *testing.T) {
	l := &limiter{max: 3, window: time.Minute, fails: map[string][]time.Time{}}
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if l.blocked(now, "ip:1") {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail(now, "ip:1")
	}
	if !l.blocked(now, "ip:1") {
		t.Fatal("not blocked after max failures")
	}
	if l.blocked(now, "ip:2") {
		t.Fatal("another key is blocked")
	}
	if l.blocked(now.Add(time.Minute), "ip:1") {
		t.Fatal("still blocked after the window")
	}
	l.fail(now, "ip:3")
	l.reset("ip:3")
	if len(l.fails["ip:3"]) != 0 {
		t.Fatal("reset kept failures")
	}
}

// Package storetest is the conformance suite every store driver runs: the
// same tests against SQLite and PostgreSQL, so the drivers behave alike.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigil-sec/vigil/internal/store"
)

// Run runs the conformance suite. newStore must return a fresh, empty,
// migrated store and arrange for it to be closed when t ends; every
// subtest calls it once and the subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Basics", testBasics},
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"Memberships", testMemberships},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Teams", testTeams},
		{"Contacts", testContacts},
		{"Services", testServices},
		{"Assets", testAssets},
		{"AssetFilters", testAssetFilters},
		{"AssetPaging", testAssetPaging},
		{"Secrets", testSecrets},
		{"PolicyReviews", testPolicyReviews},
		{"Reports", testReports},
		{"Vulns", testVulns},
		{"VulnImportLarge", testVulnImportLarge},
		{"VulnCommonText", testVulnCommonText},
		{"VulnCountsAndPages", testVulnCountsAndPages},
		{"DiscoveryRuns", testDiscoveryRuns},
		{"Events", testEvents},
		{"Alerts", testAlerts},
		{"AlertRaiseConcurrent", testAlertRaiseConcurrent},
		{"NotifyChannels", testNotifyChannels},
		{"Weblog", testWeblog},
		{"Incidents", testIncidents},
		{"IncidentSearchOracle", testIncidentSearchOracle},
		{"EventAggregates", testEventAggregates},
		{"Posture", testPosture},
		{"AlertTally", testAlertTally},
		{"PostureTotals", testPostureTotals},
		{"EventLoad", testEventLoad},
		{"Compliance", testCompliance},
		{"ComplianceRegister", testComplianceRegister},
		{"ComplianceInspections", testComplianceInspections},
		{"ComplianceCommissions", testComplianceCommissions},
		{"Escalations", testEscalations},
		{"WorkOrders", testWorkOrders},
		{"Baseline", testBaseline},
		{"Devices", testDevices},
		{"Device3", testDevice3},
		{"Drills", testDrills},
		{"Traffic", testTraffic},
		{"TrafficSettings", testTrafficSettings},
		{"TenantEventRetention", testTenantEventRetention},
		{"AgentCerts", testAgentCerts},
		{"PartitionLeases", testPartitionLeases},
		{"SecretCreate", testSecretCreate},
		{"Campaigns", testCampaigns},
		{"VulnSettings", testVulnSettings},
		{"VulnScanRuns", testVulnScanRuns},
		{"Desk", testDesk},
		{"Digest", testDigest},
		{"Agents", testAgents},
		{"Attachments", testAttachments},
		{"Advisories", testAdvisories},
		{"Detection", testDetection},
		{"BusinessSystems", testBusinessSystems},
		{"EffectiveImportance", testEffectiveImportance},
		{"CorrelationStateNodes", testCorrelationStateNodes},
		{"Audit", testAudit},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"TenantIsolation", testTenantIsolation},
		{"TenantDeleteCascades", testTenantDeleteCascades},
		{"UserDeleteCascades", testUserDeleteCascades},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// Chain is the hash function the suite gives AuditStore.Append: SHA-256
// over the previous hash, the sequence number and the action.
func Chain(e *store.AuditEntry) string {
	sum := sha256.Sum256([]byte(e.PrevHash + "|" + strconv.FormatInt(e.Seq, 10) + "|" + e.Action))
	return hex.EncodeToString(sum[:])
}

// ---- helpers ----

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// stamped checks a store-set timestamp: set, UTC, microsecond precision.
func stamped(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if ts.IsZero() {
		t.Fatalf("%s not set", what)
	}
	if ts.Location() != time.UTC {
		t.Fatalf("%s location = %v, want UTC", what, ts.Location())
	}
	if ts.Nanosecond()%1000 != 0 {
		t.Fatalf("%s = %v has sub-microsecond digits", what, ts)
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Hour {
		t.Fatalf("%s = %v is not about now", what, ts)
	}
}

// at returns a fixed instant with nanoseconds, to check truncation.
func at(minutes int) time.Time {
	return time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 8*3600)).Add(time.Duration(minutes) * time.Minute)
}

func micro(ts time.Time) time.Time { return ts.UTC().Truncate(time.Microsecond) }

func mkTenant(t *testing.T, s store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{Slug: slug, Name: "Tenant " + slug}
	ok(t, s.Tenants().Create(t.Context(), &tn))
	return tn
}

func mkUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u := store.User{Username: name, DisplayName: "User " + name, PasswordHash: "hash-" + name}
	ok(t, s.Users().Create(t.Context(), &u))
	return u
}

func mkAsset(t *testing.T, s store.Store, tenantID, name string) store.Asset {
	t.Helper()
	a := store.Asset{TenantID: tenantID, Kind: "host", Name: name, Address: name + ".example", Importance: 3}
	ok(t, s.Assets().Create(t.Context(), &a))
	return a
}

func appendAudit(t *testing.T, s store.Store, e store.AuditEntry) store.AuditEntry {
	t.Helper()
	ok(t, s.Audit().Append(t.Context(), &e, Chain))
	return e
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

// ---- tests ----

func testBasics(t *testing.T, s store.Store) {
	if d := s.Driver(); d != "sqlite" && d != "postgres" {
		t.Errorf("Driver() = %q", d)
	}
	ok(t, s.Ping(t.Context()))
}

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	ts := s.Tenants()
	b := store.Tenant{Slug: "beta", Name: "Beta", Description: "second", Industry: "finance", TimeZone: "Asia/Shanghai"}
	ok(t, ts.Create(ctx, &b))
	if b.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", b.CreatedAt)
	if !b.UpdatedAt.Equal(b.CreatedAt) {
		t.Errorf("UpdatedAt %v != CreatedAt %v on create", b.UpdatedAt, b.CreatedAt)
	}
	a := mkTenant(t, s, "alpha")

	got, err := ts.Get(ctx, b.ID)
	ok(t, err)
	same(t, "Get", b, got)
	got, err = ts.GetBySlug(ctx, "beta")
	ok(t, err)
	same(t, "GetBySlug", b, got)
	list, err := ts.List(ctx)
	ok(t, err)
	same(t, "List (by slug)", []store.Tenant{a, b}, list)

	dup := store.Tenant{Slug: "beta", Name: "Other"}
	isErr(t, ts.Create(ctx, &dup), store.ErrConflict)
	dupID := store.Tenant{ID: a.ID, Slug: "gamma", Name: "Same ID"}
	isErr(t, ts.Create(ctx, &dupID), store.ErrConflict)

	b.Name, b.Description, b.Industry, b.Disabled = "Beta Corp", "changed", "energy", true
	b.TimeZone = "Europe/Berlin"
	created := b.CreatedAt
	b.CreatedAt = time.Time{} // reloaded by Update
	ok(t, ts.Update(ctx, &b))
	if !b.CreatedAt.Equal(created) {
		t.Errorf("Update CreatedAt = %v, want %v", b.CreatedAt, created)
	}
	if b.UpdatedAt.Before(b.CreatedAt) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", b.UpdatedAt, b.CreatedAt)
	}
	got, err = ts.Get(ctx, b.ID)
	ok(t, err)
	same(t, "Get after Update", b, got)

	clash := a
	clash.Slug = "beta"
	isErr(t, ts.Update(ctx, &clash), store.ErrConflict)
	missing := store.Tenant{ID: "no-such-tenant", Slug: "nope", Name: "x"}
	isErr(t, ts.Update(ctx, &missing), store.ErrNotFound)

	ok(t, ts.Delete(ctx, b.ID))
	isErr(t, ts.Delete(ctx, b.ID), store.ErrNotFound)
	_, err = ts.Get(ctx, b.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = ts.GetBySlug(ctx, "beta")
	isErr(t, err, store.ErrNotFound)
	list, err = ts.List(ctx)
	ok(t, err)
	same(t, "List after Delete", []store.Tenant{a}, list)
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	us := s.Users()
	n, err := us.Count(ctx)
	ok(t, err)
	if n != 0 {
		t.Fatalf("Count on empty store = %d", n)
	}
	u := store.User{Username: "Zoe", DisplayName: "Zoe Z", Email: "zoe@example.com", PasswordHash: "h",
		Locale: "zh-CN", GlobalRole: "admin", MustChangePassword: true}
	ok(t, us.Create(ctx, &u))
	if u.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", u.CreatedAt)
	if !u.LastLoginAt.IsZero() {
		t.Fatalf("LastLoginAt = %v, want zero", u.LastLoginAt)
	}
	amy := mkUser(t, s, "amy")

	got, err := us.Get(ctx, u.ID)
	ok(t, err)
	same(t, "Get", u, got)
	for _, name := range []string{"Zoe", "zoe", "ZOE"} {
		got, err = us.GetByUsername(ctx, name)
		ok(t, err)
		same(t, "GetByUsername "+name, u, got)
	}
	_, err = us.GetByUsername(ctx, "nobody")
	isErr(t, err, store.ErrNotFound)

	for _, name := range []string{"Zoe", "zoe"} {
		dup := store.User{Username: name}
		isErr(t, us.Create(ctx, &dup), store.ErrConflict)
	}
	list, err := us.List(ctx)
	ok(t, err)
	same(t, "List (by username)", []store.User{amy, u}, list)
	n, err = us.Count(ctx)
	ok(t, err)
	if n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}

	u.DisplayName, u.Disabled, u.MustChangePassword, u.GlobalRole = "Zoe Y", true, false, ""
	u.LastLoginAt = at(0)
	ok(t, us.Update(ctx, &u))
	if !u.LastLoginAt.Equal(micro(at(0))) {
		t.Errorf("Update LastLoginAt = %v, want %v", u.LastLoginAt, micro(at(0)))
	}
	got, err = us.Get(ctx, u.ID)
	ok(t, err)
	same(t, "Get after Update", u, got)

	clash := amy
	clash.Username = "ZOE"
	isErr(t, us.Update(ctx, &clash), store.ErrConflict)
	missing := store.User{ID: "no-such-user", Username: "ghost"}
	isErr(t, us.Update(ctx, &missing), store.ErrNotFound)

	ok(t, us.Delete(ctx, u.ID))
	isErr(t, us.Delete(ctx, u.ID), store.ErrNotFound)
	_, err = us.Get(ctx, u.ID)
	isErr(t, err, store.ErrNotFound)
	n, err = us.Count(ctx)
	ok(t, err)
	if n != 1 {
		t.Fatalf("Count after Delete = %d, want 1", n)
	}
}

func testMemberships(t *testing.T, s store.Store) {
	ctx := t.Context()
	us := s.Users()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	u, v := mkUser(t, s, "uma"), mkUser(t, s, "vic")

	ok(t, us.SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: a.ID, Role: "analyst"}))
	ok(t, us.SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: b.ID, Role: "viewer"}))
	ok(t, us.SetMembership(ctx, store.Membership{UserID: v.ID, TenantID: a.ID, Role: "viewer"}))
	ms, err := us.Memberships(ctx, u.ID)
	ok(t, err)
	if len(ms) != 2 {
		t.Fatalf("Memberships = %+v, want 2", ms)
	}
	for _, m := range ms {
		stamped(t, "Membership.CreatedAt", m.CreatedAt)
	}
	first := ms[slices.IndexFunc(ms, func(m store.Membership) bool { return m.TenantID == a.ID })]

	// Setting an existing membership replaces the role.
	ok(t, us.SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: a.ID, Role: "admin"}))
	ms, err = us.Memberships(ctx, u.ID)
	ok(t, err)
	if len(ms) != 2 {
		t.Fatalf("Memberships after replace = %+v, want 2", ms)
	}
	want := first
	want.Role = "admin"
	same(t, "replaced membership", want, ms[slices.IndexFunc(ms, func(m store.Membership) bool { return m.TenantID == a.ID })])

	members, err := us.TenantMembers(ctx, a.ID)
	ok(t, err)
	got := map[string]string{}
	for _, m := range members {
		got[m.UserID] = m.Role
	}
	same(t, "TenantMembers", map[string]string{u.ID: "admin", v.ID: "viewer"}, got)

	ok(t, us.RemoveMembership(ctx, u.ID, a.ID))
	isErr(t, us.RemoveMembership(ctx, u.ID, a.ID), store.ErrNotFound)
	ms, err = us.Memberships(ctx, u.ID)
	ok(t, err)
	same(t, "Memberships after remove", []string{b.ID}, ids(ms, func(m store.Membership) string { return m.TenantID }))

	isErr(t, us.SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: "no-such-tenant", Role: "viewer"}), store.ErrNotFound)
	isErr(t, us.SetMembership(ctx, store.Membership{UserID: "no-such-user", TenantID: a.ID, Role: "viewer"}), store.ErrNotFound)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	ts := s.Tokens()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	u := mkUser(t, s, "uma")

	global := store.APIToken{Name: "ci", Role: "auditor", UserID: u.ID, Prefix: "vgl_abc", Hash: "h-global"}
	ok(t, ts.Create(ctx, &global))
	if global.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", global.CreatedAt)
	ta := store.APIToken{Name: "siem", TenantID: a.ID, Role: "analyst", UserID: u.ID, Prefix: "vgl_def",
		Hash: "h-a", CreatedAt: at(0), ExpiresAt: at(60)}
	ok(t, ts.Create(ctx, &ta))
	if !ta.CreatedAt.Equal(micro(at(0))) || ta.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want the given time in UTC microseconds", ta.CreatedAt)
	}
	tb := store.APIToken{Name: "other", TenantID: b.ID, Role: "viewer", Hash: "h-b"}
	ok(t, ts.Create(ctx, &tb))

	got, err := ts.Get(ctx, ta.ID)
	ok(t, err)
	same(t, "Get", ta, got)
	got, err = ts.GetByHash(ctx, "h-global")
	ok(t, err)
	same(t, "GetByHash", global, got)
	_, err = ts.GetByHash(ctx, "h-none")
	isErr(t, err, store.ErrNotFound)
	_, err = ts.Get(ctx, "no-such-token")
	isErr(t, err, store.ErrNotFound)

	dup := store.APIToken{Name: "dup", TenantID: b.ID, Role: "viewer", Hash: "h-a"}
	isErr(t, ts.Create(ctx, &dup), store.ErrConflict)
	bad := store.APIToken{Name: "bad", TenantID: "no-such-tenant", Role: "viewer", Hash: "h-bad"}
	isErr(t, ts.Create(ctx, &bad), store.ErrNotFound)

	list, err := ts.List(ctx, a.ID)
	ok(t, err)
	same(t, "List tenant", []store.APIToken{ta}, list)
	list, err = ts.List(ctx, "")
	ok(t, err)
	same(t, "List global", []store.APIToken{global}, list)

	ok(t, ts.Revoke(ctx, ta.ID))
	isErr(t, ts.Revoke(ctx, "no-such-token"), store.ErrNotFound)
	ok(t, ts.Touch(ctx, ta.ID, at(30)))
	isErr(t, ts.Touch(ctx, "no-such-token", at(30)), store.ErrNotFound)
	got, err = ts.Get(ctx, ta.ID)
	ok(t, err)
	ta.Revoked, ta.LastUsedAt = true, micro(at(30))
	same(t, "Get after Revoke and Touch", ta, got)
	got, err = ts.Get(ctx, tb.ID)
	ok(t, err)
	same(t, "other token untouched", tb, got)
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := s.Sessions()
	a := mkTenant(t, s, "alpha")
	u, v := mkUser(t, s, "uma"), mkUser(t, s, "vic")
	now := time.Now()

	s1 := store.Session{ID: "sess-1", UserID: u.ID, CSRFToken: "csrf", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		LastSeenAt: now, IP: "192.0.2.1", UserAgent: "test"}
	ok(t, ss.Create(ctx, &s1))
	if !s1.CreatedAt.Equal(micro(now)) {
		t.Fatalf("CreatedAt = %v, want %v", s1.CreatedAt, micro(now))
	}
	got, err := ss.Get(ctx, "sess-1")
	ok(t, err)
	same(t, "Get", s1, got)
	dup := store.Session{ID: "sess-1", UserID: v.ID, ExpiresAt: now.Add(time.Hour)}
	isErr(t, ss.Create(ctx, &dup), store.ErrConflict)
	bad := store.Session{ID: "sess-bad", UserID: "no-such-user", ExpiresAt: now.Add(time.Hour)}
	isErr(t, ss.Create(ctx, &bad), store.ErrNotFound)

	s1.TenantID, s1.LastSeenAt, s1.ExpiresAt, s1.IP = a.ID, now.Add(time.Minute), now.Add(2*time.Hour), "192.0.2.2"
	ok(t, ss.Update(ctx, &s1))
	got, err = ss.Get(ctx, "sess-1")
	ok(t, err)
	same(t, "Get after Update", s1, got)
	missing := store.Session{ID: "no-such-session", UserID: u.ID, ExpiresAt: now}
	isErr(t, ss.Update(ctx, &missing), store.ErrNotFound)

	// Expiry: two expired (one exactly at now), two live.
	for i, exp := range []time.Duration{-time.Hour, 0, time.Hour, 2 * time.Hour} {
		x := store.Session{ID: fmt.Sprintf("exp-%d", i), UserID: v.ID, ExpiresAt: now.Add(exp)}
		ok(t, ss.Create(ctx, &x))
	}
	n, err := ss.DeleteExpired(ctx, now)
	ok(t, err)
	if n != 2 {
		t.Fatalf("DeleteExpired = %d, want 2", n)
	}
	for id, want := range map[string]error{"exp-0": store.ErrNotFound, "exp-1": store.ErrNotFound, "exp-2": nil, "exp-3": nil, "sess-1": nil} {
		_, err := ss.Get(ctx, id)
		if !errors.Is(err, want) {
			t.Errorf("Get %s after DeleteExpired: %v, want %v", id, err, want)
		}
	}
	n, err = ss.DeleteExpired(ctx, now)
	ok(t, err)
	if n != 0 {
		t.Fatalf("second DeleteExpired = %d, want 0", n)
	}

	ok(t, ss.DeleteForUser(ctx, v.ID))
	ok(t, ss.DeleteForUser(ctx, v.ID)) // nothing left: still fine
	_, err = ss.Get(ctx, "exp-2")
	isErr(t, err, store.ErrNotFound)
	_, err = ss.Get(ctx, "sess-1")
	ok(t, err)

	ok(t, ss.Delete(ctx, "sess-1"))
	isErr(t, ss.Delete(ctx, "sess-1"), store.ErrNotFound)
	_, err = ss.Get(ctx, "sess-1")
	isErr(t, err, store.ErrNotFound)
}

func testTeams(t *testing.T, s store.Store) {
	ctx := t.Context()
	ts := s.Teams()
	u, v := mkUser(t, s, "uma"), mkUser(t, s, "vic")
	red := store.Team{Name: "Red team", Kind: "red", Description: "offence"}
	ok(t, ts.Create(ctx, &red))
	if red.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", red.CreatedAt)
	desk := store.Team{Name: "Monitoring desk", Kind: "monitoring"}
	ok(t, ts.Create(ctx, &desk))

	got, err := ts.Get(ctx, red.ID)
	ok(t, err)
	same(t, "Get", red, got)
	list, err := ts.List(ctx)
	ok(t, err)
	same(t, "List (by name)", []store.Team{desk, red}, list)

	red.Name, red.Description = "Red", "changed"
	ok(t, ts.Update(ctx, &red))
	got, err = ts.Get(ctx, red.ID)
	ok(t, err)
	same(t, "Get after Update", red, got)
	missing := store.Team{ID: "no-such-team", Name: "x"}
	isErr(t, ts.Update(ctx, &missing), store.ErrNotFound)
	_, err = ts.Get(ctx, "no-such-team")
	isErr(t, err, store.ErrNotFound)

	ok(t, ts.SetMember(ctx, store.TeamMember{TeamID: red.ID, UserID: u.ID}))
	ok(t, ts.SetMember(ctx, store.TeamMember{TeamID: red.ID, UserID: v.ID}))
	ok(t, ts.SetMember(ctx, store.TeamMember{TeamID: red.ID, UserID: u.ID, Lead: true})) // replace
	ok(t, ts.SetMember(ctx, store.TeamMember{TeamID: desk.ID, UserID: v.ID}))
	ms, err := ts.Members(ctx, red.ID)
	ok(t, err)
	want := []store.TeamMember{{TeamID: red.ID, UserID: u.ID, Lead: true}, {TeamID: red.ID, UserID: v.ID}}
	slices.SortFunc(want, func(x, y store.TeamMember) int { return strings.Compare(x.UserID, y.UserID) })
	same(t, "Members", want, ms)
	isErr(t, ts.SetMember(ctx, store.TeamMember{TeamID: red.ID, UserID: "no-such-user"}), store.ErrNotFound)
	isErr(t, ts.SetMember(ctx, store.TeamMember{TeamID: "no-such-team", UserID: u.ID}), store.ErrNotFound)

	ok(t, ts.RemoveMember(ctx, red.ID, v.ID))
	isErr(t, ts.RemoveMember(ctx, red.ID, v.ID), store.ErrNotFound)
	ms, err = ts.Members(ctx, red.ID)
	ok(t, err)
	same(t, "Members after remove", []store.TeamMember{{TeamID: red.ID, UserID: u.ID, Lead: true}}, ms)

	ok(t, ts.Delete(ctx, red.ID))
	isErr(t, ts.Delete(ctx, red.ID), store.ErrNotFound)
	ms, err = ts.Members(ctx, red.ID)
	ok(t, err)
	if len(ms) != 0 {
		t.Fatalf("Members of deleted team = %+v", ms)
	}
	ms, err = ts.Members(ctx, desk.ID)
	ok(t, err)
	if len(ms) != 1 {
		t.Fatalf("Members of other team = %+v", ms)
	}
}

func testContacts(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Contacts()
	a := mkTenant(t, s, "alpha")
	app := mkAsset(t, s, a.ID, "erp")

	c := store.Contact{TenantID: a.ID, Kind: "customer", Name: "Wang Li", Org: "Alpha", Title: "CISO",
		Phone: "+86 10 1234", Email: "li@example.com", IM: "wangli", Notes: "n"}
	ok(t, cs.Create(ctx, &c))
	if c.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", c.CreatedAt)
	vendor := store.Contact{TenantID: a.ID, Kind: "vendor", Name: "Acme support", AssetID: app.ID, Product: "ERP"}
	ok(t, cs.Create(ctx, &vendor))
	bad := store.Contact{TenantID: "no-such-tenant", Kind: "customer", Name: "x"}
	isErr(t, cs.Create(ctx, &bad), store.ErrNotFound)

	got, err := cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	same(t, "Get", c, got)
	list, err := cs.List(ctx, a.ID, store.ContactFilter{})
	ok(t, err)
	same(t, "List (by name)", []store.Contact{vendor, c}, list)
	list, err = cs.List(ctx, a.ID, store.ContactFilter{Kind: "customer"})
	ok(t, err)
	same(t, "List kind", []store.Contact{c}, list)
	list, err = cs.List(ctx, a.ID, store.ContactFilter{AssetID: app.ID})
	ok(t, err)
	same(t, "List asset", []store.Contact{vendor}, list)

	c.Title, c.Phone, c.AssetID = "CSO", "+86 10 5678", app.ID
	ok(t, cs.Update(ctx, &c))
	got, err = cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	same(t, "Get after Update", c, got)
	missing := store.Contact{ID: "no-such-contact", TenantID: a.ID, Kind: "customer", Name: "x"}
	isErr(t, cs.Update(ctx, &missing), store.ErrNotFound)

	// Deleting the asset clears the reference.
	ok(t, s.Assets().Delete(ctx, a.ID, app.ID))
	got, err = cs.Get(ctx, a.ID, vendor.ID)
	ok(t, err)
	if got.AssetID != "" {
		t.Fatalf("AssetID after asset delete = %q, want empty", got.AssetID)
	}

	ok(t, cs.Delete(ctx, a.ID, c.ID))
	isErr(t, cs.Delete(ctx, a.ID, c.ID), store.ErrNotFound)
	_, err = cs.Get(ctx, a.ID, c.ID)
	isErr(t, err, store.ErrNotFound)
}

func testServices(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := s.Services()
	a := mkTenant(t, s, "alpha")

	mon := store.Subscription{TenantID: a.ID, Service: "monitoring", Enabled: true, Level: "premium",
		ResponseMinutes: 15, NotifyMinutes: 30, ReportFrequency: "monthly", StartsOn: at(0), Notes: "24x7"}
	ok(t, ss.Put(ctx, &mon))
	stamped(t, "UpdatedAt", mon.UpdatedAt)
	if !mon.StartsOn.Equal(micro(at(0))) || !mon.EndsOn.IsZero() {
		t.Fatalf("StartsOn/EndsOn = %v/%v", mon.StartsOn, mon.EndsOn)
	}
	pen := store.Subscription{TenantID: a.ID, Service: "pentest", Level: "standard", ReportFrequency: "per-engagement"}
	ok(t, ss.Put(ctx, &pen))
	bad := store.Subscription{TenantID: "no-such-tenant", Service: "monitoring"}
	isErr(t, ss.Put(ctx, &bad), store.ErrNotFound)

	got, err := ss.Get(ctx, a.ID, "monitoring")
	ok(t, err)
	same(t, "Get", mon, got)
	_, err = ss.Get(ctx, a.ID, "no-such-service")
	isErr(t, err, store.ErrNotFound)

	// Put replaces.
	mon.Enabled, mon.Level, mon.EndsOn = false, "standard", at(60*24*365)
	ok(t, ss.Put(ctx, &mon))
	got, err = ss.Get(ctx, a.ID, "monitoring")
	ok(t, err)
	same(t, "Get after replace", mon, got)
	list, err := ss.List(ctx, a.ID)
	ok(t, err)
	same(t, "List (by service)", []store.Subscription{mon, pen}, list)

	ok(t, ss.Delete(ctx, a.ID, "monitoring"))
	isErr(t, ss.Delete(ctx, a.ID, "monitoring"), store.ErrNotFound)
	list, err = ss.List(ctx, a.ID)
	ok(t, err)
	same(t, "List after Delete", []store.Subscription{pen}, list)
}

func testAssets(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Assets()
	a := mkTenant(t, s, "alpha")

	web := store.Asset{TenantID: a.ID, Kind: "host", Name: "web-1", Address: "10.0.0.1", Owner: "ops", Importance: 4,
		Tags: []string{"prod", "web"}, Description: "front end", Attributes: map[string]string{"os": "linux", "rack": "A1"}}
	ok(t, as.Create(ctx, &web))
	if web.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", web.CreatedAt)
	if !web.LastSeenAt.IsZero() {
		t.Fatalf("LastSeenAt = %v, want zero", web.LastSeenAt)
	}
	bare := store.Asset{TenantID: a.ID, Kind: "domain", Name: "example.com"}
	ok(t, as.Create(ctx, &bare))
	bad := store.Asset{TenantID: "no-such-tenant", Kind: "host", Name: "x"}
	isErr(t, as.Create(ctx, &bad), store.ErrNotFound)
	dup := store.Asset{ID: web.ID, TenantID: a.ID, Kind: "host", Name: "dup"}
	isErr(t, as.Create(ctx, &dup), store.ErrConflict)

	got, err := as.Get(ctx, a.ID, web.ID)
	ok(t, err)
	same(t, "Get", web, got)
	got, err = as.Get(ctx, a.ID, bare.ID)
	ok(t, err)
	same(t, "Get bare", bare, got)
	_, err = as.Get(ctx, a.ID, "no-such-asset")
	isErr(t, err, store.ErrNotFound)

	web.Tags, web.Attributes, web.Importance, web.LastSeenAt = []string{"prod"}, nil, 5, at(5)
	ok(t, as.Update(ctx, &web))
	got, err = as.Get(ctx, a.ID, web.ID)
	ok(t, err)
	same(t, "Get after Update", web, got)
	if !got.LastSeenAt.Equal(micro(at(5))) {
		t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, micro(at(5)))
	}
	missing := store.Asset{ID: "no-such-asset", TenantID: a.ID, Kind: "host", Name: "x"}
	isErr(t, as.Update(ctx, &missing), store.ErrNotFound)

	ok(t, as.Delete(ctx, a.ID, web.ID))
	isErr(t, as.Delete(ctx, a.ID, web.ID), store.ErrNotFound)
	list, err := as.List(ctx, a.ID, store.AssetFilter{})
	ok(t, err)
	same(t, "List after Delete", []store.Asset{bare}, list)
}

func testAssetFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Assets()
	a := mkTenant(t, s, "alpha")
	mk := func(kind, name, addr string, imp int, tags ...string) string {
		x := store.Asset{TenantID: a.ID, Kind: kind, Name: name, Address: addr, Importance: imp, Tags: tags}
		ok(t, as.Create(ctx, &x))
		return x.ID
	}
	web := mk("host", "Web-Server", "10.0.0.1", 5, "prod", "webserver")
	db := mk("host", "db", "10.0.0.2", 3, "prod", "web")
	pct := mk("application", "100% uptime", "https://Status.Example.com", 2)
	und := mk("application", "a_b", "", 1, "Prod")
	plain := mk("application", "axb!", "", 1)

	cases := []struct {
		name string
		f    store.AssetFilter
		want []string
	}{
		{"all", store.AssetFilter{}, []string{pct, und, plain, db, web}},
		{"kind", store.AssetFilter{Kind: "host"}, []string{db, web}},
		{"tag exact element", store.AssetFilter{Tag: "web"}, []string{db}},
		{"tag case-sensitive", store.AssetFilter{Tag: "prod"}, []string{db, web}},
		{"query name ignores case", store.AssetFilter{Query: "SERVER"}, []string{web}},
		{"query address ignores case", store.AssetFilter{Query: "status.example"}, []string{pct}},
		{"query address prefix", store.AssetFilter{Query: "10.0.0."}, []string{db, web}},
		{"query percent literal", store.AssetFilter{Query: "%"}, []string{pct}},
		{"query underscore literal", store.AssetFilter{Query: "_"}, []string{und}},
		{"query backslash literal", store.AssetFilter{Query: `\`}, nil},
		{"query bang literal", store.AssetFilter{Query: "b!"}, []string{plain}},
		{"min importance", store.AssetFilter{MinImportance: 3}, []string{db, web}},
		{"combined", store.AssetFilter{Kind: "host", Tag: "prod", MinImportance: 4, Query: "web"}, []string{web}},
		{"no match", store.AssetFilter{Kind: "ip"}, nil},
	}
	for _, tc := range cases {
		list, err := as.List(ctx, a.ID, tc.f)
		ok(t, err)
		same(t, tc.name, tc.want, ids(list, func(x store.Asset) string { return x.ID }))
		n, err := as.Count(ctx, a.ID, tc.f)
		ok(t, err)
		if n != len(tc.want) {
			t.Errorf("%s: Count = %d, want %d", tc.name, n, len(tc.want))
		}
	}
}

func testAssetPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Assets()
	a := mkTenant(t, s, "alpha")
	const total = 105
	var names []string
	for i := range total {
		name := fmt.Sprintf("asset-%03d", i)
		names = append(names, name)
		mkAsset(t, s, a.ID, name)
	}
	page := func(p store.Page) []string {
		t.Helper()
		list, err := as.List(ctx, a.ID, store.AssetFilter{Page: p})
		ok(t, err)
		return ids(list, func(x store.Asset) string { return x.Name })
	}
	same(t, "default limit", names[:100], page(store.Page{}))
	same(t, "offset past default page", names[100:], page(store.Page{Offset: 100}))
	same(t, "limit and offset", names[20:30], page(store.Page{Limit: 10, Offset: 20}))
	same(t, "large limit", names, page(store.Page{Limit: 100 * store.MaxPageSize}))
	same(t, "negative limit is default", names[:100], page(store.Page{Limit: -1}))
	same(t, "offset beyond end", []string(nil), page(store.Page{Offset: total}))
	n, err := as.Count(ctx, a.ID, store.AssetFilter{Page: store.Page{Limit: 1}})
	ok(t, err)
	if n != total {
		t.Fatalf("Count = %d, want %d (paging ignored)", n, total)
	}
}

func testSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	ss := s.Secrets()
	a := mkTenant(t, s, "alpha")

	key := store.Secret{TenantID: a.ID, Name: "ssh-key", Kind: "ssh", Ciphertext: []byte{1, 2, 3, 0, 255}}
	ok(t, ss.Put(ctx, &key))
	if key.ID == "" {
		t.Fatal("Put did not set ID")
	}
	stamped(t, "CreatedAt", key.CreatedAt)
	smtp := store.Secret{Name: "smtp", Kind: "password", Ciphertext: []byte("sealed")} // platform secret
	ok(t, ss.Put(ctx, &smtp))
	hook := store.Secret{TenantID: a.ID, Name: "hook", Kind: "webhook", Ciphertext: []byte("x")}
	ok(t, ss.Put(ctx, &hook))

	got, err := ss.Get(ctx, a.ID, key.ID)
	ok(t, err)
	same(t, "Get", key, got)
	got, err = ss.Get(ctx, "", smtp.ID)
	ok(t, err)
	same(t, "Get platform secret", smtp, got)
	_, err = ss.Get(ctx, a.ID, smtp.ID)
	isErr(t, err, store.ErrNotFound)

	list, err := ss.List(ctx, a.ID)
	ok(t, err)
	strip := func(v store.Secret) store.Secret { v.Ciphertext = nil; return v }
	same(t, "List (by name, no ciphertext)", []store.Secret{strip(hook), strip(key)}, list)
	for _, v := range list {
		if v.Ciphertext != nil {
			t.Fatalf("List returned ciphertext for %s", v.Name)
		}
	}
	list, err = ss.List(ctx, "")
	ok(t, err)
	same(t, "List platform", []store.Secret{strip(smtp)}, list)

	// Put with the same ID replaces, keeping CreatedAt.
	created := key.CreatedAt
	key.Name, key.Ciphertext, key.CreatedAt = "ssh-key-2", []byte{9, 9}, time.Time{}
	ok(t, ss.Put(ctx, &key))
	if !key.CreatedAt.Equal(created) {
		t.Fatalf("CreatedAt after replace = %v, want %v", key.CreatedAt, created)
	}
	got, err = ss.Get(ctx, a.ID, key.ID)
	ok(t, err)
	same(t, "Get after replace", key, got)

	ok(t, ss.Delete(ctx, a.ID, key.ID))
	isErr(t, ss.Delete(ctx, a.ID, key.ID), store.ErrNotFound)
	_, err = ss.Get(ctx, a.ID, key.ID)
	isErr(t, err, store.ErrNotFound)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	au := s.Audit()
	specs := []store.AuditEntry{
		{Time: at(0), ActorID: "u1", ActorName: "alice", TenantID: "ta", Action: "login", Object: "user:u1", Detail: `{"a":1}`, IP: "192.0.2.1"},
		{Time: at(1), ActorID: "u2", ActorName: "bob", TenantID: "tb", Action: "asset.create", Object: "asset:1", Detail: `{}`},
		{Time: at(2), ActorID: "u1", ActorName: "alice", TenantID: "ta", Action: "asset.create", Object: "asset:2"},
		{Time: at(3), ActorID: "u3", ActorName: "carol", Action: "tenant.create", Object: "tenant:tc", Detail: `{"slug":  "c"}`},
		{Time: at(4), ActorID: "u2", ActorName: "bob", TenantID: "ta", Action: "asset.delete", Object: "asset:2"},
	}
	var all []store.AuditEntry
	prev := ""
	for i, e := range specs {
		e = appendAudit(t, s, e)
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != Chain(&e) || e.Hash == "" {
			t.Fatalf("entry %d: Seq %d PrevHash %q Hash %q", i, e.Seq, e.PrevHash, e.Hash)
		}
		if !e.Time.Equal(micro(specs[i].Time)) || e.Time.Location() != time.UTC {
			t.Fatalf("entry %d: Time = %v, want %v in UTC", i, e.Time, micro(specs[i].Time))
		}
		prev = e.Hash
		all = append(all, e)
	}
	newest := slices.Clone(all)
	slices.Reverse(newest)

	seqs := func(es []store.AuditEntry) []int64 {
		out := make([]int64, 0, len(es))
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	list, err := au.List(ctx, store.AuditFilter{})
	ok(t, err)
	same(t, "List all (newest first)", newest, list)
	cases := []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"tenant", store.AuditFilter{TenantID: "ta"}, []int64{5, 3, 1}},
		{"actor id", store.AuditFilter{Actor: "u2"}, []int64{5, 2}},
		{"actor name", store.AuditFilter{Actor: "alice"}, []int64{3, 1}},
		{"action", store.AuditFilter{Action: "asset.create"}, []int64{3, 2}},
		{"since inclusive", store.AuditFilter{Since: at(3)}, []int64{5, 4}},
		{"until exclusive", store.AuditFilter{Until: at(1)}, []int64{1}},
		{"window", store.AuditFilter{Since: at(1), Until: at(3)}, []int64{3, 2}},
		{"page", store.AuditFilter{Page: store.Page{Limit: 2, Offset: 1}}, []int64{4, 3}},
		{"combined", store.AuditFilter{TenantID: "ta", Action: "asset.create", Actor: "alice"}, []int64{3}},
		{"none", store.AuditFilter{TenantID: "zz"}, nil},
	}
	for _, tc := range cases {
		list, err := au.List(ctx, tc.f)
		ok(t, err)
		same(t, "List "+tc.name, tc.want, seqs(list))
	}

	var walked []store.AuditEntry
	ok(t, au.Walk(ctx, 1, func(e store.AuditEntry) error { walked = append(walked, e); return nil }))
	same(t, "Walk from 1", all, walked)
	walked = nil
	ok(t, au.Walk(ctx, 3, func(e store.AuditEntry) error { walked = append(walked, e); return nil }))
	same(t, "Walk from 3", all[2:], walked)
	walked = nil
	ok(t, au.Walk(ctx, 0, func(e store.AuditEntry) error { walked = append(walked, e); return nil }))
	same(t, "Walk from 0", all, walked)
	ok(t, au.Walk(ctx, 99, func(e store.AuditEntry) error { t.Fatalf("Walk past the end called fn for %d", e.Seq); return nil }))
	stop := errors.New("stop")
	calls := 0
	err = au.Walk(ctx, 1, func(store.AuditEntry) error { calls++; return stop })
	isErr(t, err, stop)
	if calls != 1 {
		t.Fatalf("Walk called fn %d times after an error", calls)
	}

	// A zero Time is set by the store before hashing.
	e := appendAudit(t, s, store.AuditEntry{Action: "noop"})
	stamped(t, "Time", e.Time)
	if e.Seq != 6 || e.PrevHash != all[4].Hash {
		t.Fatalf("6th entry: Seq %d PrevHash %q", e.Seq, e.PrevHash)
	}
	isErr(t, au.Append(ctx, &store.AuditEntry{Action: "x"}, nil), store.ErrInvalid)
	e = appendAudit(t, s, store.AuditEntry{Action: "after-refusal"})
	if e.Seq != 7 {
		t.Fatalf("Seq after a refused append = %d, want 7", e.Seq)
	}
}

// testAuditAppendOnly checks the audit store offers nothing that changes
// or removes an entry.
func testAuditAppendOnly(t *testing.T, s store.Store) {
	typ := reflect.TypeOf(s.Audit())
	var names []string
	for i := range typ.NumMethod() {
		names = append(names, typ.Method(i).Name)
	}
	same(t, "audit store methods", []string{"Append", "Head", "List", "Walk"}, names)

	// The head follows every append.
	ctx := t.Context()
	seq0, _, err := s.Audit().Head(ctx)
	ok(t, err)
	e := &store.AuditEntry{Action: "head.check"}
	ok(t, s.Audit().Append(ctx, e, Chain))
	seq, hash, err := s.Audit().Head(ctx)
	ok(t, err)
	if seq != seq0+1 || seq != e.Seq || hash != e.Hash {
		t.Fatalf("head = %d %q after appending %d %q", seq, hash, e.Seq, e.Hash)
	}
}

func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	t.Run("Assets", func(t *testing.T) {
		as := s.Assets()
		mine := mkAsset(t, s, a.ID, "shared-name")
		theirs := mkAsset(t, s, b.ID, "shared-name")
		_, err := as.Get(ctx, a.ID, theirs.ID)
		isErr(t, err, store.ErrNotFound)
		upd := theirs
		upd.TenantID, upd.Name = a.ID, "stolen"
		isErr(t, as.Update(ctx, &upd), store.ErrNotFound)
		isErr(t, as.Delete(ctx, a.ID, theirs.ID), store.ErrNotFound)
		list, err := as.List(ctx, a.ID, store.AssetFilter{Query: "shared"})
		ok(t, err)
		same(t, "List as A", []store.Asset{mine}, list)
		n, err := as.Count(ctx, a.ID, store.AssetFilter{})
		ok(t, err)
		if n != 1 {
			t.Fatalf("Count as A = %d, want 1", n)
		}
		got, err := as.Get(ctx, b.ID, theirs.ID)
		ok(t, err)
		same(t, "B's asset untouched", theirs, got)
	})

	t.Run("Contacts", func(t *testing.T) {
		cs := s.Contacts()
		asset := mkAsset(t, s, b.ID, "b-app")
		mine := store.Contact{TenantID: a.ID, Kind: "customer", Name: "Mine"}
		ok(t, cs.Create(ctx, &mine))
		theirs := store.Contact{TenantID: b.ID, Kind: "customer", Name: "Theirs", AssetID: asset.ID}
		ok(t, cs.Create(ctx, &theirs))
		_, err := cs.Get(ctx, a.ID, theirs.ID)
		isErr(t, err, store.ErrNotFound)
		upd := theirs
		upd.TenantID, upd.Name = a.ID, "stolen"
		isErr(t, cs.Update(ctx, &upd), store.ErrNotFound)
		isErr(t, cs.Delete(ctx, a.ID, theirs.ID), store.ErrNotFound)
		list, err := cs.List(ctx, a.ID, store.ContactFilter{})
		ok(t, err)
		same(t, "List as A", []store.Contact{mine}, list)
		list, err = cs.List(ctx, a.ID, store.ContactFilter{AssetID: asset.ID})
		ok(t, err)
		same(t, "List as A by B's asset", []store.Contact(nil), list)
		// Deleting B's asset as A neither succeeds nor clears B's contact.
		isErr(t, s.Assets().Delete(ctx, a.ID, asset.ID), store.ErrNotFound)
		got, err := cs.Get(ctx, b.ID, theirs.ID)
		ok(t, err)
		same(t, "B's contact untouched", theirs, got)
	})

	t.Run("Services", func(t *testing.T) {
		ss := s.Services()
		theirs := store.Subscription{TenantID: b.ID, Service: "monitoring", Enabled: true, Level: "premium"}
		ok(t, ss.Put(ctx, &theirs))
		_, err := ss.Get(ctx, a.ID, "monitoring")
		isErr(t, err, store.ErrNotFound)
		isErr(t, ss.Delete(ctx, a.ID, "monitoring"), store.ErrNotFound)
		list, err := ss.List(ctx, a.ID)
		ok(t, err)
		same(t, "List as A", []store.Subscription(nil), list)
		mine := store.Subscription{TenantID: a.ID, Service: "monitoring", Level: "basic"}
		ok(t, ss.Put(ctx, &mine))
		got, err := ss.Get(ctx, b.ID, "monitoring")
		ok(t, err)
		same(t, "B's subscription untouched", theirs, got)
	})

	t.Run("Secrets", func(t *testing.T) {
		ss := s.Secrets()
		theirs := store.Secret{TenantID: b.ID, Name: "key", Kind: "ssh", Ciphertext: []byte("b-secret")}
		ok(t, ss.Put(ctx, &theirs))
		_, err := ss.Get(ctx, a.ID, theirs.ID)
		isErr(t, err, store.ErrNotFound)
		isErr(t, ss.Delete(ctx, a.ID, theirs.ID), store.ErrNotFound)
		steal := store.Secret{ID: theirs.ID, TenantID: a.ID, Name: "stolen", Ciphertext: []byte("a")}
		isErr(t, ss.Put(ctx, &steal), store.ErrConflict)
		list, err := ss.List(ctx, a.ID)
		ok(t, err)
		same(t, "List as A", []store.Secret(nil), list)
		got, err := ss.Get(ctx, b.ID, theirs.ID)
		ok(t, err)
		same(t, "B's secret untouched", theirs, got)
	})

	t.Run("Tokens", func(t *testing.T) {
		ts := s.Tokens()
		theirs := store.APIToken{Name: "b", TenantID: b.ID, Role: "viewer", Hash: "iso-b"}
		ok(t, ts.Create(ctx, &theirs))
		list, err := ts.List(ctx, a.ID)
		ok(t, err)
		same(t, "List as A", []store.APIToken(nil), list)
		list, err = ts.List(ctx, "")
		ok(t, err)
		same(t, "List global", []store.APIToken(nil), list)
	})

	t.Run("Memberships", func(t *testing.T) {
		u := mkUser(t, s, "iso-user")
		ok(t, s.Users().SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: b.ID, Role: "viewer"}))
		ms, err := s.Users().TenantMembers(ctx, a.ID)
		ok(t, err)
		same(t, "TenantMembers as A", []store.Membership(nil), ms)
		isErr(t, s.Users().RemoveMembership(ctx, u.ID, a.ID), store.ErrNotFound)
		ms, err = s.Users().TenantMembers(ctx, b.ID)
		ok(t, err)
		if len(ms) != 1 {
			t.Fatalf("B's members = %+v", ms)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		appendAudit(t, s, store.AuditEntry{TenantID: b.ID, Action: "b.only"})
		list, err := s.Audit().List(ctx, store.AuditFilter{TenantID: a.ID})
		ok(t, err)
		same(t, "List as A", []store.AuditEntry(nil), list)
	})
}

func testTenantDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, keep := mkTenant(t, s, "alpha"), mkTenant(t, s, "keep")
	u := mkUser(t, s, "uma")
	ok(t, s.Users().SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: a.ID, Role: "viewer"}))
	ok(t, s.Users().SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: keep.ID, Role: "viewer"}))
	tok := store.APIToken{Name: "t", TenantID: a.ID, Role: "viewer", Hash: "cascade"}
	ok(t, s.Tokens().Create(ctx, &tok))
	sess := store.Session{ID: "sess", UserID: u.ID, TenantID: a.ID, ExpiresAt: time.Now().Add(time.Hour)}
	ok(t, s.Sessions().Create(ctx, &sess))
	asset := mkAsset(t, s, a.ID, "app")
	c := store.Contact{TenantID: a.ID, Kind: "customer", Name: "c", AssetID: asset.ID}
	ok(t, s.Contacts().Create(ctx, &c))
	sub := store.Subscription{TenantID: a.ID, Service: "monitoring"}
	ok(t, s.Services().Put(ctx, &sub))
	sec := store.Secret{TenantID: a.ID, Name: "k", Ciphertext: []byte("x")}
	ok(t, s.Secrets().Put(ctx, &sec))
	kept := store.Secret{TenantID: keep.ID, Name: "k", Ciphertext: []byte("y")}
	ok(t, s.Secrets().Put(ctx, &kept))
	entry := appendAudit(t, s, store.AuditEntry{TenantID: a.ID, Action: "tenant.create"})

	ok(t, s.Tenants().Delete(ctx, a.ID))

	ms, err := s.Users().Memberships(ctx, u.ID)
	ok(t, err)
	same(t, "memberships", []string{keep.ID}, ids(ms, func(m store.Membership) string { return m.TenantID }))
	_, err = s.Tokens().Get(ctx, tok.ID)
	isErr(t, err, store.ErrNotFound)
	got, err := s.Sessions().Get(ctx, "sess")
	ok(t, err)
	if got.TenantID != "" {
		t.Fatalf("session TenantID = %q after its tenant was deleted", got.TenantID)
	}
	_, err = s.Assets().Get(ctx, a.ID, asset.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.Contacts().Get(ctx, a.ID, c.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.Services().Get(ctx, a.ID, "monitoring")
	isErr(t, err, store.ErrNotFound)
	_, err = s.Secrets().Get(ctx, a.ID, sec.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.Secrets().Get(ctx, keep.ID, kept.ID)
	ok(t, err)
	list, err := s.Audit().List(ctx, store.AuditFilter{TenantID: a.ID})
	ok(t, err)
	same(t, "audit kept", []store.AuditEntry{entry}, list)
}

func testUserDeleteCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mkTenant(t, s, "alpha")
	u, other := mkUser(t, s, "uma"), mkUser(t, s, "otto")
	ok(t, s.Users().SetMembership(ctx, store.Membership{UserID: u.ID, TenantID: a.ID, Role: "viewer"}))
	ok(t, s.Users().SetMembership(ctx, store.Membership{UserID: other.ID, TenantID: a.ID, Role: "viewer"}))
	team := store.Team{Name: "desk"}
	ok(t, s.Teams().Create(ctx, &team))
	ok(t, s.Teams().SetMember(ctx, store.TeamMember{TeamID: team.ID, UserID: u.ID}))
	sess := store.Session{ID: "sess", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
	ok(t, s.Sessions().Create(ctx, &sess))
	tok := store.APIToken{Name: "t", TenantID: a.ID, Role: "viewer", UserID: u.ID, Hash: "user-cascade"}
	ok(t, s.Tokens().Create(ctx, &tok))

	ok(t, s.Users().Delete(ctx, u.ID))

	ms, err := s.Users().TenantMembers(ctx, a.ID)
	ok(t, err)
	same(t, "tenant members", []string{other.ID}, ids(ms, func(m store.Membership) string { return m.UserID }))
	tm, err := s.Teams().Members(ctx, team.ID)
	ok(t, err)
	same(t, "team members", []store.TeamMember(nil), tm)
	_, err = s.Sessions().Get(ctx, "sess")
	isErr(t, err, store.ErrNotFound)
	_, err = s.Tokens().Get(ctx, tok.ID)
	isErr(t, err, store.ErrNotFound)
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mkTenant(t, s, "alpha")
	const workers, assetsEach, auditEach = 8, 25, 40

	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Go(func() {
			for i := range assetsEach {
				x := store.Asset{TenantID: a.ID, Kind: "host", Name: fmt.Sprintf("w%d-%02d", w, i)}
				if err := s.Assets().Create(ctx, &x); err != nil {
					errs <- fmt.Errorf("worker %d asset %d: %w", w, i, err)
					return
				}
			}
		})
		wg.Go(func() {
			for i := range auditEach {
				e := store.AuditEntry{ActorID: strconv.Itoa(w), Action: fmt.Sprintf("w%d.%d", w, i)}
				if err := s.Audit().Append(ctx, &e, Chain); err != nil {
					errs <- fmt.Errorf("worker %d append %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	n, err := s.Assets().Count(ctx, a.ID, store.AssetFilter{})
	ok(t, err)
	if n != workers*assetsEach {
		t.Fatalf("asset Count = %d, want %d", n, workers*assetsEach)
	}
	list, err := s.Assets().List(ctx, a.ID, store.AssetFilter{Page: store.Page{Limit: store.MaxPageSize}})
	ok(t, err)
	seen := map[string]bool{}
	for _, x := range list {
		seen[x.ID] = true
	}
	if len(seen) != workers*assetsEach {
		t.Fatalf("%d distinct asset IDs, want %d", len(seen), workers*assetsEach)
	}

	// The chain is gapless and linked, read in more than one Walk batch.
	var want int64 = 1
	prev := ""
	actions := map[string]bool{}
	ok(t, s.Audit().Walk(ctx, 1, func(e store.AuditEntry) error {
		if e.Seq != want {
			return fmt.Errorf("seq %d, want %d", e.Seq, want)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("seq %d: prev hash %q, want %q", e.Seq, e.PrevHash, prev)
		}
		if e.Hash != Chain(&e) {
			return fmt.Errorf("seq %d: hash does not match the chain function", e.Seq)
		}
		actions[e.Action] = true
		prev = e.Hash
		want++
		return nil
	}))
	if got := want - 1; got != workers*auditEach || len(actions) != workers*auditEach {
		t.Fatalf("walked %d entries (%d distinct actions), want %d", got, len(actions), workers*auditEach)
	}
	es, err := s.Audit().List(ctx, store.AuditFilter{Page: store.Page{Limit: store.MaxPageSize}})
	ok(t, err)
	if len(es) != workers*auditEach || es[0].Hash != prev {
		t.Fatalf("List: %d entries, newest hash %q, want %d ending in %q", len(es), es[0].Hash, workers*auditEach, prev)
	}
}

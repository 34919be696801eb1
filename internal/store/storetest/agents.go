package storetest

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAgents checks host agents: an enrolment token is good for its
// number of uses and until it expires or is revoked, even when agents
// race for its last use; enrolment creates the agent in the token's
// tenant and re-enrolment replaces the credential; heartbeats update an
// active agent only; revocation sticks; configurations bump their
// version; and nothing of one tenant is reachable from another.
func testAgents(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Agents()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	now := time.Now().UTC()

	e := store.AgentEnrolment{TenantID: a.ID, Name: "rollout", TokenHash: "h-enrol-a", MaxUses: 2, ExpiresAt: now.Add(time.Hour), CreatedBy: "admin"} // #nosec G101 -- a test hash, not a credential
	ok(t, as.CreateEnrolment(ctx, &e))
	stamped(t, "created", e.CreatedAt)
	dup := store.AgentEnrolment{TenantID: b.ID, TokenHash: "h-enrol-a", MaxUses: 1, ExpiresAt: now.Add(time.Hour)} // #nosec G101 -- a test hash, not a credential
	isErr(t, as.CreateEnrolment(ctx, &dup), store.ErrConflict)
	noTenant := store.AgentEnrolment{TenantID: "nope", TokenHash: "h-x", MaxUses: 1, ExpiresAt: now.Add(time.Hour)} // #nosec G101 -- a test hash, not a credential
	isErr(t, as.CreateEnrolment(ctx, &noTenant), store.ErrNotFound)
	expired := store.AgentEnrolment{TenantID: a.ID, TokenHash: "h-expired", MaxUses: 5, ExpiresAt: now.Add(-time.Minute)} // #nosec G101 -- a test hash, not a credential
	ok(t, as.CreateEnrolment(ctx, &expired))

	es, err := as.ListEnrolments(ctx, a.ID)
	ok(t, err)
	if len(es) != 2 {
		t.Fatalf("enrolments of alpha: %d, want 2", len(es))
	}
	es, err = as.ListEnrolments(ctx, b.ID)
	ok(t, err)
	if len(es) != 0 {
		t.Fatalf("beta sees %d enrolments", len(es))
	}

	// Two uses, then none.
	ag1 := store.Agent{ID: "0a000000-0000-4000-8000-000000000001", Hostname: "web-01", Version: "1.0", TokenHash: "h-agent-1"}
	ok(t, as.Enrol(ctx, "h-enrol-a", &ag1))
	if ag1.TenantID != a.ID || ag1.EnrolmentID != e.ID || ag1.Status != store.AgentActive {
		t.Fatalf("enrolled agent %+v", ag1)
	}
	ag2 := store.Agent{ID: "0a000000-0000-4000-8000-000000000002", Hostname: "db-01", TokenHash: "h-agent-2"}
	ok(t, as.Enrol(ctx, "h-enrol-a", &ag2))
	ag3 := store.Agent{ID: "0a000000-0000-4000-8000-000000000003", Hostname: "x", TokenHash: "h-agent-3"}
	isErr(t, as.Enrol(ctx, "h-enrol-a", &ag3), store.ErrNotFound)
	isErr(t, as.Enrol(ctx, "h-expired", &ag3), store.ErrNotFound)
	isErr(t, as.Enrol(ctx, "h-unknown", &ag3), store.ErrNotFound)
	_, err = as.AgentByToken(ctx, "h-agent-3")
	isErr(t, err, store.ErrNotFound)
	es, err = as.ListEnrolments(ctx, a.ID)
	ok(t, err)
	for _, x := range es {
		if x.ID == e.ID && x.Uses != 2 {
			t.Fatalf("uses = %d, want 2", x.Uses)
		}
		if x.ID == expired.ID && x.Uses != 0 {
			t.Fatalf("expired token used %d times", x.Uses)
		}
	}

	// A revoked enrolment enrols no one.
	rev := store.AgentEnrolment{TenantID: b.ID, TokenHash: "h-enrol-b", MaxUses: 10, ExpiresAt: now.Add(time.Hour)} // #nosec G101 -- a test hash, not a credential
	ok(t, as.CreateEnrolment(ctx, &rev))
	isErr(t, as.RevokeEnrolment(ctx, a.ID, rev.ID), store.ErrNotFound)
	ok(t, as.RevokeEnrolment(ctx, b.ID, rev.ID))
	isErr(t, as.Enrol(ctx, "h-enrol-b", &ag3), store.ErrNotFound)

	// Racing for the last use: exactly one wins.
	race := store.AgentEnrolment{TenantID: b.ID, TokenHash: "h-race", MaxUses: 1, ExpiresAt: now.Add(time.Hour)} // #nosec G101 -- a test hash, not a credential
	ok(t, as.CreateEnrolment(ctx, &race))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			ag := store.Agent{ID: "0b000000-0000-4000-8000-00000000000" + strconv.Itoa(i), TokenHash: "h-race-" + strconv.Itoa(i)}
			errs[i] = as.Enrol(ctx, "h-race", &ag)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d agents enrolled with a one-use token: %v", won, errs)
	}

	// Lookups are scoped; by token they are not.
	got, err := as.AgentByToken(ctx, "h-agent-1")
	ok(t, err)
	same(t, "agent by token", ag1, got)
	got, err = as.GetAgent(ctx, a.ID, ag1.ID)
	ok(t, err)
	same(t, "agent", ag1, got)
	_, err = as.GetAgent(ctx, b.ID, ag1.ID)
	isErr(t, err, store.ErrNotFound)
	list, err := as.ListAgents(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 2 || list[0].Hostname != "db-01" || list[1].Hostname != "web-01" {
		t.Fatalf("agents of alpha %+v", list)
	}

	// Heartbeat.
	seen := at(0)
	hb := store.AgentHeartbeat{At: seen, Hostname: "web-01.example", Version: "1.1", ConfigETag: "etag-1", SpoolPending: 4096, SpoolDropped: 7}
	ok(t, as.Heartbeat(ctx, a.ID, ag1.ID, hb))
	isErr(t, as.Heartbeat(ctx, b.ID, ag1.ID, hb), store.ErrNotFound)
	got, err = as.GetAgent(ctx, a.ID, ag1.ID)
	ok(t, err)
	if !got.LastSeenAt.Equal(micro(seen)) || got.Hostname != "web-01.example" || got.Version != "1.1" || got.ConfigETag != "etag-1" ||
		got.SpoolPending != 4096 || got.SpoolDropped != 7 {
		t.Fatalf("after heartbeat %+v", got)
	}

	// Revocation: heartbeats stop counting, the token still finds the
	// agent (so the caller can refuse it) and re-enrolment restores it.
	isErr(t, as.RevokeAgent(ctx, b.ID, ag1.ID, time.Time{}), store.ErrNotFound)
	ok(t, as.RevokeAgent(ctx, a.ID, ag1.ID, at(5)))
	isErr(t, as.Heartbeat(ctx, a.ID, ag1.ID, hb), store.ErrNotFound)
	got, err = as.AgentByToken(ctx, "h-agent-1")
	ok(t, err)
	if got.Status != store.AgentRevoked || !got.RevokedAt.Equal(micro(at(5))) {
		t.Fatalf("revoked agent %+v", got)
	}
	again := store.AgentEnrolment{TenantID: a.ID, TokenHash: "h-enrol-a2", MaxUses: 1, ExpiresAt: now.Add(time.Hour)} // #nosec G101 -- a test hash, not a credential
	ok(t, as.CreateEnrolment(ctx, &again))
	re := store.Agent{ID: ag1.ID, Hostname: "web-01", TokenHash: "h-agent-1b"}
	ok(t, as.Enrol(ctx, "h-enrol-a2", &re))
	_, err = as.AgentByToken(ctx, "h-agent-1")
	isErr(t, err, store.ErrNotFound)
	got, err = as.AgentByToken(ctx, "h-agent-1b")
	ok(t, err)
	if got.Status != store.AgentActive || !got.RevokedAt.IsZero() || got.SpoolDropped != 0 || got.EnrolmentID != again.ID {
		t.Fatalf("re-enrolled agent %+v", got)
	}
	list, err = as.ListAgents(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 2 {
		t.Fatalf("re-enrolment made %d agents, want 2", len(list))
	}

	// Configurations.
	_, err = as.GetConfig(ctx, a.ID, "")
	isErr(t, err, store.ErrNotFound)
	c := store.AgentConfig{TenantID: a.ID, Body: `{"tail":["/var/log/syslog"]}`, UpdatedBy: "admin"}
	ok(t, as.PutConfig(ctx, &c))
	if c.Version != 1 {
		t.Fatalf("first version %d", c.Version)
	}
	stamped(t, "config updated", c.UpdatedAt)
	c.Body = `{"tail":["/var/log/auth.log"]}`
	ok(t, as.PutConfig(ctx, &c))
	if c.Version != 2 {
		t.Fatalf("second version %d", c.Version)
	}
	own := store.AgentConfig{TenantID: a.ID, AgentID: ag2.ID, Body: `{}`}
	ok(t, as.PutConfig(ctx, &own))
	if own.Version != 1 {
		t.Fatalf("agent's own config version %d", own.Version)
	}
	gc, err := as.GetConfig(ctx, a.ID, "")
	ok(t, err)
	same(t, "config", c, gc)
	_, err = as.GetConfig(ctx, b.ID, "")
	isErr(t, err, store.ErrNotFound)
	isErr(t, as.DeleteConfig(ctx, b.ID, ag2.ID), store.ErrNotFound)
	ok(t, as.DeleteConfig(ctx, a.ID, ag2.ID))
	_, err = as.GetConfig(ctx, a.ID, ag2.ID)
	isErr(t, err, store.ErrNotFound)

	// Deleting the tenant takes its agents, enrolments and configs.
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = as.AgentByToken(ctx, "h-agent-2")
	isErr(t, err, store.ErrNotFound)
	isErr(t, as.Enrol(ctx, "h-enrol-a2", &ag3), store.ErrNotFound)
	es, err = as.ListEnrolments(ctx, a.ID)
	ok(t, err)
	if len(es) != 0 {
		t.Fatal("enrolments survive their tenant")
	}
}

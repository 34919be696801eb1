package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDigest checks the weekly digest runs (one claim per tenant and
// period, on any node), the key figures a digest counts, and the KEV
// backlog stamp of escalation rules.
func testDigest(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Desk()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	t.Run("Claims", func(t *testing.T) {
		r := store.DigestRun{TenantID: a.ID, Period: "2030-W19", From: at(0), To: at(7 * 24 * 60)}
		ok(t, ds.ClaimDigest(ctx, &r, time.Time{}))
		stamped(t, "claim", r.ClaimedAt)
		again := store.DigestRun{TenantID: a.ID, Period: "2030-W19", From: at(0), To: at(7 * 24 * 60)}
		if err := ds.ClaimDigest(ctx, &again, time.Time{}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second claim of a period: %v", err)
		}
		// A claim still sending long after it was made is a dead node's:
		// it is taken over, once.
		again.SentBy = "node-b"
		ok(t, ds.ClaimDigest(ctx, &again, time.Now().Add(time.Hour)))
		if err := ds.ClaimDigest(ctx, &again, r.ClaimedAt); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("claim of a run just taken over: %v", err)
		}
		other := store.DigestRun{TenantID: b.ID, Period: "2030-W19", From: at(0), To: at(7 * 24 * 60)}
		ok(t, ds.ClaimDigest(ctx, &other, time.Time{})) // another tenant's week is its own
		ok(t, ds.FinishDigest(ctx, a.ID, "2030-W19", store.DigestSent, 3, "", at(10)))
		if err := ds.ClaimDigest(ctx, &again, time.Now().Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("claim of a run sent: %v", err)
		}
		if err := ds.FinishDigest(ctx, a.ID, "2030-W20", store.DigestSent, 1, "", at(10)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish an unclaimed run: %v", err)
		}
		runs, err := ds.DigestRuns(ctx, a.ID, store.Page{Limit: 10})
		ok(t, err)
		if len(runs) != 1 || runs[0].Status != store.DigestSent || runs[0].Messages != 3 || !runs[0].FinishedAt.Equal(at(10).Truncate(time.Microsecond)) ||
			!runs[0].From.Equal(at(0).Truncate(time.Microsecond)) || runs[0].Period != "2030-W19" {
			t.Fatalf("runs of alpha %+v", runs)
		}
	})

	t.Run("Counts", func(t *testing.T) {
		from, to := at(0), at(60)
		open := []string{"new", "acknowledged"}
		raise := func(tenant, host string, minute int) store.Alert {
			al := store.Alert{TenantID: tenant, GroupKey: "r1|" + host, RuleID: "r1", RuleTitle: "Brute force", Level: "high",
				Host: host, EventIDs: []string{host}, Status: "new", LastSeen: at(minute)}
			_, err := s.Alerts().Raise(ctx, &al, time.Minute, open, 3)
			ok(t, err)
			return al
		}
		raise(a.ID, "in-1", 5)
		closed := raise(a.ID, "in-2", 10)
		raise(a.ID, "before", -5)
		raise(a.ID, "after", 60) // [from, to) excludes to
		raise(b.ID, "other", 5)
		ok(t, s.Alerts().SetStatus(ctx, a.ID, closed.ID, "false-positive", "", "u1", at(20)))
		old := raise(a.ID, "old", -100)
		ok(t, s.Alerts().SetStatus(ctx, a.ID, old.ID, "closed", "", "u1", at(30)))
		stale := raise(a.ID, "stale", -200)
		ok(t, s.Alerts().SetStatus(ctx, a.ID, stale.ID, "closed", "", "u1", at(-150)))

		crit := vf("a", "10.0.0.1", "critical", "Log4Shell")
		crit.KEV = true
		high := vf("b", "10.0.0.2", "high", "Old TLS")
		importScan(t, s, a.ID, false, at(15), crit, high)
		importScan(t, s, a.ID, false, at(-30), vf("c", "10.0.0.3", "critical", "Earlier"))
		importScan(t, s, b.ID, false, at(15), vf("d", "10.0.0.4", "critical", "Other tenant"))

		c, err := ds.DigestCounts(ctx, a.ID, from, to)
		ok(t, err)
		// Counted by hand from the rows above.
		want := store.DigestCounts{NewAlerts: 2, ClosedAlerts: 2, NewCritical: 1, NewKEV: 1}
		if c != want {
			t.Fatalf("counts %+v, want %+v", c, want)
		}

		// Cases are stamped by the store: count around its clock.
		now := time.Now()
		mkIncident(t, s, a.ID, "Opened", nil)
		mkIncident(t, s, a.ID, "Opened and closed", func(c *store.Incident) { c.Phase, c.ClosedAt = "closed", now })
		mkIncident(t, s, b.ID, "Other", nil)
		c, err = ds.DigestCounts(ctx, a.ID, now.Add(-24*time.Hour), now.Add(24*time.Hour))
		ok(t, err)
		if c.NewCases != 2 || c.ClosedCases != 1 {
			t.Fatalf("case counts %+v", c)
		}
	})

	t.Run("KEVBacklog", func(t *testing.T) {
		es := s.Escalations()
		r := store.EscalationRule{TenantID: a.ID, Name: "kev", Spec: []byte(`{}`), Enabled: true, Restart: true}
		ok(t, es.PutRule(ctx, &r))
		rs, err := es.Rules(ctx, a.ID)
		ok(t, err)
		if len(rs) != 1 || rs[0].EnabledAt.IsZero() || !rs[0].KEVPending || rs[0].KEVSkipped != 0 {
			t.Fatalf("restarted rule %+v", rs)
		}
		enabledAt := rs[0].EnabledAt
		ok(t, es.SkipKEVBacklog(ctx, a.ID, "kev", enabledAt, 4))
		ok(t, es.SkipKEVBacklog(ctx, a.ID, "kev", enabledAt, 1)) // a second node adds its own
		ok(t, es.SkipKEVBacklog(ctx, a.ID, "kev", enabledAt.Add(-time.Hour), 9))
		if err := es.SkipKEVBacklog(ctx, b.ID, "kev", enabledAt, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another tenant's rule: %v", err)
		}
		// An edit that does not restart keeps the stamp and the count.
		r.Spec, r.Restart = []byte(`{"x":1}`), false
		ok(t, es.PutRule(ctx, &r))
		rs, err = es.Rules(ctx, a.ID)
		ok(t, err)
		if !rs[0].EnabledAt.Equal(enabledAt) || rs[0].KEVPending || rs[0].KEVSkipped != 5 {
			t.Fatalf("after skipping %+v", rs[0])
		}
		r.Restart = true
		ok(t, es.PutRule(ctx, &r))
		rs, err = es.Rules(ctx, a.ID)
		ok(t, err)
		if !rs[0].KEVPending || rs[0].KEVSkipped != 0 {
			t.Fatalf("re-enabled %+v", rs[0])
		}
	})
}

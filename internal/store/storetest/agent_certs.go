package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAgentCerts: issued agent certificates are kept by serial (a serial
// twice is a conflict); revoking an agent's certificates revokes all of
// them but the one excepted, once, and nothing of another agent or
// tenant.
func testAgentCerts(t *testing.T, s store.Store) {
	cs, isCS := s.(store.AgentCerts)
	if !isCS {
		t.Skip("store keeps no agent certificates")
	}
	ctx := t.Context()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	const agentA, agentB = "7a1e0c58-6f0e-4b7d-9b8a-3f1d2c4e5a61", "0b9d8c7e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
	nb := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	rec := func(serial, tenantID, agentID string, issued time.Time) store.AgentCert {
		t.Helper()
		c := store.AgentCert{Serial: serial, TenantID: tenantID, AgentID: agentID, NotBefore: nb, NotAfter: nb.Add(48 * time.Hour),
			IssuedAt: issued}
		ok(t, cs.RecordAgentCert(ctx, &c))
		return c
	}
	c1 := rec("0a01", a.ID, agentA, nb)
	c2 := rec("0a02", a.ID, agentA, nb.Add(time.Hour))
	c3 := rec("0a03", a.ID, agentA, nb.Add(2*time.Hour))
	other := rec("0b01", b.ID, agentA, nb)
	otherAgent := rec("0a10", a.ID, agentB, nb)
	dup := store.AgentCert{Serial: "0a01", TenantID: b.ID, AgentID: agentB, NotBefore: nb, NotAfter: nb, IssuedAt: nb}
	isErr(t, cs.RecordAgentCert(ctx, &dup), store.ErrConflict)

	got, err := cs.AgentCertBySerial(ctx, "0a02")
	ok(t, err)
	same(t, "by serial", c2, got)
	same(t, "normalised times", nb.Truncate(time.Microsecond), got.NotBefore)
	_, err = cs.AgentCertBySerial(ctx, "ffff")
	isErr(t, err, store.ErrNotFound)

	list, err := cs.ListAgentCerts(ctx, a.ID, agentA)
	ok(t, err)
	same(t, "list newest first", []store.AgentCert{c3, c2, c1}, list)

	at := nb.Add(3 * time.Hour).Truncate(time.Microsecond)
	n, err := cs.RevokeAgentCerts(ctx, a.ID, agentA, "0a03", at)
	ok(t, err)
	same(t, "revoked", int64(2), n)
	n, err = cs.RevokeAgentCerts(ctx, a.ID, agentA, "0a03", at.Add(time.Hour))
	ok(t, err)
	same(t, "revoked again", int64(0), n)
	for serial, want := range map[string]time.Time{"0a01": at, "0a02": at, "0a03": {}} {
		c, err := cs.AgentCertBySerial(ctx, serial)
		ok(t, err)
		same(t, "revoked_at of "+serial, want, c.RevokedAt)
	}
	for _, c := range []store.AgentCert{other, otherAgent} {
		got, err := cs.AgentCertBySerial(ctx, c.Serial)
		ok(t, err)
		same(t, "untouched "+c.Serial, c, got)
	}
	n, err = cs.RevokeAgentCerts(ctx, a.ID, agentA, "", at.Add(time.Hour))
	ok(t, err)
	same(t, "revoked the last", int64(1), n)
}

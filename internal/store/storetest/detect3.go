package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testCorrelationStateNodes checks that correlation snapshots are kept
// per node: two nodes saving for one tenant both survive, each save
// replaces only its own node's, and deleting the tenant's state drops
// every node's.
func testCorrelationStateNodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := s.Detection()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	save := func(tenant, node, state string) {
		t.Helper()
		ok(t, d.SaveCorrelationState(ctx, &store.CorrelationState{TenantID: tenant, NodeID: node, State: []byte(state)}))
	}
	save(a.ID, "ingest-1", `{"n":1}`)
	save(a.ID, "ingest-2", `{"n":2}`)
	save(a.ID, "ingest-1", `{"n":3}`) // replaces ingest-1's only
	save(a.ID, "", `{"n":4}`)         // a snapshot from before nodes were told apart
	save(b.ID, "ingest-1", `{"n":5}`)
	if err := d.SaveCorrelationState(ctx, &store.CorrelationState{TenantID: a.ID, NodeID: strings.Repeat("n", store.MaxNodeID+1), State: []byte(`{}`)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("oversized node id: %v", err)
	}
	got := map[[2]string]string{}
	cs, err := d.CorrelationStates(ctx)
	ok(t, err)
	for _, c := range cs {
		got[[2]string{c.TenantID, c.NodeID}] = string(c.State)
		stamped(t, "saved", c.SavedAt)
	}
	want := map[[2]string]string{
		{a.ID, "ingest-1"}: `{"n":3}`,
		{a.ID, "ingest-2"}: `{"n":2}`,
		{a.ID, ""}:         `{"n":4}`,
		{b.ID, "ingest-1"}: `{"n":5}`,
	}
	if len(got) != len(want) || len(cs) != len(want) {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("snapshot of %v = %q, want %q", k, got[k], v)
		}
	}
	ok(t, d.DeleteCorrelationState(ctx, a.ID))
	cs, err = d.CorrelationStates(ctx)
	ok(t, err)
	if len(cs) != 1 || cs[0].TenantID != b.ID {
		t.Fatalf("after deleting alpha's: %+v", cs)
	}
}

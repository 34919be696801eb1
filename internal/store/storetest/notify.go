package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func testNotifyChannels(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.NotifyChannels()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	c := store.NotifyChannel{TenantID: a.ID, Name: "SOC group", Kind: "wecom", Config: []byte(`{"kind":"wecom"}`), SecretID: "sec1",
		MinLevel: "high", Enabled: true}
	ok(t, cs.Create(ctx, &c))
	stamped(t, "CreatedAt", c.CreatedAt)
	got, err := cs.Get(ctx, a.ID, c.ID)
	ok(t, err)
	same(t, "Get", c, got)
	_, err = cs.Get(ctx, b.ID, c.ID)
	isErr(t, err, store.ErrNotFound)
	list, err := cs.List(ctx, b.ID)
	ok(t, err)
	same(t, "other tenant", 0, len(list))

	d := store.NotifyDelivery{TenantID: a.ID, ChannelID: c.ID, MessageID: "m1", Subject: "alert", Attempt: 1, Status: "sent", At: at(1)}
	ok(t, cs.Record(ctx, &d))
	ds, err := cs.Deliveries(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(ds) != 1 || ds[0].Status != "sent" || !ds[0].At.Equal(micro(at(1))) {
		t.Fatalf("deliveries %+v", ds)
	}
	isErr(t, cs.Delete(ctx, b.ID, c.ID), store.ErrNotFound)
	ok(t, cs.Delete(ctx, a.ID, c.ID))
	_, err = cs.Get(ctx, a.ID, c.ID)
	isErr(t, err, store.ErrNotFound)
}

package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testBusinessSystems covers business systems, their members, optimistic
// updates, tenant isolation and the cascades of tenant, asset and contact
// deletes.
func testBusinessSystems(t *testing.T, s store.Store) {
	ctx := t.Context()
	bs := s.BusinessSystems()
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	web := mkAsset(t, s, a.ID, "web")
	db := mkAsset(t, s, a.ID, "db")
	other := mkAsset(t, s, b.ID, "beta-host")
	contact := store.Contact{TenantID: a.ID, Kind: "customer", Name: "Zhang Wei"}
	ok(t, s.Contacts().Create(ctx, &contact))

	erp := store.BusinessSystem{TenantID: a.ID, Name: "ERP", Description: "orders", Owner: "Finance",
		ContactID: contact.ID, MLPSLevel: 3, DataSensitivity: "confidential", Confidentiality: 4, Integrity: 3, Availability: 2}
	ok(t, bs.Create(ctx, &erp))
	if erp.ID == "" || erp.Version != 1 {
		t.Fatalf("Create: ID %q version %d, want an ID and version 1", erp.ID, erp.Version)
	}
	stamped(t, "CreatedAt", erp.CreatedAt)
	crm := store.BusinessSystem{TenantID: a.ID, Name: "crm", DataSensitivity: "internal", Confidentiality: 2, Integrity: 2, Availability: 2}
	ok(t, bs.Create(ctx, &crm))
	dup := store.BusinessSystem{TenantID: a.ID, Name: "ERP", DataSensitivity: "public", Confidentiality: 1, Integrity: 1, Availability: 1}
	isErr(t, bs.Create(ctx, &dup), store.ErrConflict)
	// The same name in another tenant is fine.
	betaERP := store.BusinessSystem{TenantID: b.ID, Name: "ERP", DataSensitivity: "public", Confidentiality: 1, Integrity: 1, Availability: 1}
	ok(t, bs.Create(ctx, &betaERP))
	bad := store.BusinessSystem{TenantID: "no-such-tenant", Name: "x", DataSensitivity: "public", Confidentiality: 1, Integrity: 1, Availability: 1}
	isErr(t, bs.Create(ctx, &bad), store.ErrNotFound)

	got, err := bs.Get(ctx, a.ID, erp.ID)
	ok(t, err)
	same(t, "Get", erp, got)
	_, err = bs.Get(ctx, b.ID, erp.ID)
	isErr(t, err, store.ErrNotFound)
	list, err := bs.List(ctx, a.ID)
	ok(t, err)
	same(t, "List (by name, case-insensitive)", []string{crm.ID, erp.ID}, ids(list, func(x store.BusinessSystem) string { return x.ID }))

	// Optimistic update: the current version wins, a stale one conflicts.
	stale := erp
	erp.Owner, erp.MLPSLevel, erp.Availability = "Ops", 4, 5
	ok(t, bs.Update(ctx, &erp))
	if erp.Version != 2 {
		t.Fatalf("version after Update = %d, want 2", erp.Version)
	}
	got, err = bs.Get(ctx, a.ID, erp.ID)
	ok(t, err)
	same(t, "Get after Update", erp, got)
	stale.Owner = "someone else"
	isErr(t, bs.Update(ctx, &stale), store.ErrConflict)
	foreign := erp
	foreign.TenantID = b.ID
	isErr(t, bs.Update(ctx, &foreign), store.ErrNotFound)
	renamed := crm
	renamed.Name = "ERP"
	isErr(t, bs.Update(ctx, &renamed), store.ErrConflict)

	// Members: tenant-checked, idempotent, counted.
	ok(t, bs.AddMember(ctx, a.ID, erp.ID, web.ID))
	ok(t, bs.AddMember(ctx, a.ID, erp.ID, web.ID))
	ok(t, bs.AddMember(ctx, a.ID, erp.ID, db.ID))
	ok(t, bs.AddMember(ctx, a.ID, crm.ID, db.ID))
	isErr(t, bs.AddMember(ctx, a.ID, erp.ID, other.ID), store.ErrNotFound)
	isErr(t, bs.AddMember(ctx, b.ID, erp.ID, other.ID), store.ErrNotFound)
	isErr(t, bs.AddMember(ctx, a.ID, "no-such-system", web.ID), store.ErrNotFound)
	members, err := bs.MemberIDs(ctx, a.ID, erp.ID)
	ok(t, err)
	want := []string{web.ID, db.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	same(t, "MemberIDs", want, members)
	members, err = bs.MemberIDs(ctx, b.ID, erp.ID)
	ok(t, err)
	same(t, "MemberIDs of another tenant", []string{}, members)
	got, err = bs.Get(ctx, a.ID, erp.ID)
	ok(t, err)
	if got.Members != 2 {
		t.Fatalf("Members = %d, want 2", got.Members)
	}
	of, err := bs.SystemsOf(ctx, a.ID, db.ID)
	ok(t, err)
	same(t, "SystemsOf db", []string{crm.ID, erp.ID}, ids(of, func(x store.BusinessSystem) string { return x.ID }))
	of, err = bs.SystemsOf(ctx, b.ID, db.ID)
	ok(t, err)
	same(t, "SystemsOf from another tenant", []string{}, ids(of, func(x store.BusinessSystem) string { return x.ID }))

	isErr(t, bs.RemoveMember(ctx, b.ID, crm.ID, db.ID), store.ErrNotFound)
	ok(t, bs.RemoveMember(ctx, a.ID, crm.ID, db.ID))
	isErr(t, bs.RemoveMember(ctx, a.ID, crm.ID, db.ID), store.ErrNotFound)

	// Deleting an asset drops its memberships; deleting the contact clears it.
	ok(t, s.Assets().Delete(ctx, a.ID, web.ID))
	members, err = bs.MemberIDs(ctx, a.ID, erp.ID)
	ok(t, err)
	same(t, "MemberIDs after asset delete", []string{db.ID}, members)
	ok(t, s.Contacts().Delete(ctx, a.ID, contact.ID))
	got, err = bs.Get(ctx, a.ID, erp.ID)
	ok(t, err)
	if got.ContactID != "" {
		t.Fatalf("ContactID after contact delete = %q, want empty", got.ContactID)
	}

	// Delete is tenant-scoped and drops the memberships.
	isErr(t, bs.Delete(ctx, b.ID, erp.ID), store.ErrNotFound)
	ok(t, bs.Delete(ctx, a.ID, erp.ID))
	_, err = bs.Get(ctx, a.ID, erp.ID)
	isErr(t, err, store.ErrNotFound)
	of, err = bs.SystemsOf(ctx, a.ID, db.ID)
	ok(t, err)
	same(t, "SystemsOf after system delete", []string{}, ids(of, func(x store.BusinessSystem) string { return x.ID }))

	// Deleting the tenant deletes its systems and memberships.
	ok(t, bs.AddMember(ctx, a.ID, crm.ID, db.ID))
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = bs.Get(ctx, a.ID, crm.ID)
	isErr(t, err, store.ErrNotFound)
	list, err = bs.List(ctx, a.ID)
	ok(t, err)
	same(t, "List after tenant delete", []string{}, ids(list, func(x store.BusinessSystem) string { return x.ID }))
	list, err = bs.List(ctx, b.ID)
	ok(t, err)
	same(t, "other tenant untouched", []string{betaERP.ID}, ids(list, func(x store.BusinessSystem) string { return x.ID }))
}

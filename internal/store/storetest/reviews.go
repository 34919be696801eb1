package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func testPolicyReviews(t *testing.T, s store.Store) {
	ctx := t.Context()
	rs := s.PolicyReviews()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	fw := mkAsset(t, s, a.ID, "edge-fw")
	u := mkUser(t, s, "rev")

	first := store.PolicyReview{TenantID: a.ID, AssetID: fw.ID, Name: "edge before", Format: "iptables-save", Family: 4,
		Config: []byte("*filter\n:INPUT DROP [0:0]\nCOMMIT\n\x00\xff"), ConfigSHA256: "abc", Result: []byte(`{"findings":[]}`),
		Findings: 0, Rules: 0, CreatedBy: u.ID}
	ok(t, rs.Create(ctx, &first))
	if first.ID == "" {
		t.Fatal("Create did not set ID")
	}
	stamped(t, "CreatedAt", first.CreatedAt)
	second := store.PolicyReview{TenantID: a.ID, Name: "core", Format: "nft", Family: 6, Config: []byte("x"),
		ConfigSHA256: "def", Result: []byte("{}"), Findings: 3, Rules: 12, CreatedBy: u.ID}
	ok(t, rs.Create(ctx, &second))
	other := store.PolicyReview{TenantID: b.ID, Name: "beta fw", Format: "iptables-save", Family: 4, ConfigSHA256: "x"}
	ok(t, rs.Create(ctx, &other))

	got, err := rs.Get(ctx, a.ID, first.ID)
	ok(t, err)
	same(t, "Get", first, got)
	_, err = rs.Get(ctx, b.ID, first.ID)
	isErr(t, err, store.ErrNotFound)

	strip := func(v store.PolicyReview) store.PolicyReview { v.Config, v.Result = nil, nil; return v }
	list, err := rs.List(ctx, a.ID, store.PolicyReviewFilter{})
	ok(t, err)
	if len(list) != 2 {
		t.Fatalf("List = %d reviews, want 2", len(list))
	}
	for _, v := range list {
		if v.Config != nil || v.Result != nil {
			t.Fatalf("List returned blobs for %s", v.Name)
		}
	}
	// Newest first; equal stamps fall back to the ID order, descending.
	want := []store.PolicyReview{strip(second), strip(first)}
	if first.CreatedAt.After(second.CreatedAt) || (first.CreatedAt.Equal(second.CreatedAt) && first.ID > second.ID) {
		want = []store.PolicyReview{strip(first), strip(second)}
	}
	same(t, "List", want, list)
	list, err = rs.List(ctx, a.ID, store.PolicyReviewFilter{AssetID: fw.ID})
	ok(t, err)
	same(t, "List by asset", []store.PolicyReview{strip(first)}, list)
	n, err := rs.Count(ctx, a.ID, store.PolicyReviewFilter{})
	ok(t, err)
	same(t, "Count", 2, n)
	list, err = rs.List(ctx, a.ID, store.PolicyReviewFilter{Page: store.Page{Limit: 1, Offset: 1}})
	ok(t, err)
	same(t, "page 2 of 1", 1, len(list))

	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	ok(t, rs.Accept(ctx, a.ID, first.ID, u.ID, at))
	isErr(t, rs.Accept(ctx, b.ID, first.ID, u.ID, at), store.ErrNotFound)
	got, err = rs.Get(ctx, a.ID, first.ID)
	ok(t, err)
	if !got.Accepted || got.AcceptedBy != u.ID || !got.AcceptedAt.Equal(at) {
		t.Fatalf("after Accept: accepted=%v by=%q at=%v", got.Accepted, got.AcceptedBy, got.AcceptedAt)
	}

	isErr(t, rs.Delete(ctx, b.ID, first.ID), store.ErrNotFound)
	ok(t, rs.Delete(ctx, a.ID, first.ID))
	_, err = rs.Get(ctx, a.ID, first.ID)
	isErr(t, err, store.ErrNotFound)

	// Deleting the tenant removes its reviews.
	ok(t, s.Tenants().Delete(ctx, b.ID))
	_, err = rs.Get(ctx, b.ID, other.ID)
	isErr(t, err, store.ErrNotFound)
}

func testReports(t *testing.T, s store.Store) {
	ctx := t.Context()
	rp := s.Reports()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	pdf := store.Report{TenantID: a.ID, Service: "policy-optimisation", Kind: "policy-review", SourceID: "rev1",
		Title: "Edge firewall", Format: "pdf", Lang: "zh-CN", Content: []byte("%PDF-1.7\x00\x01"), SHA256: "h1"}
	ok(t, rp.Create(ctx, &pdf))
	stamped(t, "CreatedAt", pdf.CreatedAt)
	same(t, "Size", int64(len(pdf.Content)), pdf.Size)
	xlsx := store.Report{TenantID: a.ID, Service: "vulnerability", Kind: "vuln", Title: "Vulns", Format: "xlsx", Content: []byte("PK"), SHA256: "h2"}
	ok(t, rp.Create(ctx, &xlsx))

	got, err := rp.Get(ctx, a.ID, pdf.ID)
	ok(t, err)
	same(t, "Get", pdf, got)
	_, err = rp.Get(ctx, b.ID, pdf.ID)
	isErr(t, err, store.ErrNotFound)

	list, err := rp.List(ctx, a.ID, store.ReportFilter{SourceID: "rev1"})
	ok(t, err)
	pdf.Content = nil
	same(t, "List by source", []store.Report{pdf}, list)
	list, err = rp.List(ctx, a.ID, store.ReportFilter{Service: "vulnerability"})
	ok(t, err)
	same(t, "List by service", 1, len(list))
	list, err = rp.List(ctx, b.ID, store.ReportFilter{})
	ok(t, err)
	same(t, "other tenant", 0, len(list))

	isErr(t, rp.Delete(ctx, b.ID, pdf.ID), store.ErrNotFound)
	ok(t, rp.Delete(ctx, a.ID, pdf.ID))
	_, err = rp.Get(ctx, a.ID, pdf.ID)
	isErr(t, err, store.ErrNotFound)
}

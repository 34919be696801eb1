package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAttachments checks that contents are kept once per tenant and hash,
// that lists are per owner, that another tenant sees nothing, and that a
// content goes when its last attachment does.
func testAttachments(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Attachments()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	content := []byte("配置变更截图\x00\x01binary")
	sum := sha256.Sum256(content)
	hexSum := hex.EncodeToString(sum[:])
	mk := func(tenant, kind, owner, name string) store.Attachment {
		t.Helper()
		at := store.Attachment{TenantID: tenant, OwnerKind: kind, OwnerID: owner, Name: name, SHA256: hexSum,
			Size: int64(len(content)), SniffedType: "application/octet-stream", DeclaredType: "image/png", Note: "变更前", CreatedBy: "u1"}
		ok(t, as.Add(ctx, &at, content))
		if at.ID == "" || at.CreatedAt.IsZero() {
			t.Fatalf("Add left ID or CreatedAt empty: %+v", at)
		}
		return at
	}
	first := mk(a.ID, "work_order", "wo1", "before.png")
	second := mk(a.ID, "work_order", "wo1", "again.png") // same content: one blob
	mk(a.ID, "drill", "wo1", "other-kind.png")
	other := mk(b.ID, "work_order", "wo1", "beta.png")

	list, err := as.List(ctx, a.ID, "work_order", "wo1")
	ok(t, err)
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("alpha's work order attachments: %+v", list)
	}
	if n, err := as.Count(ctx, a.ID, "work_order", "wo1"); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	got, err := as.Get(ctx, a.ID, first.ID)
	ok(t, err)
	if got.Name != "before.png" || got.Note != "变更前" || got.DeclaredType != "image/png" || got.Size != int64(len(content)) || got.OwnerKind != "work_order" {
		t.Fatalf("Get: %+v", got)
	}
	data, err := as.Content(ctx, a.ID, first.ID)
	ok(t, err)
	if !bytes.Equal(data, content) {
		t.Fatalf("content %q", data)
	}
	if _, err := as.Get(ctx, a.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alpha reads beta's attachment: %v", err)
	}
	if _, err := as.Content(ctx, a.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alpha reads beta's content: %v", err)
	}
	if err := as.Delete(ctx, a.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alpha deletes beta's attachment: %v", err)
	}

	// The shared content survives while an attachment still refers to it.
	ok(t, as.Delete(ctx, a.ID, first.ID))
	if _, err := as.Get(ctx, a.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted attachment still read: %v", err)
	}
	data, err = as.Content(ctx, a.ID, second.ID)
	ok(t, err)
	if !bytes.Equal(data, content) {
		t.Fatal("content lost while still referred to")
	}
	// Beta's copy is its own.
	data, err = as.Content(ctx, b.ID, other.ID)
	ok(t, err)
	if !bytes.Equal(data, content) {
		t.Fatal("beta's content lost")
	}
	// An empty file is allowed by the store (services refuse it).
	empty := sha256.Sum256(nil)
	e := store.Attachment{TenantID: a.ID, OwnerKind: "risk", OwnerID: "r1", Name: "empty", SHA256: hex.EncodeToString(empty[:])}
	ok(t, as.Add(ctx, &e, nil))
	if d, err := as.Content(ctx, a.ID, e.ID); err != nil || len(d) != 0 {
		t.Fatalf("empty content %q, %v", d, err)
	}
	// An unknown tenant is not found.
	bad := store.Attachment{TenantID: "no-such-tenant", OwnerKind: "risk", OwnerID: "r1", Name: "x", SHA256: hexSum}
	if err := as.Add(ctx, &bad, content); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("attachment for a missing tenant: %v", err)
	}
}

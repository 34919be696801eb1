package secret_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestVault(t *testing.T) {
	env := fixture.New(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	v := secret.NewVault(box, env.Store.Secrets(), env.Audit)
	ctx := env.AdminCtx(context.Background())
	s, err := v.Create(ctx, env.TenantA.ID, secret.Input{Name: "fw-01 ssh", Kind: "ssh-key", Value: []byte("-----BEGIN KEY-----")})
	if err != nil {
		t.Fatal(err)
	}
	// At rest the value is encrypted.
	raw, err := env.Store.Secrets().Get(context.Background(), env.TenantA.ID, s.ID)
	if err != nil || bytes.Contains(raw.Ciphertext, []byte("BEGIN KEY")) || len(raw.Ciphertext) == 0 {
		t.Fatalf("stored value not encrypted: %q %v", raw.Ciphertext, err)
	}
	pt, err := v.Open(ctx, env.TenantA.ID, s.ID, "baseline check")
	if err != nil || string(pt) != "-----BEGIN KEY-----" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	// Another tenant's ID does not reach it, and a moved ciphertext fails.
	if _, err := v.Open(ctx, env.TenantB.ID, s.ID, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("opened through tenant B: %v", err)
	}
	moved := store.Secret{ID: s.ID + "-copy", TenantID: env.TenantB.ID, Name: "stolen", Kind: "ssh-key", Ciphertext: raw.Ciphertext}
	if err := env.Store.Secrets().Put(context.Background(), &moved); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open(ctx, env.TenantB.ID, moved.ID, "x"); !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("moved ciphertext opened: %v", err)
	}
	// Analysts hold no secret permission.
	if _, err := v.Open(env.As(context.Background(), env.AnalystA), env.TenantA.ID, s.ID, "x"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst opened a secret: %v", err)
	}
	list, err := v.List(ctx, env.TenantA.ID)
	if err != nil || len(list) != 1 || list[0].Ciphertext != nil {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := v.Create(ctx, env.TenantA.ID, secret.Input{Name: "x", Kind: "password"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty value accepted: %v", err)
	}
	if err := v.Delete(ctx, env.TenantA.ID, s.ID); err != nil {
		t.Fatal(err)
	}
}

func TestVaultFieldErrors(t *testing.T) {
	env := fixture.New(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	v := secret.NewVault(box, env.Store.Secrets(), env.Audit)
	ctx := env.AdminCtx(context.Background())
	big := bytes.Repeat([]byte("s"), secret.MaxValueSize+1)
	for _, c := range []struct {
		in          secret.Input
		field, code string
	}{
		{secret.Input{Kind: "password", Value: []byte("v")}, "name", store.CodeRequired},
		{secret.Input{Name: "x", Kind: "diary", Value: []byte("v")}, "kind", store.CodeOneOf},
		{secret.Input{Name: "x", Kind: "password"}, "value", store.CodeRequired},
		{secret.Input{Name: "x", Kind: "password", Value: big}, "value", store.CodeTooLarge},
	} {
		_, err := v.Create(ctx, env.TenantA.ID, c.in)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Code != c.code {
			t.Errorf("%s: got %v, want field %q code %q", c.in.Name, err, c.field, c.code)
			continue
		}
		if _, ok := fe.Args["value"]; ok && c.field == "value" {
			t.Errorf("the secret value is carried in the error")
		}
	}
}

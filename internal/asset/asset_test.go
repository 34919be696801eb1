package asset_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

func TestInputValidation(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	good := []asset.Input{
		{Kind: "ip", Address: "192.0.2.1"},
		{Kind: "ip", Address: "2001:db8::/32"},
		{Kind: "domain", Address: "example.com"},
		{Kind: "url", Address: "https://example.com/login"},
		{Kind: "service", Address: "db.example.com:5432"},
		{Kind: "host", Name: "web-01"},
		{Kind: "application", Name: "OA 系统", Tags: []string{"internet-facing", "等保三级"}},
	}
	for _, in := range good {
		if _, err := env.Assets.Create(ctx, env.TenantA.ID, in); err != nil {
			t.Errorf("%+v refused: %v", in, err)
		}
	}
	bad := []asset.Input{
		{Kind: "toaster", Address: "192.0.2.1"},
		{Kind: "ip", Address: "999.1.1.1"},
		{Kind: "domain", Address: "not a domain"},
		{Kind: "url", Address: "javascript:alert(1)"},
		{Kind: "service", Address: "example.com"},
		{Kind: "host", Name: "x", Importance: 6},
		{Kind: "host", Name: "x", Tags: []string{"<script>"}},
		{Kind: "host", Name: strings.Repeat("n", 201)},
		{Kind: "host"},
	}
	for _, in := range bad {
		if _, err := env.Assets.Create(ctx, env.TenantA.ID, in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: want ErrInvalid, got %v", in, err)
		}
	}
}

func TestAssetPermissionsAndIsolation(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	analyst := env.As(ctx, env.AnalystA)
	if _, err := env.Assets.Create(analyst, env.TenantA.ID, asset.Input{Kind: "host", Name: "x"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst created an asset: %v", err)
	}
	if _, err := env.Assets.Get(analyst, env.TenantB.ID, env.AssetB.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst of A read B's asset: %v", err)
	}
	// Even an admin cannot reach B's asset through A's tenant ID.
	if _, err := env.Assets.Get(env.AdminCtx(ctx), env.TenantA.ID, env.AssetB.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B's asset read through A: %v", err)
	}
	list, n, err := env.Assets.List(analyst, env.TenantA.ID, store.AssetFilter{})
	if err != nil || n != 1 || len(list) != 1 || list[0].ID != env.AssetA.ID {
		t.Fatalf("list = %v (%d), %v", list, n, err)
	}
}

func FuzzAssetInput(f *testing.F) {
	f.Add("host", "web-01", "10.0.0.1", "ops", 3, "a,b")
	f.Add("url", "", "https://例子.测试/路径?q=1", "", 0, "")
	f.Add("service", "x", "[::1]:80", "", 5, "x:y")
	f.Add("ip", "\x00", "1.2.3.4/99", "", -1, ",,")
	env := fixture.New(f)
	ctx := env.AdminCtx(context.Background())
	f.Fuzz(func(t *testing.T, kind, name, addr, owner string, imp int, tags string) {
		a, err := env.Assets.Create(ctx, env.TenantA.ID, asset.Input{Kind: kind, Name: name, Address: addr,
			Owner: owner, Importance: imp, Tags: strings.Split(tags, ",")})
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		got, err := env.Assets.Get(ctx, env.TenantA.ID, a.ID)
		if err != nil || got.Name != a.Name || got.Address != a.Address {
			t.Fatalf("stored asset differs: %+v vs %+v (%v)", got, a, err)
		}
	})
}

package asset_test

import (
	"context"
	"errors"
	"fmt"
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

// TestInputFieldErrors checks each refusal names the form/API field and a
// stable code, and keeps its English message.
func TestInputFieldErrors(t *testing.T) {
	env := fixture.New(t)
	ctx := env.AdminCtx(context.Background())
	tooManyTags := make([]string, asset.MaxTags+1)
	for i := range tooManyTags {
		tooManyTags[i] = fmt.Sprintf("t%d", i)
	}
	tooManyAttrs := map[string]string{}
	for i := range asset.MaxAttributes + 1 {
		tooManyAttrs[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name        string
		in          asset.Input
		field, code string
		args        map[string]any
		msg         string
	}{
		{"unknown kind", asset.Input{Kind: "toaster", Address: "192.0.2.1"}, "kind", store.CodeOneOf,
			map[string]any{"value": "toaster"}, "kind must be one of " + strings.Join(asset.Kinds(), ", ")},
		{"no name or address", asset.Input{Kind: "host"}, "name", store.CodeRequired, nil, "name must be 1 to 200 characters"},
		{"name too long", asset.Input{Kind: "host", Name: strings.Repeat("名", 201)}, "name", store.CodeTooLong,
			map[string]any{"max": 200}, "name must be 1 to 200 characters"},
		{"address required", asset.Input{Kind: "domain", Name: "x"}, "address", store.CodeRequired,
			map[string]any{"kind": "domain"}, "address is required for a domain asset"},
		{"address too long", asset.Input{Kind: "url", Name: "x", Address: "https://example.com/" + strings.Repeat("a", 2048)},
			"address", store.CodeTooLong, map[string]any{"max": 2048}, "address must be at most 2048 characters"},
		{"bad IP", asset.Input{Kind: "ip", Address: "999.1.1.1"}, "address", store.CodeInvalidIP,
			map[string]any{"value": "999.1.1.1"}, `"999.1.1.1" is not an IP address or CIDR`},
		{"bad domain", asset.Input{Kind: "domain", Address: "not a domain"}, "address", store.CodeInvalidDomain,
			map[string]any{"value": "not a domain"}, `"not a domain" is not a domain name`},
		{"bad URL", asset.Input{Kind: "url", Address: "javascript:alert(1)"}, "address", store.CodeInvalidURL,
			map[string]any{"value": "javascript:alert(1)"}, `"javascript:alert(1)" is not an http(s) URL`},
		{"bad service", asset.Input{Kind: "service", Address: "example.com"}, "address", store.CodeInvalidHostPort,
			map[string]any{"value": "example.com"}, `"example.com" is not host:port`},
		{"bad host", asset.Input{Kind: "host", Address: "web 01"}, "address", store.CodeInvalidHost,
			map[string]any{"value": "web 01"}, `"web 01" is not an IP address or host name`},
		{"owner too long", asset.Input{Kind: "host", Name: "x", Owner: strings.Repeat("o", 201)}, "owner", store.CodeTooLong,
			map[string]any{"max": 200}, "owner must be at most 200 characters"},
		{"importance too high", asset.Input{Kind: "host", Name: "x", Importance: 6}, "importance", store.CodeOutOfRange,
			map[string]any{"min": 1, "max": 5}, "importance must be 1 to 5"},
		{"bad tag", asset.Input{Kind: "host", Name: "x", Tags: []string{"ok", "<script>"}}, "tags", store.CodeInvalidTag,
			map[string]any{"value": "<script>", "max": asset.MaxTagLen}, `tag "<script>" must be at most 64 letters, digits or . _ : / -`},
		{"too many tags", asset.Input{Kind: "host", Name: "x", Tags: tooManyTags}, "tags", store.CodeTooMany,
			map[string]any{"max": asset.MaxTags}, "at most 32 tags"},
		{"description too long", asset.Input{Kind: "host", Name: "x", Description: strings.Repeat("d", 4001)}, "description",
			store.CodeTooLong, map[string]any{"max": 4000}, "description must be at most 4000 characters"},
		{"too many attributes", asset.Input{Kind: "host", Name: "x", Attributes: tooManyAttrs}, "attributes", store.CodeTooMany,
			map[string]any{"max": asset.MaxAttributes}, "at most 64 attributes"},
		{"attribute value too long", asset.Input{Kind: "host", Name: "x", Attributes: map[string]string{"k": strings.Repeat("v", asset.MaxAttrLen+1)}},
			"attributes", store.CodeInvalidAttribute, map[string]any{"max_name": asset.MaxTagLen, "max_value": asset.MaxAttrLen},
			"attribute names must be 1 to 64 bytes and values at most 1024"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.Assets.Create(ctx, env.TenantA.ID, c.in)
			var fe *store.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("want a *store.FieldError, got %T %v", err, err)
			}
			if fe.Field != c.field || fe.Code != c.code {
				t.Errorf("field, code = %q, %q; want %q, %q", fe.Field, fe.Code, c.field, c.code)
			}
			for k, want := range c.args {
				if got := fe.Args[k]; got != want {
					t.Errorf("Args[%q] = %v, want %v", k, got, want)
				}
			}
			if fe.Message != c.msg || err.Error() != "invalid input: "+c.msg {
				t.Errorf("message %q (%q), want %q", fe.Message, err.Error(), c.msg)
			}
		})
	}
	_, _, err := env.Assets.List(ctx, env.TenantA.ID, store.AssetFilter{Query: strings.Repeat("q", 201)})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "q" || fe.Code != store.CodeTooLong {
		t.Errorf("long search: %v", err)
	}
}

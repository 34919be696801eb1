package tenant_test

import (
	"errors"
	"strings"
	"testing"
	_ "time/tzdata" // zones without the host's zoneinfo

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestTenantTimeZone: a tenant keeps an IANA time zone; "" and "UTC" are
// UTC (stored empty); a name time.LoadLocation does not know, "Local"
// and an over-long name are refused on the time_zone field.
func TestTenantTimeZone(t *testing.T) {
	env := fixture.New(t)
	admin := env.AdminCtx(t.Context())
	in := tenant.TenantInput{Slug: env.TenantA.Slug, Name: env.TenantA.Name, TimeZone: " Asia/Shanghai "}
	got, err := env.Tenants.UpdateTenant(admin, env.TenantA.ID, in)
	if err != nil || got.TimeZone != "Asia/Shanghai" {
		t.Fatalf("update %+v, %v", got, err)
	}
	if st, err := env.Store.Tenants().Get(admin, env.TenantA.ID); err != nil || st.TimeZone != "Asia/Shanghai" {
		t.Fatalf("stored %+v, %v", st, err)
	}
	for _, zone := range []string{"", "UTC"} {
		in.TimeZone = zone
		if got, err := env.Tenants.UpdateTenant(admin, env.TenantA.ID, in); err != nil || got.TimeZone != "" {
			t.Errorf("%q: %+v, %v", zone, got, err)
		}
	}
	for _, zone := range []string{"Mars/Olympus_Mons", "Local", "local", "Asia/Shanghai\x00", "../../etc/passwd", strings.Repeat("A", 65)} {
		in.TimeZone = zone
		_, err := env.Tenants.UpdateTenant(admin, env.TenantA.ID, in)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "time_zone" {
			t.Errorf("%q: %v", zone, err)
		}
	}
	if _, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: "tz-new", Name: "New", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	if st, err := env.Store.Tenants().GetBySlug(admin, "tz-new"); err != nil || st.TimeZone != "Europe/Berlin" {
		t.Fatalf("created %+v, %v", st, err)
	}
}

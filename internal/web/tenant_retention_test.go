package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// storeRetention is the tenant retention of the test store, bounded by a
// global retention like the app's (whose own tests cover who may change
// it).
type storeRetention struct {
	st     store.Store
	global time.Duration
}

func (r storeRetention) TenantEventRetention(ctx context.Context, tenantID string) (time.Duration, error) {
	m, err := r.st.(store.TenantEventRetention).TenantEventRetentions(ctx)
	return m[tenantID], err
}

func (r storeRetention) SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error {
	return r.st.(store.TenantEventRetention).SetTenantEventRetention(ctx, tenantID, d)
}

func (r storeRetention) GlobalEventRetention() time.Duration { return r.global }

// TestTenantRetentionForm: the tenant form shows the tenant's event
// retention and the global one; days and hours are taken, a value over
// the global retention or not a duration is flagged on its field and
// nothing is saved; empty clears it.
func TestTenantRetentionForm(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) { o.Retention = storeRetention{st: o.Store, global: 30 * 24 * time.Hour} })
	admin := ui.as(t, ui.Admin)
	edit := "/admin/tenants/" + ui.TenantA.ID
	page := admin.get(edit)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `name="retention"`) || !strings.Contains(page.body, "(30d)") {
		t.Fatalf("tenant form lacks the retention field:\n%s", page.body)
	}
	form := func(retention string) url.Values {
		return url.Values{"slug": {ui.TenantA.Slug}, "name": {ui.TenantA.Name}, "retention": {retention}}
	}
	stored := func() time.Duration {
		t.Helper()
		d, err := storeRetention{st: ui.Store}.TenantEventRetention(t.Context(), ui.TenantA.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	wantRedirect(t, admin.post(edit, form("7d")), "/admin/tenants")
	if d := stored(); d != 7*24*time.Hour {
		t.Fatalf("stored %v after 7d", d)
	}
	if page := admin.get(edit); !strings.Contains(page.body, `value="7d"`) {
		t.Fatalf("the retention is not shown:\n%s", page.body)
	}
	for _, bad := range []string{"45d", "soon", "30m"} {
		r := admin.post(edit, form(bad))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.body, `value="`+bad+`"`) {
			t.Fatalf("%s: the form does not keep what was typed:\n%s", bad, r.body)
		}
		if d := stored(); d != 7*24*time.Hour {
			t.Fatalf("%s changed the retention to %v", bad, d)
		}
	}
	wantRedirect(t, admin.post(edit, form("36h")), "/admin/tenants")
	if d := stored(); d != 36*time.Hour {
		t.Fatalf("stored %v after 36h", d)
	}
	wantRedirect(t, admin.post(edit, form("")), "/admin/tenants")
	if d := stored(); d != 0 {
		t.Fatalf("stored %v after clearing", d)
	}
}

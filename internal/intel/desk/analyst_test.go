package desk

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAnalystAdvisoryLifecycle: an analyst writes a draft about an
// OpenSSH range; it warns nobody until published, then warns the tenant
// whose host runs an affected version and not the one running a fixed
// version; withdrawing it stops the warning. Each step is audited, and a
// stale edit is refused.
func TestAnalystAdvisoryLifecycle(t *testing.T) {
	st := openStore(t)
	acme, other := newTenant(t, st, "acme"), newTenant(t, st, "other")
	ctx := context.Background()
	vulnerable := store.Asset{TenantID: acme.ID, Kind: "host", Name: "bastion-01", Attributes: map[string]string{"product": "OpenSSH", "version": "9.6p1"}}
	must(t, st.Assets().Create(ctx, &vulnerable))
	fixed := store.Asset{TenantID: other.ID, Kind: "host", Name: "bastion-02", Attributes: map[string]string{"product": "OpenSSH", "version": "9.8p1"}}
	must(t, st.Assets().Create(ctx, &fixed))

	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	log := audit.New(st.Audit(), audit.Options{})
	d := New(st, Options{Now: func() time.Time { return now }, Audit: log})
	d.SetIntel([]hunt.Advisory{}, nil) // feeds loaded, with nothing in them
	analyst := auth.WithPrincipal(ctx, &auth.Principal{UserID: "u-analyst", Username: "li.lei", Roles: map[string]string{acme.ID: auth.RoleAnalyst}})

	in := AdvisoryInput{Title: "OpenSSH 信号处理竞争条件 <b>预警</b>", Severity: "Critical", CVEs: []string{"cve-2024-6387"},
		Affected:    []hunt.Affected{{Vendor: "openbsd", Product: "OpenSSH", Versions: ">=8.5p1, <9.8p1"}},
		Description: "Remote code execution as root in sshd.", Action: "Upgrade to 9.8p1."}
	a, err := d.WriteAdvisory(analyst, "", 0, in)
	must(t, err)
	if a.State != StateDraft || a.Version != 2 || a.Advisory.ID != "analyst-"+a.ID || a.Advisory.Severity != "critical" ||
		!slices.Equal(a.Advisory.CVEs, []string{"CVE-2024-6387"}) || a.Advisory.Source != SourceAnalyst || a.Author != "u-analyst" {
		t.Fatalf("draft %+v", a)
	}
	warned := func(tenantID string) bool {
		t.Helper()
		ws, err := d.Warnings(ctx, tenantID)
		must(t, err)
		return slices.ContainsFunc(ws, func(m hunt.AdvisoryMatch) bool { return m.Advisory.ID == a.Advisory.ID })
	}
	if warned(acme.ID) {
		t.Fatal("a draft warns a tenant")
	}
	// Before publishing, the preview shows whom it concerns.
	pv, err := d.Preview(analyst, acme.ID, a.Advisory)
	must(t, err)
	if len(pv.Assets) != 1 || pv.Assets[0].Name != "bastion-01" {
		t.Fatalf("preview for acme %+v", pv)
	}
	if _, err := d.Preview(analyst, other.ID, a.Advisory); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("preview of a tenant the analyst is not in: %v", err)
	}

	pub, err := d.SetAdvisoryState(analyst, a.ID, a.Version, StatePublished)
	must(t, err)
	if pub.State != StatePublished || !pub.PublishedAt.Equal(now) || !pub.Advisory.Published.Equal(now) {
		t.Fatalf("published %+v", pub)
	}
	if !warned(acme.ID) {
		t.Fatal("the published advisory does not warn the tenant running OpenSSH 9.6p1")
	}
	if warned(other.ID) {
		t.Fatal("the tenant running the fixed 9.8p1 is warned")
	}
	// A second node sees it after its own reload.
	d2 := New(st, Options{Now: func() time.Time { return now }})
	must(t, d2.LoadAnalyst(ctx))
	if _, ok := d2.Advisory(a.Advisory.ID); !ok {
		t.Fatal("another desk does not load the published advisory")
	}

	// A stale edit is refused; a current one keeps it published.
	if _, err := d.WriteAdvisory(analyst, a.ID, a.Version, in); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("edit at a stale version: %v", err)
	}
	in.Action = "Upgrade to 9.8p1 or set LoginGraceTime 0."
	ed, err := d.WriteAdvisory(analyst, a.ID, pub.Version, in)
	must(t, err)
	if ed.State != StatePublished || ed.Advisory.Action != in.Action || !ed.Advisory.Published.Equal(now) {
		t.Fatalf("edited %+v", ed)
	}
	wd, err := d.SetAdvisoryState(analyst, a.ID, ed.Version, StateWithdrawn)
	must(t, err)
	if warned(acme.ID) {
		t.Fatal("a withdrawn advisory still warns")
	}
	if _, err := d.SetAdvisoryState(analyst, a.ID, wd.Version, StatePublished); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("republishing a withdrawn advisory: %v", err)
	}
	entries, err := st.Audit().List(ctx, store.AuditFilter{Page: store.Page{Limit: 50}})
	must(t, err)
	var actions []string
	for _, e := range entries {
		if e.Object == "advisory:"+a.ID {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "advisory.withdraw,advisory.write,advisory.publish,advisory.write" {
		t.Fatalf("audit trail %v", actions)
	}
}

// TestAnalystAdvisoryRefusals: customers and anonymous callers cannot
// write or read drafts; an advisory naming neither CVE nor product, a bad
// range or a bad severity is refused and nothing is stored.
func TestAnalystAdvisoryRefusals(t *testing.T) {
	st := openStore(t)
	acme := newTenant(t, st, "acme")
	ctx := context.Background()
	d := New(st, Options{})
	customer := auth.WithPrincipal(ctx, &auth.Principal{UserID: "u-c", Roles: map[string]string{acme.ID: auth.RoleCustomer}})
	in := AdvisoryInput{Title: "x", CVEs: []string{"CVE-2024-6387"}}
	if _, err := d.WriteAdvisory(customer, "", 0, in); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer writes: %v", err)
	}
	if _, err := d.AnalystAdvisories(ctx, "", store.Page{}); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("anonymous lists: %v", err)
	}
	expert := auth.WithPrincipal(ctx, &auth.Principal{UserID: "u-e", Roles: map[string]string{acme.ID: auth.RoleExpert}})
	for name, bad := range map[string]AdvisoryInput{
		"nothing to match": {Title: "x"},
		"bad CVE":          {Title: "x", CVEs: []string{"CVE-24-1"}},
		"bad range":        {Title: "x", Affected: []hunt.Affected{{Product: "nginx", Versions: ">>1"}}},
		"bad severity":     {Title: "x", Severity: "urgent", CVEs: []string{"CVE-2024-6387"}},
		"no title":         {CVEs: []string{"CVE-2024-6387"}},
	} {
		if _, err := d.WriteAdvisory(expert, "", 0, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	list, err := d.AnalystAdvisories(expert, "", store.Page{})
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("refused advisories were stored: %+v", list)
	}
}

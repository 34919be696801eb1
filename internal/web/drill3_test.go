package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// drillMember creates a user holding role in one tenant only.
func drillMember(t *testing.T, ui *testUI, name, tenantID, role string) store.User {
	t.Helper()
	actx := ui.AdminCtx(context.Background())
	u, err := ui.Tenants.CreateUser(actx, tenant.UserInput{Username: name, Password: fixture.Password})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Tenants.SetMembership(actx, u.ID, tenantID, role); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDrillAcrossTenantsPages plans a drill a regulator's tenant runs over
// two customers through the pages, records an attack on each, and checks
// that each customer's experts see the record against their own assets and
// never the other's (not on the drill page, not in its evidence), cannot
// direct or delete, and that the organiser deletes a record.
func TestDrillAcrossTenantsPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t, func(o *Options) {
		o.Drills = exercise.NewService(o.Store, o.Audit, exercise.Options{Archive: o.Archive, Files: o.Attachments})
	})
	reg, err := ui.Tenants.CreateTenant(ui.AdminCtx(context.Background()), tenant.TenantInput{Slug: "regulator", Name: "Regulator"})
	if err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	ea := ui.as(t, drillMember(t, ui, "expert-a", ui.TenantA.ID, auth.RoleExpert))
	eb := ui.as(t, drillMember(t, ui, "expert-b", ui.TenantB.ID, auth.RoleExpert))

	base := "/t/" + reg.Slug + "/operations/drill"
	now := time.Now().UTC()
	form := url.Values{"name": {"Regional drill"}, "start": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
		"end":          {now.Add(48 * time.Hour).Format("2006-01-02T15:04")},
		"participants": {ui.TenantA.Slug + " | 10.1.0.0/16, !10.1.99.0/24\n" + ui.TenantB.Slug + " | 10.2.0.0/16, *.globex.example"},
		"teams": {"attacker | Red | |\ndefender | Blue A | | | " + ui.TenantA.Slug + "\ndefender | Blue B | | | " + ui.TenantB.Slug +
			"\ndirector | Control | |"},
		"case": {"lib-t1046-service-scan"}}
	// An unknown organisation is a form error.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad["participants"] = []string{"nobody | 10.9.0.0/16"}
	res := admin.post(base, bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	res = admin.post(base, form)
	wantRedirect(t, res, base+"/")
	id := strings.TrimPrefix(strings.Split(res.Header.Get("Location"), "?")[0], base+"/")
	drillURL := base + "/" + id
	wantRedirect(t, admin.post(drillURL+"/state", url.Values{"to": {"running"}, "version": {"1"}}), drillURL)
	wantRedirect(t, admin.post(drillURL+"/records", url.Values{"team": {"Red"}, "what": {"secret-A-scan"}, "technique": {"T1046"},
		"address": {"10.1.0.4"}, "tenant": {ui.TenantA.ID}}), drillURL)
	wantRedirect(t, admin.post(drillURL+"/records", url.Values{"team": {"Red"}, "what": {"secret-B-scan"}, "technique": {"T1046"},
		"host": {"www.globex.example"}, "tenant": {ui.TenantB.ID}}), drillURL)
	// A's excluded range, and B's host against A, are refused.
	wantStatus(t, admin.post(drillURL+"/records", url.Values{"team": {"Red"}, "what": {"x"}, "technique": {"T1046"},
		"address": {"10.1.99.4"}, "tenant": {ui.TenantA.ID}}), http.StatusUnprocessableEntity)
	wantStatus(t, admin.post(drillURL+"/records", url.Values{"team": {"Red"}, "what": {"x"}, "technique": {"T1046"},
		"host": {"www.globex.example"}, "tenant": {ui.TenantA.ID}}), http.StatusUnprocessableEntity)

	d, err := ui.Store.Drills().Log(context.Background(), reg.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Records) != 2 {
		t.Fatalf("records stored: %d", len(d.Records))
	}
	recOf := map[string]string{}
	for _, r := range d.Records {
		if strings.Contains(string(r.Body), "secret-A-scan") {
			recOf["a"] = r.ID
		} else {
			recOf["b"] = r.ID
		}
	}

	full := admin.get(drillURL)
	wantStatus(t, full, http.StatusOK)
	for _, s := range []string{"secret-A-scan", "secret-B-scan", "Acme Corp", "Globex"} {
		if !strings.Contains(full.body, s) {
			t.Fatalf("organiser page lacks %q", s)
		}
	}

	check := func(c *client, slug, own, otherID, otherWhat, otherTeam string) {
		t.Helper()
		u := "/t/" + slug + "/operations/drill"
		list := c.get(u)
		wantStatus(t, list, http.StatusOK)
		if !strings.Contains(list.body, id) {
			t.Fatalf("%s's drill list lacks the drill", slug)
		}
		page := c.get(u + "/" + id)
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.body, own) || !strings.Contains(page.body, `id="drill-shared"`) {
			t.Fatalf("%s's page lacks its own record or the notice:\n%s", slug, page.body)
		}
		for _, leak := range []string{otherID, otherWhat, otherTeam} {
			if strings.Contains(page.body, leak) {
				t.Fatalf("%s sees %q of the other customer:\n%s", slug, leak, page.body)
			}
		}
		ev := c.get(u + "/" + id + "?record=" + url.QueryEscape(otherID))
		wantStatus(t, ev, http.StatusOK)
		if strings.Contains(ev.body, otherWhat) {
			t.Fatalf("%s sees the other customer's record through ?record=", slug)
		}
		layer := c.get(u + "/" + id + "/layer.json")
		wantStatus(t, layer, http.StatusOK)
		if strings.Contains(layer.body, otherID) {
			t.Fatalf("%s sees the other record in the layer", slug)
		}
		wantStatus(t, c.get(u+"/"+id+"/records/"+otherID+"/files/any"), http.StatusNotFound)
		wantStatus(t, c.post(u+"/"+id+"/records/"+own+"/delete", nil), http.StatusForbidden)
		wantStatus(t, c.post(u+"/"+id+"/state", url.Values{"to": {"paused"}, "reason": {"x"}, "version": {"0"}}), http.StatusForbidden)
	}
	check(ea, ui.TenantA.Slug, recOf["a"], recOf["b"], "secret-B-scan", "Blue B")
	check(eb, ui.TenantB.Slug, recOf["b"], recOf["a"], "secret-A-scan", "Blue A")

	// The organiser deletes a record.
	wantRedirect(t, admin.post(drillURL+"/records/"+recOf["a"]+"/delete", nil), drillURL)
	full = admin.get(drillURL)
	if strings.Contains(full.body, "secret-A-scan") || !strings.Contains(full.body, "secret-B-scan") {
		t.Fatal("the deleted record is still shown, or the other is gone")
	}
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDiscoverySubdomainFields checks the subdomain fields of the run
// form: they are offered, a domain the tenant did not declare and an
// oversized wordlist are refused with the field marked and nothing
// started, and a bad word is named.
func TestDiscoverySubdomainFields(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.AdminCtx(context.Background())
	for _, in := range []asset.Input{{Kind: "ip", Name: "lab", Address: "127.0.0.0/29"}, {Kind: "domain", Name: "corp", Address: "corp.test"}} {
		if _, err := ui.Assets.Create(ctx, ui.TenantA.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/operations/asset-discovery"
	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	for _, name := range []string{`name="subdomain_domains"`, `name="subdomain_words"`, `name="subdomain_certs"`} {
		if !strings.Contains(page.body, name) {
			t.Errorf("the run form has no %s field", name)
		}
	}
	cases := []struct {
		form  url.Values
		field string
	}{
		{url.Values{"targets": {"127.0.0.1"}, "subdomain_domains": {"<b>other.test</b>"}, "subdomain_words": {"www"}}, "subdomain_domains"},
		{url.Values{"targets": {"127.0.0.1"}, "subdomain_words": {strings.Repeat("w\n", 40<<10)}}, "subdomain_words"},
		{url.Values{"targets": {"127.0.0.1"}, "subdomain_words": {"bad_label!"}}, "subdomain_words"},
	}
	for _, c := range cases {
		r := admin.post(base, c.form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d, want 422", c.form, r.StatusCode)
			continue
		}
		if !strings.Contains(r.body, `name="`+c.field+`"`) || !strings.Contains(r.body, "field-error") || strings.Contains(r.body, "<b>other.test</b>") {
			t.Errorf("%s: no field error shown, or the value is not escaped", c.field)
		}
	}
	runs, err := ui.Exposure.List(ctx, ui.TenantA.ID, store.Page{})
	if err != nil || len(runs) != 0 {
		t.Fatalf("refused forms started runs: %v %v", runs, err)
	}
}

package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
)

const webRuleWhoami = "title: Whoami <b>recon</b>\nid: 55555555-0000-4000-8000-000000000001\nlevel: medium\ntags: [attack.t1033]\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n"

// TestRulePages: the rules page lists and filters the tenant's rules; an
// analyst turns a rule off for tenant A only; a customer may read but not
// change; another tenant's user gets 404. A refused upload shows the
// line and stores nothing; an accepted one is listed, escaped; "test this
// rule" shows the lines a rule fires on.
func TestRulePages(t *testing.T) {
	t.Parallel()
	var svc *detect.Service
	ui := newTestUI(t, func(o *Options) {
		r, err := detect.ParseRule([]byte(webRuleWhoami))
		if err != nil {
			t.Fatal(err)
		}
		r.Path = "whoami.yml"
		svc = detect.NewService([]*detect.Rule{r}, nil, detect.ServiceOptions{Store: o.Store.Detection(), Audit: o.Audit})
		o.Rules = svc
	})
	base := "/t/" + ui.TenantA.Slug + "/events/rules"
	analyst := ui.as(t, ui.AnalystA)
	page := analyst.get(base + "?q=WHOAMI")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "Whoami &lt;b&gt;recon&lt;/b&gt;") || strings.Contains(page.body, "<b>recon") {
		t.Fatalf("rule not listed safely:\n%s", page.body)
	}
	if p := analyst.get(base + "?tag=t9999"); !strings.Contains(p.body, `class="muted">0 rules`) && strings.Contains(p.body, "recon") {
		t.Errorf("tag filter kept the rule")
	}

	// Turn it off for A.
	r := analyst.post(base+"/toggle", url.Values{"key": {"55555555-0000-4000-8000-000000000001"}, "back": {base + "?q=whoami"}})
	wantRedirect(t, r, base+"?q=whoami")
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Disabled: true}); len(got) != 1 {
		t.Fatalf("disabled rules of A: %+v", got)
	}
	if got := svc.List(ui.TenantB.ID, detect.RuleFilter{Disabled: true}); len(got) != 0 {
		t.Fatalf("A's choice leaked to B: %+v", got)
	}
	// An off-site back link is not followed.
	r = analyst.post(base+"/toggle", url.Values{"key": {"55555555-0000-4000-8000-000000000001"}, "enabled": {"on"}, "back": {"https://evil.example/"}})
	wantRedirect(t, r, base)
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Disabled: true}); len(got) != 0 {
		t.Fatalf("re-enable: %+v", got)
	}
	wantStatus(t, analyst.post(base+"/toggle", url.Values{"key": {"no-such-rule"}}), http.StatusNotFound)

	customer := ui.as(t, ui.CustomerB)
	wantStatus(t, customer.get(base), http.StatusNotFound)
	baseB := "/t/" + ui.TenantB.Slug + "/events/rules"
	wantStatus(t, customer.get(baseB), http.StatusOK)
	wantStatus(t, customer.post(baseB+"/toggle", url.Values{"key": {"55555555-0000-4000-8000-000000000001"}}), http.StatusForbidden)
	wantStatus(t, customer.post(baseB+"/upload", url.Values{"source": {webRuleWhoami}}), http.StatusForbidden)

	// A refused upload: the unknown modifier is on line 7.
	bad := "title: x\nid: 66666666-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|nosuchmod: a\n  condition: sel\n"
	r = analyst.post(base+"/upload", url.Values{"source": {bad}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `id="upload-error"`) || !strings.Contains(r.body, "Line 7:") || !strings.Contains(r.body, "nosuchmod") {
		t.Fatalf("refusal not shown with its line:\n%s", r.body)
	}
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Custom: true}); len(got) != 0 {
		t.Fatalf("refused rule kept: %+v", got)
	}
	good := "title: \"<script>alert(1)</script> net\"\nid: 66666666-0000-4000-8000-000000000002\nlevel: high\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel\n"
	r = analyst.post(base+"/upload", url.Values{"source": {good}})
	wantRedirect(t, r, base+"?custom=on&saved=")
	page = analyst.get(base + "?custom=on")
	if !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt; net") || strings.Contains(page.body, "<script>alert(1)") {
		t.Fatalf("custom rule not listed safely:\n%s", page.body)
	}
	if acts := ui.auditActions(t); !strings.Contains(strings.Join(acts, " "), "detect.rule.upload") {
		t.Errorf("upload not audited: %v", acts)
	}

	// Test this rule: lines 1 and 3 fire.
	events := `{"Image":"C:\\Windows\\System32\\whoami.exe","logsource":{"product":"test","category":"process_creation"}}
{"Image":"C:\\Windows\\explorer.exe","logsource":{"product":"test","category":"process_creation"}}
{"Image":"C:\\Tools\\whoami.exe","logsource":{"product":"test","category":"process_creation"}}`
	r = customer.post(baseB+"/test", url.Values{"key": {"55555555-0000-4000-8000-000000000001"}, "events": {events}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `id="test-result"`) || !strings.Contains(r.body, `<td class="num">1</td>`) ||
		!strings.Contains(r.body, `<td class="num">3</td>`) || strings.Contains(r.body, `<td class="num">2</td>`) {
		t.Fatalf("test result:\n%s", r.body)
	}
	r = customer.post(baseB+"/test", url.Values{"events": {events}})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	// Deleting the custom rule.
	wantRedirect(t, analyst.post(base+"/delete", url.Values{"key": {"66666666-0000-4000-8000-000000000002"}}), base+"?custom=on")
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Custom: true}); len(got) != 0 {
		t.Fatalf("deleted rule kept: %+v", got)
	}
}

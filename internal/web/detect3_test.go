package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
)

// TestRulePagesCorrelation uploads a Sigma correlation through the rules
// page: a reference to a missing rule is refused with its line and the
// rule's name, nothing stored; a correct one is listed as a custom
// correlation and fires in "test this rule" on pasted events; the rule
// it refers to cannot be deleted while it exists.
func TestRulePagesCorrelation(t *testing.T) {
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
	corr := "title: Whoami burst <i>x</i>\nid: 55555555-0000-4000-8000-0000000000c1\nlevel: high\ncorrelation:\n  type: event_count\n  rules:\n    - 55555555-0000-4000-8000-000000000001\n    - no_such_rule\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 2}\n"
	page := analyst.post(base+"/upload", url.Values{"source": {corr}})
	wantStatus(t, page, http.StatusUnprocessableEntity)
	if !strings.Contains(page.body, "Line 8:") || !strings.Contains(page.body, "no_such_rule") {
		t.Fatalf("refusal does not name line 8 and the rule:\n%s", page.body)
	}
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Custom: true}); len(got) != 0 {
		t.Fatalf("refused correlation stored: %+v", got)
	}
	corr = strings.Replace(corr, "    - no_such_rule\n", "", 1)
	r := analyst.post(base+"/upload", url.Values{"source": {corr}})
	wantRedirect(t, r, base+"?custom=on&saved="+url.QueryEscape("Whoami burst <i>x</i>"))
	page = analyst.get(base + "?custom=on")
	if !strings.Contains(page.body, "Whoami burst &lt;i&gt;x&lt;/i&gt;") || strings.Contains(page.body, "<i>x</i>") {
		t.Fatalf("correlation not listed safely:\n%s", page.body)
	}
	events := `{"Image":"C:\\Windows\\System32\\whoami.exe","User":"alice","@timestamp":"2026-03-01T10:00:00Z","logsource":{"product":"test","category":"process_creation"}}` + "\n" +
		`{"Image":"C:\\Windows\\System32\\whoami.exe","User":"alice","@timestamp":"2026-03-01T10:01:00Z","logsource":{"product":"test","category":"process_creation"}}`
	page = analyst.post(base+"/test", url.Values{"key": {"55555555-0000-4000-8000-0000000000c1"}, "events": {events}})
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `<td class="num">2</td>`) || !strings.Contains(page.body, "1 matches in 2 events") {
		t.Fatalf("correlation did not fire on line 2 in the test:\n%s", page.body)
	}
	// Deleting the built-in rule is not possible anyway; a custom rule
	// the correlation refers to is refused with the reason.
	custom := "title: Net\nid: 55555555-0000-4000-8000-0000000000c2\nname: net_exec\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel\n"
	wantRedirect(t, analyst.post(base+"/upload", url.Values{"source": {custom}}), base+"?custom=on&saved=Net")
	pair := "title: Pair\nid: 55555555-0000-4000-8000-0000000000c3\ncorrelation:\n  type: temporal\n  rules: [net_exec, 55555555-0000-4000-8000-000000000001]\n  group-by: [User]\n  timespan: 5m\n"
	wantRedirect(t, analyst.post(base+"/upload", url.Values{"source": {pair}}), base+"?custom=on&saved=Pair")
	page = analyst.post(base+"/delete", url.Values{"key": {"55555555-0000-4000-8000-0000000000c2"}})
	wantStatus(t, page, http.StatusUnprocessableEntity)
	if !strings.Contains(page.body, `id="delete-error"`) || !strings.Contains(page.body, "Pair") {
		t.Fatalf("refused delete not explained:\n%s", page.body)
	}
	if got := svc.List(ui.TenantA.ID, detect.RuleFilter{Custom: true}); len(got) != 3 {
		t.Fatalf("custom rules after the refused delete: %d", len(got))
	}
}

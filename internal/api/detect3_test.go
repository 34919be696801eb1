package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
)

// TestRulesCorrelationUpload uploads a Sigma correlation over the API:
// one referring to a rule that does not exist is refused (422) naming
// the line and the rule; one referring to the built-in rule and to a
// custom rule by id is stored, listed as a custom correlation, tested on
// pasted events where it fires, turned off for the tenant; the custom
// rule it refers to cannot be deleted while it exists.
func TestRulesCorrelationUpload(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		r, err := detect.ParseRule([]byte(apiRuleWhoami))
		if err != nil {
			t.Fatal(err)
		}
		r.Path = "whoami.yml"
		o.Rules = detect.NewService([]*detect.Rule{r}, nil, detect.ServiceOptions{Audit: o.Audit})
	})
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/rules"
	net := "title: Net\nid: 99999999-0000-4000-8000-000000000001\nname: net_exec\nlevel: high\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel\n"
	corr := "title: Whoami then net\nid: 99999999-0000-4000-8000-000000000002\nlevel: critical\ncorrelation:\n  type: temporal_ordered\n  rules:\n    - 77777777-0000-4000-8000-000000000001\n    - net_exec\n  group-by: [User]\n  timespan: 10m\n"

	// net_exec does not exist yet: refused on line 8, naming it.
	p := h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base, h.analystA, map[string]any{"source": corr})
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "line 8") || !strings.Contains(p.Errors[0].Message, "net_exec") {
		t.Fatalf("refusal %+v", p)
	}
	var got SigmaRule
	h.want(http.StatusCreated, http.MethodPost, base, h.analystA, map[string]any{"source": net}, &got)
	h.want(http.StatusCreated, http.MethodPost, base, h.analystA, map[string]any{"source": corr}, &got)
	if !got.Custom || !got.Correlation || !got.Enabled || got.Source != corr || got.Key != "99999999-0000-4000-8000-000000000002" {
		t.Fatalf("uploaded %+v", got)
	}
	// Another tenant's analyst cannot refer to tenant A's custom rule.
	baseB := "/api/v1/tenants/" + h.env.TenantB.Slug + "/rules"
	h.want(http.StatusNotFound, http.MethodGet, baseB+"/99999999-0000-4000-8000-000000000002", h.customer, nil, nil)

	var page SigmaRulePage
	h.want(http.StatusOK, http.MethodGet, base+"?custom=true", h.analystA, nil, &page)
	if page.Total != 2 {
		t.Fatalf("custom rules %+v", page)
	}

	// Line 1 whoami of alice, line 2 net of bob, line 3 net of alice:
	// the ordered pair of alice completes on line 3 (worked out by hand).
	events := `{"Image":"C:\\Windows\\System32\\whoami.exe","User":"alice","@timestamp":"2026-03-01T10:00:00Z","logsource":{"product":"test","category":"process_creation"}}` + "\n" +
		`{"Image":"C:\\Windows\\System32\\net.exe","User":"bob","@timestamp":"2026-03-01T10:01:00Z","logsource":{"product":"test","category":"process_creation"}}` + "\n" +
		`{"Image":"C:\\Windows\\System32\\net.exe","User":"alice","@timestamp":"2026-03-01T10:02:00Z","logsource":{"product":"test","category":"process_creation"}}`
	var res SigmaTestResult
	h.want(http.StatusOK, http.MethodPost, "/api/v1/tenants/"+h.env.TenantA.Slug+"/rule-tests", h.analystA,
		map[string]any{"rule_key": "99999999-0000-4000-8000-000000000002", "events": events}, &res)
	if res.Events != 3 || len(res.Matches) != 1 || res.Matches[0].Line != 3 || !res.Matches[0].Correlation {
		t.Fatalf("stored correlation test %+v", res)
	}
	h.want(http.StatusOK, http.MethodPost, "/api/v1/tenants/"+h.env.TenantA.Slug+"/rule-tests", h.analystA,
		map[string]any{"source": corr, "events": events}, &res)
	if len(res.Matches) != 1 || res.Matches[0].Line != 3 {
		t.Fatalf("pasted correlation test %+v", res)
	}

	h.want(http.StatusOK, http.MethodPut, base+"/99999999-0000-4000-8000-000000000002/enabled", h.analystA, map[string]any{"enabled": false}, &got)
	if got.Enabled || !got.Correlation {
		t.Fatalf("after disable %+v", got)
	}
	p = h.wantProblem(http.StatusUnprocessableEntity, http.MethodDelete, base+"/99999999-0000-4000-8000-000000000001", h.analystA, nil)
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "Whoami then net") {
		t.Fatalf("delete of a referenced rule %+v", p)
	}
	h.want(http.StatusNoContent, http.MethodDelete, base+"/99999999-0000-4000-8000-000000000002", h.analystA, nil, nil)
	h.want(http.StatusNoContent, http.MethodDelete, base+"/99999999-0000-4000-8000-000000000001", h.analystA, nil, nil)
}

package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
)

const apiRuleWhoami = "title: Whoami\nid: 77777777-0000-4000-8000-000000000001\nlevel: medium\ntags: [attack.t1033]\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n"

// TestRules manages Sigma rules over the API: list and filter, turn a
// rule off for one tenant (the analyst may, the customer may not), upload
// a custom rule (a refusal is 422 naming the line, nothing stored), test
// a rule on sample events, delete; another tenant's token sees 404.
func TestRules(t *testing.T) {
	var svc *detect.Service
	h := newHarness(t, func(o *Options) {
		r, err := detect.ParseRule([]byte(apiRuleWhoami))
		if err != nil {
			t.Fatal(err)
		}
		r.Path = "whoami.yml"
		svc = detect.NewService([]*detect.Rule{r}, nil, detect.ServiceOptions{Audit: o.Audit})
		o.Rules = svc
	})
	env := h.env
	base := "/api/v1/tenants/" + env.TenantA.Slug + "/rules"
	var page SigmaRulePage
	h.want(http.StatusOK, http.MethodGet, base+"?q=whoami&tag=t1033&level=medium", h.analystA, nil, &page)
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0].Key != "77777777-0000-4000-8000-000000000001" || !page.Items[0].Enabled {
		t.Fatalf("list %+v", page)
	}
	h.want(http.StatusOK, http.MethodGet, base+"?tag=t9999", h.analystA, nil, &page)
	if page.Total != 0 || len(page.Items) != 0 {
		t.Fatalf("filtered list %+v", page)
	}
	h.want(http.StatusNotFound, http.MethodGet, base, h.customer, nil, nil)

	var got SigmaRule
	h.want(http.StatusOK, http.MethodPut, base+"/77777777-0000-4000-8000-000000000001/enabled", h.analystA, map[string]any{"enabled": false}, &got)
	if got.Enabled {
		t.Fatalf("after disable %+v", got)
	}
	baseB := "/api/v1/tenants/" + env.TenantB.Slug + "/rules"
	h.want(http.StatusForbidden, http.MethodPut, baseB+"/77777777-0000-4000-8000-000000000001/enabled", h.customer, map[string]any{"enabled": false}, nil)
	h.want(http.StatusOK, http.MethodGet, baseB+"/77777777-0000-4000-8000-000000000001", h.customer, nil, &got)
	if !got.Enabled {
		t.Fatal("A's choice changed B")
	}
	h.want(http.StatusNotFound, http.MethodPut, base+"/no-such-rule/enabled", h.analystA, map[string]any{"enabled": false}, nil)

	bad := "title: x\nid: 88888888-0000-4000-8000-000000000001\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|nosuchmod: a\n  condition: sel\n"
	p := h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, base, h.analystA, map[string]any{"source": bad})
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.source" || !strings.Contains(p.Errors[0].Message, "line 7") {
		t.Fatalf("refusal %+v", p)
	}
	h.want(http.StatusOK, http.MethodGet, base+"?custom=true", h.analystA, nil, &page)
	if page.Total != 0 {
		t.Fatalf("refused rule stored: %+v", page)
	}
	good := "title: Net\nid: 88888888-0000-4000-8000-000000000002\nlevel: high\nlogsource:\n  product: test\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\net.exe'\n  condition: sel\n"
	h.want(http.StatusCreated, http.MethodPost, base, h.analystA, map[string]any{"source": good}, &got)
	if !got.Custom || got.Source != good || got.Key != "88888888-0000-4000-8000-000000000002" {
		t.Fatalf("uploaded %+v", got)
	}
	h.want(http.StatusForbidden, http.MethodPost, baseB, h.customer, map[string]any{"source": good}, nil)

	var res SigmaTestResult
	events := `{"Image":"C:\\Windows\\System32\\net.exe","logsource":{"product":"test","category":"process_creation"}}` + "\n" +
		`{"Image":"C:\\Windows\\notepad.exe","logsource":{"product":"test","category":"process_creation"}}` + "\n" + `{oops`
	h.want(http.StatusOK, http.MethodPost, "/api/v1/tenants/"+env.TenantA.Slug+"/rule-tests", h.analystA,
		map[string]any{"rule_key": "88888888-0000-4000-8000-000000000002", "events": events}, &res)
	if res.Events != 2 || len(res.Matches) != 1 || res.Matches[0].Line != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 3 {
		t.Fatalf("test result %+v", res)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/tenants/"+env.TenantA.Slug+"/rule-tests", h.analystA,
		map[string]any{"events": events})

	h.want(http.StatusNoContent, http.MethodDelete, base+"/88888888-0000-4000-8000-000000000002", h.analystA, nil, nil)
	h.want(http.StatusNotFound, http.MethodDelete, base+"/88888888-0000-4000-8000-000000000002", h.analystA, nil, nil)
}

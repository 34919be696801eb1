package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

var riskLinkRE = regexp.MustCompile(`/compliance/risk-assessment/([0-9a-f-]{36})`)
var remLinkRE = regexp.MustCompile(`/compliance/remediation/([0-9a-f-]{36})"`)
var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// TestRiskRegisterPages builds a register through the pages, checks the
// risks of the hand-worked example, the heat map, treatment, escaping and
// permissions, raises remediation and tracks it through a work order and
// re-verification to the verification report.
func TestRiskRegisterPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/compliance/risk-assessment"
	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `id="risk-form"`) {
		t.Fatal("no create form")
	}
	r := admin.post(base, url.Values{"name": {"2026 风险评估"}, "method": {"formula"}})
	wantRedirect(t, r, base+"/")
	m := riskLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	rURL := base + "/" + m[1]
	version := func() string {
		t.Helper()
		p := admin.get(rURL)
		wantStatus(t, p, http.StatusOK)
		v := versionRE.FindStringSubmatch(p.body)
		if v == nil {
			t.Fatal("no version on the risk page")
		}
		return v[1]
	}
	add := func(part string, form url.Values) {
		t.Helper()
		form.Set("version", version())
		r := admin.post(rURL+"/"+part, form)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s %v: status %d\n%s", part, form, r.StatusCode, r.body)
		}
	}
	hostile := `<script>alert(1)</script>`
	// A1 business importance 4; A2 system C 4 I 3 A 2 (value 4); T1 frequency
	// 4; V1 severity 4 on A2: L = √16 = 4, F = √16 = 4, R = 16, 高.
	add("assets", url.Values{"name": {"网上营业厅"}, "tier": {"business"}, "importance": {"4"}})
	add("assets", url.Values{"name": {"应用服务器 " + hostile}, "tier": {"system"}, "parent": {"A1"}, "c": {"4"}, "i": {"3"}, "a": {"2"}})
	add("threats", url.Values{"name": {"外部攻击者"}, "frequency": {"4"}, "source": {"人为"}})
	add("vulnerabilities", url.Values{"name": {"弱口令"}, "asset": {"A2"}, "severity": {"4"}})
	add("scenarios", url.Values{"threat": {"T1"}, "vulnerability": {"V1"}})
	page := admin.get(rURL)
	if !strings.Contains(page.body, `id="risk-S1" data-r="16" data-level="高"`) {
		t.Fatalf("S1 is not R 16 高:\n%s", page.body)
	}
	if !strings.Contains(page.body, `data-l="4" data-f="4" data-count="1"`) || strings.Count(page.body, `data-count="0"`) != 24 {
		t.Error("the heat map does not put the one risk at likelihood 4, loss 4")
	}
	if strings.Contains(page.body, hostile) || !strings.Contains(page.body, "&lt;script&gt;") {
		t.Error("an asset name is not escaped")
	}
	// A stale version is refused and changes nothing.
	stale := admin.post(rURL+"/threats", url.Values{"version": {"1"}, "name": {"x"}, "frequency": {"2"}})
	if stale.StatusCode != http.StatusConflict {
		t.Errorf("stale form: status %d", stale.StatusCode)
	}
	bad := admin.post(rURL+"/assets", url.Values{"version": {version()}, "name": {"x"}, "tier": {"system"}, "c": {"9"}, "i": {"1"}, "a": {"1"}})
	if bad.StatusCode != http.StatusBadRequest && bad.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("C 9: status %d", bad.StatusCode)
	}
	add("decisions", url.Values{"scenario": {"S1"}, "treatment": {"reduce"}, "owner": {"王五"}, "due": {"2026-12-31"}, "measure": {"启用口令复杂度策略"}})
	page = admin.get(rURL)
	if !strings.Contains(page.body, "启用口令复杂度策略") || !strings.Contains(page.body, "2026-12-31") {
		t.Error("the decision is not on the register")
	}

	// The analyst of A reads but does not change; a customer of B does not
	// see A at all.
	analyst := ui.as(t, ui.AnalystA)
	wantStatus(t, analyst.get(rURL), http.StatusOK)
	if r := analyst.post(rURL+"/threats", url.Values{"version": {version()}, "name": {"x"}, "frequency": {"2"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("analyst adds a threat: status %d", r.StatusCode)
	}
	cust := ui.as(t, ui.CustomerB)
	if r := cust.get(rURL); r.StatusCode != http.StatusNotFound {
		t.Errorf("customer of B reads A's register: status %d", r.StatusCode)
	}
	own := cust.get("/t/" + ui.TenantB.Slug + "/compliance/risk-assessment")
	wantStatus(t, own, http.StatusOK)
	if strings.Contains(own.body, `id="risk-form"`) || strings.Contains(own.body, `id="risk-list"`) {
		t.Error("a customer without assessment access sees the register list")
	}

	// The report is archived.
	rep := admin.post(rURL+"/report", url.Values{"format": {"html"}, "lang": {"zh-CN"}})
	wantRedirect(t, rep, "/t/"+ui.TenantA.Slug+"/reports?ok=generated&report=")

	// Remediation: S1 (高, reduce) becomes an item with the decision's owner.
	rr := admin.post(rURL+"/remediate", nil)
	wantRedirect(t, rr, "/t/"+ui.TenantA.Slug+"/compliance/remediation?")
	remList := admin.get(rr.Header.Get("Location"))
	wantStatus(t, remList, http.StatusOK)
	mm := remLinkRE.FindStringSubmatch(remList.body)
	if mm == nil || !strings.Contains(remList.body, "王五") {
		t.Fatalf("no remediation item:\n%s", remList.body)
	}
	item := "/t/" + ui.TenantA.Slug + "/compliance/remediation/" + mm[1]
	wo := admin.post(item+"/workorder", nil)
	wantRedirect(t, wo, item)
	ip := admin.get(item)
	if !strings.Contains(ip.body, `id="rem-workorder"`) || !strings.Contains(ip.body, `data-state="in_progress"`) {
		t.Errorf("the work order is not linked or the item not in progress")
	}
	wantRedirect(t, admin.post(item+"/verify", url.Values{"after": {"低"}, "passed": {"1"}, "note": {"已启用复杂度策略"}}), item)
	ip = admin.get(item)
	if !strings.Contains(ip.body, `data-state="verified"`) || !strings.Contains(ip.body, `data-passed="true"`) {
		t.Error("a passing re-verification did not verify the item")
	}
	vr := admin.post("/t/"+ui.TenantA.Slug+"/compliance/remediation/report", url.Values{"from": {time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)},
		"to": {time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)}, "format": {"html"}})
	wantRedirect(t, vr, "/t/"+ui.TenantA.Slug+"/reports?ok=generated&report=")
	if r := admin.post("/t/"+ui.TenantA.Slug+"/compliance/remediation/report", url.Values{"from": {"2026-02-01"}, "to": {"2026-01-01"}, "format": {"html"}}); r.StatusCode == http.StatusSeeOther {
		t.Error("a report period ending before it starts was accepted")
	}
}

// TestAssessmentEvidencePages uploads evidence to an item, downloads it as
// an attachment, watches the coverage count it, proposes results (no
// evidence yet without assets), appends to the communication log and
// raises remediation from the project.
func TestAssessmentEvidencePages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/compliance/mlps"
	r := admin.post(base, url.Values{"name": {"证据项目"}, "system": {"OA"}, "level": {"3"}})
	m := projectLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	pURL := base + "/" + m[1]
	for _, f := range []url.Values{
		{"item": {"L3-CES1-01"}, "result": {"nonconform"}, "object": {"db-01"}},
		{"item": {"L3-CES1-02"}, "result": {"conform"}, "evidence": {"截图"}},
	} {
		if r := admin.post(pURL+"/items", f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("item: %d %s", r.StatusCode, r.body)
		}
	}
	page := admin.get(pURL)
	if !strings.Contains(page.body, `id="coverage" data-counted="2" data-evidence="1"`) {
		t.Fatal("coverage is not 1 of 2 before any file")
	}
	hostile := []byte("<html><script>alert(1)</script></html>")
	up := admin.postFile(pURL+"/evidence/L3-CES1-01", map[string]string{"note": "配置文件"}, "evil.html", hostile)
	wantRedirect(t, up, pURL+"?item=L3-CES1-01")
	page = admin.get(pURL + "?item=L3-CES1-01")
	if !strings.Contains(page.body, `id="coverage" data-counted="2" data-evidence="2"`) {
		t.Error("the file is not counted in the coverage")
	}
	dl := regexp.MustCompile(`href="(` + regexp.QuoteMeta(pURL) + `/evidence/L3-CES1-01/[0-9a-f-]{36})"`).FindStringSubmatch(page.body)
	if dl == nil {
		t.Fatalf("no download link on the item:\n%s", page.body)
	}
	got := admin.get(dl[1])
	wantStatus(t, got, http.StatusOK)
	if got.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") ||
		got.Header.Get("X-Content-Type-Options") != "nosniff" || got.body != string(hostile) {
		t.Errorf("evidence served as %q %q", got.Header.Get("Content-Type"), got.Header.Get("Content-Disposition"))
	}
	if r := admin.postFile(pURL+"/evidence/L3-NOPE-01", nil, "x.txt", []byte("x")); r.StatusCode != http.StatusNotFound {
		t.Errorf("evidence on an unknown item: status %d", r.StatusCode)
	}
	cust := ui.as(t, ui.CustomerB)
	if r := cust.get(dl[1]); r.StatusCode != http.StatusNotFound {
		t.Errorf("customer of B downloads A's evidence: status %d", r.StatusCode)
	}

	// Proposals: without assets every mapped item has no evidence yet, and
	// nothing is recorded by looking. A new project covers every asset of
	// the tenant, so the scope is emptied first.
	wantRedirect(t, admin.post(pURL+"/scope", url.Values{}), pURL)
	pf := admin.get(pURL + "/prefill")
	wantStatus(t, pf, http.StatusOK)
	if !strings.Contains(pf.body, `id="no-scope"`) || !strings.Contains(pf.body, `id="proposal-L3-CES1-07" data-result=""`) {
		t.Error("the prefill page without assets")
	}
	wantRedirect(t, admin.post(pURL+"/scope", url.Values{"asset": {ui.AssetA.ID}}), pURL)
	if p := admin.get(pURL); !strings.Contains(p.body, ui.AssetA.Name) {
		t.Error("the scope does not show its asset")
	}
	if r := admin.post(pURL+"/scope", url.Values{"asset": {ui.AssetB.ID}}); r.StatusCode == http.StatusSeeOther {
		t.Error("another tenant's asset accepted in the scope")
	}

	// Communication log.
	wantRedirect(t, admin.post(pURL+"/communications", url.Values{"kind": {"meeting"}, "at": {"2026-03-02T09:30"}, "participants": {"张三"},
		"text": {"启动会 <b>议程</b>"}}), pURL)
	page = admin.get(pURL)
	if !strings.Contains(page.body, `data-kind="meeting"`) || !strings.Contains(page.body, "启动会 &lt;b&gt;议程&lt;/b&gt;") {
		t.Error("the log entry is missing or not escaped")
	}
	if r := admin.post(pURL+"/communications", url.Values{"kind": {"rumour"}, "text": {"x"}}); r.StatusCode == http.StatusSeeOther {
		t.Error("an unknown kind of entry accepted")
	}

	// Remediation from the project: L3-CES1-01 on db-01 is not conform.
	rr := admin.post(pURL+"/remediate", nil)
	wantRedirect(t, rr, "/t/"+ui.TenantA.Slug+"/compliance/remediation?")
	rl := admin.get(rr.Header.Get("Location"))
	if !strings.Contains(rl.body, "L3-CES1-01@db-01") || strings.Contains(rl.body, "L3-CES1-02") {
		t.Errorf("remediation items of the project:\n%s", rl.body)
	}
	acts := ui.auditActions(t)
	for _, want := range []string{"attachment.add", "attachment.download", "assessment.scope", "assessment.communication", "remediation.raise"} {
		if !strings.Contains(strings.Join(acts, " "), want) {
			t.Errorf("no %s in the audit log", want)
		}
	}
}

// registerParams makes a risk assessment, a remediation item and an
// evidence file of project for the route walk, keyed by route parameter.
func registerParams(t *testing.T, ui *testUI, projectID string) map[string]string {
	t.Helper()
	ctx := ui.adminCtx()
	ra, err := ui.Assessments.Register().CreateRisk(ctx, ui.TenantA.ID, "route walk", "formula")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Assessments.SetItem(ctx, ui.TenantA.ID, projectID, project.ItemInput{Item: "L3-CES1-01", Result: "nonconform"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Assessments.Remediate(ctx, ui.TenantA.ID, projectID); err != nil {
		t.Fatal(err)
	}
	its, err := ui.Assessments.Register().Remediations(ctx, ui.TenantA.ID, store.RemediationFilter{SourceID: projectID})
	if err != nil || len(its) == 0 {
		t.Fatalf("remediation items %v %v", its, err)
	}
	owner, err := ui.Assessments.EvidenceOwner(ctx, ui.TenantA.ID, projectID, "L3-CES1-01")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ui.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: "e.txt", Content: strings.NewReader("evidence")})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"risk": ra.ID, "remediation": its[0].ID, "requirement": "L3-CES1-01", "attachment": a.ID}
	compliance3Params(t, ui, params, projectID) // entries, object evidence, standards, inspections
	return params
}

package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
	"github.com/vigil-sec/vigil/internal/store"
)

var inspectionLinkRE = regexp.MustCompile(`/compliance/compliance-inspection/([0-9a-f-]{36})`)

// compliance3Params adds the route-walk values of the compliance3 pages:
// a register entry S1 in params["risk"], an evidence file of the project
// for asset A, a framework and an inspection with an evidence file.
func compliance3Params(t *testing.T, ui *testUI, params map[string]string, projectID string) {
	t.Helper()
	ctx := ui.adminCtx()
	tn := ui.TenantA.ID
	if _, err := ui.Assessments.Register().Replace(ctx, tn, params["risk"], 0, &risk.Assessment{
		Assets:          []risk.Asset{{ID: "A1", Name: "业务", Tier: risk.TierBusiness, Importance: 3}, {ID: "A2", Name: "系统", Tier: risk.TierSystem, Parent: "A1", C: 3, I: 3, A: 3}},
		Threats:         []risk.Threat{{ID: "T1", Name: "攻击", Frequency: 3}},
		Vulnerabilities: []risk.Vulnerability{{ID: "V1", Name: "弱口令", Asset: "A2", Severity: 3}},
		Scenarios:       []risk.Scenario{{ID: "S1", Threat: "T1", Vulnerability: "V1"}},
	}); err != nil {
		t.Fatal(err)
	}
	params["scenario"] = "S1"
	owner, err := ui.Assessments.ObjectEvidenceOwner(ctx, tn, projectID, "L3-CES1-01", ui.AssetA.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ui.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: "o.txt", Content: strings.NewReader("object evidence")})
	if err != nil {
		t.Fatal(err)
	}
	params["objfile"] = a.ID
	params["framework"] = "mlps2-l3"
	x, err := ui.Assessments.CreateInspection(ctx, tn, project.InspectionInput{Name: "route walk", Framework: "mlps2-l3"})
	if err != nil {
		t.Fatal(err)
	}
	params["inspection"] = x.ID
	iowner, err := ui.Assessments.InspectionEvidenceOwner(ctx, tn, x.ID, "L3-CES1-01")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ui.Attachments.Add(ctx, auth.PermAssessWrite, iowner, attach.Input{Name: "i.txt", Content: strings.NewReader("inspection evidence")})
	if err != nil {
		t.Fatal(err)
	}
	params["insfile"] = f.ID
	// A commission of A naming its analyst (a member of A already, so
	// the membership's role stays).
	c, err := ui.Assessments.CreateCommission(ctx, project.CommissionInput{Org: "route walk", Purpose: "walk", Tenants: []string{tn},
		Members: []string{ui.AnalystA.Username}, StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	params["commission"] = c.ID
}

// TestCompliance3Pages: a new project's default scope shown on its page,
// one register entry edited through its form, evidence per object, the
// standards library and an inspection through to its archived report.
func TestCompliance3Pages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	cust := ui.as(t, ui.CustomerB)
	slug := ui.TenantA.Slug

	// 1. Default scope: every asset of tenant A.
	base := "/t/" + slug + "/compliance/mlps"
	r := admin.post(base, url.Values{"name": {"范围"}, "system": {"OA"}, "level": {"3"}})
	m := projectLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	pURL := base + "/" + m[1]
	n, err := ui.Store.Assets().Count(ui.adminCtx(), ui.TenantA.ID, store.AssetFilter{})
	if err != nil || n == 0 {
		t.Fatalf("assets of A: %d %v", n, err)
	}
	page := admin.get(pURL)
	want := `id="scope-summary" data-in="` + strconv.Itoa(n) + `" data-total="` + strconv.Itoa(n) + `"`
	if !strings.Contains(page.body, want) || !strings.Contains(page.body, ui.AssetA.Name) {
		t.Fatalf("the project page does not show all %d assets in scope", n)
	}

	// 3. Evidence per object: a result on asset A by name, a file for it.
	if r := admin.post(pURL+"/items", url.Values{"item": {"L3-CES1-01"}, "result": {"partial"}, "object": {ui.AssetA.Name}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("item: %d %s", r.StatusCode, r.body)
	}
	objURL := pURL + "/objects"
	row := `data-asset="` + ui.AssetA.ID + `" data-counted="1" data-evidence="%s" data-files="%s"`
	if p := admin.get(objURL); !strings.Contains(p.body, strings.NewReplacer("%s", "0").Replace(row)) {
		t.Fatalf("object coverage before a file:\n%s", p.body)
	}
	hostile := []byte("<script>alert(1)</script>")
	up := admin.postFile(objURL+"/"+ui.AssetA.ID+"/evidence", map[string]string{"item": "L3-CES1-01"}, "x.html", hostile)
	wantRedirect(t, up, objURL+"?asset="+ui.AssetA.ID)
	p := admin.get(objURL + "?asset=" + ui.AssetA.ID)
	if !strings.Contains(p.body, `data-asset="`+ui.AssetA.ID+`" data-counted="1" data-evidence="1" data-files="1"`) {
		t.Fatalf("object coverage after a file:\n%s", p.body)
	}
	dl := regexp.MustCompile(`href="(` + regexp.QuoteMeta(objURL) + `/[^/]+/evidence/L3-CES1-01/[0-9a-f-]{36})"`).FindStringSubmatch(p.body)
	if dl == nil {
		t.Fatalf("no download link:\n%s", p.body)
	}
	got := admin.get(dl[1])
	if got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "application/octet-stream" || got.body != string(hostile) {
		t.Errorf("object evidence served %d as %q", got.StatusCode, got.Header.Get("Content-Type"))
	}
	if r := cust.get(dl[1]); r.StatusCode != http.StatusNotFound {
		t.Errorf("customer of B downloads A's object evidence: %d", r.StatusCode)
	}
	if r := admin.postFile(objURL+"/"+ui.AssetB.ID+"/evidence", map[string]string{"item": "L3-CES1-01"}, "x.txt", []byte("x")); r.StatusCode != http.StatusNotFound {
		t.Errorf("evidence for another tenant's asset: %d", r.StatusCode)
	}
	if r := admin.do(http.MethodPost, objURL+"/"+ui.AssetA.ID+"/evidence", url.Values{"item": {"L3-CES1-01"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", r.StatusCode)
	}

	// 2. One register entry: T 3 → 4 and V 3 → 4 on an asset of value 3:
	// L = √16 = 4, F = √(3·4) ≈ 3.46, R = 13.86 → 14 → 中 (worked by hand).
	ctx := ui.adminCtx()
	ra, err := ui.Assessments.Register().CreateRisk(ctx, ui.TenantA.ID, "条目", "formula")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ui.Assessments.Register().Replace(ctx, ui.TenantA.ID, ra.ID, 0, &risk.Assessment{
		Assets:          []risk.Asset{{ID: "A1", Name: "业务", Tier: risk.TierBusiness, Importance: 3}, {ID: "A2", Name: "系统", Tier: risk.TierSystem, Parent: "A1", C: 3, I: 2, A: 1}},
		Threats:         []risk.Threat{{ID: "T1", Name: "攻击", Frequency: 3}},
		Vulnerabilities: []risk.Vulnerability{{ID: "V1", Name: "弱口令", Asset: "A2", Severity: 3}},
		Scenarios:       []risk.Scenario{{ID: "S1", Threat: "T1", Vulnerability: "V1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rURL := "/t/" + slug + "/compliance/risk-assessment/" + ra.ID
	if p := admin.get(rURL); !strings.Contains(p.body, `href="`+rURL+`/entries/S1"`) {
		t.Fatal("no edit link on the register entry")
	}
	form := admin.get(rURL + "/entries/S1")
	wantStatus(t, form, http.StatusOK)
	if !strings.Contains(form.body, `id="entry-form"`) || !strings.Contains(form.body, `name="frequency" type="number" min="1" max="5" value="3"`) {
		t.Fatalf("entry form:\n%s", form.body)
	}
	edit := url.Values{"version": {strconv.Itoa(reg.Meta.Version)}, "asset": {"A2"}, "threat": {"T1"}, "vulnerability": {"V1"}, "frequency": {"4"}, "severity": {"4"},
		"c": {"3"}, "i": {"2"}, "a": {"1"}, "treatment": {"reduce"}, "owner": {"<b>张三</b>"}, "due": {"2027-01-31"}}
	wantRedirect(t, admin.post(rURL+"/entries/S1", edit), rURL)
	p = admin.get(rURL)
	if !strings.Contains(p.body, `id="risk-S1" data-r="14" data-level="中"`) || !strings.Contains(p.body, "&lt;b&gt;张三&lt;/b&gt;") {
		t.Fatalf("S1 after the edit:\n%s", p.body)
	}
	if r := admin.post(rURL+"/entries/S1", edit); r.StatusCode != http.StatusConflict {
		t.Errorf("a stale version: %d", r.StatusCode)
	}
	bad := url.Values{}
	for k, v := range edit {
		bad[k] = v
	}
	bad.Set("version", strconv.Itoa(reg.Meta.Version+1))
	bad.Set("severity", "9")
	if r := admin.post(rURL+"/entries/S1", bad); r.StatusCode == http.StatusSeeOther {
		t.Error("severity 9 accepted")
	}
	if r := admin.get(rURL + "/entries/S9"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown entry: %d", r.StatusCode)
	}
	analyst := ui.as(t, ui.AnalystA)
	if r := analyst.post(rURL+"/entries/S1", edit); r.StatusCode != http.StatusForbidden {
		t.Errorf("an analyst edits the register: %d", r.StatusCode)
	}

	// 6. Standards library.
	lib := admin.get("/t/" + slug + "/compliance/standards")
	wantStatus(t, lib, http.StatusOK)
	for _, f := range []string{`data-framework="mlps2-l3" data-requirements="211"`, `data-framework="mlps2-l2" data-requirements="135"`, `data-framework="iso27001-2022" data-requirements="93"`} {
		if !strings.Contains(lib.body, f) {
			t.Errorf("library misses %s", f)
		}
	}
	s := admin.get("/t/" + slug + "/compliance/standards/mlps2-l3?q=L3-CES1-01")
	if !strings.Contains(s.body, `id="standard-total" data-total="1"`) || !strings.Contains(s.body, `data-id="L3-CES1-01"`) {
		t.Errorf("search for one item:\n%s", s.body)
	}
	if r := admin.get("/t/" + slug + "/compliance/standards/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown framework: %d", r.StatusCode)
	}

	// 4. An inspection: open, record, report in the catalogue.
	ins := "/t/" + slug + "/compliance/compliance-inspection"
	r = admin.post(ins, url.Values{"name": {"2026 年度合规检查"}, "framework": {"mlps2-l2"}})
	m = inspectionLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s: %s", r.Header.Get("Location"), r.body)
	}
	iURL := ins + "/" + m[1]
	ip := admin.get(iURL)
	v := versionRE.FindStringSubmatch(ip.body)
	if v == nil {
		t.Fatal("no version on the inspection page")
	}
	wantRedirect(t, admin.post(iURL+"/results", url.Values{"version": {v[1]}, "item": {"L2-CES1-01"}, "object": {ui.AssetA.ID}, "result": {"nonconform"},
		"note": {"口令 <i>过短</i>"}}), iURL)
	ip = admin.get(iURL)
	if !strings.Contains(ip.body, `data-checked="1"`) || !strings.Contains(ip.body, "口令 &lt;i&gt;过短&lt;/i&gt;") {
		t.Fatalf("inspection after one result:\n%s", ip.body)
	}
	rep := admin.post(iURL+"/report", url.Values{"format": {"html"}, "lang": {"zh-CN"}})
	wantRedirect(t, rep, "/t/"+slug+"/reports?")
	list := admin.get("/t/" + slug + "/reports")
	if !strings.Contains(list.body, "合规检查报告") && !strings.Contains(list.body, "Compliance inspection report") {
		t.Errorf("the inspection report is not in the catalogue:\n%s", list.body)
	}
	if r := cust.get(iURL); r.StatusCode != http.StatusNotFound {
		t.Errorf("customer of B reads A's inspection: %d", r.StatusCode)
	}
	if r := analyst.post(iURL+"/results", url.Values{"version": {v[1]}, "item": {"L2-CES1-01"}, "object": {ui.AssetA.ID}, "result": {"conform"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("an analyst records an inspection result: %d", r.StatusCode)
	}
	acts := strings.Join(ui.auditActions(t), " ")
	for _, want := range []string{"risk.entry", "inspection.create", "inspection.result", "attachment.add"} {
		if !strings.Contains(acts, want) {
			t.Errorf("no %s in the audit log", want)
		}
	}
}

// TestRegulatorSeesOnlyCompliance walks every tenant page as a regulator of
// tenant A: the compliance pages and reports open, every other tenant
// route — assets, logs and alerts, notification channels, baseline,
// drills, the dashboard — is refused, and nothing can be changed but its
// own inspections (inspection.write).
func TestRegulatorSeesOnlyCompliance(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	reg := ui.as(t, ui.member(t, "regulator", auth.RoleRegulator))
	fill := regexp.MustCompile(`\{(\w+)\}`)
	refused := 0
	for _, rt := range ui.srv.routes {
		if rt.access.kind != accessTenant {
			continue
		}
		target := fill.ReplaceAllStringFunc(rt.pattern, func(m string) string {
			if m == "{tenant}" {
				return ui.TenantA.Slug
			}
			return "no-such-id"
		})
		target = strings.TrimSuffix(target, "*")
		rest := strings.TrimPrefix(rt.pattern, "/t/{tenant}")
		compliance := strings.HasPrefix(rest, "/compliance/") || strings.HasPrefix(rest, "/reports")
		r := reg.do(rt.method, target, formWithCSRF(reg.csrf, rt.method))
		readable := rt.access.perm == auth.PermAssessRead || rt.access.perm == auth.PermReportRead || rt.access.perm == auth.PermTenantRead ||
			rt.access.perm == auth.PermInspectWrite
		switch {
		case compliance && readable:
			if r.StatusCode == http.StatusForbidden {
				t.Errorf("regulator %s %s: refused", rt.method, rt.pattern)
			}
		default:
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("regulator %s %s: status %d, want 403", rt.method, rt.pattern, r.StatusCode)
			}
			refused++
		}
	}
	if refused < 50 {
		t.Fatalf("only %d routes refused", refused)
	}
	for _, p := range []string{"/compliance/mlps", "/compliance/risk-assessment", "/compliance/remediation", "/compliance/compliance-inspection",
		"/compliance/standards", "/reports"} {
		wantStatus(t, reg.get("/t/"+ui.TenantA.Slug+p), http.StatusOK)
	}
	if r := reg.get("/t/" + ui.TenantB.Slug + "/compliance/mlps"); r.StatusCode != http.StatusNotFound {
		t.Errorf("regulator of A reads B: %d", r.StatusCode)
	}
}

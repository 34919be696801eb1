package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/compliance"
)

var projectLinkRE = regexp.MustCompile(`/compliance/mlps/([0-9a-f-]{36})`)
var overallRE = regexp.MustCompile(`data-overall="([0-9.]+)"`)
var conclusionRE = regexp.MustCompile(`data-conclusion="([^"]+)"`)

// expectScore is the documented weighted method (docs/compliance.md)
// worked out here from the framework's item weights: 符合 = 1, 部分符合 =
// 0.5, 不符合 = 0, 100 × Σ(w × v) / Σ w, two decimals; 优 ≥ 90, 良 ≥ 80,
// 中 ≥ 70, else 差, and 差 whenever a high risk is unresolved.
func expectScore(t *testing.T, fw *compliance.Framework, values map[string]float64, highRisk bool) (string, string) {
	t.Helper()
	var sum, weight float64
	for id, v := range values {
		n := fw.Node(id)
		if n == nil {
			t.Fatalf("no item %s", id)
		}
		sum += n.EffectiveWeight() * v
		weight += n.EffectiveWeight()
	}
	score := math.Round(100*sum/weight*100) / 100
	concl := "差"
	switch {
	case highRisk:
	case score >= 90:
		concl = "优"
	case score >= 80:
		concl = "良"
	case score >= 70:
		concl = "中"
	}
	return fmt.Sprintf("%.2f", score), concl
}

// TestAssessmentProjectFlow opens a level-3 project through the pages,
// records results and watches the score follow the documented method,
// changes the phase, archives the report, round-trips the XLSX, and checks
// escaping and who may see and change what.
func TestAssessmentProjectFlow(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	cat, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fw := cat.Framework("mlps2-l3")
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/compliance/mlps"

	list := admin.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `id="project-form"`) {
		t.Fatal("no create form on the project list")
	}
	hostile := `<script>alert(1)</script>`
	r := admin.post(base, url.Values{"name": {"2026 测评 " + hostile}, "system": {"网上营业厅"}, "level": {"3"}, "agency": {"某测评中心"}})
	wantRedirect(t, r, base+"/")
	m := projectLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}
	pURL := base + "/" + m[1]
	page := admin.get(pURL)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, hostile) || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the project name is not escaped")
	}
	if n := strings.Count(page.body, `class="assess-link"`); n != len(fw.Requirements()) {
		t.Errorf("%d items to assess, the framework has %d", n, len(fw.Requirements()))
	}
	if strings.Contains(page.body, `id="item-form"`) {
		t.Error("an item form is open without being asked for")
	}
	edit := admin.get(pURL + "?item=L3-CES1-01")
	if !strings.Contains(edit.body, `id="item-form"`) || !strings.Contains(edit.body, `name="item" value="L3-CES1-01"`) ||
		!strings.Contains(edit.body, `id="cat-L3-CES1" open`) {
		t.Error("?item= does not open the item's form in its category")
	}

	score := func() (string, string) {
		t.Helper()
		p := admin.get(pURL)
		wantStatus(t, p, http.StatusOK)
		o, c := overallRE.FindStringSubmatch(p.body), conclusionRE.FindStringSubmatch(p.body)
		if o == nil || c == nil {
			t.Fatal("no score on the project page")
		}
		return o[1], c[1]
	}
	assess := func(form url.Values) {
		t.Helper()
		r := admin.post(pURL+"/items", form)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("item %v: status %d\n%s", form, r.StatusCode, r.body)
		}
	}

	// Every counted result conform: 100, 优.
	values := map[string]float64{}
	for _, id := range []string{"L3-CES1-01", "L3-CES1-02", "L3-ABS1-06"} {
		assess(url.Values{"item": {id}, "result": {"conform"}, "object": {"db-01"}, "evidence": {`<img src=x onerror=alert(1)>`}})
		values[id] = 1
	}
	assess(url.Values{"item": {"L3-PES1-01"}, "result": {"na"}}) // not applicable: left out of every sum
	wantO, wantC := expectScore(t, fw, values, false)
	if o, c := score(); o != wantO || c != wantC || wantO != "100.00" {
		t.Errorf("all conform: %s %s, want %s %s", o, c, wantO, wantC)
	}
	page = admin.get(pURL)
	if strings.Contains(page.body, "<img src=x") || !strings.Contains(page.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("evidence is not escaped")
	}

	// A partly conform result lowers the score.
	assess(url.Values{"item": {"L3-CES1-03"}, "result": {"partial"}})
	values["L3-CES1-03"] = 0.5
	wantO, wantC = expectScore(t, fw, values, false)
	if o, c := score(); o != wantO || c != wantC {
		t.Errorf("with a partial result: %s %s, want %s %s", o, c, wantO, wantC)
	}

	// An unresolved high risk forces 差; resolving it lifts that.
	assess(url.Values{"item": {"L3-CES1-04"}, "result": {"nonconform"}, "high_risk": {"1"}, "note": {"默认口令"}})
	values["L3-CES1-04"] = 0
	wantO, wantC = expectScore(t, fw, values, true)
	if o, c := score(); o != wantO || c != wantC || c != "差" {
		t.Errorf("with a high risk: %s %s, want %s %s", o, c, wantO, wantC)
	}
	assess(url.Values{"item": {"L3-CES1-04"}, "result": {"nonconform"}, "high_risk": {"1"}, "resolved": {"1"}, "note": {"默认口令"}})
	wantO, wantC = expectScore(t, fw, values, false)
	if o, c := score(); o != wantO || c != wantC {
		t.Errorf("with the high risk resolved: %s %s, want %s %s", o, c, wantO, wantC)
	}

	// A bad item or result is refused.
	for _, form := range []url.Values{{"item": {"L2-CES1-01"}, "result": {"conform"}}, {"item": {"L3-CES1-01"}, "result": {"maybe"}}} {
		if r := admin.post(pURL+"/items", form); r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: status %d", form, r.StatusCode)
		}
	}

	// Phase change: the page lists the tasks and outputs of the phase.
	if pg := admin.get(pURL).body; !strings.Contains(pg, `id="phase-tasks"`) || !strings.Contains(pg, "Risk notice") {
		t.Error("the preparation tasks are not shown")
	}
	ver := regexp.MustCompile(`data-version="([0-9]+)"`).FindStringSubmatch(admin.get(pURL).body)
	if ver == nil {
		t.Fatal("no version on the page")
	}
	wantRedirect(t, admin.post(pURL+"/phase", url.Values{"phase": {"onsite"}, "version": {ver[1]}}), pURL)
	if pg := admin.get(pURL).body; !regexp.MustCompile(`id="project-phase"[^>]*>On-site assessment<`).MatchString(pg) || strings.Contains(pg, "Risk notice") {
		t.Error("the phase did not change")
	}

	// The report is archived and lists the assessed system and items.
	wantRedirect(t, admin.post(pURL+"/report", url.Values{"format": {"html"}, "lang": {"zh-CN"}}), "/t/"+ui.TenantA.Slug+"/reports")
	reports := admin.get("/t/" + ui.TenantA.Slug + "/reports")
	rl := reportLinkRE.FindStringSubmatch(reports.body)
	if rl == nil {
		t.Fatal("the assessment report is not listed")
	}
	rep := admin.get(rl[1])
	wantStatus(t, rep, http.StatusOK)
	for _, want := range []string{"网上营业厅", "L3-CES1-04", "默认口令"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(rep.body, "<img src=x") {
		t.Error("the report renders evidence as HTML")
	}

	// XLSX: download, then upload into a second project: same score.
	dl := admin.get(pURL + "/items.xlsx")
	wantStatus(t, dl, http.StatusOK)
	if !strings.Contains(dl.Header.Get("Content-Type"), "spreadsheetml") || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("workbook served as %v", dl.Header)
	}
	r = admin.post(base, url.Values{"name": {"copy"}, "system": {"网上营业厅"}, "level": {"3"}})
	m2 := projectLinkRE.FindStringSubmatch(r.Header.Get("Location"))
	if m2 == nil {
		t.Fatalf("second project: %d %s", r.StatusCode, r.body)
	}
	p2 := base + "/" + m2[1]
	if r := admin.postFile(p2+"/import", nil, "items.xlsx", []byte(dl.body)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: status %d\n%s", r.StatusCode, r.body)
	}
	o2 := overallRE.FindStringSubmatch(admin.get(p2).body)
	if o2 == nil || o2[1] != wantO {
		t.Errorf("imported project scores %v, want %s", o2, wantO)
	}
	if r := admin.postFile(p2+"/import", nil, "items.xlsx", []byte("PK not really")); r.StatusCode == http.StatusSeeOther {
		t.Error("a broken workbook was accepted")
	}

	// The analyst of A reads but cannot change; the customer of B sees nothing.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(pURL + "?item=L3-CES1-01")
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `class="assess-link"`) || strings.Contains(ap.body, `id="item-form"`) || strings.Contains(ap.body, `id="phase-form"`) {
		t.Error("the analyst is offered forms to change the project")
	}
	wantStatus(t, analyst.post(pURL+"/items", url.Values{"item": {"L3-CES1-01"}, "result": {"conform"}}), http.StatusForbidden)
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(pURL), http.StatusNotFound)
	wantStatus(t, cust.get(pURL+"/items.xlsx"), http.StatusNotFound)
	wantStatus(t, cust.get(base), http.StatusNotFound)
}

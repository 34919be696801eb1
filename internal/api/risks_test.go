package api

import (
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestRiskRegisterAPI puts a whole risk assessment, reads the risks the
// engine computed (worked out by hand below), decides a treatment, raises
// remediation and re-verifies it, and checks permissions and bad input.
func TestRiskRegisterAPI(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/risks"
	var ra RiskAssessment
	h.want(http.StatusCreated, http.MethodPost, base, h.adminA, map[string]any{"name": "2026 风险评估"}, &ra)
	if ra.Method != "formula" || ra.Version != 1 {
		t.Fatalf("created %+v", ra)
	}
	h.want(http.StatusForbidden, http.MethodPost, base, h.analystA, map[string]any{"name": "x"}, nil)
	h.want(http.StatusNotFound, http.MethodGet, base+"/"+ra.ID, h.customer, nil, nil)

	// B1 importance 5; S1 system under B1 with C 5, I 2, A 1 (value 5);
	// T1 frequency 3; V1 on S1 severity 3 with an effective protective
	// control (V_F = 2). L = √(3·3) = 3, F = √(5·2) ≈ 3.16, R = 9.49 → 9 低.
	// V2 on S1 severity 5: L = √15 ≈ 3.87, F = √25 = 5, R = 19.36 → 19 高.
	input := map[string]any{
		"assets": []map[string]any{{"id": "B1", "name": "核心业务", "tier": "business", "importance": 5},
			{"id": "S1", "name": "数据库", "tier": "system", "parent": "B1", "c": 5, "i": 2, "a": 1}},
		"threats": []map[string]any{{"id": "T1", "name": "内部人员误操作", "frequency": 3}},
		"vulnerabilities": []map[string]any{
			{"id": "V1", "name": "审计不完整", "asset": "S1", "severity": 3, "controls": []map[string]any{{"name": "日志备份", "kind": "protective", "effective": true}}},
			{"id": "V2", "name": "未加密存储", "asset": "S1", "severity": 5}},
		"scenarios": []map[string]any{{"id": "R1", "threat": "T1", "vulnerability": "V1"}, {"id": "R2", "threat": "T1", "vulnerability": "V2"}},
	}
	var got RiskAssessment
	h.want(http.StatusOK, http.MethodPut, base+"/"+ra.ID, h.adminA, map[string]any{"version": 1, "input": input}, &got)
	if len(got.Register) != 2 || got.Register[0].Scenario != "R2" || got.Register[0].R != 19 || got.Register[0].Level != "高" ||
		got.Register[1].R != 9 || got.Register[1].Level != "低" || math.Abs(got.Register[1].Loss-math.Sqrt(10)) > 1e-9 {
		t.Fatalf("register %+v", got.Register)
	}
	if got.HeatMap == nil || got.HeatMap[3][4] != 1 || got.HeatMap[2][2] != 1 || got.Business[0].R != 19 {
		t.Fatalf("heat map %v, business %+v", got.HeatMap, got.Business)
	}
	// Stale version, invalid input: refused, nothing stored.
	h.want(http.StatusConflict, http.MethodPut, base+"/"+ra.ID, h.adminA, map[string]any{"version": 1, "input": input}, nil)
	bad := map[string]any{"assets": []map[string]any{{"id": "S1", "name": "x", "tier": "system", "c": 5, "i": 5, "a": 5}},
		"threats": []map[string]any{}, "vulnerabilities": []map[string]any{{"id": "V1", "name": "x", "asset": "NOPE", "severity": 3}}, "scenarios": []map[string]any{}}
	h.want(http.StatusUnprocessableEntity, http.MethodPut, base+"/"+ra.ID, h.adminA, map[string]any{"version": 0, "input": bad}, nil)
	h.want(http.StatusOK, http.MethodGet, base+"/"+ra.ID, h.analystA, nil, &got)
	if got.Version != 2 || len(got.Register) != 2 {
		t.Fatalf("after refused changes: version %d, %d risks", got.Version, len(got.Register))
	}

	h.want(http.StatusOK, http.MethodPost, base+"/"+ra.ID+"/decisions", h.adminA, map[string]any{"version": 0, "scenario": "R2",
		"treatment": "reduce", "owner": "王五", "due": "2026-12-31T00:00:00Z", "measure": "数据库透明加密"}, &got)
	if d := got.Register[0].Decision; d == nil || d.Treatment != "reduce" || d.Due == nil {
		t.Fatalf("decision %+v", got.Register[0])
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPost, base+"/"+ra.ID+"/decisions", h.adminA, map[string]any{"version": 0, "scenario": "R9",
		"treatment": "reduce"}, nil)

	// Remediation: R2 (高) is raised, R1 (低) is not.
	var raised RaisedItems
	h.want(http.StatusOK, http.MethodPost, base+"/"+ra.ID+"/remediate", h.adminA, nil, &raised)
	if raised.Created != 1 {
		t.Fatalf("raised %d, want 1", raised.Created)
	}
	rem := "/api/v1/tenants/" + h.env.TenantA.Slug + "/remediation"
	var its []RemediationItem
	h.want(http.StatusOK, http.MethodGet, rem+"?source="+ra.ID, h.analystA, nil, &its)
	if len(its) != 1 || its[0].SourceRef != "R2" || its[0].Owner != "王五" || its[0].Level != "高" {
		t.Fatalf("items %+v", its)
	}
	var v RemediationVerification
	h.want(http.StatusCreated, http.MethodPost, rem+"/"+its[0].ID+"/verifications", h.adminA, map[string]any{"after": "低", "passed": true}, &v)
	if v.Before != "高" || !v.Passed {
		t.Fatalf("verification %+v", v)
	}
	var it RemediationItem
	h.want(http.StatusOK, http.MethodGet, rem+"/"+its[0].ID, h.analystA, nil, &it)
	if it.State != "verified" || len(it.Verifications) != 1 {
		t.Fatalf("item %+v", it)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPut, rem+"/"+its[0].ID, h.adminA, map[string]any{"version": it.Version, "state": "verified"}, nil)
	h.want(http.StatusOK, http.MethodPut, rem+"/"+its[0].ID, h.adminA, map[string]any{"version": it.Version, "state": "closed", "owner": "赵六"}, &it)
	if it.State != "closed" || it.Owner != "赵六" {
		t.Fatalf("updated %+v", it)
	}
	h.want(http.StatusNotFound, http.MethodGet, rem+"/"+its[0].ID, h.customer, nil, nil)
}

// TestAssessmentEvidenceAPI records a result, attaches evidence, reads the
// coverage and the proposals, and appends to the communication log.
func TestAssessmentEvidenceAPI(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/assessments"
	var p Assessment
	h.want(http.StatusCreated, http.MethodPost, base, h.adminA, map[string]any{"name": "证据", "system": "OA", "level": 2}, &p)
	h.want(http.StatusOK, http.MethodPut, base+"/"+p.ID+"/items", h.adminA, map[string]any{"item": "L2-CES1-01", "result": "nonconform"}, nil)
	var cov AssessmentCoverage
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID+"/coverage", h.analystA, nil, &cov)
	if cov.Counted != 1 || cov.WithEvidence != 0 {
		t.Fatalf("coverage %+v", cov)
	}
	// Evidence files: upload, counted in the coverage, listed, downloaded
	// as an octet-stream attachment; an unknown item and another tenant's
	// customer are refused.
	files := base + "/" + p.ID + "/items/L2-CES1-01/evidence"
	content := []byte("<script>alert(1)</script>")
	if r := h.uploadFile(files, h.adminA, "shot.html", content, "口令策略"); r.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	if r := h.uploadFile(base+"/"+p.ID+"/items/L2-NOPE-99/evidence", h.adminA, "x.txt", []byte("x"), ""); r.Code != http.StatusNotFound {
		t.Fatalf("upload to an unknown item: %d", r.Code)
	}
	if r := h.uploadFile(files, h.analystA, "x.txt", []byte("x"), ""); r.Code != http.StatusForbidden {
		t.Fatalf("analyst uploads: %d", r.Code)
	}
	var list AttachmentList
	h.want(http.StatusOK, http.MethodGet, files, h.analystA, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("files %+v", list)
	}
	dl := h.want(http.StatusOK, http.MethodGet, files+"/"+list.Items[0].ID, h.analystA, nil, nil)
	if dl.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		string(dl.Body) != string(content) {
		t.Fatalf("download %v", dl.Header)
	}
	h.want(http.StatusNotFound, http.MethodGet, files+"/"+list.Items[0].ID, h.customer, nil, nil)
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID+"/coverage", h.analystA, nil, &cov)
	if cov.Counted != 1 || cov.WithEvidence != 1 || cov.Files["L2-CES1-01"] != 1 {
		t.Fatalf("coverage with a file %+v", cov)
	}

	var props []AssessmentProposal
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID+"/proposals?lang=en", h.analystA, nil, &props)
	found := false
	for _, pr := range props {
		if pr.Item == "L2-CES1-15" {
			found = pr.Result == "" && pr.Evidence != ""
		}
	}
	if !found {
		t.Fatalf("no 'no evidence yet' proposal for the vulnerability item: %+v", props)
	}
	var scope []Asset
	h.want(http.StatusOK, http.MethodPut, base+"/"+p.ID+"/scope", h.adminA, map[string]any{"assets": []string{h.env.AssetA.ID}}, &scope)
	if len(scope) != 1 || scope[0].ID != h.env.AssetA.ID {
		t.Fatalf("scope %+v", scope)
	}
	h.want(http.StatusUnprocessableEntity, http.MethodPut, base+"/"+p.ID+"/scope", h.adminA, map[string]any{"assets": []string{h.env.AssetB.ID}}, nil)
	var c Communication
	h.want(http.StatusCreated, http.MethodPost, base+"/"+p.ID+"/communications", h.adminA, map[string]any{"kind": "decision", "text": "确认测评范围"}, &c)
	var log []Communication
	h.want(http.StatusOK, http.MethodGet, base+"/"+p.ID+"/communications", h.analystA, nil, &log)
	if len(log) != 1 || log[0].Text != "确认测评范围" || log[0].Kind != "decision" {
		t.Fatalf("log %+v", log)
	}
	h.want(http.StatusForbidden, http.MethodPost, base+"/"+p.ID+"/communications", h.analystA, map[string]any{"kind": "note", "text": "x"}, nil)
	var raised RaisedItems
	h.want(http.StatusOK, http.MethodPost, base+"/"+p.ID+"/remediate", h.adminA, nil, &raised)
	if raised.Created != 1 {
		t.Fatalf("raised %d", raised.Created)
	}
}

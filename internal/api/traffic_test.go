package api

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

func TestTrafficAnalyses(t *testing.T) {
	// The routes are registered for a placeholder; the handlers then use
	// a service over the harness's store.
	h := newHarness(t, func(o *Options) { o.Traffic = &risk.Service{} })
	h.srv.opts.Traffic = risk.NewService(h.env.Store, h.env.Audit, risk.Options{})
	eve, err := os.ReadFile(filepath.Join("../../../shared/corpus/traffic/slips", "test6-malicious.suricata.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := "/api/v1/tenants/" + h.env.TenantA.Slug + "/traffic-analyses"
	b := "/api/v1/tenants/" + h.env.TenantB.Slug + "/traffic-analyses"
	var got TrafficAnalysis
	h.want(http.StatusAccepted, http.MethodPost, a, h.analystA, TrafficUpload{Kind: "eve", Files: []TrafficFile{{Name: "eve.json", Data: eve}}}, &got)
	if got.Status != "done" || got.Lines != 5000 || got.Skipped != 0 || got.Findings == 0 {
		t.Fatalf("upload %+v", got)
	}
	var list []TrafficAnalysis
	h.want(http.StatusOK, http.MethodGet, a, h.analystA, nil, &list)
	if len(list) != 1 || list[0].ID != got.ID || list[0].Summary != nil {
		t.Fatalf("list %+v", list)
	}
	h.want(http.StatusOK, http.MethodGet, a+"/"+got.ID, h.analystA, nil, &got)
	if got.Summary == nil {
		t.Fatal("no summary")
	}
	var fs []TrafficFinding
	h.want(http.StatusOK, http.MethodGet, a+"/"+got.ID+"/findings?limit=5&category=compromised", h.analystA, nil, &fs)
	if len(fs) == 0 || fs[0].Category != "compromised" || fs[0].SubScores != nil {
		t.Fatalf("findings %+v", fs)
	}
	var f TrafficFinding
	h.want(http.StatusOK, http.MethodGet, a+"/"+got.ID+"/findings/"+fs[0].ID, h.analystA, nil, &f)
	if len(f.SubScores) == 0 {
		t.Fatalf("finding %+v", f)
	}
	var tr TrafficTrace
	h.want(http.StatusOK, http.MethodGet, a+"/"+got.ID+"/findings/"+fs[0].ID+"/trace", h.analystA, nil, &tr)
	if tr.Host != fs[0].Src || len(tr.Events) == 0 {
		t.Fatalf("trace %s: %d events", tr.Host, len(tr.Events))
	}
	h.want(http.StatusOK, http.MethodPost, a+"/"+got.ID+"/findings/"+fs[0].ID+"/mark", h.analystA, TrafficMark{State: "confirmed", Note: "<script>"}, &f)
	if f.State != "confirmed" || f.Note != "<script>" {
		t.Fatalf("marked %+v", f)
	}
	h.wantProblem(http.StatusUnprocessableEntity, http.MethodPost, a, h.analystA, TrafficUpload{Kind: "zeek", Files: []TrafficFile{{Name: "passwd", Data: []byte("x")}}})

	// Another tenant's token finds nothing; a read-only token writes nothing.
	h.wantProblem(http.StatusNotFound, http.MethodGet, a+"/"+got.ID, h.customer, nil)
	h.wantProblem(http.StatusNotFound, http.MethodPost, a+"/"+got.ID+"/findings/"+fs[0].ID+"/mark", h.customer, TrafficMark{State: "new"})
	h.wantProblem(http.StatusForbidden, http.MethodPost, b, h.customer, TrafficUpload{Kind: "eve", Files: []TrafficFile{{Name: "eve.json", Data: eve}}})
	h.want(http.StatusOK, http.MethodGet, b, h.customer, nil, &list)
	if len(list) != 0 {
		t.Fatalf("tenant B sees %+v", list)
	}
}

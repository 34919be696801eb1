package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vuln"
)

func testEnricher(t *testing.T) *Enricher {
	t.Helper()
	k, err := LoadKEV(strings.NewReader(kevSmall), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := LoadEPSS(strings.NewReader("cve,epss,percentile\nCVE-2021-44228,0.94358,0.99912\nCVE-2021-45046,0.97,0.9999\nCVE-2019-0001,0.001,0.2\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Enricher{KEV: k, EPSS: e, Importance: 5, InternetFacing: true}
}

func TestEnrich(t *testing.T) {
	en := testEnricher(t)
	score := 10.0
	got := en.Enrich(vuln.Finding{
		Fingerprint: "f1", Scanner: "nuclei", Title: "Log4Shell",
		CVEs:      []string{"CVE-2020-0001", "CVE-2021-44228", "cve-2021-45046"},
		CVSSScore: &score,
	})
	// KEV: the ransomware entry wins over the first listed; EPSS: the highest.
	if got.KEV == nil || got.KEV.CVE != "CVE-2021-44228" || !got.KEV.Ransomware {
		t.Fatalf("KEV %+v", got.KEV)
	}
	if got.EPSS == nil || got.EPSS.CVE != "CVE-2021-45046" {
		t.Fatalf("EPSS %+v", got.EPSS)
	}
	if got.PriorityReason != "KEV (ransomware), EPSS 0.97 (99th pct), CVSS 10.0, internet-facing, importance 5" {
		t.Fatalf("reason %q", got.PriorityReason)
	}

	// A CVE id in RuleID counts; the tool's score is used without a vector.
	tool := 6.5
	got = en.Enrich(vuln.Finding{RuleID: "CVE-2019-0001", ToolScore: &tool})
	if got.KEV != nil || got.EPSS == nil || got.PriorityReason != "EPSS <0.01 (20th pct), CVSS 6.5, internet-facing, importance 5" {
		t.Fatalf("got %+v", got)
	}

	// Without catalogues only CVSS and the asset count.
	got = (&Enricher{}).Enrich(vuln.Finding{CVEs: []string{"CVE-2021-44228"}})
	if got.KEV != nil || got.EPSS != nil || got.PriorityReason != "no CVSS, importance 3" {
		t.Fatalf("got %+v", got)
	}
}

func TestStream(t *testing.T) {
	en := testEnricher(t)
	score := 9.8
	var in bytes.Buffer
	fs := []vuln.Finding{
		{Fingerprint: "a", Scanner: "trivy", Title: "log4j", Severity: vuln.SeverityCritical, CVEs: []string{"CVE-2021-44228"}, CVSSScore: &score, Occurrences: 2},
		{Fingerprint: "b", Scanner: "nuclei", Title: "banner", Severity: vuln.SeverityInfo, Occurrences: 1},
	}
	if err := vuln.WriteJSONLines(&in, fs); err != nil {
		t.Fatal(err)
	}
	in.WriteString("\n") // blank lines are skipped
	var out bytes.Buffer
	n, err := en.Stream(context.Background(), &in, &out)
	if err != nil || n != 2 {
		t.Fatalf("n %d err %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), out.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"fingerprint", "scanner", "cves", "cvss_score", "occurrences", "kev", "epss", "priority", "priority_reason"} {
		if _, ok := first[k]; !ok {
			t.Errorf("field %q missing in %s", k, lines[0])
		}
	}
	if kev, _ := first["kev"].(map[string]any); kev["due_date"] != "2021-12-24" || kev["date_added"] != "2021-12-10" || kev["ransomware"] != true {
		t.Errorf("kev %v", first["kev"])
	}
	var second Finding
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if second.Fingerprint != "b" || second.KEV != nil || second.EPSS != nil || second.PriorityReason == "" {
		t.Errorf("second %+v", second)
	}
	var firstF Finding
	if err := json.Unmarshal([]byte(lines[0]), &firstF); err != nil || firstF.KEV == nil || firstF.KEV.DueDate.Format(time.DateOnly) != "2021-12-24" {
		t.Errorf("round trip %+v %v", firstF.KEV, err)
	}

	_, err = en.Stream(context.Background(), strings.NewReader("{\"fingerprint\":\"a\"}\n{oops\n"), &out)
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("bad line: %v", err)
	}
}

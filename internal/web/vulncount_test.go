package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestVulnerabilityPageCappedTotal checks the findings page counts up to
// 10,000 ("10,000+", pages while they are full) and exactly below.
func TestVulnerabilityPageCappedTotal(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/vulnerabilities"
	const n = 10_050
	var b strings.Builder
	for i := range n {
		sev := "low"
		if i%10 == 0 {
			sev = "critical"
		}
		fmt.Fprintf(&b, `{"template-id":"tpl-%d","info":{"name":"Finding %d","severity":"%s"},"type":"http",`+
			`"host":"https://shop.example","matched-at":"https://shop.example/p/%d","ip":"192.0.2.20","port":"443"}`+"\n", i%97, i, sev, i)
	}
	r := admin.postFile(base+"/import", map[string]string{"format": "nuclei"}, "big.jsonl", []byte(b.String()))
	wantRedirect(t, r, base+"?ok=imported")

	all := admin.get(base)
	wantStatus(t, all, http.StatusOK)
	// html/template writes the plus sign as a character reference.
	if !strings.Contains(all.body, "10,000&#43; findings match.") {
		t.Fatalf("the capped total is not shown as 10,000+:\n%s", all.body)
	}
	if !strings.Contains(all.body, `rel="next"`) {
		t.Fatal("a full page of a capped list has no next page")
	}
	zh := ui.as(t, ui.Admin)
	zh.header.Set("Accept-Language", "zh-CN")
	if page := zh.get(base); !strings.Contains(page.body, "共 10,000&#43; 条符合条件。") {
		t.Fatalf("the zh-CN page does not show the capped total:\n%s", page.body)
	}
	// 1,005 critical findings are counted exactly.
	crit := admin.get(base + "?severity=critical")
	wantStatus(t, crit, http.StatusOK)
	if !strings.Contains(crit.body, "1005 findings match.") || strings.Contains(crit.body, "10,000&#43;") {
		t.Fatalf("the exact total is not shown:\n%s", crit.body)
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -5: "-5"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

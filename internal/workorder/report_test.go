package workorder

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/report"
)

// TestReportOpsDay builds the report of the worked example day. The key
// figures are the hand counts of the example: 5 sessions on 3 hosts
// (web01, ws-fin01, db01), 2 accesses without approved order (alice,
// carol), 1 outside its window (dba), 1 unused order (WO-3), and 3 orders
// overdue at the end of the day (WO-1, WO-3 and WO-4 are not done; WO-2 is
// done and WO-5 verified).
func TestReportOpsDay(t *testing.T) {
	sessions := opsSessions(t)
	orders := opsOrders()
	now := at("23:59:59")
	fs := Match(sessions, orders, MatchOptions{Now: now})
	period := Period{From: at("00:00:00"), To: at("00:00:00").AddDate(0, 0, 1)}
	for _, lang := range []string{"en", "zh-CN"} {
		doc := Report(period, sessions, fs, orders, lang, now)
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		var figs []string
		for _, k := range doc.Summary {
			figs = append(figs, k.Value)
		}
		if got := strings.Join(figs, ","); got != "5,3,2,1,1,3" {
			t.Errorf("%s: key figures %s, want 5,3,2,1,1,3", lang, got)
		}
		var buf bytes.Buffer
		if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
			t.Fatalf("%s: render: %v", lang, err)
		}
		html := buf.String()
		for _, want := range map[string][]string{
			"en":    {"Operations audit report", "Access without approved order", "/bin/cat /etc/shadow", "WO-3"},
			"zh-CN": {"运维审计报告", "无审批工单的访问", "特权命令", "超出时间窗口"},
		}[lang] {
			if !strings.Contains(html, want) {
				t.Errorf("%s: report lacks %q", lang, want)
			}
		}
	}
}

// TestReportHostileText: control characters and markup from logs end up
// as text in a valid document.
func TestReportHostileText(t *testing.T) {
	s := Session{Host: "web\x0101", User: "<script>alert(1)</script>", Method: MethodSudo, Start: at("01:00:00"), End: at("01:00:00"),
		Commands: []Command{{At: at("01:00:00"), RunAs: "root", Command: strings.Repeat("A", 5000) + "\x1b[31m"}}}
	fs := Match([]Session{s}, nil, MatchOptions{})
	doc := Report(Period{From: at("00:00:00"), To: at("02:00:00")}, []Session{s}, fs, nil, "xx", at("02:00:00"))
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.RenderHTML(context.Background(), doc, &buf, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert") {
		t.Fatal("markup from a log reached the HTML unescaped")
	}
}

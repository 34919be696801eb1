package posture

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

func figure(doc *report.Document, label string) report.KeyFigure {
	for _, f := range doc.Summary {
		if f.Label == label {
			return f
		}
	}
	return report.KeyFigure{}
}

func TestMonitoringReport(t *testing.T) {
	st := openStore(t)
	tn := tenant(t, st, "alpha")
	ctx := context.Background()
	from, to := now.Add(-7*24*time.Hour), now
	// This period: 3 alerts (2 critical, one of them handled), 5 events;
	// the period before: 1 high alert, 2 events.
	type seedAlert struct {
		rule, level, host, status string
		at                        time.Time
		repeats                   int
	}
	alerts := []seedAlert{
		{`Web shell <script>x</script>`, "critical", "web-01", "new", now.Add(-2 * 24 * time.Hour), 3},
		{"Brute force", "critical", "db-01", "closed", now.Add(-3 * 24 * time.Hour), 1},
		{"Port scan", "medium", "web-01", "new", now.Add(-time.Hour), 1},
		{"Brute force", "high", "db-01", "closed", now.Add(-10 * 24 * time.Hour), 1},
		{"Ancient", "low", "db-01", "closed", now.Add(-30 * 24 * time.Hour), 1},
	}
	for i, a := range alerts {
		for r := range a.repeats {
			al := store.Alert{TenantID: tn.ID, GroupKey: fmt.Sprint(i), RuleID: fmt.Sprint(i), RuleTitle: a.rule, Level: a.level,
				Host: a.host, Status: "new", LastSeen: a.at.Add(time.Duration(r) * time.Minute)}
			_, err := st.Alerts().Raise(ctx, &al, time.Hour, []string{"new"}, 3)
			must(t, err)
			if a.status != "new" {
				must(t, st.Alerts().SetStatus(ctx, tn.ID, al.ID, a.status, "", "u", now))
			}
		}
	}
	var evs []store.Event
	for i, back := range []time.Duration{time.Hour, 2 * time.Hour, 50 * time.Hour, 100 * time.Hour, 160 * time.Hour, 200 * time.Hour, 300 * time.Hour} {
		at := now.Add(-back)
		evs = append(evs, store.Event{ID: fmt.Sprint("e", i), TenantID: tn.ID, Time: at, Received: at, Source: "syslog", Host: "fw"})
	}
	_, err := st.Events().Append(ctx, evs)
	must(t, err)

	svc := NewService(st, Options{Now: func() time.Time { return now }})
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := svc.MonitoringReport(ctx, tn, from, to, lang)
		must(t, err)
		w := reportWords[lang]
		check := func(label, value, note string) {
			t.Helper()
			f := figure(doc, w[label])
			if f.Value != value || f.Note != fmt.Sprintf(w["vs_prev"], note) {
				t.Errorf("%s %s: %q (%s), want %q (previous %s)", lang, label, f.Value, f.Note, value, note)
			}
		}
		check("events", "5", "2")
		check("alerts", "3", "1")
		check("critical_high", "2", "1")
		check("handled", "1", "1")
		var b strings.Builder
		must(t, report.Render(ctx, doc, report.FormatHTML, &b, report.Options{}))
		html := b.String()
		if strings.Contains(html, "<script>x") || !strings.Contains(html, "&lt;script&gt;x&lt;/script&gt;") {
			t.Errorf("%s: the rule title is not escaped", lang)
		}
	}

	if _, err := svc.MonitoringReport(ctx, tn, to, from, "en"); err == nil {
		t.Error("a period ending before it starts was accepted")
	}
}

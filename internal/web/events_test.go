package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

const hostileRule = `title: Web shell <b>probe</b> {{.CSRF}}
id: 0f7e5c1a-2b3d-4e5f-8a9b-1c2d3e4f5a6b
level: critical
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password']
  condition: keywords
`

var eventLinkRE = regexp.MustCompile(`/events/([0-9a-f-]{36})"`)
var alertLinkRE = regexp.MustCompile(`/events/alerts/([0-9a-f-]{36})"`)

// TestIngestedContentRendersInert sends attacker-controlled text through
// the real ingest path (parser, pipeline, Sigma rule) and checks every page
// that shows it escapes it.
func TestIngestedContentRendersInert(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	rule, err := detect.ParseRule([]byte(hostileRule))
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(ui.Store, pipeline.Options{Rules: detect.NewEngine([]*detect.Rule{rule})})
	parser, _ := logs.NewRegistry().Lookup("auto")
	line := `<38>1 ` + time.Now().UTC().Format(time.RFC3339) + ` web-01 sshd 77 - - Failed password for <script>alert(1)</script> {{.CSRF}} from 203.0.113.9 port 4 ssh2`
	ev, err := parser.Parse([]byte(line), logs.Meta{Source: "test", Tenant: ui.TenantA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(t.Context(), []logs.Event{ev}); err != nil {
		t.Fatal(err)
	}
	analyst := ui.as(t, ui.AnalystA)
	base := "/t/" + ui.TenantA.Slug + "/events"
	inert := func(what string, r response) {
		t.Helper()
		wantStatus(t, r, http.StatusOK)
		for _, bad := range []string{"<script>alert(1)", "<b>probe</b>"} {
			if strings.Contains(r.body, bad) {
				t.Fatalf("%s renders %q as markup", what, bad)
			}
		}
		if strings.Contains(r.body, analyst.csrf+" from") {
			t.Fatalf("%s executed the {{.CSRF}} in the log line", what)
		}
	}
	list := analyst.get(base + "?q=" + url.QueryEscape(`host.name:web-01 "Failed password"`))
	inert("event search", list)
	if !strings.Contains(list.body, "&lt;script&gt;alert(1)&lt;/script&gt; {{.CSRF}}") {
		t.Fatalf("the event is not listed, escaped:\n%s", list.body)
	}
	m := eventLinkRE.FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no event link")
	}
	inert("event page", analyst.get(base+"/"+m[1]))
	queue := analyst.get(base + "/alerts")
	inert("alert queue", queue)
	am := alertLinkRE.FindStringSubmatch(queue.body)
	if am == nil || !strings.Contains(queue.body, "&lt;b&gt;probe&lt;/b&gt;") {
		t.Fatalf("alert not listed:\n%s", queue.body)
	}
	inert("alert page", analyst.get(base+"/alerts/"+am[1]))

	// Triage: the analyst acknowledges it; the customer of B cannot see it.
	wantRedirect(t, analyst.post(base+"/alerts/bulk", url.Values{"id": {am[1]}, "status": {"acknowledged"}}), base+"/alerts?changed=1")
	a, err := ui.Store.Alerts().Get(t.Context(), ui.TenantA.ID, am[1])
	if err != nil || a.Status != "acknowledged" {
		t.Fatalf("alert %+v, %v", a, err)
	}
	cust := ui.as(t, ui.CustomerB)
	wantStatus(t, cust.get(base+"/alerts/"+am[1]), http.StatusNotFound)
	if n, _ := ui.Store.Events().Count(t.Context(), ui.TenantB.ID, store.EventQuery{}); n != 0 {
		t.Fatal("tenant B got an event")
	}
	// A malformed search is a message on the page, not an error page.
	r := analyst.get(base + "?q=" + url.QueryEscape(`"unclosed`))
	wantStatus(t, r, http.StatusUnprocessableEntity)
}

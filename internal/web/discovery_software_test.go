package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDiscoveryRunSoftware: the run page shows each port's product and
// version, a web service's title, redirect and icon hash, with hostile
// text escaped, and a customer of another tenant gets 404.
func TestDiscoveryRunSoftware(t *testing.T) {
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	hash := int32(-1028942467)
	res := exposure.RunResult{Hosts: 1, Open: []exposure.Port{
		{Host: "192.0.2.7", Port: 22, Service: "ssh", Product: "OpenSSH", Version: "9.2p1"},
		{Host: "192.0.2.7", Port: 80, Service: "http", Product: "nginx", Version: "1.22.1", HTTP: "HTTP/1.1 200 OK nginx/1.22.1",
			Title: `运维 </td><script>alert(1)</script>`, FaviconHash: &hash, Redirect: `http://192.0.2.7/"><img src=x onerror=alert(2)>`},
	}}
	blob, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	run := store.DiscoveryRun{TenantID: ui.TenantA.ID, Targets: "192.0.2.7", Ports: "22,80", Status: exposure.StatusDone, Result: blob}
	if err := ui.Store.DiscoveryRuns().Create(ctx, &run); err != nil {
		t.Fatal(err)
	}
	url := "/t/" + ui.TenantA.Slug + "/operations/asset-discovery/" + run.ID
	page := ui.as(t, ui.Admin).get(url)
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`<td class="product">OpenSSH 9.2p1</td>`, `<td class="product">nginx 1.22.1</td>`,
		"运维 &lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;", `<code class="icon-hash">-1028942467</code>`,
		"&lt;img src=x onerror=alert(2)&gt;"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert(1)", "<img src=x"} {
		if strings.Contains(page.body, bad) {
			t.Errorf("run page has %q unescaped", bad)
		}
	}
	other := ui.as(t, ui.CustomerB).get(url)
	if other.StatusCode != http.StatusNotFound && other.StatusCode != http.StatusForbidden {
		t.Errorf("tenant B's customer got %d", other.StatusCode)
	}
}

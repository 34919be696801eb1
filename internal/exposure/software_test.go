package exposure_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/asset/discovery"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// greeter is an SSH-like server whose banner the test changes between
// runs.
func greeter(t *testing.T, banner *atomic.Value) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(banner.Load().(string) + "\r\n"))
			_ = c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunKeepsSoftware: a run keeps each port's product and version and a
// web service's title and icon hash, the inventory's "services"
// attribute and the exposure report carry them, and a new version on the
// next run is a changed service.
func TestRunKeepsSoftware(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	clock := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Now: func() time.Time { return clock }, Rate: 2000, Timeout: time.Second})
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "lab", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	var banner atomic.Value
	banner.Store("SSH-2.0-OpenSSH_9.2p1 Debian-2")
	sshPort := greeter(t, &banner)

	icon := []byte("\x00\x00\x01\x00 not really an icon, but bytes to hash " + strings.Repeat("x", 300))
	const title = "资产管理 <b>console</b>"
	web := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "VigilTest/2.1")
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/app/", http.StatusFound)
		case "/app/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<html><head><title>资产管理 &lt;b&gt;console&lt;/b&gt;</title></head></html>"))
		case "/favicon.ico":
			_, _ = w.Write(icon)
		default:
			http.NotFound(w, r)
		}
	})}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = web.Serve(wl) }()
	t.Cleanup(func() { _ = web.Close() })
	webPort := wl.Addr().(*net.TCPAddr).Port
	ports := strconv.Itoa(sshPort) + "," + strconv.Itoa(webPort)

	run := func() (store.DiscoveryRun, exposure.RunResult) {
		t.Helper()
		r := store.DiscoveryRun{TenantID: e.TenantA.ID, Targets: "127.0.0.1", Ports: ports, Status: exposure.StatusPending, CreatedAt: clock}
		if err := e.Store.DiscoveryRuns().Create(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if err := svc.Run(ctx, e.TenantA.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		got, res, err := svc.Get(ctx, e.TenantA.ID, r.ID)
		if err != nil || got.Status != exposure.StatusDone {
			t.Fatalf("run %+v: %v", got, err)
		}
		return got, res
	}
	byPort := func(res exposure.RunResult, p int) exposure.Port {
		t.Helper()
		for _, o := range res.Open {
			if int(o.Port) == p {
				return o
			}
		}
		t.Fatalf("port %d not open in %+v", p, res.Open)
		return exposure.Port{}
	}
	first, firstRes := run()
	ssh, w := byPort(firstRes, sshPort), byPort(firstRes, webPort)
	if ssh.Product != "OpenSSH" || ssh.Version != "9.2p1" {
		t.Errorf("ssh %+v", ssh)
	}
	wantHash := discovery.FaviconHash(icon)
	if w.Service != "http" || w.Product != "VigilTest" || w.Version != "2.1" || w.Title != title ||
		w.FaviconHash == nil || *w.FaviconHash != wantHash || w.Redirect != "http://127.0.0.1:"+strconv.Itoa(webPort)+"/app/" {
		t.Errorf("web %+v (icon hash %v, want %d)", w, w.FaviconHash, wantHash)
	}

	// The inventory's host lists its software.
	as, err := e.Store.Assets().List(ctx, e.TenantA.ID, store.AssetFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	services := ""
	for _, a := range as {
		if a.Address == "127.0.0.1" {
			services = a.Attributes["services"]
		}
	}
	wantAttr := strconv.Itoa(sshPort) + "/ssh OpenSSH 9.2p1; " + strconv.Itoa(webPort) + "/http VigilTest 2.1"
	if sshPort > webPort {
		wantAttr = strconv.Itoa(webPort) + "/http VigilTest 2.1; " + strconv.Itoa(sshPort) + "/ssh OpenSSH 9.2p1"
	}
	if services != wantAttr {
		t.Errorf("services attribute %q, want %q", services, wantAttr)
	}

	// The report: product column, title and icon hash in the detail, the
	// software table and the chart of services.
	doc, err := svc.ReportDocument(ctx, e.TenantA, first.ID, "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	var cells []string
	charts := 0
	for _, s := range doc.Sections {
		charts += len(s.Charts)
		for _, tb := range s.Tables {
			for _, r := range tb.Rows {
				cells = append(cells, strings.Join(r, "|"))
			}
		}
	}
	all := strings.Join(cells, "\n")
	for _, want := range []string{"|ssh|OpenSSH 9.2p1|", "|http|VigilTest 2.1|", "“" + title + "”", "icon hash " + strconv.Itoa(int(wantHash)),
		"OpenSSH 9.2p1|1|127.0.0.1:" + strconv.Itoa(sshPort)} {
		if !strings.Contains(all, want) {
			t.Errorf("report lacks %q:\n%s", want, all)
		}
	}
	if charts != 1 {
		t.Errorf("%d charts, want the services chart", charts)
	}

	// A new version is a changed service.
	banner.Store("SSH-2.0-OpenSSH_9.6p1 Debian-5")
	clock = clock.Add(time.Hour)
	second, secondRes := run()
	d, ok, err := svc.Changes(ctx, e.TenantA.ID, second, secondRes)
	if err != nil || !ok {
		t.Fatalf("changes: %v %v", ok, err)
	}
	if len(d.Changed) != 1 || int(d.Changed[0].After.Port) != sshPort || d.Changed[0].Before.Version != "9.2p1" ||
		d.Changed[0].After.Version != "9.6p1" {
		t.Errorf("changed %+v", d.Changed)
	}
}

// TestDiffSoftware: product, version and icon changes count where both
// runs know them.
func TestDiffSoftware(t *testing.T) {
	h := func(n int32) *int32 { return &n }
	for _, c := range []struct {
		name          string
		before, after exposure.Port
		changed       bool
	}{
		{"same", exposure.Port{Product: "nginx", Version: "1.22.1"}, exposure.Port{Product: "nginx", Version: "1.22.1"}, false},
		{"version", exposure.Port{Product: "nginx", Version: "1.22.1"}, exposure.Port{Product: "nginx", Version: "1.24.0"}, true},
		{"product", exposure.Port{Product: "nginx"}, exposure.Port{Product: "Apache httpd"}, true},
		{"run stored before versions were kept", exposure.Port{}, exposure.Port{Product: "nginx", Version: "1.22.1"}, false},
		{"version not told this time", exposure.Port{Product: "nginx", Version: "1.22.1"}, exposure.Port{Product: "nginx"}, false},
		{"icon", exposure.Port{FaviconHash: h(-1)}, exposure.Port{FaviconHash: h(116323821)}, true},
		{"icon not fetched", exposure.Port{FaviconHash: h(-1)}, exposure.Port{}, false},
		{"title only", exposure.Port{Title: "Login"}, exposure.Port{Title: "登录"}, false},
	} {
		c.before.Host, c.before.Port, c.after.Host, c.after.Port = "10.0.0.1", 443, "10.0.0.1", 443
		d := exposure.Diff(exposure.RunResult{Open: []exposure.Port{c.before}}, exposure.RunResult{Open: []exposure.Port{c.after}})
		if got := len(d.Changed) == 1; got != c.changed {
			t.Errorf("%s: changed %v, want %v", c.name, got, c.changed)
		}
	}
}

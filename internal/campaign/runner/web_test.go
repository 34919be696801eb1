package runner

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/vigil-sec/vigil/internal/campaign"
)

// webTarget is the target of a loopback test server.
func webTarget(t *testing.T, srv *httptest.Server) campaign.Target {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return campaign.Target{AssetID: "web", Host: u.Hostname(), Labels: map[string]string{LabelURLs: srv.URL + "/"}}
}

func TestAdminPagesFindsExposedPathsOnly(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("<html><title>Welcome to nginx!</title></html>"))
	})
	mux.HandleFunc("/manager/html", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("Tomcat manager")) })
	mux.HandleFunc("/.git/config", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[core]")) })
	mux.HandleFunc("/admin", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	mux.HandleFunc("/console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := NewAdminPages(HTTPOptions{}).Run(context.Background(), campaign.Task{ID: "admin-pages"}, webTarget(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	host := srv.Listener.Addr().String()
	want := map[string]campaign.Severity{
		"admin-page/" + host + "/manager/html": campaign.SeverityMedium,
		"admin-page/" + host + "/.git/config":  campaign.SeverityHigh,
		"default-page/" + host:                 campaign.SeverityLow,
	}
	if res.Status != campaign.StatusFailed || len(res.Findings) != len(want) {
		t.Fatalf("got %s %v, want the findings %v", res.Status, keys(res.Findings), want)
	}
	for _, f := range res.Findings {
		if want[f.Key] != f.Severity {
			t.Errorf("finding %s is %s, want %s", f.Key, f.Severity, want[f.Key])
		}
	}
}

func TestAdminPagesCatchAllSiteIsNotFlagged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<div id=app></div>")) }))
	defer srv.Close()
	res, err := NewAdminPages(HTTPOptions{}).Run(context.Background(), campaign.Task{}, webTarget(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusPassed || len(res.Findings) != 0 {
		t.Fatalf("a single-page app that answers every path: %s %v", res.Status, keys(res.Findings))
	}
}

func TestWebRunnersStayOnTheTarget(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// The URL is on loopback but the target is another host: nothing is sent.
	tg := campaign.Target{AssetID: "x", Host: "192.0.2.7", Labels: map[string]string{LabelURLs: "http://127.0.0.1:" + port + "/"}}
	for name, r := range map[string]campaign.Runner{"admin": NewAdminPages(HTTPOptions{}), "creds": NewDefaultCreds(HTTPOptions{})} {
		if _, err := r.Run(context.Background(), campaign.Task{}, tg); err == nil {
			t.Errorf("%s: a URL off the target's host was accepted", name)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached a host that is not the target", hits.Load())
	}
	// No URL: not applicable. A URL that does not answer: an error.
	none := campaign.Target{AssetID: "x", Host: "127.0.0.1"}
	if res, err := NewAdminPages(HTTPOptions{}).Run(context.Background(), campaign.Task{}, none); err != nil || res.Status != campaign.StatusNotApplicable {
		t.Errorf("no URL: %v %v", res.Status, err)
	}
	srv.Close()
	dead := campaign.Target{AssetID: "x", Host: "127.0.0.1", Labels: map[string]string{LabelURLs: srv.URL + "/"}}
	if _, err := NewDefaultCreds(HTTPOptions{}).Run(context.Background(), campaign.Task{}, dead); err == nil {
		t.Error("an unreachable URL must be an error, not a pass")
	}
}

// basicAuthServer asks for basic authentication and accepts user:pass.
func basicAuthServer(user, pass string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="mgmt"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("console"))
	}))
}

func TestDefaultCredsOnBasicAuth(t *testing.T) {
	weak := basicAuthServer("tomcat", "tomcat")
	defer weak.Close()
	res, err := NewDefaultCreds(HTTPOptions{}).Run(context.Background(), campaign.Task{}, webTarget(t, weak))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || len(res.Findings) != 1 || res.Findings[0].Severity != campaign.SeverityHigh {
		t.Fatalf("tomcat/tomcat: %s %+v", res.Status, res.Findings)
	}
	strong := basicAuthServer("ops", "c0rrect-horse-battery")
	defer strong.Close()
	res, err = NewDefaultCreds(HTTPOptions{}).Run(context.Background(), campaign.Task{}, webTarget(t, strong))
	if err != nil || res.Status != campaign.StatusPassed || len(res.Findings) != 0 {
		t.Fatalf("strong password: %v %s %v", err, res.Status, res.Findings)
	}
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }))
	defer open.Close()
	res, err = NewDefaultCreds(HTTPOptions{}).Run(context.Background(), campaign.Task{}, webTarget(t, open))
	if err != nil || res.Status != campaign.StatusNotApplicable {
		t.Fatalf("no prompt: %v %s", err, res.Status)
	}
}

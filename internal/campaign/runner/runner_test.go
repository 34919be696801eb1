package runner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/campaigntest"
)

// now is the fake clock of the TLS checks.
var now = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func keys(fs []campaign.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	slices.Sort(out)
	return out
}

func finding(fs []campaign.Finding, key string) (campaign.Finding, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f, true
		}
	}
	return campaign.Finding{}, false
}

func TestTLSExpiredSelfSignedOldVersions(t *testing.T) {
	cert := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "old.test", DNSNames: []string{"old.test"},
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, 0, -10)})
	port := campaigntest.TLSServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12}) // #nosec G402 -- a deliberately weak test server
	r := NewTLS(TLSOptions{Now: func() time.Time { return now }, Timeout: 3 * time.Second})
	rep, err := r.Inspect(context.Background(), net.JoinHostPort("127.0.0.1", itoa(port)), "www.vigil.test")
	if err != nil {
		t.Fatal(err)
	}
	// The server was configured for TLS 1.0 to 1.2: exactly those must be seen.
	if want := []string{"TLS 1.0", "TLS 1.1", "TLS 1.2"}; !slices.Equal(rep.Versions, want) {
		t.Errorf("versions = %v, want %v", rep.Versions, want)
	}
	for _, k := range []string{"tls/cert-expired", "tls/self-signed", "tls/hostname-mismatch", "tls/version/tls1.0", "tls/version/tls1.1"} {
		if _, ok := finding(rep.Findings, k); !ok {
			t.Errorf("missing finding %s; got %v", k, keys(rep.Findings))
		}
	}
	if f, _ := finding(rep.Findings, "tls/cert-expired"); f.Severity != campaign.SeverityHigh {
		t.Errorf("expired certificate severity = %s, want high", f.Severity)
	}
	if _, ok := finding(rep.Findings, "tls/no-modern-version"); ok {
		t.Error("TLS 1.2 is accepted, yet no-modern-version was reported")
	}
}

func TestTLSTrustedModernPasses(t *testing.T) {
	ca := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "Vigil Test CA", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true})
	leaf := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "app.vigil.test", DNSNames: []string{"app.vigil.test"},
		NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), Parent: &ca})
	port := campaigntest.TLSServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	r := NewTLS(TLSOptions{Now: func() time.Time { return now }, Roots: roots})
	res, err := r.Run(context.Background(), campaign.Task{ID: "tls", Kind: campaign.TaskTLS},
		campaign.Target{AssetID: "a1", Host: "127.0.0.1", TLSPorts: []uint16{port}, ServerName: "app.vigil.test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusPassed || len(res.Findings) != 0 {
		t.Fatalf("status %s, findings %v; want passed with none", res.Status, keys(res.Findings))
	}
	// Without the CA in the roots the same server is untrusted, not self-signed.
	r2 := NewTLS(TLSOptions{Now: func() time.Time { return now }, Roots: x509.NewCertPool()})
	res, err = r2.Run(context.Background(), campaign.Task{ID: "tls", Kind: campaign.TaskTLS},
		campaign.Target{AssetID: "a1", Host: "127.0.0.1", TLSPorts: []uint16{port}, ServerName: "app.vigil.test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(res.Findings); !slices.Equal(got, []string{"tls/untrusted"}) {
		t.Errorf("findings = %v, want [tls/untrusted]", got)
	}
	// A week before expiry the certificate is flagged as expiring.
	r3 := NewTLS(TLSOptions{Now: func() time.Time { return leaf.Leaf.NotAfter.Add(-7 * 24 * time.Hour) }, Roots: roots})
	res, err = r3.Run(context.Background(), campaign.Task{ID: "tls", Kind: campaign.TaskTLS},
		campaign.Target{AssetID: "a1", Host: "127.0.0.1", TLSPorts: []uint16{port}, ServerName: "app.vigil.test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(res.Findings); !slices.Equal(got, []string{"tls/cert-expiring"}) {
		t.Errorf("findings = %v, want [tls/cert-expiring]", got)
	}
}

func TestTLSWeakSuites(t *testing.T) {
	// An RSA certificate is needed for RSA key exchange suites.
	cert := campaigntest.MakeCert(t, campaigntest.Cert{CommonName: "weak.vigil.test", RSABits: 1024,
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0)})
	// The server accepts only these suites at TLS 1.2: one strong, one
	// without forward secrecy, one broken (3DES).
	suites := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}
	port := campaigntest.TLSServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites}) // #nosec G402 -- a deliberately weak test server
	r := NewTLS(TLSOptions{Now: func() time.Time { return now }})
	rep, err := r.Inspect(context.Background(), net.JoinHostPort("127.0.0.1", itoa(port)), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tls.CipherSuiteName(tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA), tls.CipherSuiteName(tls.TLS_RSA_WITH_AES_128_GCM_SHA256)}
	got := slices.Sorted(slices.Values(rep.WeakSuites))
	if !slices.Equal(got, want) {
		t.Errorf("weak suites = %v, want %v", got, want)
	}
	if f, _ := finding(rep.Findings, "tls/suite/"+want[0]); f.Severity != campaign.SeverityHigh {
		t.Errorf("3DES severity = %q, want high", f.Severity)
	}
	if f, _ := finding(rep.Findings, "tls/weak-key"); f.Key == "" {
		t.Errorf("1024-bit RSA key not flagged; findings %v", keys(rep.Findings))
	}
}

func TestTLSUnreachableErrors(t *testing.T) {
	r := NewTLS(TLSOptions{Timeout: time.Second})
	_, err := r.Run(context.Background(), campaign.Task{ID: "tls"}, campaign.Target{AssetID: "a", Host: "127.0.0.1", TLSPorts: []uint16{campaigntest.FreePort(t)}})
	if err == nil {
		t.Fatal("a closed port must be an error, not a pass")
	}
	// A plain TCP listener that speaks no TLS: no handshake succeeds.
	l := campaigntest.Listen(t)
	if _, err := r.Run(context.Background(), campaign.Task{ID: "tls"}, campaign.Target{AssetID: "a", Host: "127.0.0.1", TLSPorts: []uint16{l.Port}}); err == nil {
		t.Fatal("a port without TLS must be an error")
	}
}

func TestPortsAgainstDesign(t *testing.T) {
	web := campaigntest.Listen(t)   // declared in the design
	risky := campaigntest.Listen(t) // stands in for 3389: open and not declared
	stray := campaigntest.Listen(t) // open, not risky, not declared
	gone := campaigntest.FreePort(t)
	p := NewPorts(PortsOptions{Timeout: time.Second})
	task := campaign.Task{ID: "ports", Kind: campaign.TaskExposedPorts, Params: map[string]string{
		ParamRiskyPorts: itoa(risky.Port), ParamPorts: itoa(stray.Port)}}
	target := campaign.Target{AssetID: "a1", Host: "127.0.0.1", DeclaredPorts: []uint16{web.Port, gone}}
	res, err := p.Run(context.Background(), task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed {
		t.Fatalf("status = %s, want failed", res.Status)
	}
	want := []string{"port/" + itoa(gone) + "/closed", "port/" + itoa(risky.Port), "port/" + itoa(stray.Port)}
	slices.Sort(want)
	if got := keys(res.Findings); !slices.Equal(got, want) {
		t.Fatalf("findings = %v, want %v", got, want)
	}
	if f, _ := finding(res.Findings, "port/"+itoa(risky.Port)); f.Severity != campaign.SeverityHigh {
		t.Errorf("risky port severity = %s, want high", f.Severity)
	}
	// Close the risky and the stray port: only the info note remains.
	risky.Close()
	stray.Close()
	res, err = p.Run(context.Background(), task, target)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusPassed {
		t.Fatalf("after the fix: status = %s, findings %v", res.Status, keys(res.Findings))
	}
}

func TestPortsBadTarget(t *testing.T) {
	p := NewPorts(PortsOptions{})
	if _, err := p.Run(context.Background(), campaign.Task{Params: map[string]string{ParamRiskyPorts: "3389"}}, campaign.Target{Host: "db.example"}); err == nil {
		t.Error("a host name must be refused")
	}
	if _, err := p.Run(context.Background(), campaign.Task{Params: map[string]string{ParamRiskyPorts: "70000"}}, campaign.Target{Host: "127.0.0.1"}); err == nil {
		t.Error("a bad port list must be refused")
	}
	if _, err := p.Run(context.Background(), campaign.Task{}, campaign.Target{Host: "127.0.0.1"}); err == nil {
		t.Error("nothing to scan must be an error")
	}
}

// debian7 is Wazuh's CIS Debian 7 policy from the corpus; check 1126
// requires "PermitRootLogin no" in /etc/ssh/sshd_config.
const debian7 = "../../../../shared/corpus/wazuh-sca/debian/cis_debian7.yml"

func loadPolicy(t *testing.T, name string) *baseline.Policy {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("corpus not available:", err)
	}
	p, err := baseline.Parse(data, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// debianRoot returns files of a Debian host root with the given sshd setting.
func debianRoot(permitRoot string) map[string]string {
	return map[string]string{
		"etc/debian_version":     "7.11\n",
		"proc/sys/kernel/ostype": "Linux\n",
		"etc/ssh/sshd_config":    "Protocol 2\nPermitRootLogin " + permitRoot + "\n",
	}
}

func TestBaselineOnCorpusPolicy(t *testing.T) {
	p := loadPolicy(t, debian7)
	b := NewBaseline(BaselineOptions{Policies: []*baseline.Policy{p}})
	task := campaign.Task{ID: "baseline", Kind: campaign.TaskBaseline, Params: map[string]string{ParamPolicy: p.ID, ParamChecks: "1126", ParamSeverity: "high"}}
	root := campaigntest.Root(t, debianRoot("yes"))
	res, err := b.Run(context.Background(), task, campaign.Target{AssetID: "h1", Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusFailed || len(res.Findings) != 1 || res.Findings[0].Key != "baseline/"+p.ID+"/1126" || res.Findings[0].Severity != campaign.SeverityHigh {
		t.Fatalf("got %+v", res)
	}
	campaigntest.WriteFiles(t, root, debianRoot("no"))
	res, err = b.Run(context.Background(), task, campaign.Target{AssetID: "h1", Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != campaign.StatusPassed {
		t.Fatalf("after the fix: %+v", res)
	}
	// A host the policy does not apply to errors instead of passing.
	other := campaigntest.Root(t, map[string]string{"etc/ssh/sshd_config": "PermitRootLogin no\n"})
	if _, err := b.Run(context.Background(), task, campaign.Target{AssetID: "h2", Root: other}); err == nil {
		t.Error("unmet requirements must be an error")
	}
	bad := task
	bad.Params = map[string]string{ParamPolicy: p.ID, ParamChecks: "999999"}
	if _, err := b.Run(context.Background(), bad, campaign.Target{AssetID: "h1", Root: root}); err == nil {
		t.Error("an unknown check id must be an error")
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

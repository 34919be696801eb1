package gmp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vuln/gmp/gmptest"
)

func newServer(t *testing.T, report []byte) *gmptest.Server {
	t.Helper()
	return gmptest.New(report, "admin", "s3cret<&>")
}

func listen(t *testing.T, s *gmptest.Server, l net.Listener) {
	t.Helper()
	t.Cleanup(func() { _ = l.Close() })
	s.Serve(l)
}

func corpusReport(t *testing.T, name string) []byte {
	t.Helper()
	p := testenv.RequireCorpus(t, filepath.Join("..", "..", "..", "..", "shared", "corpus", "defectdojo", "scans", "openvas", name))
	data, err := os.ReadFile(p) // #nosec G304 -- corpus sample
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func importOpenVAS(t *testing.T, data []byte) []vuln.Finding {
	t.Helper()
	imp, err := vuln.DefaultRegistry().Lookup("openvas")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := imp.Import(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestScanOverUnixSocket runs a whole scan over a Unix socket, as on a
// host running gvmd, and imports the report: it gives the same findings
// as the report file itself.
func TestScanOverUnixSocket(t *testing.T) {
	file := corpusReport(t, "many_vuln.xml")
	s := newServer(t, file)
	sock := filepath.Join(t.TempDir(), "gvmd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	listen(t, s, l)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Options{Network: "unix", Address: sock, Username: "admin", Password: "s3cret<&>"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	rep, err := c.Scan(ctx, ScanOptions{Name: "vigil tenant a", Hosts: []string{"192.0.2.10", "192.0.2.0/30"}, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got, want := importOpenVAS(t, rep), importOpenVAS(t, file)
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d findings from the GMP report, %d from the file", len(got), len(want))
	}
	for i := range got {
		if got[i].Fingerprint != want[i].Fingerprint || got[i].Title != want[i].Title {
			t.Fatalf("finding %d: %q %q, the file gives %q %q", i, got[i].Fingerprint, got[i].Title, want[i].Fingerprint, want[i].Title)
		}
	}
	wantLog := "authenticate create_target create_task start_task get_tasks get_tasks get_reports"
	if log := s.Log(); strings.Join(log, " ") != wantLog {
		t.Errorf("commands %v, want %s", log, wantLog)
	}
	for _, tk := range s.Tasks() {
		if tk.Config != ConfigFullAndFast || tk.Scanner != ScannerOpenVAS || tk.PortList != PortListAllTCPNmapUDP {
			t.Errorf("task config %q scanner %q port list %q", tk.Config, tk.Scanner, tk.PortList)
		}
		if strings.Join(tk.Hosts, ",") != "192.0.2.10,192.0.2.0/30" {
			t.Errorf("target hosts %v", tk.Hosts)
		}
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gvmd"},
		DNSNames: []string{"gvmd.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLS speaks GMP over TLS (gvmd's port 9390), verifying the server's
// certificate, and refuses a server it cannot verify.
func TestTLS(t *testing.T) {
	s := newServer(t, corpusReport(t, "report_detail_v2.xml"))
	cert, pool := selfSigned(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	listen(t, s, l)
	ctx := context.Background()
	o := Options{Network: "tcp", Address: l.Addr().String(), Username: "admin", Password: "s3cret<&>",
		TLS: &tls.Config{RootCAs: pool, ServerName: "gvmd.test", MinVersion: tls.VersionTLS12}}
	c, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	rep, err := c.Scan(ctx, ScanOptions{Name: "t", Hosts: []string{"192.0.2.1"}, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(importOpenVAS(t, rep)); n != 1 {
		t.Errorf("%d findings, DefectDojo counts 1 in report_detail_v2.xml", n)
	}
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "gvmd.test"}
	if _, err := Dial(ctx, o); err == nil {
		t.Error("an unverifiable server was accepted")
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t, []byte("<report/>"))
	sock := filepath.Join(t.TempDir(), "gvmd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	listen(t, s, l)
	ctx := context.Background()
	_, err = Dial(ctx, Options{Network: "unix", Address: sock, Username: "admin", Password: "wrong"})
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 400 || ge.Command != "authenticate" {
		t.Fatalf("wrong password: %v", err)
	}
	c, err := Dial(ctx, Options{Network: "unix", Address: sock, Username: "admin", Password: "s3cret<&>"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.CreateTask(ctx, Task{Name: "x", TargetID: "no-such-target"}); !errors.As(err, &ge) || ge.Status != 404 {
		t.Errorf("unknown target: %v", err)
	}
	if _, err := c.StartTask(ctx, "nope"); !errors.As(err, &ge) || ge.Status != 404 {
		t.Errorf("unknown task: %v", err)
	}
	// The session goes on after errors.
	if _, err := c.CreateTarget(ctx, Target{Name: "n", Hosts: []string{"192.0.2.1"}}); err != nil {
		t.Error(err)
	}
	if _, err := Dial(ctx, Options{Network: "udp", Address: sock}); err == nil {
		t.Error("udp accepted")
	}
}

// pipeConn is a connection that answers from a fixed byte stream.
type pipeConn struct {
	net.Conn
	r *bytes.Reader
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return len(b), nil }
func (p *pipeConn) SetDeadline(time.Time) error { return nil }
func (p *pipeConn) Close() error                { return nil }
func newPipe(data []byte, max int64) *Client {
	return NewClient(&pipeConn{r: bytes.NewReader(data)}, Options{MaxResponse: max})
}
func (c *Client) get(ctx context.Context) ([]byte, error) { return c.GetReport(ctx, "r") }

func TestBadResponses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, stream string }{
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><get_reports_response status="200"><report/></get_reports_response>`},
		{"truncated", `<get_reports_response status="200"><report><results>`},
		{"wrong response", `<get_tasks_response status="200"/>`},
		{"no status", `<get_reports_response><report/></get_reports_response>`},
		{"no report", `<get_reports_response status="200"><other/></get_reports_response>`},
		{"text outside", `hello <get_reports_response status="200"/>`},
		{"too large", `<get_reports_response status="200"><report>` + strings.Repeat("x", 5000) + `</report></get_reports_response>`},
	} {
		if _, err := newPipe([]byte(tc.stream), 4096).get(ctx); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// Two responses back to back on one stream are read one at a time.
	c := newPipe([]byte(`<?xml version="1.0"?><get_reports_response status="200" status_text="OK"><report id="1"><a/></report></get_reports_response>`+
		"\n"+`<get_reports_response status="200"><report id="2"/></get_reports_response>`), 4096)
	for _, want := range []string{`<report id="1"><a/></report>`, `<report id="2"/>`} {
		got, err := c.get(ctx)
		if err != nil || string(got) != want {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	}
}

// FuzzResponse feeds arbitrary streams to the response reader: it never
// panics and returns a report only from a 2xx get_reports response.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(`<get_reports_response status="200"><report id="1"/></get_reports_response>`))
	f.Add([]byte(`<get_reports_response status="404" status_text="Failed"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := newPipe(data, 1<<16).get(context.Background())
		if err == nil && !bytes.HasPrefix(rep, []byte("<report")) {
			t.Fatalf("report %q", rep)
		}
	})
}

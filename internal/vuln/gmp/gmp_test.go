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
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// server is a GMP server written from the protocol's documentation
// (GMP 22.4: authenticate, create_target, create_task, start_task,
// get_tasks, get_reports). It is not gvmd: it keeps its objects in memory,
// a task is "Running" for the first get_tasks after start_task and
// "Done" afterwards, and every report is the one it was given.
type server struct {
	user, pass string
	report     []byte // a <report> element in the XML report format

	mu      sync.Mutex
	targets map[string][]string // id → hosts
	tasks   map[string]*srvTask
	log     []string // command names in order
}

type srvTask struct {
	name, target, config, scanner, report string
	polls                                 int
	started                               bool
}

func newServer(t *testing.T, report []byte) *server {
	t.Helper()
	// A report file starts with an XML declaration, which cannot stand
	// inside a response.
	if bytes.HasPrefix(report, []byte("<?xml")) {
		report = report[bytes.Index(report, []byte("?>"))+2:]
	}
	return &server{user: "admin", pass: "s3cret<&>", report: bytes.TrimSpace(report),
		targets: map[string][]string{}, tasks: map[string]*srvTask{}}
}

// command is any GMP command element.
type command struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Creds   struct {
		Username string `xml:"username"`
		Password string `xml:"password"`
	} `xml:"credentials"`
	Name     string `xml:"name"`
	Hosts    string `xml:"hosts"`
	PortList struct {
		ID string `xml:"id,attr"`
	} `xml:"port_list"`
	Config struct {
		ID string `xml:"id,attr"`
	} `xml:"config"`
	Target struct {
		ID string `xml:"id,attr"`
	} `xml:"target"`
	Scanner struct {
		ID string `xml:"id,attr"`
	} `xml:"scanner"`
}

func (c *command) attr(name string) string {
	for _, a := range c.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (s *server) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	dec := xml.NewDecoder(conn)
	authed := false
	n := 0
	for {
		var c command
		if err := dec.Decode(&c); err != nil {
			return
		}
		n++
		name := c.XMLName.Local
		s.mu.Lock()
		s.log = append(s.log, name)
		resp := s.answer(&c, &authed, n)
		s.mu.Unlock()
		if _, err := conn.Write([]byte(resp + "\n")); err != nil {
			return
		}
	}
}

func status(name string, code int, text string) string {
	return fmt.Sprintf(`<%s_response status="%d" status_text="%s"/>`, name, code, text)
}

func (s *server) answer(c *command, authed *bool, n int) string {
	name := c.XMLName.Local
	if name == "authenticate" {
		if c.Creds.Username == s.user && c.Creds.Password == s.pass {
			*authed = true
			return `<authenticate_response status="200" status_text="OK"><role>Admin</role><timezone>UTC</timezone></authenticate_response>`
		}
		return status(name, 400, "Authentication failed")
	}
	if !*authed {
		return status(name, 401, "Authenticate first")
	}
	switch name {
	case "create_target":
		if c.Name == "" || c.Hosts == "" {
			return status(name, 400, "CREATE_TARGET requires a name and hosts")
		}
		id := fmt.Sprintf("target-%d", n)
		s.targets[id] = strings.Split(c.Hosts, ",")
		return fmt.Sprintf(`<create_target_response status="201" status_text="OK, resource created" id="%s"/>`, id)
	case "create_task":
		if _, ok := s.targets[c.Target.ID]; !ok {
			return status(name, 404, "Failed to find target")
		}
		id := fmt.Sprintf("task-%d", n)
		s.tasks[id] = &srvTask{name: c.Name, target: c.Target.ID, config: c.Config.ID, scanner: c.Scanner.ID}
		return fmt.Sprintf(`<create_task_response status="201" status_text="OK, resource created" id="%s"/>`, id)
	case "start_task":
		t, ok := s.tasks[c.attr("task_id")]
		if !ok {
			return status(name, 404, "Failed to find task")
		}
		t.started, t.report = true, fmt.Sprintf("report-%d", n)
		return fmt.Sprintf(`<start_task_response status="202" status_text="OK, request submitted"><report_id>%s</report_id></start_task_response>`, t.report)
	case "get_tasks":
		id := c.attr("task_id")
		t, ok := s.tasks[id]
		if !ok {
			return status(name, 404, "Failed to find task")
		}
		st, progress := "New", "-1"
		if t.started {
			t.polls++
			st, progress = "Running", "42"
			if t.polls > 1 {
				st, progress = "Done", "-1"
			}
		}
		return fmt.Sprintf(`<get_tasks_response status="200" status_text="OK"><apply_overrides>0</apply_overrides>`+
			`<task id="%s"><name>%s</name><status>%s</status><progress>%s</progress><last_report><report id="%s">`+
			`<timestamp>2026-01-01T00:00:00Z</timestamp></report></last_report></task>`+
			`<filters id=""><term>apply_overrides=0</term></filters><task_count>1<filtered>1</filtered></task_count></get_tasks_response>`,
			id, t.name, st, progress, t.report)
	case "get_reports":
		if c.attr("format_id") != FormatXML || c.attr("ignore_pagination") != "1" {
			return status(name, 400, "unexpected report request")
		}
		for _, t := range s.tasks {
			if t.report == c.attr("report_id") && t.polls > 1 {
				return `<get_reports_response status="200" status_text="OK">` + string(s.report) +
					`<filters id=""><term>rows=-1</term></filters><report_count>1</report_count></get_reports_response>`
			}
		}
		return status(name, 404, "Failed to find report")
	}
	return status(name, 400, "Bogus command name")
}

func listen(t *testing.T, s *server, l net.Listener) {
	t.Helper()
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	wantLog := "authenticate create_target create_task start_task get_tasks get_tasks get_reports"
	if strings.Join(s.log, " ") != wantLog {
		t.Errorf("commands %v, want %s", s.log, wantLog)
	}
	for _, tk := range s.tasks {
		if tk.config != ConfigFullAndFast || tk.scanner != ScannerOpenVAS {
			t.Errorf("task config %q scanner %q", tk.config, tk.scanner)
		}
		if h := s.targets[tk.target]; strings.Join(h, ",") != "192.0.2.10,192.0.2.0/30" {
			t.Errorf("target hosts %v", h)
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

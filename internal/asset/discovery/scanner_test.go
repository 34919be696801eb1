package discovery

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
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// Every server in these tests listens on 127.0.0.1 and every scan targets
// loopback only.

func portOf(t testing.TB, addr net.Addr) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

// serveRaw accepts connections on a loopback listener and runs handle on
// each until the test ends.
func serveRaw(t testing.TB, handle func(net.Conn)) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	return portOf(t, ln.Addr())
}

// bannerServer greets every client with banner, then waits for it to leave.
func bannerServer(t testing.TB, banner string) uint16 {
	return serveRaw(t, func(c net.Conn) {
		_, _ = io.WriteString(c, banner)
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<16))
	})
}

// redisLikeServer stays silent and answers any input with a RESP error.
func redisLikeServer(t testing.TB) uint16 {
	return serveRaw(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		if _, err := c.Read(buf); err != nil {
			return
		}
		_, _ = io.WriteString(c, "-ERR unknown command\r\n")
	})
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := portOf(t, ln.Addr())
	_ = ln.Close()
	return p
}

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "vigil-test", Organization: []string{"Vigil Test"}},
		DNSNames:     []string{"test.vigil.invalid", "alt.vigil.invalid"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type testServers struct {
	http, https, ssh, ftp, redis, closed uint16
}

func (s testServers) open() []uint16 {
	p := []uint16{s.http, s.https, s.ssh, s.ftp, s.redis}
	slices.Sort(p)
	return p
}

func (s testServers) all() []uint16 {
	p := append(s.open(), s.closed)
	slices.Sort(p)
	return p
}

func startServers(t testing.TB) testServers {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "VigilTest/1.0")
		_, _ = io.WriteString(w, "hello")
	})
	quiet := log.New(io.Discard, "", 0) // scans provoke handshake errors
	hs := httptest.NewUnstartedServer(h)
	hs.Config.ErrorLog = quiet
	hs.Start()
	t.Cleanup(hs.Close)
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = quiet
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return testServers{
		http:   portOf(t, hs.Listener.Addr()),
		https:  portOf(t, ts.Listener.Addr()),
		ssh:    bannerServer(t, "SSH-2.0-VigilTest_9.9\r\n"),
		ftp:    bannerServer(t, "220 VigilTest FTP server ready\r\n"),
		redis:  redisLikeServer(t),
		closed: closedPort(t),
	}
}

func loopbackTargets(t testing.TB, spec string) *Targets {
	t.Helper()
	tg, err := ParseTargets(context.Background(), []string{spec}, TargetOptions{Scope: loopback()})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func newTestScanner(t testing.TB, fingerprint bool) *Scanner {
	t.Helper()
	s, err := New(Options{
		Scope:       loopback(),
		Rate:        100_000,
		Concurrency: 16,
		Timeout:     3 * time.Second,
		BannerWait:  300 * time.Millisecond,
		Fingerprint: fingerprint,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scanAll(t testing.TB, s *Scanner, tg *Targets, ports []uint16) (map[uint16]Result, Summary) {
	t.Helper()
	got := map[uint16]Result{}
	sum, err := s.Scan(context.Background(), tg, ports, func(r Result) {
		if _, dup := got[r.Port]; dup {
			t.Errorf("port %d reported twice", r.Port)
		}
		got[r.Port] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, sum
}

func TestScanFindsAndFingerprints(t *testing.T) {
	srv := startServers(t)
	got, sum := scanAll(t, newTestScanner(t, true), loopbackTargets(t, "127.0.0.1"), srv.all())

	var open []uint16
	for p, r := range got {
		if r.Host != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("port %d: host %s", p, r.Host)
		}
		if r.State == Open {
			open = append(open, p)
		}
	}
	slices.Sort(open)
	if !slices.Equal(open, srv.open()) {
		t.Fatalf("open ports %v, want %v", open, srv.open())
	}
	if r := got[srv.closed]; r.State != Closed || r.Service != nil {
		t.Errorf("closed port: %+v", r)
	}
	if sum.Probed != 6 || sum.Open != 5 || sum.Closed != 1 || sum.Hosts != 1 {
		t.Errorf("summary %+v", sum)
	}

	svc := func(p uint16) *Service {
		t.Helper()
		s := got[p].Service
		if s == nil {
			t.Fatalf("port %d: no service", p)
		}
		return s
	}
	if s := svc(srv.http); s.Name != "http" || s.HTTP == nil || s.HTTP.Server != "VigilTest/1.0" || !strings.HasPrefix(s.HTTP.Status, "HTTP/1.") || !strings.Contains(s.HTTP.Status, "200") || s.TLS != nil {
		t.Errorf("http: %+v %+v", s, s.HTTP)
	}
	s := svc(srv.https)
	if s.Name != "https" || s.HTTP == nil || s.HTTP.Server != "VigilTest/1.0" || s.TLS == nil {
		t.Fatalf("https: %+v", s)
	}
	if !strings.Contains(s.TLS.Subject, "CN=vigil-test") || s.TLS.Issuer != s.TLS.Subject ||
		!slices.Equal(s.TLS.SANs, []string{"test.vigil.invalid", "alt.vigil.invalid", "127.0.0.1"}) ||
		!s.TLS.NotAfter.Equal(time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)) || !strings.HasPrefix(s.TLS.Version, "TLS 1.") {
		t.Errorf("tls: %+v", s.TLS)
	}
	if s := svc(srv.ssh); s.Name != "ssh" || s.Banner != "SSH-2.0-VigilTest_9.9" {
		t.Errorf("ssh: %+v", s)
	}
	if s := svc(srv.ftp); s.Name != "ftp" || s.Banner != "220 VigilTest FTP server ready" {
		t.Errorf("ftp: %+v", s)
	}
	if s := svc(srv.redis); s.Name != "redis" {
		t.Errorf("redis: %+v", s)
	}
}

func TestScanRefusesOutOfScope(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrOutOfScope) {
		t.Errorf("New without scope: %v", err)
	}
	// The targets are valid loopback addresses, but the scanner's own scope
	// is narrower: it must refuse before dialling anything.
	s, err := New(Options{Scope: NewScope(netip.MustParsePrefix("127.0.0.1/32"))})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = s.Scan(context.Background(), loopbackTargets(t, "127.0.0.1-2"), []uint16{closedPort(t)}, func(Result) { called = true })
	if !errors.Is(err, ErrOutOfScope) || !strings.Contains(err.Error(), "not inside scope") {
		t.Errorf("Scan: %v", err)
	}
	if called {
		t.Error("results emitted for a refused scan")
	}
}

func TestScanCancel(t *testing.T) {
	// A slow full-range scan, cancelled after its first result, must return.
	s, err := New(Options{Scope: loopback(), Rate: 200, Concurrency: 4, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	all, err := ParsePorts("-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := s.Scan(ctx, loopbackTargets(t, "127.0.0.1"), all, func(Result) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if sum.Probed == 0 || sum.Probed >= uint64(len(all)) {
		t.Errorf("probed %d of %d ports", sum.Probed, len(all))
	}

	// Already cancelled: nothing is probed.
	n := 0
	_, err = s.Scan(ctx, loopbackTargets(t, "127.0.0.1"), all, func(Result) { n++ })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("pre-cancelled scan: err %v, %d results", err, n)
	}
}

func TestClassifyHostileBanners(t *testing.T) {
	huge := bytes.Repeat([]byte("A"), 100_000)
	for _, b := range [][]byte{
		huge,
		[]byte("<script>alert(1)</script>\x00\xff\x1b[31m\r\n"),
		append([]byte("SSH-2.0-"), huge...),
	} {
		s := classify(b)
		if len(s.Banner) > maxBannerLen {
			t.Errorf("banner of %d bytes kept", len(s.Banner))
		}
		for _, c := range []byte(s.Banner) {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("control byte %#x kept in %q", c, s.Banner)
			}
		}
	}
	if s := classify([]byte("\x00\xff\r\n")); s.Banner != `\x00\xff` || s.Name != "unknown" {
		t.Errorf("binary banner: %+v", s)
	}
	mysql := append([]byte{0x0f, 0, 0, 0, 0x0a}, []byte("8.0.36\x00abcdefghi")...)
	mysql[0] = byte(len(mysql) - 4)
	if s := classify(mysql); s.Name != "mysql" || s.Banner != "8.0.36" {
		t.Errorf("mysql: %+v", s)
	}
	for in, want := range map[string]string{
		"220 mail.example ESMTP ready\r\n": "smtp",
		"* OK IMAP4rev1 ready\r\n":         "imap",
		"+OK POP3 ready\r\n":               "pop3",
		"INFO {\"server_id\":\"x\"}\r\n":   "nats",
		"-NOAUTH Authentication required.": "redis",
	} {
		if s := classify([]byte(in)); s.Name != want {
			t.Errorf("classify(%q) = %s, want %s", in, s.Name, want)
		}
	}
}

// nmapRun is the part of nmap's XML output the oracle needs.
type nmapRun struct {
	Hosts []struct {
		Ports []struct {
			ID    uint16 `xml:"portid,attr"`
			State struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// TestNmapOracle compares the open ports Vigil finds on 127.0.0.1 with
// those nmap's connect scan finds on the same ports.
func TestNmapOracle(t *testing.T) {
	nmap, err := exec.LookPath("nmap")
	if err != nil {
		testenv.Missing(t, "nmap")
	}
	srv := startServers(t)
	ports := srv.all()
	list := make([]string, len(ports))
	for i, p := range ports {
		list[i] = strconv.Itoa(int(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// #nosec G204 -- fixed nmap binary from PATH; the port list is built
	// from integers and the only target is loopback.
	out, err := exec.CommandContext(ctx, nmap, "-sT", "-Pn", "-n", "-p", strings.Join(list, ","), "-oX", "-", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	var run nmapRun
	if err := xml.Unmarshal(out, &run); err != nil {
		t.Fatalf("nmap XML: %v", err)
	}
	var want []uint16
	for _, h := range run.Hosts {
		for _, p := range h.Ports {
			if p.State.State == "open" {
				want = append(want, p.ID)
			}
		}
	}
	slices.Sort(want)

	got, _ := scanAll(t, newTestScanner(t, false), loopbackTargets(t, "127.0.0.1"), ports)
	var open []uint16
	for p, r := range got {
		if r.State == Open {
			open = append(open, p)
		}
	}
	slices.Sort(open)
	if !slices.Equal(open, want) {
		t.Errorf("vigil open %v, nmap open %v", open, want)
	}
	if !slices.Equal(want, srv.open()) {
		t.Errorf("nmap open %v, servers %v", want, srv.open())
	}
}

// BenchmarkScanClosedPorts connect-scans 1,000 loopback ports above the
// default ephemeral range, where nothing is expected to listen.
func BenchmarkScanClosedPorts(b *testing.B) {
	ports, err := ParsePorts("61000-61999")
	if err != nil {
		b.Fatal(err)
	}
	tg := loopbackTargets(b, "127.0.0.1")
	s, err := New(Options{Scope: loopback(), Rate: 10_000_000, Concurrency: 256, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var probed uint64
	for b.Loop() {
		sum, err := s.Scan(context.Background(), tg, ports, func(Result) {})
		if err != nil {
			b.Fatal(err)
		}
		probed += sum.Probed
	}
	b.ReportMetric(float64(probed)/b.Elapsed().Seconds(), "ports/s")
}

// classify names the service of a server's unasked first bytes.
func classify(b []byte) *Service {
	fp, err := parseFingerprints(fingerprintsYAML)
	if err != nil {
		panic(err)
	}
	svc, _ := fp.identify(answerBanner, b)
	return svc
}

package discovery

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// These tests start real servers from Debian's packages on loopback (on a
// free port of 127.0.0.1, where no port hint applies, and on the
// service's usual port of 127.0.0.2, where it does) and use the services
// the machine runs on 127.0.0.1 (Redis, MariaDB, RabbitMQ, Mosquitto). The
// expected version is what the Debian package says it installed.

// debVersion returns the upstream version of an installed Debian package
// ("5:7.0.15-1~deb12u10" gives "7.0.15"), or "" when it is not installed.
func debVersion(t *testing.T, pkg string) string {
	t.Helper()
	// #nosec G204 -- fixed dpkg-query, package names from the test.
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	v, _, _ = strings.Cut(v, "+")
	v, _, _ = strings.Cut(v, "~")
	return v
}

// startDaemon runs a server in the foreground until the test ends, waits
// until host:port accepts connections, and returns the file that has the
// server's output.
func startDaemon(t *testing.T, host string, port uint16, name string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
			bin = "/usr/sbin/" + name
		} else {
			testenv.Missing(t, name)
			return ""
		}
	}
	// #nosec G204 -- a fixed server binary; its arguments come from the test.
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM first: smbd then ends the children it forked, which a
		// SIGKILL would leave behind.
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = out.Close()
	})
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	for range 200 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return out.Name()
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(out.Name())
	t.Fatalf("%s did not listen on %s: %s", name, addr, log)
	return ""
}

// hostFree reports whether nothing listens on host:port.
func hostFree(host string, port uint16) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))), time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

type realService struct {
	name, host string
	port       uint16
	pkg        string // Debian package whose version the service reports
	want       string // service name
	product    string
	noVersion  bool // the protocol does not tell the version
}

// fingerprintOne scans one port of a real service with fingerprints on.
func fingerprintOne(t *testing.T, host string, port uint16) *Service {
	t.Helper()
	s, err := New(Options{Scope: loopback(), Rate: 10_000, Concurrency: 4, Timeout: 3 * time.Second,
		BannerWait: 300 * time.Millisecond, Fingerprint: true})
	if err != nil {
		t.Fatal(err)
	}
	var got *Result
	_, err = s.Scan(context.Background(), loopbackTargets(t, host), []uint16{port}, func(r Result) { got = &r })
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.State != Open || got.Service == nil {
		t.Fatalf("%s:%d: %+v", host, port, got)
	}
	return got.Service
}

func TestFingerprintRealServices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	dir := t.TempDir()
	var cases []realService
	add := func(c realService) { cases = append(cases, c) }

	// Redis, on a free port (PING before HTTP) and on 6379 (port hint).
	rp := closedPort(t)
	redisLog := startDaemon(t, "127.0.0.1", rp, "redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(int(rp)),
		"--save", "", "--appendonly", "no", "--dir", dir)
	add(realService{name: "redis", host: "127.0.0.1", port: rp, pkg: "redis-server", want: "redis", product: "Redis"})
	if hostFree("127.0.0.2", 6379) {
		startDaemon(t, "127.0.0.2", 6379, "redis-server", "--bind", "127.0.0.2", "--port", "6379",
			"--save", "", "--appendonly", "no", "--dir", dir)
		add(realService{name: "redis hinted", host: "127.0.0.2", port: 6379, pkg: "redis-server", want: "redis", product: "Redis"})
	}

	// memcached.
	mp := closedPort(t)
	startDaemon(t, "127.0.0.1", mp, "memcached", "-l", "127.0.0.1", "-p", strconv.Itoa(int(mp)), "-U", "0", "-u", "root")
	add(realService{name: "memcached", host: "127.0.0.1", port: mp, pkg: "memcached", want: "memcached", product: "memcached"})
	if hostFree("127.0.0.2", 11211) {
		startDaemon(t, "127.0.0.2", 11211, "memcached", "-l", "127.0.0.2", "-p", "11211", "-U", "0", "-u", "root")
		add(realService{name: "memcached hinted", host: "127.0.0.2", port: 11211, pkg: "memcached", want: "memcached", product: "memcached"})
	}

	// Mosquitto.
	qp := closedPort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	mconf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n", qp)
	if hostFree("127.0.0.2", 1883) {
		mconf += "listener 1883 127.0.0.2\n"
		add(realService{name: "mqtt hinted", host: "127.0.0.2", port: 1883, want: "mqtt", noVersion: true})
	}
	if err := os.WriteFile(conf, []byte(mconf), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "127.0.0.1", qp, "mosquitto", "-c", conf)
	add(realService{name: "mqtt", host: "127.0.0.1", port: qp, want: "mqtt", noVersion: true})

	// OpenLDAP: an anonymous bind needs no database.
	lp := closedPort(t)
	lconf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(lconf, []byte(fmt.Sprintf("pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", dir, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	urls := fmt.Sprintf("ldap://127.0.0.1:%d/", lp)
	if hostFree("127.0.0.2", 389) {
		urls += " ldap://127.0.0.2:389/"
		add(realService{name: "ldap hinted", host: "127.0.0.2", port: 389, want: "ldap", noVersion: true})
	}
	startDaemon(t, "127.0.0.1", lp, "slapd", "-d", "0", "-f", lconf, "-h", urls)
	add(realService{name: "ldap", host: "127.0.0.1", port: lp, want: "ldap", noVersion: true})

	// NATS speaks first.
	np := closedPort(t)
	startDaemon(t, "127.0.0.1", np, "nats-server", "-a", "127.0.0.1", "-p", strconv.Itoa(int(np)))
	add(realService{name: "nats", host: "127.0.0.1", port: np, pkg: "nats-server", want: "nats", product: "NATS"})

	// Samba's smbd on its usual port (smbd forks for each connection,
	// which on a loaded machine can take longer than the short wait of
	// the probes sent to a port without a hint): SMB2 only (Samba's
	// default), its own directories. The SMB2 negotiation names Samba (see
	// fingerprints.yaml) but not its version.
	const sp = 445
	if !hostFree("127.0.0.1", sp) {
		// The machine runs Samba itself (Debian starts it on install
		// where services may start): that one is scanned.
		add(realService{name: "machine samba", host: "127.0.0.1", port: sp, want: "smb", product: "Samba", noVersion: true})
	} else {
		startSamba(t, filepath.Join(dir, "samba"), sp)
		add(realService{name: "samba", host: "127.0.0.1", port: sp, want: "smb", product: "Samba", noVersion: true})
	}
	// xrdp on a free port: its X.224 Connection Confirm is an RDP
	// server's, which tells neither product nor version.
	xp := closedPort(t)
	cert := selfSigned(t)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	xdir := filepath.Join(dir, "xrdp")
	if err := os.MkdirAll(xdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		"xrdp.ini": fmt.Appendf(nil, "[Globals]\nini_version=1\nfork=false\nport=tcp://127.0.0.1:%d\nsecurity_layer=negotiate\n"+
			"crypt_level=high\ncertificate=%[2]s/cert.pem\nkey_file=%[2]s/key.pem\nssl_protocols=TLSv1.2, TLSv1.3\n"+
			"[Logging]\nLogFile=%[2]s/xrdp.log\nLogLevel=INFO\nEnableSyslog=false\n", xp, xdir),
	} {
		if err := os.WriteFile(filepath.Join(xdir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	startDaemon(t, "127.0.0.1", xp, "xrdp", "--nodaemon", "--config", filepath.Join(xdir, "xrdp.ini"))
	add(realService{name: "xrdp", host: "127.0.0.1", port: xp, want: "rdp", noVersion: true})
	if hostFree("127.0.0.2", 3389) {
		ini := filepath.Join(xdir, "xrdp-3389.ini")
		b, err := os.ReadFile(filepath.Join(xdir, "xrdp.ini"))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), fmt.Sprintf("127.0.0.1:%d", xp), "127.0.0.2:3389", 1))
		if err := os.WriteFile(ini, b, 0o600); err != nil {
			t.Fatal(err)
		}
		startDaemon(t, "127.0.0.2", 3389, "xrdp", "--nodaemon", "--config", ini)
		add(realService{name: "xrdp hinted", host: "127.0.0.2", port: 3389, want: "rdp", noVersion: true})
	}

	// The machine's own services.
	for _, m := range []realService{
		{name: "machine redis", host: "127.0.0.1", port: 6379, pkg: "redis-server", want: "redis", product: "Redis"},
		{name: "machine mariadb", host: "127.0.0.1", port: 3306, pkg: "mariadb-server", want: "mysql", product: "MariaDB"},
		{name: "machine rabbitmq", host: "127.0.0.1", port: 5672, pkg: "rabbitmq-server", want: "amqp", product: "RabbitMQ"},
		{name: "machine mosquitto", host: "127.0.0.1", port: 1883, want: "mqtt", noVersion: true},
	} {
		if hostFree(m.host, m.port) {
			testenv.Missing(t, fmt.Sprintf("%s on %s:%d", m.name, m.host, m.port))
			continue
		}
		add(m)
	}

	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			svc := fingerprintOne(t, c.host, c.port)
			if svc.Name != c.want || svc.Product != c.product {
				t.Fatalf("%s:%d: service %q product %q, want %q %q (%+v)", c.host, c.port, svc.Name, svc.Product, c.want, c.product, svc)
			}
			if c.noVersion {
				return
			}
			want := debVersion(t, c.pkg)
			if want == "" {
				t.Fatalf("package %s not installed", c.pkg)
			}
			if !strings.Contains(svc.Version, want) {
				t.Errorf("%s: version %q, package %s is %s", c.name, svc.Version, c.pkg, want)
			}
		})
	}
	// Redis answered PING before any HTTP request reached it: it logs an
	// HTTP request's Host: line as an attack.
	if log, err := os.ReadFile(redisLog); err != nil || strings.Contains(string(log), "SECURITY ATTACK") {
		t.Errorf("Redis saw an HTTP request (%v): %s", err, log)
	}
}

// startSamba runs smbd on 127.0.0.1:port with its files under sdir.
func startSamba(t *testing.T, sdir string, port uint16) {
	t.Helper()
	var sconf strings.Builder
	fmt.Fprintf(&sconf, "[global]\nserver role = standalone server\nnetbios name = VIGILTEST\nsmb ports = %d\n"+
		"interfaces = 127.0.0.1\nbind interfaces only = yes\ndisable netbios = yes\nload printers = no\n"+
		"printcap name = /dev/null\ndisable spoolss = yes\nlog level = 1\n", port)
	for _, d := range []string{"private dir", "lock directory", "state directory", "cache directory", "pid directory", "ncalrpc dir"} {
		p := filepath.Join(sdir, strings.ReplaceAll(d, " ", "-"))
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sconf, "%s = %s\n", d, p)
	}
	if err := os.WriteFile(filepath.Join(sdir, "smb.conf"), []byte(sconf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "127.0.0.1", port, "smbd", "-F", "--debug-stdout", "-s", filepath.Join(sdir, "smb.conf"))
}

// TestProbePayloads checks the length fields of the binary probes against
// the bytes sent, worked out by hand from each protocol's framing.
func TestProbePayloads(t *testing.T) {
	fp, err := parseFingerprints(fingerprintsYAML)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]byte{}
	for _, p := range fp.Probes {
		byName[p.Name] = p.payload
	}
	le32 := func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24 }
	be := func(b []byte) int {
		n := 0
		for _, c := range b {
			n = n<<8 | int(c)
		}
		return n
	}
	checks := []struct {
		probe      string
		length, of int // a length field's value and the bytes it covers
	}{
		{"mongodb", le32(byName["mongodb"]), len(byName["mongodb"])},
		// BSON document: from its length field to the end, less nothing.
		{"mongodb", le32(byName["mongodb"][len(byName["mongodb"])-19:]), 19},
		{"mqtt", int(byName["mqtt"][1]), len(byName["mqtt"]) - 2},
		{"ldap", int(byName["ldap"][1]), len(byName["ldap"]) - 2},
		{"smb", be(byName["smb"][1:4]), len(byName["smb"]) - 4},
		{"smb", int(byName["smb"][len(byName["smb"])-36]), 34}, // byte count of the dialects
		{"rdp", be(byName["rdp"][2:4]), len(byName["rdp"])},
		{"rdp", int(byName["rdp"][4]), 14}, // X.224 length indicator: 6 + 8-byte negotiation request
	}
	for _, c := range checks {
		if c.length != c.of {
			t.Errorf("%s: length field %d, payload part is %d bytes", c.probe, c.length, c.of)
		}
	}
	if got := string(byName["smb"][4:8]); got != "\xffSMB" {
		t.Errorf("smb header %q", got)
	}
}

// TestIdentifyBinaryAnswers names services from answers built by hand
// from the protocols' specifications, where Debian has no server to start
// (MongoDB) or the test does not start one (SMB, RDP).
func TestIdentifyBinaryAnswers(t *testing.T) {
	fp, err := parseFingerprints(fingerprintsYAML)
	if err != nil {
		t.Fatal(err)
	}
	// OP_REPLY to request 1: header, flags, cursor id, start, count, and a
	// BSON document {ismaster: true, maxWireVersion: 17}.
	le32 := func(n int) string { return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}) }
	elems := "\x08ismaster\x00\x01" + "\x10maxWireVersion\x00" + le32(17)
	doc := le32(4+len(elems)+1) + elems + "\x00"
	body := le32(0) + le32(0) + le32(0) + le32(0) + le32(1) + doc
	msg := le32(16+len(body)) + le32(7) + le32(1) + le32(1) + body
	for _, c := range []struct{ probe, answer, want string }{
		{"mongodb", msg, "mongodb"},
		{"smb", "\x00\x00\x00\x41\xfeSMB\x40\x00", "smb"},
		{"smb", "\x00\x00\x00\x55\xffSMB\x72\x00", "smb"},
		{"rdp", "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x02\x00\x00\x00", "rdp"},
		{"ldap", "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", "ldap"},
		{"http", "AMQP\x00\x00\x09\x01", "amqp"},
		// A probe's rule does not read another probe's answer.
		{"rdp", "\x00\x00\x00\x41\xfeSMB\x40\x00", ""},
		{"http", "\x20\x02\x00\x00", ""},
	} {
		svc, ok := fp.identify(c.probe, []byte(c.answer))
		if c.want == "" {
			if ok {
				t.Errorf("%s answer %q named %s", c.probe, c.answer, svc.Name)
			}
			continue
		}
		if !ok || svc.Name != c.want {
			t.Errorf("%s answer %q: %+v, want %s", c.probe, c.answer, svc, c.want)
		}
	}
}

func TestParseFingerprintsBad(t *testing.T) {
	for _, bad := range []string{
		"probes: [{name: x, send: ''}]",
		"probes: [{name: banner, send: a}]",
		"probes: [{name: x, send: a}, {name: x, send: b}]",
		"probes: [{name: x, send: \"\\u0100\"}]",
		"probes: [{name: x, send: a, ports: [0]}]",
		"services: [{name: x, pattern: '('}]",
		"services: [{name: x}]",
		"services: [{name: x, pattern: a, probes: [nope]}]",
		"services: [{name: x, pattern: a, extra: 1}]",
	} {
		if _, err := parseFingerprints([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzIdentify feeds arbitrary answers to every rule: nothing may panic
// and what is kept stays bounded and printable.
func FuzzIdentify(f *testing.F) {
	fp, err := parseFingerprints(fingerprintsYAML)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("banner", []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
	f.Add("redis", []byte("+PONG\r\n$10\r\n# Server\r\nredis_version:7.0.15\r\n"))
	f.Add("amqp", []byte("\x01\x00\x00\x00\x00\x00\x20\x00\x0a\x00\x0a\x00\x09\x07productS\x00\x00\x00\x08RabbitMQ\x07versionS\x00\x00\x00\x063.10.8"))
	f.Fuzz(func(t *testing.T, probe string, b []byte) {
		svc, _ := fp.identify(probe, b)
		for _, s := range []string{svc.Banner, svc.Product, svc.Version} {
			if len(s) > maxFieldLen {
				t.Fatalf("%d bytes kept", len(s))
			}
			for _, c := range []byte(s) {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("byte %#x kept in %q", c, s)
				}
			}
		}
	})
}

package discovery

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestMurmur3Vectors checks MurmurHash3_x86_32 against the published test
// vectors of the reference implementation.
func TestMurmur3Vectors(t *testing.T) {
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"", 0xffffffff, 0x81f16f39},
		{"", 42, 0x087fcd5c},
		{"\xff\xff\xff\xff", 0, 0x76293b50},
		{"\x21\x43\x65\x87", 0, 0xf55b516b},
		{"\x21\x43\x65\x87", 0x5082edee, 0x2362f9de},
		{"\x21\x43\x65", 0, 0x7e4a8634},
		{"\x21\x43", 0, 0xa0f7b07a},
		{"\x21", 0, 0x72661cf4},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
		{"\x00\x00\x00", 0, 0x85f0b427},
		{"\x00\x00", 0, 0x30f4c306},
		{"\x00", 0, 0x514e28b7},
		{"R", 0, 0x79b365c1},
		{"mB", 5489776, 0xe70207f0},
		{"[)<{vbjRgcp", 0, 0x100949f7},
		{"aaaa", 0x9747b28c, 0x5a97808a},
		{"Hello, world!", 0x9747b28c, 0x24884cba},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
	} {
		if got := murmur3x86_32([]byte(c.in), c.seed); got != c.want {
			t.Errorf("murmur3(%q, %#x) = %#08x, want %#08x", c.in, c.seed, got, c.want)
		}
	}
}

// refMimeBase64 is Python's base64.encodebytes as its documentation
// describes it: standard base64, a new line after every 76 characters of
// output, and a trailing new line; nothing for empty input.
func refMimeBase64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for i, c := range enc {
		sb.WriteRune(c)
		if (i+1)%76 == 0 {
			sb.WriteByte('\n')
		}
	}
	if len(enc)%76 != 0 {
		sb.WriteByte('\n')
	}
	return sb.String()
}

// refMurmur3 is a plain transcription of MurmurHash3_x86_32 with seed 0,
// written apart from the one under test.
func refMurmur3(b []byte) uint32 {
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	var h uint32
	nblocks := len(b) / 4
	for i := range nblocks {
		k := binary.LittleEndian.Uint32(b[4*i:])
		k = rotl(k*0xcc9e2d51, 15) * 0x1b873593
		h = rotl(h^k, 13)*5 + 0xe6546b64
	}
	tail := b[4*nblocks:]
	var k uint32
	for i := len(tail) - 1; i >= 0; i-- {
		k = k<<8 | uint32(tail[i])
	}
	if len(tail) > 0 {
		h ^= rotl(k*0xcc9e2d51, 15) * 0x1b873593
	}
	h ^= uint32(len(b))
	for _, m := range []struct {
		shift uint
		mul   uint32
	}{{16, 0x85ebca6b}, {13, 0xc2b2ae35}, {16, 1}} {
		h ^= h >> m.shift
		h *= m.mul
	}
	return h
}

func TestMimeBase64(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 1000, 4096} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		got := string(mimeBase64(b))
		if want := refMimeBase64(b); got != want {
			t.Fatalf("%d bytes: %q, want %q", n, got, want)
		}
		for _, line := range strings.SplitAfter(got, "\n") {
			if len(line) > 77 {
				t.Fatalf("%d bytes: line of %d", n, len(line))
			}
		}
	}
}

// pythonFaviconHash computes the hash with Python's own base64.encodebytes
// and a pure-Python MurmurHash3, when python3 is there.
func pythonFaviconHash(t *testing.T, icon []byte) (int32, bool) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		return 0, false
	}
	const script = `
import base64, sys
def mmh3(data):
    c1, c2, m = 0xcc9e2d51, 0x1b873593, 0xffffffff
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & m
    h, n = 0, len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i:i+4], "little")
        k = (rotl((k * c1) & m, 15) * c2) & m
        h = (rotl(h ^ k, 13) * 5 + 0xe6546b64) & m
    tail = data[n - n % 4:]
    if tail:
        k = int.from_bytes(tail, "little")
        h ^= (rotl((k * c1) & m, 15) * c2) & m
    h ^= n
    h ^= h >> 16; h = (h * 0x85ebca6b) & m
    h ^= h >> 13; h = (h * 0xc2b2ae35) & m
    h ^= h >> 16
    return h - (1 << 32) if h >= 1 << 31 else h
print(mmh3(base64.encodebytes(sys.stdin.buffer.read())))
`
	cmd := exec.Command(py, "-c", script) // #nosec G204 -- a fixed script
	cmd.Stdin = bytes.NewReader(icon)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 32)
	if err != nil {
		t.Fatalf("python3 said %q", out)
	}
	return int32(n), true
}

// testIcon is a PNG big enough for many base64 lines.
func testIcon(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), shade, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFaviconHashReference(t *testing.T) {
	icon := testIcon(t, 3)
	want := int32(refMurmur3([]byte(refMimeBase64(icon)))) // #nosec G115 -- signed, as the engines print it
	if got := FaviconHash(icon); got != want {
		t.Fatalf("FaviconHash %d, reference %d", got, want)
	}
	if py, ok := pythonFaviconHash(t, icon); ok && py != want {
		t.Fatalf("FaviconHash %d, Python %d", want, py)
	}
}

func TestPageInfo(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>  统一身份认证
	平台 </title><link rel="shortcut icon" href="/img/a.ico"></head><body>正文</body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, body, ctype, title, icon string
	}{
		{"utf-8 header", "<title>管理后台 &amp; Admin</title>", "text/html; charset=utf-8", "管理后台 & Admin", ""},
		{"gbk meta", gbk, "text/html", "统一身份认证 平台", "/img/a.ico"},
		{"gbk header", gbk, "text/html; charset=GBK", "统一身份认证 平台", "/img/a.ico"},
		{"title in body", "<html><body><title>late</title>", "", "late", ""},
		{"no title", "<html><body><h1>x</h1>", "", "", ""},
		{"hostile", "<title>\x00a\u202e<script>x</script>\x1b[31m</title><link rel=apple-touch-icon href=/t.png><link rel=icon href=/i.ico>", "text/html", "a<script>x</script>[31m", "/i.ico"},
		{"svg title", `<svg><title>in svg</title></svg><title>page</title>`, "text/html", "page", ""},
	} {
		title, icon := pageInfo([]byte(c.body), c.ctype)
		if title != c.title || icon != c.icon {
			t.Errorf("%s: title %q icon %q, want %q %q", c.name, title, icon, c.title, c.icon)
		}
	}
	long := "<title>" + strings.Repeat("长", 200) + "</title>"
	if title, _ := pageInfo([]byte(long), "text/html; charset=utf-8"); len(title) > maxFieldLen || !utf8.ValidString(title) || title == "" {
		t.Errorf("long title: %d bytes, valid %v", len(title), utf8.ValidString(title))
	}
}

func TestNextHop(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080/a/b")
	scope := loopback()
	for _, c := range []struct{ loc, next, why string }{
		{"/home/", "http://127.0.0.1:8080/home/", ""},
		{"c?x=1#frag", "http://127.0.0.1:8080/a/c?x=1", ""},
		{"https://127.0.0.2/", "https://127.0.0.2/", ""},
		{"//127.0.0.3:81/", "http://127.0.0.3:81/", ""},
		{"http://[::1]:9/", "http://[::1]:9/", ""},
		{"http://192.0.2.1/", "http://192.0.2.1/", redirOutOfScope},
		{"http://[::ffff:192.0.2.1]/", "http://[::ffff:192.0.2.1]/", redirOutOfScope},
		{"http://[fe80::1%25lo]/", "http://[fe80::1%25lo]/", redirOutOfScope},
		{"http://intranet.example/", "http://intranet.example/", redirHostName},
		{"http://127.0.0.1.nip.io/", "http://127.0.0.1.nip.io/", redirHostName},
		{"ftp://127.0.0.1/", "ftp://127.0.0.1/", redirScheme},
		{"javascript:alert(1)", "javascript:alert(1)", redirScheme},
		{"http://127.0.0.1:0/", "http://127.0.0.1:0/", redirBad},
		{"http://127.0.0.1:99999/", "", redirBad},
		{"", "", redirBad},
	} {
		next, why := nextHop(base, c.loc, scope)
		got := ""
		if next != nil {
			got = next.String()
		}
		if why != c.why || (c.next != "" && got != c.next) {
			t.Errorf("%q: %q %q, want %q %q", c.loc, got, why, c.next, c.why)
		}
	}
}

// TestHTTPProbeNginx scans real nginx servers on loopback: a redirect to
// a page with a title and an icon link, a GBK page with /favicon.ico,
// HTTP to HTTPS, and redirects that must not be followed.
func TestHTTPProbeNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	want := debVersion(t, "nginx")
	if want == "" {
		testenv.Missing(t, "nginx (Debian package)")
		return
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil { // #nosec G306 -- served by nginx's workers
			t.Fatal(err)
		}
	}
	const title = "运维管理平台 · Ops console"
	icon, icon2 := testIcon(t, 1), testIcon(t, 200)
	write("site/home/index.html", []byte(`<!doctype html><html><head><meta charset="utf-8"><title>`+title+
		`</title><link rel="icon" href="/static/v.ico"></head><body>hi</body></html>`))
	write("site/static/v.ico", icon)
	gbkTitle := "单点登录"
	gbkPage, err := simplifiedchinese.GBK.NewEncoder().String(`<html><head><meta charset="gbk"><title>` + gbkTitle + `</title></head></html>`)
	if err != nil {
		t.Fatal(err)
	}
	write("gbk/index.html", []byte(gbkPage))
	write("gbk/favicon.ico", icon2)
	cert := selfSigned(t)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	write("tls.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	write("tls.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))

	pRel, pGBK, pOut, pHTTP, pTLS, pName, pLoop := closedPort(t), closedPort(t), closedPort(t), closedPort(t), closedPort(t), closedPort(t), closedPort(t)
	pAny := closedPort(t)
	conf := fmt.Sprintf(`user root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { text/html html; image/x-icon ico; }
	server { listen 127.0.0.1:%[2]d; root %[1]s/site; absolute_redirect off; location = / { return 302 /home/; } }
	server { listen 127.0.0.1:%[3]d; root %[1]s/gbk; }
	server { listen 127.0.0.1:%[4]d; location / { return 301 http://192.0.2.1/elsewhere; } }
	server { listen 127.0.0.1:%[5]d; location / { return 301 https://127.0.0.1:%[6]d/home/; } }
	server { listen 127.0.0.1:%[6]d ssl; ssl_certificate %[1]s/tls.crt; ssl_certificate_key %[1]s/tls.key; root %[1]s/site; }
	server { listen 127.0.0.1:%[7]d; location / { return 302 http://intranet.vigil.invalid/; } }
	server { listen 127.0.0.1:%[8]d; absolute_redirect off; location / { return 302 /; } }
	server { listen 127.0.0.1:%[9]d; default_type text/html; location / { return 200 "<html><title>Any path</title></html>"; } }
}
`, dir, pRel, pGBK, pOut, pHTTP, pTLS, pName, pLoop, pAny)
	write("nginx.conf", []byte(conf))
	startDaemon(t, "127.0.0.1", pLoop, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir, "-g", "daemon off;")

	hash := func(b []byte) int32 {
		h := int32(refMurmur3([]byte(refMimeBase64(b)))) // #nosec G115 -- signed, as the engines print it
		if py, ok := pythonFaviconHash(t, b); ok && py != h {
			t.Fatalf("reference %d, Python %d", h, py)
		}
		return h
	}
	at := func(scheme string, port uint16, path string) string {
		return scheme + "://127.0.0.1:" + strconv.Itoa(int(port)) + path
	}
	for _, c := range []struct {
		name    string
		port    uint16
		service string
		title   string
		icon    []byte
		iconURL string
		chain   []Redirect
	}{
		{name: "redirect title icon link", port: pRel, service: "http", title: title, icon: icon, iconURL: at("http", pRel, "/static/v.ico"),
			chain: []Redirect{{URL: at("http", pRel, "/"), Status: 302, Location: at("http", pRel, "/home/")}}},
		{name: "gbk favicon.ico", port: pGBK, service: "http", title: gbkTitle, icon: icon2, iconURL: at("http", pGBK, "/favicon.ico")},
		// A redirect not followed leaves the title of nginx's own page.
		{name: "out of scope", port: pOut, service: "http", title: "301 Moved Permanently",
			chain: []Redirect{{URL: at("http", pOut, "/"), Status: 301, Location: "http://192.0.2.1/elsewhere", NotFollowed: redirOutOfScope}}},
		{name: "to https", port: pHTTP, service: "http", title: title, icon: icon, iconURL: at("https", pTLS, "/static/v.ico"),
			chain: []Redirect{{URL: at("http", pHTTP, "/"), Status: 301, Location: at("https", pTLS, "/home/")}}},
		// / has no index page (403) and the site no /favicon.ico.
		{name: "https", port: pTLS, service: "https", title: "403 Forbidden"},
		{name: "host name", port: pName, service: "http", title: "302 Found",
			chain: []Redirect{{URL: at("http", pName, "/"), Status: 302, Location: "http://intranet.vigil.invalid/", NotFollowed: redirHostName}}},
		// The same page for every path: /favicon.ico is no icon.
		{name: "soft 404", port: pAny, service: "http", title: "Any path"},
		{name: "loop", port: pLoop, service: "http", title: "302 Found",
			chain: []Redirect{{URL: at("http", pLoop, "/"), Status: 302, Location: at("http", pLoop, "/"), NotFollowed: redirLoop}}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			svc := fingerprintOne(t, "127.0.0.1", c.port)
			if svc.Name != c.service || svc.Product != "nginx" || svc.Version != want || svc.HTTP == nil {
				t.Fatalf("service %q %q %q, want %s nginx %s (%+v)", svc.Name, svc.Product, svc.Version, c.service, want, svc.HTTP)
			}
			h := svc.HTTP
			if h.Title != c.title {
				t.Errorf("title %q, want %q", h.Title, c.title)
			}
			if fmt.Sprint(h.Redirects) != fmt.Sprint(c.chain) {
				t.Errorf("chain %+v, want %+v", h.Redirects, c.chain)
			}
			switch {
			case c.icon == nil:
				if h.FaviconHash != nil {
					t.Errorf("icon %d at %s, want none", *h.FaviconHash, h.FaviconURL)
				}
			default:
				if h.FaviconHash == nil || *h.FaviconHash != hash(c.icon) || h.FaviconURL != c.iconURL {
					got := "none"
					if h.FaviconHash != nil {
						got = strconv.Itoa(int(*h.FaviconHash))
					}
					t.Errorf("icon %s at %q, want %d at %q", got, h.FaviconURL, hash(c.icon), c.iconURL)
				}
			}
		})
	}
	// Nothing was fetched outside the scope: the access log names only
	// loopback hosts, and 192.0.2.1 got no connection (it is not routed
	// here, and the probe never dials it).
	if log, err := os.ReadFile(filepath.Join(dir, "access.log")); err == nil && strings.Contains(string(log), "192.0.2.1") {
		t.Errorf("access log: %s", log)
	}
}

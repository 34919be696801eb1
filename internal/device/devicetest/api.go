package devicetest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// APIDevice is a loopback HTTPS server answering a vendor's configuration
// backup API the way the vendor documents it:
//
//   - FortiOS: GET /api/v2/monitor/system/config/backup?scope=global
//     with "Authorization: Bearer <token>" returns the configuration
//     file as text; releases that take the backup by POST (PostOnly)
//     answer GET with 405 and take POST with the JSON body
//     {"scope":"global"}; a bad token is 401 with a JSON status body.
//   - PAN-OS: GET /api/?type=export&category=configuration with the key
//     in the X-PAN-KEY header (or key=) returns the <config> document;
//     a bad key is 403 with <response status="error" code="403">.
type APIDevice struct {
	// Set by StartAPI.
	Addr        string         // host:port
	Fingerprint string         // SHA-256 of its certificate, hex
	Roots       *x509.CertPool // a pool that trusts its certificate

	Vendor   string // "fortios" or "panos"
	Token    string
	PostOnly bool // FortiOS: backup by POST only

	mu       sync.Mutex
	config   string
	requests int
	// Handler, when set, answers instead (hostile devices).
	handler http.HandlerFunc
}

// StartAPI starts a fake device API on a loopback port; it stops when the
// test ends.
func StartAPI(t testing.TB, vendor, token, config string) *APIDevice {
	t.Helper()
	d := &APIDevice{Vendor: vendor, Token: token, config: config}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d.Addr = strings.TrimPrefix(srv.URL, "https://")
	cert := srv.Certificate()
	sum := sha256.Sum256(cert.Raw)
	d.Fingerprint = hex.EncodeToString(sum[:])
	d.Roots = x509.NewCertPool()
	d.Roots.AddCert(cert)
	return d
}

// SetConfig replaces the configuration it serves.
func (d *APIDevice) SetConfig(s string) {
	d.mu.Lock()
	d.config = s
	d.mu.Unlock()
}

// SetPostOnly switches a FortiOS device to POST-only backups.
func (d *APIDevice) SetPostOnly(v bool) {
	d.mu.Lock()
	d.PostOnly = v
	d.mu.Unlock()
}

// SetHandler makes the device answer with h instead.
func (d *APIDevice) SetHandler(h http.HandlerFunc) {
	d.mu.Lock()
	d.handler = h
	d.mu.Unlock()
}

// Requests counts the requests it answered.
func (d *APIDevice) Requests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests
}

func (d *APIDevice) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.requests++
	cfg, post, h := d.config, d.PostOnly, d.handler
	d.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	switch d.Vendor {
	case "fortios":
		d.fortios(w, r, cfg, post)
	case "panos":
		d.panos(w, r, cfg)
	default:
		http.NotFound(w, r)
	}
}

func fortiStatus(w http.ResponseWriter, r *http.Request, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"http_method": r.Method, "status": "error", "http_status": code,
		"path": "system", "name": "config", "action": "backup"})
}

func (d *APIDevice) fortios(w http.ResponseWriter, r *http.Request, cfg string, post bool) {
	if r.URL.Path != "/api/v2/monitor/system/config/backup" {
		fortiStatus(w, r, http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+d.Token {
		fortiStatus(w, r, http.StatusUnauthorized)
		return
	}
	scope := r.URL.Query().Get("scope")
	switch {
	case r.Method == http.MethodGet && !post:
	case r.Method == http.MethodPost && post:
		var body struct {
			Scope string `json:"scope"`
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		if json.Unmarshal(b, &body) != nil {
			fortiStatus(w, r, http.StatusBadRequest)
			return
		}
		scope = body.Scope
	default:
		fortiStatus(w, r, http.StatusMethodNotAllowed)
		return
	}
	if scope != "global" && scope != "vdom" {
		fortiStatus(w, r, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="backup.conf"`)
	_, _ = io.WriteString(w, cfg)
}

func (d *APIDevice) panos(w http.ResponseWriter, r *http.Request, cfg string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	q := r.URL.Query()
	key := r.Header.Get("X-PAN-KEY")
	if key == "" {
		key = q.Get("key")
	}
	switch {
	case r.URL.Path != "/api/" && r.URL.Path != "/api":
		http.NotFound(w, r)
	case key != d.Token:
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>`)
	case q.Get("type") != "export" || q.Get("category") != "configuration":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `<response status="error" code="400"><result><msg>Unsupported request</msg></result></response>`)
	default:
		_, _ = io.WriteString(w, cfg)
	}
}

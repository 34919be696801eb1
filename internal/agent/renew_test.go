package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRenewalDue: due from two thirds of the lifetime on, worked by hand
// for a three-hour certificate (due at two hours).
func TestRenewalDue(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(3 * time.Hour)}
	for at, want := range map[time.Duration]bool{0: false, 2*time.Hour - time.Second: false, 2 * time.Hour: true, 4 * time.Hour: true} {
		if got := RenewalDue(c, t0.Add(at)); got != want {
			t.Errorf("at +%v: due %v, want %v", at, got, want)
		}
	}
}

// recordingRenewer answers a fixed certificate, or refuses a request
// without a certificate as the fleet does.
type recordingRenewer struct{ got []RenewRequest }

func (r *recordingRenewer) Renew(_ context.Context, tenantID string, presented *x509.Certificate, req RenewRequest) (RenewResponse, error) {
	r.got = append(r.got, req)
	if presented == nil {
		return RenewResponse{}, ErrRenewRefused
	}
	return RenewResponse{Certificate: "c", CACertificate: "ca"}, nil
}

// TestRenewHandler: a bad body is 400 (and never reaches the renewer), an
// oversized one 413, a request for another agent than the header 400, and
// a well-formed one without a client certificate 401.
func TestRenewHandler(t *testing.T) {
	_, csr, err := newClientKey(testAgentID)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(RenewRequest{Schema: RenewSchema, AgentID: testAgentID, CSR: string(csr)})
	rn := &recordingRenewer{}
	h := NewRenewHandler(rn, HandlerOptions{Authenticate: bearer})
	for _, c := range []struct {
		name, body string
		want       int
	}{
		{"no certificate presented", string(good), http.StatusUnauthorized},
		{"not JSON", "{", http.StatusBadRequest},
		{"unknown field", strings.Replace(string(good), `"schema"`, `"x":1,"schema"`, 1), http.StatusBadRequest},
		{"wrong schema", strings.Replace(string(good), RenewSchema, "vigil.agent.renew/v9", 1), http.StatusBadRequest},
		{"no csr", `{"schema":"` + RenewSchema + `","agent_id":"` + testAgentID + `","csr":""}`, http.StatusBadRequest},
		{"another agent", strings.Replace(string(good), testAgentID, "6f1d1f4e-8b1c-4f57-9a51-0c2d7e6b9a10", 1), http.StatusBadRequest},
		{"oversized", `{"schema":"` + strings.Repeat("x", 20<<10) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		r := httptest.NewRequest(http.MethodPost, RenewPath, strings.NewReader(c.body))
		r.Header.Set("Authorization", "Bearer "+testToken)
		r.Header.Set("X-Vigil-Agent", testAgentID)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s: %d %s; want %d", c.name, w.Code, w.Body, c.want)
		}
	}
	if len(rn.got) != 1 {
		t.Errorf("the renewer saw %d requests; want only the well-formed one", len(rn.got))
	}
}

func FuzzRenewRequest(f *testing.F) {
	_, csr, err := newClientKey(testAgentID)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(RenewRequest{Schema: RenewSchema, AgentID: testAgentID, CSR: string(csr)})
	f.Add(good)
	h := NewRenewHandler(&recordingRenewer{}, HandlerOptions{Authenticate: bearer})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, RenewPath, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// writeSelfSigned writes a key and a self-signed certificate named cn
// into dir as the agent's client certificate files.
func writeSelfSigned(t *testing.T, dir, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := writeFileAtomic(filepath.Join(dir, ClientKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ClientCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		t.Fatal(err)
	}
}

// TestCertSourceReloads: the TLS client's certificate follows the files
// (a renewal replaces them), and a certificate file that does not load
// (a renewal half written) keeps the one loaded before.
func TestCertSourceReloads(t *testing.T) {
	dir := t.TempDir()
	src := &certSource{dir: dir}
	cn := func() string {
		t.Helper()
		c, err := src.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Certificate) == 0 {
			return ""
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	if got := cn(); got != "" {
		t.Fatalf("no files: %q", got)
	}
	writeSelfSigned(t, dir, "first")
	if got := cn(); got != "first" {
		t.Fatalf("got %q, want first", got)
	}
	writeSelfSigned(t, dir, "second")
	if got := cn(); got != "second" {
		t.Fatalf("after renewal got %q, want second", got)
	}
	if err := os.WriteFile(filepath.Join(dir, ClientCertFile), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cn(); got != "second" {
		t.Fatalf("broken file: got %q, want second kept", got)
	}
}

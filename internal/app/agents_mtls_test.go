package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

// testPKI writes a CA and a server certificate for 127.0.0.1 signed by it
// into dir, and returns the paths of the CA, the server certificate and
// its key.
func testPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test server CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for p, blk := range map[string]*pem.Block{caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// TestAgentMutualTLS runs the agent listener with agent_mtls on a real
// TLS socket on loopback: enrolment (without a client certificate) gives
// each agent a certificate for the key it made; an enrolled agent with
// its certificate is served; without a certificate, with another agent's
// certificate and its own credential, or with a certificate from another
// CA, it is refused; once revoked, its certificate fails the handshake.
func TestAgentMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := testPKI(t, dir)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.AgentAddr, cfg.AgentTLSCert, cfg.AgentTLSKey, cfg.AgentMTLS = "127.0.0.1:0", certFile, keyFile, true
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.ServeAgents(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	server := "https://" + ln.Addr().String()

	_, token, err := a.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "mtls", MaxUses: 2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	enrol := func(name string) (string, agent.Credential) {
		t.Helper()
		d := filepath.Join(dir, name)
		hc, err := agent.HTTPClient(d, caFile)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := agent.Enrol(t.Context(), agent.EnrolOptions{Server: server, Token: token, DataDir: d, Hostname: name, HTTP: hc})
		if err != nil {
			t.Fatalf("enrol %s: %v", name, err)
		}
		if st, err := os.Stat(filepath.Join(d, agent.ClientKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s key file: %v %v", name, st, err)
		}
		c, err := agent.LoadClientCert(d)
		if err != nil || c == nil {
			t.Fatalf("%s certificate: %v", name, err)
		}
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		if tn, id, ok := agent.CertIdentity(leaf); !ok || tn != acme.ID || id != cred.AgentID {
			t.Fatalf("%s certificate names %s/%s", name, tn, id)
		}
		return d, cred
	}
	// A refused certificate request does not use up the token (it is
	// good for two agents, both enrolled below).
	bad := agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: "6f1d1f4e-8b1c-4f57-9a51-0c2d7e6b9a10", Hostname: "x",
		CSR: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}
	if _, err := a.Fleet.Enrol(t.Context(), token, bad); !errors.Is(err, agent.ErrEnrolInvalid) {
		t.Fatalf("enrol with a broken request: %v", err)
	}
	dirA, credA := enrol("web-a")
	dirB, _ := enrol("web-b")

	body := []byte(`{"message":"over mutual TLS"}` + "\n")
	post := func(hc *http.Client) error {
		c := &agent.Client{Server: server, Token: credA.Token, AgentID: credA.AgentID, HTTP: hc}
		_, err := c.Post(t.Context(), agent.AgentEventsPath, "application/x-ndjson", "", body)
		return err
	}
	client := func(certDir string) *http.Client {
		t.Helper()
		hc, err := agent.HTTPClient(certDir, caFile)
		if err != nil {
			t.Fatal(err)
		}
		return hc
	}
	refused := func(what string, err error) {
		t.Helper()
		var se *agent.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Errorf("%s: %v; want 401", what, err)
		}
	}

	if err := post(client(dirA)); err != nil {
		t.Fatalf("enrolled agent with its certificate: %v", err)
	}
	refused("no client certificate", post(client(filepath.Join(dir, "empty"))))
	refused("another agent's certificate with this agent's credential", post(client(dirB)))

	// A certificate from a CA that is not the node's fails the handshake.
	other, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	foreign := client(filepath.Join(dir, "empty"))
	// Sent whatever CAs the server asks for.
	foreign.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &other, nil
	}
	err = post(foreign)
	var se *agent.StatusError
	if err == nil || errors.As(err, &se) {
		t.Errorf("a certificate the node did not issue: %v; want the handshake to fail", err)
	}

	if err := a.Fleet.RevokeAgent(actx, acme.ID, credA.AgentID); err != nil {
		t.Fatal(err)
	}
	// A revoked agent's certificate is on the revocation list: the
	// handshake fails before any request is read.
	err = post(client(dirA))
	if err == nil || errors.As(err, &se) {
		t.Errorf("revoked agent with its certificate: %v; want the handshake to fail", err)
	}

	// Only the one accepted request was stored.
	n, err := a.Store.Events().Count(t.Context(), acme.ID, store.EventQuery{})
	if err != nil || n != 1 {
		t.Fatalf("events stored: %d %v; want 1", n, err)
	}
}

package agent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of an enrolled agent's client certificate in its data directory:
// the private key (made on the host at enrolment, never sent; mode 0600),
// the certificate the server issued for it, and the CA that issued it.
const (
	ClientKeyFile  = "agent.key"
	ClientCertFile = "agent.crt"
	ClientCAFile   = "agent-ca.crt"
)

// identityScheme starts the URI SAN that names an agent certificate's
// tenant and agent.
const identityScheme = "urn:vigil:agent:"

// CertIdentityURI is the URI SAN of the client certificate of agentID in
// tenantID.
func CertIdentityURI(tenantID, agentID string) string {
	return identityScheme + tenantID + ":" + agentID
}

// CertIdentity returns the tenant and agent an agent certificate names:
// exactly one URI SAN CertIdentityURI(tenant, agent) and the agent as the
// subject's common name; ok is false for any other certificate.
func CertIdentity(cert *x509.Certificate) (tenantID, agentID string, ok bool) {
	if cert == nil || len(cert.URIs) != 1 {
		return "", "", false
	}
	rest, found := strings.CutPrefix(cert.URIs[0].String(), identityScheme)
	if !found {
		return "", "", false
	}
	tenantID, agentID, found = strings.Cut(rest, ":")
	if !found || tenantID == "" || agentID == "" || agentID != cert.Subject.CommonName {
		return "", "", false
	}
	return tenantID, agentID, true
}

// newClientKey makes the agent's key (ECDSA P-256) and a certificate
// request for it, both PEM-encoded.
func newClientKey(agentID string) (keyPEM, csrPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: agentID}}, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// saveClientCert checks the certificate the server issued (for this key,
// naming this tenant and agent, for client authentication, signed by the
// CA sent with it) and saves key, certificate and CA.
func saveClientCert(dir string, keyPEM []byte, certPEM, caPEM, tenantID, agentID string, now time.Time) error {
	pair, err := tls.X509KeyPair([]byte(certPEM), keyPEM)
	if err != nil {
		return fmt.Errorf("the server's certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("the server's certificate: %w", err)
	}
	if t, a, ok := CertIdentity(leaf); !ok || t != tenantID || a != agentID {
		return errors.New("the server's certificate does not name this agent")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(caPEM)) {
		return errors.New("the server sent no CA certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("the server's certificate: %w", err)
	}
	for name, b := range map[string][]byte{ClientKeyFile: keyPEM, ClientCertFile: []byte(certPEM), ClientCAFile: []byte(caPEM)} {
		if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	return nil
}

// removeClientCert removes a certificate of an earlier enrolment, which
// no longer goes with the agent's credential.
func removeClientCert(dir string) error {
	for _, name := range []string{ClientKeyFile, ClientCertFile, ClientCAFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// maxPEMFile bounds the certificate and key files the agent reads.
const maxPEMFile = 64 << 10

func readPrivate(p string, private bool) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if private && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %v); chmod 600 it", p, st.Mode().Perm())
	}
	if st.Size() > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, maxPEMFile)
	}
	return os.ReadFile(p) // #nosec G304 -- the agent's own data directory or the operator's CA file
}

// LoadClientCert returns the client certificate saved at enrolment; nil
// (and no error) when the agent has none.
func LoadClientCert(dir string) (*tls.Certificate, error) {
	certPEM, err := readPrivate(filepath.Join(dir, ClientCertFile), false)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent certificate: %w", err)
	}
	keyPEM, err := readPrivate(filepath.Join(dir, ClientKeyFile), true)
	if err != nil {
		return nil, fmt.Errorf("agent key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("agent certificate: %w", err)
	}
	return &pair, nil
}

// HTTPClient returns the agent's HTTP client: it presents the client
// certificate of dir when the agent has one, and trusts the CA
// certificates of serverCAFile (PEM) for the server when given, else the
// system's.
func HTTPClient(dir, serverCAFile string) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if _, err := LoadClientCert(dir); err != nil {
		return nil, err
	}
	// Read on each handshake (again when the files changed), so the same
	// client presents the certificate of a later enrolment or renewal.
	src := &certSource{dir: dir}
	cfg.GetClientCertificate = src.get
	if serverCAFile != "" {
		b, err := readPrivate(serverCAFile, false)
		if err != nil {
			return nil, fmt.Errorf("server CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(b)) {
			return nil, fmt.Errorf("server CA: %s holds no PEM certificate", serverCAFile)
		}
		cfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}, nil
}

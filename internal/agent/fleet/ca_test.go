package fleet

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
)

func csrFor(t testing.TB, key any, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{"evil.example"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestCAIssue: the CA survives its PEM form; a certificate it issues
// names the tenant and agent given (not what the request asked for),
// verifies against the CA for client authentication only.
func TestCAIssue(t *testing.T) {
	now := time.Now()
	ca, both, err := newCA(now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseCA(both)
	if err != nil || !again.cert.Equal(ca.cert) || !again.key.Equal(ca.key) {
		t.Fatalf("CA round trip: %v", err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := ParseCSR(csrFor(t, key, "someone-else"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := again.Issue(csr, "tenant-1", "agent-1", now)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if tn, id, ok := agent.CertIdentity(cert); !ok || tn != "tenant-1" || id != "agent-1" {
		t.Fatalf("identity %q %q %v", tn, id, ok)
	}
	if len(cert.DNSNames) != 0 || cert.IsCA {
		t.Fatalf("the certificate took what the request asked for: %v", cert.DNSNames)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("verify as client: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Fatal("an agent certificate verifies as a server certificate")
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatal("the certificate is not for the request's key")
	}
}

func TestParseCSRRefuses(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	good := csrFor(t, ec, "a")
	if _, err := ParseCSR(csrFor(t, edKey, "a")); err != nil {
		t.Errorf("Ed25519: %v", err)
	}
	blk, _ := pem.Decode([]byte(good))
	tampered := append([]byte(nil), blk.Bytes...)
	tampered[len(tampered)-3] ^= 0xff
	for name, in := range map[string]string{
		"empty":          "",
		"not pem":        "hello",
		"certificate":    strings.ReplaceAll(good, "CERTIFICATE REQUEST", "CERTIFICATE"),
		"two blocks":     good + good,
		"trailing text":  good + "x",
		"bad signature":  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})),
		"P-384":          csrFor(t, ec384, "a"),
		"RSA":            csrFor(t, rsaKey, "a"),
		"too large":      good + strings.Repeat(" ", MaxCSR),
		"garbage in pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("nope")})),
	} {
		if _, err := ParseCSR(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseCSR: no input panics, and a request that parses has a key the
// CA can issue a certificate for.
func FuzzParseCSR(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(csrFor(f, ec, "a"))
	ca, _, err := newCA(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		csr, err := ParseCSR(in)
		if err != nil {
			return
		}
		if _, err := ca.Issue(csr, "t", "a", time.Now()); err != nil {
			t.Fatalf("parsed request not issuable: %v", err)
		}
	})
}

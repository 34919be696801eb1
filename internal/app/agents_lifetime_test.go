package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/config"
)

// TestAgentCertLifetimeFromConfig opens a node whose configuration sets
// agent_cert_lifetime and enrols an agent with a certificate request:
// the issued certificate is valid for that lifetime (from an hour before
// issue, for clock skew, to the lifetime after it).
func TestAgentCertLifetimeFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.AgentCertLifetime = 10*24*time.Hour + 30*time.Minute
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	_, token, err := a.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "lifetime", MaxUses: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	ans, err := a.Fleet.Enrol(t.Context(), token, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: uuid.NewString(),
		Hostname: "web-01", CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(ans.Certificate))
	if blk == nil {
		t.Fatalf("no certificate issued: %+v", ans)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	const skew = time.Hour // NotBefore is an hour before issue
	if got := cert.NotAfter.Sub(cert.NotBefore) - skew; got != cfg.AgentCertLifetime {
		t.Errorf("certificate valid for %v (after the hour of skew), configured %v", got, cfg.AgentCertLifetime)
	}
}

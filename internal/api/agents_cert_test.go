package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/secret"
)

// TestAgentListCertificate: the agent list gives each agent's newest
// client certificate, as issued (serial, validity), and its revocation.
func TestAgentListCertificate(t *testing.T) {
	h := newHarness(t)
	key := make([]byte, secret.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	fl := fleet.New(h.env.Store, h.env.Audit, fleet.Options{Box: box, CertValidity: 48 * time.Hour})
	h.srv.opts.Agents = fl
	ctx := h.env.AdminCtx(t.Context())
	_, tok, err := fl.CreateEnrolment(ctx, h.env.TenantA.ID, fleet.EnrolmentInput{Name: "e", MaxUses: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	const id = "1f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
	res, err := fl.Enrol(t.Context(), tok, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: id, Hostname: "h",
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(res.Certificate))
	if blk == nil {
		t.Fatal("no certificate issued")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var list []HostAgent
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/agents", h.adminA, nil, &list)
	if len(list) != 1 || list[0].Certificate == nil {
		t.Fatalf("agents %+v", list)
	}
	c := list[0].Certificate
	if c.Serial != fleet.Serial(cert) || !c.NotAfter.Equal(cert.NotAfter) || !c.NotBefore.Equal(cert.NotBefore) || c.RevokedAt != nil {
		t.Fatalf("certificate %+v, issued serial %s valid %v to %v", c, fleet.Serial(cert), cert.NotBefore, cert.NotAfter)
	}
	if err := fl.RevokeAgent(ctx, h.env.TenantA.ID, id); err != nil {
		t.Fatal(err)
	}
	h.want(http.StatusOK, get, "/api/v1/tenants/acme/agents", h.adminA, nil, &list)
	if len(list) != 1 || list[0].Certificate == nil || list[0].Certificate.RevokedAt == nil {
		t.Fatalf("after revocation %+v", list)
	}
}

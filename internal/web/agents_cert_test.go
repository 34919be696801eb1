package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/secret"
)

// TestAgentsPageCertificate: an agent enrolled with a certificate request
// is listed with its certificate's serial and expiry, then as revoked
// once the agent is revoked; an agent without a certificate says so.
func TestAgentsPageCertificate(t *testing.T) {
	t.Parallel()
	key := make([]byte, secret.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	var fl *fleet.Service
	ui := newTestUI(t, func(o *Options) {
		fl = fleet.New(o.Store, o.Audit, fleet.Options{Box: box, CertValidity: 72 * time.Hour})
		o.Agents = fl
	})
	ctx := ui.AdminCtx(t.Context())
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/agents"
	enrol := func(id, csr string) string {
		t.Helper()
		_, tok, err := fl.CreateEnrolment(ctx, ui.TenantA.ID, fleet.EnrolmentInput{Name: "e", MaxUses: 1, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		res, err := fl.Enrol(t.Context(), tok, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: id, Hostname: "h-" + id[:4], CSR: csr})
		if err != nil {
			t.Fatal(err)
		}
		return res.Certificate
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	const withCert, tokenOnly = "1f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", "2f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
	certPEM := enrol(withCert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	enrol(tokenOnly, "")
	blk, _ := pem.Decode([]byte(certPEM))
	if blk == nil {
		t.Fatal("no certificate issued")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	page := admin.get(base)
	wantStatus(t, page, 200)
	serial := "<code>" + fleet.Serial(cert) + "</code>"
	if !strings.Contains(page.body, serial) || !strings.Contains(page.body, cert.NotAfter.UTC().Format(time.RFC3339)) {
		t.Fatalf("no serial %s or expiry %v:\n%s", serial, cert.NotAfter, page.body)
	}
	if !strings.Contains(page.body, "none (token only)") || strings.Contains(page.body, ">revoked<") {
		t.Fatalf("token-only agent (%v) or revocation (%v) shown wrongly", strings.Contains(page.body, "none (token only)"), strings.Contains(page.body, ">revoked<"))
	}
	if err := fl.RevokeAgent(ctx, ui.TenantA.ID, withCert); err != nil {
		t.Fatal(err)
	}
	if p := admin.get(base); !strings.Contains(p.body, `<span class="badge warn">revoked</span>`) {
		t.Fatalf("revoked certificate not marked:\n%s", p.body)
	}
}

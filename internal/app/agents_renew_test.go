package app_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/app"
)

// testClock is a settable clock shared by the nodes and the agent.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestAgentCertRenewalPostgres runs two nodes on one PostgreSQL database,
// each with its agent listener (agent_mtls), a clock the test moves, and
// agent certificates valid for three hours. An agent enrolled on node A
// renews on node B at two thirds of its certificate's lifetime and gets a
// certificate for a new key that names the same tenant and agent (its
// host unchanged); the old certificate is still served on both nodes
// until it expires, and refused at the handshake after. Revoking the
// agent on node A puts its certificates on the revocation list, which
// node B refuses at the handshake; enrolling again revokes the
// certificate of the earlier enrolment, while the new one is served.
func TestAgentCertRenewalPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("two nodes on PostgreSQL")
	}
	cfg, _ := postgresConfig(t, "vigil_renew_")
	dir := t.TempDir()
	caFile, certFile, keyFile := testPKI(t, dir)
	cfg.AgentAddr, cfg.AgentTLSCert, cfg.AgentTLSKey, cfg.AgentMTLS = "127.0.0.1:0", certFile, keyFile, true
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	const validity = 3 * time.Hour

	servers := make([]string, 2)
	nodes := make([]*app.App, 2)
	for i := range nodes {
		c := cfg
		c.DataDir = filepath.Join(dir, "node", string(rune('a'+i)))
		n := openApp(t, c)
		n.Fleet = fleet.New(n.Store, n.Audit, fleet.Options{Box: n.Box, Now: clock.Now, CertValidity: validity})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- n.ServeAgents(ctx, ln) }()
		t.Cleanup(func() {
			cancel()
			if err := <-served; err != nil {
				t.Error(err)
			}
		})
		nodes[i], servers[i] = n, "https://"+ln.Addr().String()
	}
	nodeA := nodes[0]
	actx, acme := adminAndTenant(t, nodeA)
	_, token, err := nodeA.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "renewal", MaxUses: 2, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(dir, "agent")
	client := func(certDir string) *http.Client {
		t.Helper()
		hc, err := agent.HTTPClient(certDir, caFile)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hc.CloseIdleConnections)
		return hc
	}
	hc := client(agentDir)
	cred, err := agent.Enrol(t.Context(), agent.EnrolOptions{Server: servers[0], Token: token, DataDir: agentDir, Hostname: "web-a", HTTP: hc, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	first, err := agent.ClientLeaf(agentDir)
	if err != nil || first == nil {
		t.Fatalf("enrolled certificate: %v", err)
	}
	if got := first.NotAfter.Sub(first.NotBefore); got != validity+time.Hour {
		t.Fatalf("certificate lifetime %v; want the configured %v and an hour of skew", got, validity)
	}
	// Keep the first certificate aside, as a copy of the agent's files.
	oldDir := filepath.Join(dir, "old")
	if err := os.MkdirAll(oldDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{agent.ClientKeyFile, agent.ClientCertFile, agent.ClientCAFile} {
		b, err := os.ReadFile(filepath.Join(agentDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(oldDir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	oldClient := client(oldDir)

	post := func(hc *http.Client, node int) error {
		c := &agent.Client{Server: servers[node], Token: cred.Token, AgentID: cred.AgentID, HTTP: hc}
		_, err := c.Post(t.Context(), agent.AgentEventsPath, "application/x-ndjson", "", []byte(`{"message":"renewal test"}`+"\n"))
		return err
	}
	served := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// Refused by the TLS layer: no HTTP answer at all.
	handshakeRefused := func(what string, err error) {
		t.Helper()
		var se *agent.StatusError
		if err == nil || errors.As(err, &se) {
			t.Fatalf("%s: %v; want the TLS handshake to fail", what, err)
		}
	}
	renew := func(node int) (*x509.Certificate, error) {
		c := &agent.Client{Server: servers[node], Token: cred.Token, AgentID: cred.AgentID, HTTP: hc}
		return agent.RenewCertificate(t.Context(), c, agentDir, clock.Now())
	}

	served("enrolled certificate on node B", post(hc, 1))
	if agent.RenewalDue(first, clock.Now()) {
		t.Fatal("renewal due right after enrolment")
	}
	clock.Set(first.NotBefore.Add(first.NotAfter.Sub(first.NotBefore) * 7 / 10))
	if !agent.RenewalDue(first, clock.Now()) {
		t.Fatal("renewal not due at seven tenths of the lifetime")
	}
	second, err := renew(1)
	if err != nil {
		t.Fatalf("renewal on node B: %v", err)
	}
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 || !second.NotAfter.After(first.NotAfter) {
		t.Fatalf("renewed certificate: serial %v (was %v), not after %v (was %v)", second.SerialNumber, first.SerialNumber,
			second.NotAfter, first.NotAfter)
	}
	if bytes.Equal(second.RawSubjectPublicKeyInfo, first.RawSubjectPublicKeyInfo) {
		t.Fatal("the renewed certificate is for the old key; want a new key")
	}
	if tn, id, ok := agent.CertIdentity(second); !ok || tn != acme.ID || id != cred.AgentID {
		t.Fatalf("renewed certificate names %s/%s; want %s/%s", tn, id, acme.ID, cred.AgentID)
	}
	ag, err := nodeA.Fleet.GetAgent(actx, acme.ID, cred.AgentID)
	if err != nil || ag.TenantID != acme.ID || ag.Hostname != "web-a" || ag.Status != "active" {
		t.Fatalf("agent after renewal: %+v, %v", ag, err)
	}

	// Both certificates are served, on both nodes, until the old one
	// expires.
	for node := range nodes {
		served("old certificate before it expires", post(oldClient, node))
		served("renewed certificate", post(hc, node))
	}
	clock.Set(first.NotAfter.Add(time.Minute))
	hc.CloseIdleConnections()
	oldClient.CloseIdleConnections()
	handshakeRefused("old certificate after it expired", post(oldClient, 0))
	served("renewed certificate after the old one expired", post(hc, 0))
	if _, err := agent.RenewCertificate(t.Context(), &agent.Client{Server: servers[0], Token: cred.Token, AgentID: cred.AgentID,
		HTTP: oldClient}, oldDir, clock.Now()); !errors.Is(err, agent.ErrMustEnrol) {
		t.Fatalf("renewing an expired certificate: %v; want ErrMustEnrol", err)
	}

	// Revoked on node A: node B refuses the certificate at the handshake,
	// and it cannot be renewed.
	if err := nodeA.Fleet.RevokeAgent(actx, acme.ID, cred.AgentID); err != nil {
		t.Fatal(err)
	}
	hc.CloseIdleConnections()
	handshakeRefused("revoked certificate on node B", post(hc, 1))
	if _, err := renew(1); err == nil {
		t.Fatal("a revoked certificate was renewed")
	}

	// Enrolling again (the token has a second use) gives a new
	// certificate that is served; the serial of the earlier enrolment
	// stays revoked although the agent is active again.
	secondDir := filepath.Join(dir, "second")
	if err := os.MkdirAll(secondDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{agent.ClientKeyFile, agent.ClientCertFile, agent.ClientCAFile} {
		if err := os.WriteFile(filepath.Join(secondDir, f), mustRead(t, filepath.Join(agentDir, f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cred2, err := agent.Enrol(t.Context(), agent.EnrolOptions{Server: servers[0], Token: token, DataDir: agentDir, Hostname: "web-a", HTTP: hc, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cred = cred2
	hc.CloseIdleConnections()
	served("certificate of the new enrolment on node B", post(hc, 1))
	secondClient := client(secondDir)
	handshakeRefused("renewed certificate of the earlier enrolment", post(secondClient, 1))

	certs, err := nodeA.Fleet.Certificates(actx, acme.ID, cred.AgentID)
	if err != nil || len(certs) != 3 {
		t.Fatalf("certificates recorded: %d %v; want 3", len(certs), err)
	}
	for i, c := range certs {
		if revoked := !c.RevokedAt.IsZero(); revoked != (i > 0) {
			t.Errorf("certificate %d (%s): revoked %v", i, c.Serial, revoked)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

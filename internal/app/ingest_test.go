package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

const failedSSH = `title: SSH failed password
id: 5d2a1f0e-7c3b-4d8e-9a61-0b4f3c2e9d10
status: test
level: high
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password']
  condition: keywords
`

// waitFor polls until cond holds; the deadline only bounds a broken run.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestIngestSyslogAndHTTP runs a whole node: syslog over TCP and HTTP
// ingest with a token land in the store, and the Sigma rule raises one
// grouped alert.
func TestIngestSyslogAndHTTP(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "ssh.yml"), []byte(failedSSH), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.RulesDir = rules
	cfg.SyslogTCP = "127.0.0.1:0"
	cfg.SyslogTenant = "acme"
	feed := filepath.Join(dir, "bad-ips.csv")
	if err := os.WriteFile(feed, []byte("# partner list\n203.0.113.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.IntelFeeds = []string{feed}
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	secret, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	custSecret, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "viewer", TenantID: acme.ID, Role: auth.RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}

	if err := a.LoadFeeds(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	httpAddr := <-addrc
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", a.SyslogTCPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		fmt.Fprintf(conn, "<38>1 2026-11-29T08:00:0%dZ web-01 sshd 4242 - - Failed password for root from 203.0.113.9 port 5000%d ssh2\n", i, i)
	}
	fmt.Fprintf(conn, "<38>1 2026-11-29T08:00:05Z web-01 sshd 4242 - - Accepted publickey for deploy from 198.51.100.7 port 50100 ssh2\n")
	_ = conn.Close()

	count := func(q store.EventQuery) int {
		n, err := a.Store.Events().Count(actx, acme.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "four syslog events", func() bool { return count(store.EventQuery{}) == 4 })

	post := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/ingest/events", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	line := `{"@timestamp":"2026-11-29T08:01:00Z","host":{"name":"web-02"},"message":"Failed password for admin","source":{"ip":"203.0.113.50"}}`
	if code := post(secret, line+"\n"+line+"\n"); code != http.StatusAccepted {
		t.Fatalf("ingest with the shipper's token: %d", code)
	}
	if code := post(custSecret, line); code != http.StatusUnauthorized {
		t.Fatalf("ingest with a read-only token: %d", code)
	}
	if code := post("vgl_nope", line); code != http.StatusUnauthorized {
		t.Fatalf("ingest with a bad token: %d", code)
	}
	if n := count(store.EventQuery{}); n != 6 {
		t.Fatalf("%d events after HTTP ingest (it answers only once stored)", n)
	}

	sigma, err := a.Store.Alerts().List(actx, acme.ID, store.AlertFilter{RuleID: "5d2a1f0e-7c3b-4d8e-9a61-0b4f3c2e9d10"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sigma) != 1 || sigma[0].Count != 3 || sigma[0].Host != "web-01" || sigma[0].Level != "high" {
		t.Fatalf("sigma alerts %+v", sigma)
	}
	ti, err := a.Store.Alerts().List(actx, acme.ID, store.AlertFilter{RuleID: "intel:ipv4:203.0.113.9"})
	if err != nil || len(ti) != 1 || ti[0].Count != 3 {
		t.Fatalf("intel alerts %+v, %v", ti, err)
	}
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// sigmaCorpus is the shared Sigma corpus, relative to this package.
var sigmaCorpus = filepath.Join("..", "..", "..", "shared", "corpus", "sigma")

const (
	failedLogon = `title: Failed logon
id: 6a1c0d3e-2f4b-4c8a-9e7d-000000000001
name: failed_logon
level: low
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password']
  condition: keywords
`
	bruteForce = `title: Repeated failed logons
id: 6a1c0d3e-2f4b-4c8a-9e7d-000000000002
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [host.name]
  timespan: 1h
  condition: {gte: 3}
`
)

// serveNode runs a on a fresh context and returns its HTTP address and
// the function that stops it (waiting for the shutdown).
func serveNode(t *testing.T, a *app.App) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	select {
	case addr := <-addrc:
		return addr, func() { cancel(); <-done }
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return "", nil
}

func ingest(t *testing.T, addr, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/ingest/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// TestEVTXIngest posts a real .evtx file (Sysmon event 16 of the Sigma
// regression data; host and channel as its JSON export gives them) to
// the ingest endpoint: its event is stored and the
// corpus rule for it raises an alert; a damaged file is refused whole.
func TestEVTXIngest(t *testing.T) {
	evtxFile := filepath.Join(sigmaCorpus, "regression_data", "rules", "windows", "sysmon", "sysmon_config_modification",
		"8ac03a65-6c84-4116-acad-dc1558ff7a77.evtx")
	data, err := os.ReadFile(evtxFile)
	if err != nil {
		testenv.Missing(t, "the Sigma corpus: "+err.Error())
	}
	rule, err := os.ReadFile(filepath.Join(sigmaCorpus, "rules", "windows", "sysmon", "sysmon_config_modification.yml"))
	if err != nil {
		testenv.Missing(t, "the Sigma corpus: "+err.Error())
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "sysmon.yml"), rule, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.RulesDir = rules
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	secret, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveNode(t, a)
	defer stop()

	// A file with the signature and nothing readable after it.
	bad := append([]byte("ElfFile\x00"), make([]byte, 200)...)
	if code, body := ingest(t, addr, secret, bad); code != http.StatusBadRequest {
		t.Fatalf("damaged file: %d %v", code, body)
	}
	if n, _ := a.Store.Events().Count(actx, acme.ID, store.EventQuery{}); n != 0 {
		t.Fatalf("a refused file stored %d events", n)
	}
	code, body := ingest(t, addr, secret, data)
	if code != http.StatusAccepted || body["accepted"] != float64(1) {
		t.Fatalf("evtx upload: %d %v", code, body)
	}
	evs, err := a.Store.Events().Search(actx, acme.ID, store.EventQuery{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %+v %v", evs, err)
	}
	if evs[0].Format != "evtx" || evs[0].Fields["winlog.channel"] != "Microsoft-Windows-Sysmon/Operational" || evs[0].Host != "ar-win-dc.attackrange.local" {
		t.Fatalf("stored event %+v", evs[0])
	}
	alerts, err := a.Store.Alerts().List(actx, acme.ID, store.AlertFilter{RuleID: "8ac03a65-6c84-4116-acad-dc1558ff7a77"})
	if err != nil || len(alerts) != 1 || alerts[0].Level != "medium" {
		t.Fatalf("alerts %+v %v", alerts, err)
	}
}

// TestCorrelationSurvivesRestart sends two of three failed logons, stops
// the node (which saves the correlation windows), opens a new node on the
// same data directory and sends the third: the correlation fires. A
// rule a tenant turned off stays off across the restart.
func TestCorrelationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{"logon.yml": failedLogon, "brute.yml": bruteForce, "ssh.yml": failedSSH} {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.RulesDir = rules
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	secret, _, err := a.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	line := func(ts string) []byte {
		return []byte("<38>1 2026-11-29T08:" + ts + "Z web-02 sshd 4242 - - Failed password for admin from 203.0.113.9 port 50000 ssh2\n")
	}
	addr, stop := serveNode(t, a)
	if err := a.Rules.SetEnabled(actx, acme.ID, "5d2a1f0e-7c3b-4d8e-9a61-0b4f3c2e9d10", false, "root"); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{"00:00", "10:00"} {
		if code, body := ingest(t, addr, secret, line(ts)); code != http.StatusAccepted {
			t.Fatalf("ingest: %d %v", code, body)
		}
	}
	stop()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := openApp(t, cfg)
	addr, stop = serveNode(t, b)
	defer stop()
	corr := func() []store.Alert {
		al, err := b.Store.Alerts().List(actx, acme.ID, store.AlertFilter{RuleID: "6a1c0d3e-2f4b-4c8a-9e7d-000000000002"})
		if err != nil {
			t.Fatal(err)
		}
		return al
	}
	if len(corr()) != 0 {
		t.Fatal("correlation fired before its third match")
	}
	if code, body := ingest(t, addr, secret, line("20:00")); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, body)
	}
	if al := corr(); len(al) != 1 || al[0].Level != "high" || al[0].Host != "host.name=web-02" {
		t.Fatalf("correlation alerts after restart %+v", al)
	}
	// The disabled rule raised nothing before or after the restart.
	if al, _ := b.Store.Alerts().List(actx, acme.ID, store.AlertFilter{RuleID: "5d2a1f0e-7c3b-4d8e-9a61-0b4f3c2e9d10"}); len(al) != 0 {
		t.Fatalf("disabled rule raised %+v", al)
	}
}

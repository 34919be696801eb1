package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

// loopServer serves the agent endpoints of an App on a loopback port that
// survives a stop and a start.
type loopServer struct {
	t    *testing.T
	h    http.Handler
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newLoopServer(t *testing.T, a *app.App) *loopServer {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/agent/", a.AgentHandler())
	mux.Handle("/ingest/events", a.IngestHandler())
	s := &loopServer{t: t, h: mux}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *loopServer) start(addr string) {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.addr, s.srv = ln.Addr().String(), srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (s *loopServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

func (s *loopServer) url() string { return "http://" + s.addr }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestAgentEndToEnd runs the real agent against the real server on
// loopback: a one-time enrolment token gives the agent its credential
// (once); the configuration set for the tenant reaches the agent on its
// heartbeat and is applied without a restart (a log file to tail, a FIM
// path); the inventory lands on the host asset; log lines arrive; a
// changed watched file arrives as an event with the old and new hash; the
// server stops, lines are written, the server starts again and every
// line arrives exactly once; an agent can only speak for itself; a
// revoked agent is refused.
func TestAgentEndToEnd(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)
	srv := newLoopServer(t, a)

	e, token, err := a.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "e2e", MaxUses: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "agent")
	cred, err := agent.Enrol(t.Context(), agent.EnrolOptions{Server: srv.url(), Token: token, DataDir: dataDir, Hostname: "web-07", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if cred.TenantID != acme.ID || !strings.HasPrefix(cred.Token, agent.CredentialPrefix) {
		t.Fatalf("credential %+v", cred)
	}
	if st, err := os.Stat(filepath.Join(dataDir, agent.CredentialFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v", st, err)
	}
	// The server keeps only a hash of the credential.
	ag, err := a.Store.Agents().GetAgent(actx, acme.ID, cred.AgentID)
	if err != nil || ag.TokenHash == cred.Token || ag.TokenHash != fleet.Hash(cred.Token) || ag.EnrolmentID != e.ID {
		t.Fatalf("stored agent %+v %v", ag, err)
	}
	// One-time: the token enrols no second agent.
	var se *agent.StatusError
	if _, err := agent.Enrol(t.Context(), agent.EnrolOptions{Server: srv.url(), Token: token, DataDir: filepath.Join(dir, "other"), Hostname: "x"}); !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("second enrolment with a one-time token: %v", err)
	}

	logPath := filepath.Join(dir, "app.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	watched := filepath.Join(dir, "etc")
	if err := os.MkdirAll(watched, 0o700); err != nil {
		t.Fatal(err)
	}
	oldConf := []byte("PermitRootLogin no\n")
	if err := os.WriteFile(filepath.Join(watched, "sshd_config"), oldConf, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{"schema":"vigil.agent.config/v1","tail":[%q],"fim":{"paths":[%q]}}`, logPath, watched)
	if _, err := a.Fleet.PutConfig(actx, acme.ID, "", []byte(conf)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := os.DirFS(filepath.Join("..", "agent", "testdata", "root"))
	ra, err := agent.Start(ctx, agent.Config{
		Server: cred.Server, Token: cred.Token, Enrolled: true, DataDir: dataDir, FS: root, Interval: time.Hour,
		HeartbeatInterval: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond, Version: "test",
		FIM:     agent.FIMConfig{Interval: agent.Duration(100 * time.Millisecond)},
		Shipper: agent.ShipperOptions{FlushInterval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		Logger:  slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pushed configuration", func() bool { return len(ra.TailerList()) == 1 })
	if ra.Applied() < 2 {
		t.Errorf("configuration applied %d times; want the start and the pushed one", ra.Applied())
	}

	// Inventory and heartbeat.
	eventually(t, "the host asset", func() bool {
		hosts, err := a.Store.Assets().List(actx, acme.ID, store.AssetFilter{Kind: "host"})
		return err == nil && len(hosts) == 1 && hosts[0].Attributes["agent_id"] == cred.AgentID
	})
	eventually(t, "a heartbeat with the configuration's tag", func() bool {
		ag, err := a.Store.Agents().GetAgent(actx, acme.ID, cred.AgentID)
		return err == nil && !ag.LastSeenAt.IsZero() && ag.ConfigETag != "" && ag.ConfigETag == ra.ConfigETag()
	})

	// Log lines, shipped while the server is up, then across an outage.
	line := func(i int) string { return fmt.Sprintf("e2e line %04d from the application", i) }
	appendLines := func(from, to int) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			fmt.Fprintln(f, line(i))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	agentEvents := func() []store.Event {
		evs, err := a.Store.Events().Search(actx, acme.ID, store.EventQuery{Terms: []store.FieldTerm{{Field: "agent.id", Value: cred.AgentID}},
			Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	countLines := func() map[string]int {
		seen := map[string]int{}
		for _, ev := range agentEvents() {
			if s, _ := ev.Fields["event.original"].(string); strings.HasPrefix(s, "e2e line ") {
				seen[s]++
			}
		}
		return seen
	}
	appendLines(0, 100)
	eventually(t, "100 lines", func() bool { return len(countLines()) >= 100 })

	// FIM: a change of the watched file arrives with both hashes.
	eventually(t, "the FIM baseline", func() bool {
		_, err := os.Stat(filepath.Join(dataDir, "fim.json"))
		return err == nil
	})
	newConf := []byte("PermitRootLogin yes\n")
	if err := os.WriteFile(filepath.Join(watched, "sshd_config"), newConf, 0o600); err != nil {
		t.Fatal(err)
	}
	var fimEv store.Event
	eventually(t, "the FIM event", func() bool {
		for _, ev := range agentEvents() {
			if ev.Fields["event.action"] == "fim.modified" && ev.Fields["file.path"] == filepath.Join(watched, "sshd_config") {
				fimEv = ev
				return true
			}
		}
		return false
	})
	if fimEv.Fields["fim.old.hash.sha256"] != hexSHA(oldConf) || fimEv.Fields["file.hash.sha256"] != hexSHA(newConf) {
		t.Errorf("FIM event hashes: %v", fimEv.Fields)
	}

	srv.stop()
	appendLines(100, 300)
	eventually(t, "the tailer to read the lines", func() bool { return ra.TailerList()[0].Counters().Received.Load() >= 300 })
	eventually(t, "failed sends while the server is down", func() bool { return ra.Shipper.Counters().Retries.Load() >= 2 })
	srv.start(srv.addr)
	eventually(t, "300 lines", func() bool { return len(countLines()) >= 300 })
	time.Sleep(200 * time.Millisecond)
	seen := countLines()
	for i := range 300 {
		if seen[line(i)] != 1 {
			t.Errorf("line %d arrived %d times", i, seen[line(i)])
		}
	}

	// An agent speaks only for itself.
	post := func(path, tok, agentHeader string, body []byte) int {
		req, err := http.NewRequest(http.MethodPost, srv.url()+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		if agentHeader != "" {
			req.Header.Set("X-Vigil-Agent", agentHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	other := "11111111-2222-4333-8444-555555555555"
	hb, _ := json.Marshal(agent.Heartbeat{Schema: agent.HeartbeatSchema, AgentID: other, Hostname: "web-07"})
	if code := post(agent.HeartbeatPath, cred.Token, other, hb); code != http.StatusUnauthorized {
		t.Errorf("heartbeat for another agent: %d", code)
	}
	if code := post(agent.HeartbeatPath, cred.Token, cred.AgentID, hb); code != http.StatusBadRequest {
		t.Errorf("heartbeat naming another agent in the body: %d", code)
	}
	if code := post(agent.HeartbeatPath, cred.Token, cred.AgentID, bytes.Repeat([]byte(" "), 100<<10)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized heartbeat: %d", code)
	}
	if code := post(agent.HeartbeatPath, cred.Token, cred.AgentID, []byte(`{"schema":`)); code != http.StatusBadRequest {
		t.Errorf("malformed heartbeat: %d", code)
	}

	// Revoked: every request of the agent is refused.
	if err := a.Fleet.RevokeAgent(actx, acme.ID, cred.AgentID); err != nil {
		t.Fatal(err)
	}
	mine, _ := json.Marshal(agent.Heartbeat{Schema: agent.HeartbeatSchema, AgentID: cred.AgentID, Hostname: "web-07"})
	if code := post(agent.HeartbeatPath, cred.Token, cred.AgentID, mine); code != http.StatusUnauthorized {
		t.Errorf("heartbeat of a revoked agent: %d", code)
	}
	if code := post(agent.AgentEventsPath, cred.Token, cred.AgentID, []byte(`{"message":"x"}`)); code != http.StatusUnauthorized {
		t.Errorf("events of a revoked agent: %d", code)
	}
	cancel()
	if err := ra.Wait(); err != nil {
		t.Fatal(err)
	}
}

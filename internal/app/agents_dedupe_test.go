package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// lossyNodes forwards each agent request to one of the nodes in turn and,
// for every other request, throws the node's answer away and answers 502
// instead: the node stored the batch, the agent does not know and sends
// it again (to the next node).
type lossyNodes struct {
	nodes    []http.Handler
	requests atomic.Int64
	lost     atomic.Int64
}

func (l *lossyNodes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := l.requests.Add(1)
	h := l.nodes[int(n)%len(l.nodes)]
	if n%2 == 1 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusAccepted {
			l.lost.Add(1)
			http.Error(w, "the answer was lost", http.StatusBadGateway)
			return
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	h.ServeHTTP(w, r)
}

func agentHandler(a *app.App) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/agent/", a.AgentHandler())
	mux.Handle("/ingest/events", a.IngestHandler())
	return mux
}

// shipAll spools n events and ships them through the lossy front until
// the shipper has every one acknowledged; it returns the answers lost.
func shipAll(t *testing.T, front *lossyNodes, c *agent.Client, path string, n int) int64 {
	t.Helper()
	srv := httptest.NewServer(front)
	defer srv.Close()
	c.Server = srv.URL
	sp, err := logs.OpenSpool(filepath.Join(t.TempDir(), "spool"), logs.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sp.Close() }()
	now := time.Now().UTC()
	for b := 0; b < n; b += 10 {
		var evs []logs.Event
		for i := b; i < min(n, b+10); i++ {
			id, _ := uuid.NewV7()
			msg := fmt.Sprintf("dedupe line %04d", i)
			evs = append(evs, logs.Event{ID: id.String(), Time: now, Received: now, Source: "/var/log/app.log", Format: "raw",
				Fields: map[string]any{"message": msg}, Original: msg})
		}
		if err := sp.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	sh := agent.NewShipper(agent.ShipperOptions{Client: c, AgentID: c.AgentID, Hostname: "web-01", Path: path,
		MaxBatchEvents: 7, FlushInterval: time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx, sp) }()
	eventually(t, "every event acknowledged", func() bool { return sh.Counters().Sent.Load() >= uint64(n) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return front.lost.Load()
}

func countEvents(t *testing.T, a *app.App, tenantID string) int {
	t.Helper()
	n, err := a.Store.Events().Count(t.Context(), tenantID, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testAgentResendsStoredOnce: an enrolled agent (and one shipping with an
// API token) whose answers get lost sends its batches again, to the
// same node and to another node sharing the store; each event is stored
// once.
func testAgentResendsStoredOnce(t *testing.T, nodeA, nodeB *app.App) {
	actx, acme := adminAndTenant(t, nodeA)
	_, token, err := nodeA.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "dedupe", MaxUses: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	agentID := uuid.NewString()
	ans, err := nodeA.Fleet.Enrol(t.Context(), token, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: agentID, Hostname: "web-01"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	client := &agent.Client{Token: ans.Token, AgentID: agentID}

	// One node: the same batch twice.
	one := &lossyNodes{nodes: []http.Handler{agentHandler(nodeA)}}
	if lost := shipAll(t, one, client, agent.AgentEventsPath, n); lost == 0 {
		t.Fatal("no answer was lost: the test proves nothing")
	}
	if got := countEvents(t, nodeA, acme.ID); got != n {
		t.Fatalf("one node: %d events stored for %d sent (requests %d, answers lost %d)", got, n, one.requests.Load(), one.lost.Load())
	}

	// Two nodes on one store: each resend goes to the other node.
	two := &lossyNodes{nodes: []http.Handler{agentHandler(nodeA), agentHandler(nodeB)}}
	if lost := shipAll(t, two, client, agent.AgentEventsPath, n); lost == 0 {
		t.Fatal("no answer was lost")
	}
	if got := countEvents(t, nodeB, acme.ID); got != 2*n {
		t.Fatalf("two nodes: %d events stored for %d sent", got, 2*n)
	}

	// An agent shipping with an API token to /ingest/events.
	apiToken, _, err := nodeA.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	tokClient := &agent.Client{Token: apiToken, AgentID: agentID}
	both := &lossyNodes{nodes: []http.Handler{agentHandler(nodeB), agentHandler(nodeA)}}
	if lost := shipAll(t, both, tokClient, agent.IngestPath, n); lost == 0 {
		t.Fatal("no answer was lost")
	}
	if got := countEvents(t, nodeA, acme.ID); got != 3*n {
		t.Fatalf("API token: %d events stored for %d sent", got, 3*n)
	}
}

func TestAgentResendsStoredOnceSQLite(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	nodeA := openApp(t, cfg)
	// A second node on the same database (and the same secret key).
	nodeB := openApp(t, cfg)
	testAgentResendsStoredOnce(t, nodeA, nodeB)
}

func TestAgentResendsStoredOncePostgres(t *testing.T) {
	cfg, _ := postgresConfig(t, "vigil_agent3_")
	cfgA, cfgB := cfg, cfg
	cfgA.DataDir, cfgB.DataDir = t.TempDir(), t.TempDir()
	nodeA := openApp(t, cfgA)
	nodeB := openApp(t, cfgB)
	testAgentResendsStoredOnce(t, nodeA, nodeB)
}

package app_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// streamMsgs is how many messages the JetStream stream holds.
func streamMsgs(t *testing.T, url, stream string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

// deletePrefixStreams removes the streams a test's prefix made.
func deletePrefixStreams(url, prefix string) {
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range []string{app.EventsQueue, app.JobsQueue} {
		_ = js.DeleteStream(ctx, prefix+q)
	}
}

// TestUploadsGoThroughEventsQueue: on a shared bus, an EVTX upload, an
// agent's events and an imported offline bundle received by an api node
// are not stored there: they wait in the JetStream events queue until a
// worker node stores them. An upload JetStream does not take is answered
// 503.
func TestUploadsGoThroughEventsQueue(t *testing.T) {
	natsURL := testenv.RequireNATS(t)
	cfg, suffix := postgresConfig(t, "vigil_upq_")
	cfg.Bus = natsURL
	cfg.BusPrefix = "UPQ" + suffix
	cfg.Addr = "127.0.0.1:0"
	t.Cleanup(func() { deletePrefixStreams(natsURL, cfg.BusPrefix) })
	stream := cfg.BusPrefix + app.EventsQueue

	apiCfg := cfg
	apiCfg.Role, apiCfg.DataDir = config.RoleAPI, t.TempDir()
	api := openApp(t, apiCfg)
	_, stopAPI := serveNode(t, api)
	defer stopAPI()
	actx, acme := adminAndTenant(t, api)
	token, _, err := api.Tenants.CreateToken(actx, tenant.TokenInput{Name: "uploader", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}

	// An EVTX upload.
	data, err := os.ReadFile(testenv.RequireCorpus(t, filepath.Join(sigmaCorpus, "regression_data", "rules", "windows", "sysmon",
		"sysmon_config_modification", "8ac03a65-6c84-4116-acad-dc1558ff7a77.evtx")))
	if err != nil {
		t.Fatal(err)
	}
	code, ans := postIngest(t, api, token, data)
	evtxN, _ := ans["accepted"].(float64)
	if code != http.StatusAccepted || evtxN < 1 {
		t.Fatalf("evtx upload: %d %v", code, ans)
	}
	queued := streamMsgs(t, natsURL, stream)
	if queued == 0 || countEvents(t, api, acme.ID) != 0 {
		t.Fatalf("after the EVTX upload: %d queued messages, %d stored events; want queued, not stored", queued, countEvents(t, api, acme.ID))
	}

	// An enrolled agent's events, some of whose answers get lost.
	_, enrol, err := api.Fleet.CreateEnrolment(actx, acme.ID, fleet.EnrolmentInput{Name: "q", MaxUses: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	agentID := uuid.NewString()
	enrolled, err := api.Fleet.Enrol(t.Context(), enrol, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: agentID, Hostname: "web-01"})
	if err != nil {
		t.Fatal(err)
	}
	const agentN = 30
	front := &lossyNodes{nodes: []http.Handler{agentHandler(api)}}
	shipAll(t, front, &agent.Client{Token: enrolled.Token, AgentID: agentID}, agent.AgentEventsPath, agentN)
	if n := streamMsgs(t, natsURL, stream); n <= queued || countEvents(t, api, acme.ID) != 0 {
		t.Fatalf("after the agent's events: %d queued messages (before %d), %d stored", n, queued, countEvents(t, api, acme.ID))
	}
	queued = streamMsgs(t, natsURL, stream)

	// An offline bundle.
	logPath := filepath.Join(t.TempDir(), "auth.log")
	lines := "Mar  2 10:15:04 web02 sshd[2214]: Failed password for invalid user oracle from 203.0.113.9 port 52115 ssh2\n" +
		"Mar  2 10:15:09 web02 sshd[2214]: Connection closed by invalid user oracle 203.0.113.9 port 52115 [preauth]\n"
	if err := os.WriteFile(logPath, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if _, err := agent.CollectOffline(t.Context(), &bundle, agent.CollectOfflineOptions{
		FS: os.DirFS(filepath.Join("..", "agent", "testdata", "root")), AgentID: uuid.NewString(), Logs: []string{logPath},
		Now: func() time.Time { return time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC) },
	}); err != nil {
		t.Fatal(err)
	}
	res, err := api.ImportAgentBundle(actx, acme.ID, &bundle)
	if err != nil || res.Events != 2 {
		t.Fatalf("bundle import: %+v %v", res, err)
	}
	if n := streamMsgs(t, natsURL, stream); n <= queued || countEvents(t, api, acme.ID) != 0 {
		t.Fatalf("after the bundle: %d queued messages (before %d), %d stored", n, queued, countEvents(t, api, acme.ID))
	}

	// A worker stores all of it, each event once.
	workerCfg := cfg
	workerCfg.Role, workerCfg.DataDir = config.RoleWorker, t.TempDir()
	worker := openApp(t, workerCfg)
	_, stopWorker := serveNode(t, worker)
	defer stopWorker()
	want := int(evtxN) + agentN + res.Events
	eventually(t, "the queued events stored", func() bool { return countEvents(t, worker, acme.ID) >= want })
	eventually(t, "the queue drained", func() bool { return streamMsgs(t, natsURL, stream) == 0 })
	if got := countEvents(t, worker, acme.ID); got != want {
		t.Fatalf("%d events stored, want %d", got, want)
	}

	// A node whose events stream is too small for the upload: JetStream
	// refuses it and the sender is told to retry.
	smallCfg := cfg
	smallCfg.Role, smallCfg.DataDir = config.RoleAPI, t.TempDir()
	smallCfg.BusPrefix = "UPS" + suffix
	smallCfg.BusMaxBytes = 1024
	t.Cleanup(func() { deletePrefixStreams(natsURL, smallCfg.BusPrefix) })
	small := openApp(t, smallCfg)
	_, stopSmall := serveNode(t, small)
	defer stopSmall()
	if code, ans := postIngest(t, small, token, data); code != http.StatusServiceUnavailable {
		t.Fatalf("upload JetStream could not store: %d %v, want 503", code, ans)
	}
}

package app_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestImportAgentBundle writes an offline bundle the way `vigil agent
// collect` does and imports it: a tampered copy stores nothing; the real
// one puts the host in the inventory, its baseline run in the store and
// each log line in the events; importing it again adds no event.
func TestImportAgentBundle(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	actx, acme := adminAndTenant(t, a)

	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	lines := "Mar  2 10:15:04 web01 sshd[2214]: Failed password for invalid user oracle from 203.0.113.9 port 52115 ssh2\n" +
		"Mar  2 10:15:09 web01 sshd[2214]: Connection closed by invalid user oracle 203.0.113.9 port 52115 [preauth]\n" +
		"a line no parser knows\n"
	if err := os.WriteFile(logPath, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	const agentID = "8c7b6a59-4d3e-4f2a-9b1c-0d9e8f7a6b5c"
	var buf bytes.Buffer
	_, err := agent.CollectOffline(t.Context(), &buf, agent.CollectOfflineOptions{
		FS: os.DirFS(filepath.Join("..", "agent", "testdata", "root")), AgentID: agentID, Logs: []string{logPath},
		Policies: []string{"debian-ubuntu"}, Now: func() time.Time { return time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	bundle := buf.Bytes()
	count := func() int {
		n, err := a.Store.Events().Count(actx, acme.ID, store.EventQuery{Terms: []store.FieldTerm{{Field: "agent.id", Value: agentID}}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// One byte changed in the middle of the archive: refused whole.
	bad := bytes.Clone(bundle)
	bad[len(bad)/2] ^= 0xff
	if _, err := a.ImportAgentBundle(actx, acme.ID, bytes.NewReader(bad)); err == nil {
		t.Fatal("a damaged bundle was imported")
	}
	hosts, err := a.Store.Assets().List(actx, acme.ID, store.AssetFilter{Kind: "host"})
	if err != nil || len(hosts) != 0 || count() != 0 {
		t.Fatalf("a refused bundle stored %d hosts, %d events (%v)", len(hosts), count(), err)
	}

	res, err := a.ImportAgentBundle(actx, acme.ID, bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Inventory || res.Baselines != 1 || res.Events != 3 || res.AgentID != agentID || res.Hostname != "web01" {
		t.Fatalf("import %+v", res)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d events for 3 lines", n)
	}
	hosts, err = a.Store.Assets().List(actx, acme.ID, store.AssetFilter{Kind: "host"})
	if err != nil || len(hosts) != 1 || hosts[0].Attributes["agent_id"] != agentID {
		t.Fatalf("hosts %+v %v", hosts, err)
	}
	evs, err := a.Store.Events().Search(actx, acme.ID, store.EventQuery{Terms: []store.FieldTerm{{Field: "agent.id", Value: agentID}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Fields["log.file.path"] != logPath || ev.Fields["host.name"] != "web01" {
			t.Errorf("event %+v", ev)
		}
	}
	if _, err := a.ImportAgentBundle(actx, acme.ID, bytes.NewReader(bundle)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("importing the bundle again left %d events, want 3", n)
	}
}

package app_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/app"
)

// TestAgentCARacePostgres: two nodes on one database (two store
// handles) create the agent CA at the same moment; both end up with the
// one CA that was stored, so a certificate either issues verifies on the
// other. Several rounds, each on fresh nodes with the stored CA removed.
func TestAgentCARacePostgres(t *testing.T) {
	cfg, _ := postgresConfig(t, "vigil_carace_")
	for round := range 4 {
		cfgA, cfgB := cfg, cfg
		cfgA.DataDir, cfgB.DataDir = t.TempDir(), t.TempDir()
		nodes := []*app.App{openApp(t, cfgA), openApp(t, cfgB)}
		// Remove the CA an earlier round stored.
		secs, err := nodes[0].Store.Secrets().List(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secs {
			if s.ID == "platform-agent-ca" {
				if err := nodes[0].Store.Secrets().Delete(t.Context(), "", s.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		pems := make([][]byte, len(nodes))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, n := range nodes {
			wg.Go(func() {
				<-start
				ca, err := n.Fleet.CA(t.Context())
				if err != nil || ca == nil {
					t.Errorf("round %d node %d: CA %v", round, i, err)
					return
				}
				pems[i] = ca.CertPEM()
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		if !bytes.Equal(pems[0], pems[1]) {
			t.Fatalf("round %d: the two nodes hold different agent CAs", round)
		}
		// A third node started later reads the same CA.
		cfgC := cfg
		cfgC.DataDir = t.TempDir()
		ca, err := openApp(t, cfgC).Fleet.CA(t.Context())
		if err != nil || !bytes.Equal(ca.CertPEM(), pems[0]) {
			t.Fatalf("round %d: a later node reads another CA (%v)", round, err)
		}
	}
}

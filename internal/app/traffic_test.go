package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TestTrafficUploadIsAnalysedByAWorker: an upload is queued on the bus
// and the workers of a node analyse it.
func TestTrafficUploadIsAnalysedByAWorker(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:0"
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	pcap, err := os.ReadFile("../traffic/testdata/loopback.pcap")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(t.Context())
	served, ready := make(chan error, 1), make(chan struct{})
	go func() { served <- a.Serve(sctx, func(string) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-served:
		stop()
		t.Fatal(err)
	}
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	an, err := a.Traffic.Upload(ctx, ten.ID, risk.KindPcap, []risk.File{{Name: "loopback.pcap", Data: pcap}})
	if err != nil {
		t.Fatal(err)
	}
	if an.Status != store.TrafficPending {
		t.Fatalf("uploaded analysis %+v, want it queued", an)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := a.Store.Traffic().GetAnalysis(ctx, ten.ID, an.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == store.TrafficDone {
			if got.Records == 0 {
				t.Fatalf("analysed %+v", got)
			}
			return
		}
		if got.Status == store.TrafficFailed || time.Now().After(deadline) {
			t.Fatalf("analysis %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

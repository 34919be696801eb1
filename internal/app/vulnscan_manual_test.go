package app

import (
	"context"
	"testing"

	"github.com/vigil-sec/vigil/internal/vuln/gmp"
)

// TestOpenVASLeftOutOfManualScans: a context marked by gmp.WithoutScan
// (a scan started by hand) skips the tenant's gvmd scan without reaching
// it; an unmarked one reaches it (here refused: no principal).
func TestOpenVASLeftOutOfManualScans(t *testing.T) {
	a := &App{GMP: gmp.NewService(nil, nil, nil, gmp.ServiceOptions{})}
	ctx := context.Background()
	if rep, err := a.openVAS(gmp.WithoutScan(ctx), "tenant", []string{"127.0.0.1"}); rep != nil || err != nil {
		t.Fatalf("marked context: report %q, err %v; want neither", rep, err)
	}
	if _, err := a.openVAS(ctx, "tenant", []string{"127.0.0.1"}); err == nil {
		t.Fatal("an unmarked context did not reach the gvmd scan")
	}
}

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
)

// TestRetroHuntOnFeedRefresh stores an event, then a feed refresh adds an
// indicator it contains: the retro-hunt raises one alert, and a second run
// raises nothing more.
func TestRetroHuntOnFeedRefresh(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "ips.csv")
	if err := os.WriteFile(feed, []byte("198.51.100.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.IntelFeeds = []string{feed}
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-48 * time.Hour)
	if _, err := a.Store.Events().Append(ctx, []store.Event{{ID: "ev-1", TenantID: ten.ID, Time: at, Received: at, Host: "web-01",
		SourceIP: "203.0.113.77", Fields: map[string]any{"source.ip": "203.0.113.77", "host.name": "web-01"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.RetroHunt(ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n, err := a.Store.Alerts().Count(ctx, ten.ID, store.AlertFilter{RulePrefix: "intel:"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d alerts before the indicator exists", n)
	}
	if err := os.WriteFile(feed, []byte("198.51.100.1\n203.0.113.77\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.RetroHunt(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d alerts after the refresh, want 1 for the past sighting", n)
	}
	if err := a.LoadFeeds(ctx); err != nil { // nothing new this time
		t.Fatal(err)
	}
	if err := a.RetroHunt(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d alerts after a refresh with nothing new", n)
	}
}

package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign/keyperiod"
	"github.com/vigil-sec/vigil/internal/campaign/manager"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestCaseSLADuringWatch checks the application wires the key-period
// factor into the incident service: with a period covering today and a
// campaign factor of 0.4, a critical case must be acknowledged in
// 0.4 × 15 min = 6 min (hand-worked), not 15; after the factor is edited
// to 1 the next case gets the full 15 minutes. The check allows a second
// either way between the service's clock and the stored creation time.
func TestCaseSLADuringWatch(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("+08:00", 8*3600)
	today := time.Now().In(zone)
	if _, err := a.Campaigns.PutPeriod(ctx, ten.ID, keyperiod.PeriodSpec{ID: "drill-week", Name: "Drill week", Kind: "event",
		Start: today.AddDate(0, 0, -1).Format(time.DateOnly), End: today.AddDate(0, 0, 1).Format(time.DateOnly), LeadTime: "30d"}, 0); err != nil {
		t.Fatal(err)
	}
	l, err := a.Campaigns.CreateKeyPeriod(ctx, ten.ID, manager.KeyPeriodInput{PeriodID: "drill-week", AckFactor: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	ackIn := func() time.Duration {
		t.Helper()
		c, err := a.Incidents.Create(ctx, ten.ID, incident.Input{Title: "Ransomware on file server", Severity: "critical", Category: "malware"})
		if err != nil {
			t.Fatal(err)
		}
		return c.AckDue.Sub(c.CreatedAt)
	}
	near := func(got, want time.Duration) bool { return got > want-time.Second && got < want+time.Second }
	if got := ackIn(); !near(got, 6*time.Minute) {
		t.Errorf("critical case during the watch: acknowledge within %v, want 6m", got)
	}
	if _, err := a.Campaigns.SetAckFactor(ctx, ten.ID, l.Record.ID, 1, 0); err != nil {
		t.Fatal(err)
	}
	if got := ackIn(); !near(got, 15*time.Minute) {
		t.Errorf("critical case with factor 1: acknowledge within %v, want 15m", got)
	}
}

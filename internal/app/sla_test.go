package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestSLABreachEscalation checks a case whose acknowledgement deadline ran
// out is told to the tenant's channel once, by the scheduled job.
func TestSLABreachEscalation(t *testing.T) {
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// The webhook also follows the case's state changes; this test
		// is about the SLA breach messages.
		if strings.Contains(string(b), `"kind":"sla-breach"`) {
			got <- string(b)
		}
	}))
	defer hook.Close()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	a := openApp(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "t", Username: "t", GlobalRole: auth.RoleAdmin})
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := a.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(map[string]string{"url": hook.URL + "/hook"})
	if _, err := a.Alerting.Create(ctx, ten.ID, alerting.Input{Name: "soc", Kind: "webhook", Settings: settings,
		MinLevel: "high", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	c, err := a.Incidents.Create(ctx, ten.ID, incident.Input{Title: "Ransomware on file server", Severity: "critical", Category: "malware"})
	if err != nil {
		t.Fatal(err)
	}
	ack := incident.Timers(c, time.Now())[0]
	if ack.Name != "acknowledge" || ack.Due.IsZero() {
		t.Fatalf("timers %+v", incident.Timers(c, time.Now()))
	}
	// Before the deadline: nothing. Just after it: one message. A run after
	// the next period: nothing again.
	if err := a.EscalateBreaches(ctx, ack.Due.Add(-time.Minute), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.EscalateBreaches(ctx, ack.Due.Add(time.Minute), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, c.Ref) || !strings.Contains(body, "acknowledge") {
			t.Errorf("webhook body: %s", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no SLA breach message reached the channel")
	}
	if err := a.EscalateBreaches(ctx, ack.Due.Add(25*time.Minute), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-got:
		t.Errorf("told twice: %s", body)
	case <-time.After(2 * time.Second):
	}
}

package alerting_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// receiver is a customer's webhook endpoint that checks Vigil's signature.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := notify.VerifyWebhook("hook-secret", r.Header.Get("X-Vigil-Signature"), r.Header.Get("X-Vigil-Timestamp"), b, time.Now(), time.Minute); err != nil {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.bodies = append(rc.bodies, string(b))
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.bodies...)
}

func TestAlertReachesTheTenantsWebhook(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{BaseURL: "https://soc.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL + "/hook"})
	in := alerting.Input{Name: "customer SIEM", Kind: "webhook", Settings: settings,
		Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "high", AllowPrivate: true}
	// Loopback is refused unless a platform admin allows it.
	analyst := e.As(t.Context(), e.AnalystA)
	if _, err := svc.Create(analyst, e.TenantA.ID, in); !errors.Is(err, auth.ErrForbidden) {
		var fe *store.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("analyst creating a channel: %v", err)
		}
	}
	noPriv := in
	noPriv.AllowPrivate = false
	var fe *store.FieldError
	if _, err := svc.Create(ctx, e.TenantA.ID, noPriv); !errors.As(err, &fe) || fe.Field != "settings" {
		t.Fatalf("loopback URL without allow_private: %v", err)
	}
	c, err := svc.Create(ctx, e.TenantA.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	// The stored configuration has no secret in it.
	got, _ := e.Store.NotifyChannels().Get(ctx, e.TenantA.ID, c.ID)
	if strings.Contains(string(got.Config), "hook-secret") || got.SecretID == "" {
		t.Fatalf("secret stored in the clear: %s", got.Config)
	}

	now := time.Now()
	low := store.Alert{ID: "a-low", TenantID: e.TenantA.ID, RuleID: "r1", RuleTitle: "Port scan", Level: "low", Host: "web-01", Count: 1, LastSeen: now}
	high := store.Alert{ID: "a-high", TenantID: e.TenantA.ID, RuleID: "r2", RuleTitle: "<b>Web shell</b> upload", Level: "critical", Host: "web-01", Count: 1, LastSeen: now}
	sys := e.AdminCtx(t.Context())
	if err := svc.Alerted(sys, low); err != nil {
		t.Fatal(err)
	}
	if err := svc.Alerted(sys, high); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.got()) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	bodies := rc.got()
	if len(bodies) != 1 || !strings.Contains(bodies[0], "Web shell") || strings.Contains(bodies[0], "Port scan") ||
		!strings.Contains(bodies[0], "https://soc.example/t/acme/events/alerts/a-high") {
		t.Fatalf("webhook got %q", bodies)
	}
	var ds []store.NotifyDelivery
	for time.Now().Before(deadline) {
		if ds, _ = svc.Deliveries(ctx, e.TenantA.ID, store.Page{}); len(ds) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(ds) != 1 || ds[0].Status != "sent" || ds[0].ChannelID != c.ID {
		t.Fatalf("deliveries %+v", ds)
	}
	// A test message through the channel.
	if _, err := svc.Test(ctx, e.TenantA.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if rc.bad != 0 {
		t.Fatalf("%d deliveries failed the signature check", rc.bad)
	}
	// Tenant B sees neither the channel nor its deliveries.
	cust := e.As(t.Context(), e.CustomerB)
	if _, err := svc.List(cust, e.TenantA.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B lists A's channels: %v", err)
	}
	if err := svc.Delete(ctx, e.TenantA.ID, c.ID); err != nil {
		t.Fatal(err)
	}
}

package alerting_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestUrgentNotice publishes one notice to two tenants: the analyst's own
// tenant gets it with its matching assets, the other is refused.
func TestUrgentNotice(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	svc, err := alerting.NewService(e.Store, e.Secrets, e.Audit, alerting.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	settings, _ := json.Marshal(map[string]string{"url": srv.URL + "/hook"})
	for _, tn := range []store.Tenant{e.TenantA, e.TenantB} {
		// A channel for critical alerts only still gets the notice.
		if _, err := svc.Create(admin, tn.ID, alerting.Input{Name: "soc", Kind: "webhook", Settings: settings,
			Secrets: map[string]string{"signing_secret": "hook-secret"}, MinLevel: "critical", AllowPrivate: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []store.Asset{{TenantID: e.TenantA.ID, Kind: "host", Name: "confluence-01", Address: "10.1.0.5"},
		{TenantID: e.TenantA.ID, Kind: "host", Name: "mail-01", Address: "10.1.0.6"}} {
		if err := e.Store.Assets().Create(admin, &a); err != nil {
			t.Fatal(err)
		}
	}
	analyst := e.As(t.Context(), e.AnalystA)
	n := alerting.Notice{Title: "Confluence OGNL injection exploited in the wild", Severity: "critical",
		Harm: "Unauthenticated remote code execution <b>now</b>", Plan: "Patch to the fixed release or block /pages/ at the proxy",
		Match: "confluence"}
	res, err := svc.PublishNotice(analyst, []string{e.TenantB.ID, e.TenantA.ID, e.TenantA.ID}, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want one per tenant", len(res))
	}
	for _, r := range res {
		switch r.Tenant.ID {
		case e.TenantA.ID:
			if r.Err != nil || r.AssetsN != 1 || r.Assets[0].Name != "confluence-01" || r.Channels != 1 {
				t.Errorf("tenant A: %+v", r)
			}
		case e.TenantB.ID:
			if !errors.Is(r.Err, auth.ErrForbidden) || r.Channels != 0 {
				t.Errorf("tenant B: %+v", r)
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := rc.got()
	if len(got) != 1 || !strings.Contains(got[0], "Confluence OGNL") || !strings.Contains(got[0], "confluence-01") ||
		strings.Contains(got[0], "mail-01") {
		t.Fatalf("webhook got %q", got)
	}
	if _, err := svc.PublishNotice(analyst, []string{e.TenantA.ID}, alerting.Notice{Title: "x", Severity: "dire", Harm: "y"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad severity: %v", err)
	}
	if _, err := svc.PublishNotice(analyst, nil, n); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no tenant: %v", err)
	}
}

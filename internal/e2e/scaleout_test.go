package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// node runs one Vigil process-equivalent with the given role.
func node(t *testing.T, cfg config.Config, role string) (*app.App, string) {
	t.Helper()
	cfg.Role = role
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("open %s node: %v", role, err)
	}
	if _, _, err := a.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("%s node: %v", role, err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s node: %v", role, err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close %s node: %v", role, err)
		}
	})
	return a, addr
}

// TestScaleOutOnPostgresAndJetStream runs an api node and a worker node
// against one PostgreSQL database and one NATS JetStream server: the API
// works as on the embedded default, and a job enqueued by one node is done
// by the other.
func TestScaleOutOnPostgresAndJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("scale-out test skipped in -short mode")
	}
	pgURL := testenv.RequirePostgres(t)
	natsURL := testenv.RequireNATS(t)
	ctx := context.Background()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "vigil_e2e_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(ctx, pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := postgres.DropDatabase(context.Background(), pgURL, name); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DB = dbURL
	cfg.Bus = natsURL
	cfg.BusPrefix = "E2E" + hex.EncodeToString(suffix)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	cfg.AdminPassword = adminPassword
	cfg.ShutdownTimeout = 5 * time.Second

	apiNode, addr := node(t, cfg, config.RoleAPI)
	worker, _ := node(t, cfg, config.RoleWorker)
	base := "http://" + addr
	if apiNode.Store.Driver() != "postgres" || worker.Store.Driver() != "postgres" {
		t.Fatalf("drivers: %s, %s", apiNode.Store.Driver(), worker.Store.Driver())
	}

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}

	// The admin created by the first node signs in, mints an API token.
	p, u, err := apiNode.Auth.Login(ctx, "admin", adminPassword, "127.0.0.1")
	if err != nil {
		t.Fatalf("admin login on postgres: %v", err)
	}
	token, _, err := apiNode.Tenants.CreateToken(auth.WithPrincipal(ctx, p), tenant.TokenInput{Name: "e2e", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatalf("%s %s: decode: %v", method, path, err)
			}
		}
		return resp.StatusCode
	}
	if code := call("POST", "/api/v1/tenants", map[string]any{"slug": "acme", "name": "Acme Corp"}, nil); code != http.StatusCreated {
		t.Fatalf("create tenant = %d", code)
	}
	if code := call("POST", "/api/v1/tenants/acme/assets", map[string]any{"kind": "ip", "name": "gw", "address": "192.0.2.1", "importance": 5}, nil); code != http.StatusCreated {
		t.Fatalf("create asset = %d", code)
	}
	var list struct {
		Total int `json:"total"`
		Items []struct {
			Address string `json:"address"`
		} `json:"items"`
	}
	if code := call("GET", "/api/v1/tenants/acme/assets", nil, &list); code != http.StatusOK || list.Total != 1 || list.Items[0].Address != "192.0.2.1" {
		t.Fatalf("list assets = %d %+v", code, list)
	}

	// The worker node does the jobs another node enqueues.
	expired := store.Session{ID: "e2e-expired", UserID: u.ID, CSRFToken: "x",
		CreatedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour), LastSeenAt: time.Now().Add(-time.Hour)}
	if err := apiNode.Store.Sessions().Create(ctx, &expired); err != nil {
		t.Fatal(err)
	}
	if err := apiNode.Bus.Enqueue(ctx, app.JobsQueue, bus.Message{Subject: app.JobSessionCleanup}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := apiNode.Store.Sessions().Get(ctx, expired.ID)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker node did not run the cleanup job (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The audit chain written by both nodes verifies.
	res, err := worker.Audit.Verify(ctx)
	if err != nil || !res.OK() || res.Entries < 4 {
		t.Fatalf("audit on postgres: %v %v", res, err)
	}
}

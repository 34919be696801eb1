package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func sampleInventory(t testing.TB) *Inventory {
	t.Helper()
	inv, err := Collect(context.Background(), CollectOptions{FS: fakeRoot(t), AgentID: "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f",
		Now: func() time.Time { return time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

type failingSink struct{}

func (failingSink) Inventory(context.Context, string, Inventory) error {
	return errors.New("database is down")
}

func TestInventoryHandler(t *testing.T) {
	good, err := json.Marshal(sampleInventory(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) string { return strings.Replace(string(good), from, to, 1) }
	docs := &docSink{}
	h := NewInventoryHandler(docs, HandlerOptions{Authenticate: bearer, MaxBodyBytes: 64 << 10})
	for _, tc := range []struct {
		name, method, token, body string
		status                    int
		reason                    string
	}{
		{"accepted", "POST", testToken, string(good), 202, ""},
		{"get", "GET", testToken, "", 405, "use POST"},
		{"no token", "POST", "", string(good), 401, "unauthorised"},
		{"wrong schema", "POST", testToken, edit(InventorySchema, "vigil.agent.inventory/v9"), 400, "schema"},
		{"unknown field", "POST", testToken, edit(`"schema"`, `"extra":1,"schema"`), 400, "unknown field"},
		{"bad agent id", "POST", testToken, edit("0b0e6f8e-3d4a", "0b0e6f8e-3d4z"), 400, "agent_id"},
		{"trailing data", "POST", testToken, string(good) + "{}", 400, "trailing"},
		{"not JSON", "POST", testToken, "<xml/>", 400, "invalid JSON"},
		{"bad manager", "POST", testToken, edit(`"manager":"dpkg"`, `"manager":"pip"`), 400, "manager"},
		{"too large", "POST", testToken, string(good) + strings.Repeat(" ", 64<<10), 413, "too large"},
		{"other agent", "POST", testToken + "|other", string(good), 400, "X-Vigil-Agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, InventoryPath, strings.NewReader(tc.body))
			if tok, other := strings.CutSuffix(tc.token, "|other"); tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
				if other {
					req.Header.Set("X-Vigil-Agent", "5d0f3a44-8a7e-4f36-9a55-3f2b8c1d2e3f")
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.reason) {
				t.Fatalf("%d %s, want %d with %q", rec.Code, rec.Body.String(), tc.status, tc.reason)
			}
		})
	}
	if n, _ := docs.counts(); n != 1 {
		t.Errorf("%d inventories stored, want 1", n)
	}
	// A failing store is a 503 without its details.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", InventoryPath, bytes.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+testToken)
	NewInventoryHandler(failingSink{}, HandlerOptions{Authenticate: bearer}).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "database") {
		t.Errorf("failing sink: %d %s", rec.Code, rec.Body.String())
	}
	// No authenticator: refused.
	rec = httptest.NewRecorder()
	NewInventoryHandler(docs, HandlerOptions{}).ServeHTTP(rec, httptest.NewRequest("POST", InventoryPath, bytes.NewReader(good)))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no authenticator: %d", rec.Code)
	}
}

func TestBaselineHandler(t *testing.T) {
	p, err := LoadPolicy(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunBaseline(context.Background(), p, BaselineOptions{FS: fakeRoot(t), AgentID: "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f", Hostname: "web01"})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(res)
	docs := &docSink{}
	h := NewBaselineHandler(docs, HandlerOptions{Authenticate: bearer})
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", BaselinePath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(string(good)); rec.Code != 202 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := post(strings.Replace(string(good), `"passed":`, `"passed":1`, 1)); rec.Code != 400 || !strings.Contains(rec.Body.String(), "do not match") {
		t.Errorf("forged counts: %d %s", rec.Code, rec.Body)
	}
	if rec := post(strings.Replace(string(good), `"result":"failed"`, `"result":"maybe"`, 1)); rec.Code != 400 {
		t.Errorf("unknown result: %d %s", rec.Code, rec.Body)
	}
}

// TestPolicyOnFakeRoot evaluates testPolicy on the test
// host, whose files decide each check (see testdata/root): a second uid 0
// account (toor), an empty password (alice), PermitRootLogin yes, no
// PermitEmptyPasswords, randomize_va_space 2, ip_forward 1, suid_dumpable 0.
func TestPolicyOnFakeRoot(t *testing.T) {
	p, err := LoadPolicy(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 {
		t.Fatalf("policy problems: %v", p.Problems)
	}
	res, err := RunBaseline(context.Background(), p, BaselineOptions{FS: fakeRoot(t), AgentID: "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f", Hostname: "web01"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"1": "failed", "2": "failed", "3": "failed", "4": "passed", "5": "passed", "6": "failed", "7": "passed"}
	for _, c := range res.Report.Checks {
		if string(c.Result) != want[c.ID] {
			t.Errorf("check %s %q: %s (%s), want %s", c.ID, c.Title, c.Result, c.Reason, want[c.ID])
		}
	}
	if len(res.Report.Checks) != len(want) {
		t.Errorf("%d checks", len(res.Report.Checks))
	}
	if err := res.Validate(); err != nil {
		t.Error(err)
	}
}

func TestIdentityAndToken(t *testing.T) {
	dir := t.TempDir() + "/data"
	id, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadIdentity(dir)
	if err != nil || again.AgentID != id.AgentID {
		t.Fatalf("identity changed: %v %v", again, err)
	}
	st, err := os.Stat(dir + "/" + identityFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v %v", st.Mode(), err)
	}
	if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v", dst.Mode())
	}
	tf := t.TempDir() + "/token"
	if err := os.WriteFile(tf, []byte("vgl_abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(tf, nil); err == nil || !strings.Contains(err.Error(), "readable by other users") {
		t.Errorf("world-readable token file: %v", err)
	}
	_ = os.Chmod(tf, 0o600)
	if tok, err := ReadToken(tf, nil); err != nil || tok != "vgl_abc" {
		t.Errorf("token %q %v", tok, err)
	}
	env := func(k string) (string, bool) { return map[string]string{TokenEnv: " vgl_env "}[k], k == TokenEnv }
	if tok, err := ReadToken("", env); err != nil || tok != "vgl_env" {
		t.Errorf("env token %q %v", tok, err)
	}
	if _, err := ReadToken("", func(string) (string, bool) { return "", false }); err == nil {
		t.Error("no token: no error")
	}
}

func FuzzInventoryDocument(f *testing.F) {
	good, _ := json.Marshal(sampleInventory(f))
	f.Add(good)
	f.Add([]byte(`{"schema":"vigil.agent.inventory/v1","agent_id":"0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f","collected_at":"2026-01-01T00:00:00Z","host":{"hostname":"h"},"packages":[{"name":"","manager":"dpkg"}]}`))
	h := NewInventoryHandler(&docSink{}, HandlerOptions{Authenticate: bearer, MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", InventoryPath, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 202 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestBuiltinPolicyOnThisHost runs a built-in policy by name on this
// machine: whatever the host's state, the result is a valid document whose
// counts add up to the policy's checks.
func TestBuiltinPolicyOnThisHost(t *testing.T) {
	p, err := LoadPolicy("debian-ubuntu")
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunBaseline(context.Background(), p, BaselineOptions{FS: os.DirFS("/"), AgentID: testAgentID, Hostname: "this-host"})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if n := r.Passed + r.Failed + r.NotApplicable + r.Manual; n != len(p.Checks) || len(r.Checks) != len(p.Checks) {
		t.Errorf("%d results for %d checks", n, len(p.Checks))
	}
	if _, err := LoadPolicy("no-such-policy"); err == nil || !strings.Contains(err.Error(), "neither a built-in policy nor a readable file") {
		t.Errorf("unknown policy: %v", err)
	}
	t.Logf("debian-ubuntu on this host: passed %d, failed %d, not applicable %d, manual %d", r.Passed, r.Failed, r.NotApplicable, r.Manual)
}

package httpserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSurfacesAndOpsEndpoints(t *testing.T) {
	ready := errors.New("db down")
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api "+r.URL.Path) })
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("template exploded")
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = io.WriteString(w, "ui "+r.URL.Path+" "+string(b))
	})
	h := New(Options{API: api, UI: ui, Registry: prometheus.NewRegistry(), MaxBodyBytes: 16,
		Ready: func(context.Context) error { return ready }})

	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}
	if r := do("GET", "/healthz", ""); r.Code != 200 {
		t.Errorf("healthz = %d", r.Code)
	}
	if r := do("GET", "/readyz", ""); r.Code != http.StatusServiceUnavailable || strings.Contains(r.Body.String(), "db down") {
		t.Errorf("readyz while not ready = %d %q (must not leak the cause)", r.Code, r.Body.String())
	}
	ready = nil
	if r := do("GET", "/readyz", ""); r.Code != 200 {
		t.Errorf("readyz = %d", r.Code)
	}
	if r := do("GET", "/api/v1/me", ""); r.Body.String() != "api /api/v1/me" {
		t.Errorf("api routed wrong: %q", r.Body.String())
	}
	if r := do("GET", "/t/acme/", ""); !strings.HasPrefix(r.Body.String(), "ui /t/acme/") {
		t.Errorf("ui routed wrong: %q", r.Body.String())
	}
	if r := do("POST", "/x", strings.Repeat("a", 17)); r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized UI body = %d", r.Code)
	}
	r := do("GET", "/boom", "")
	if r.Code != 500 || strings.Contains(r.Body.String(), "exploded") {
		t.Errorf("panic = %d %q", r.Code, r.Body.String())
	}
	if r.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("security headers missing")
	}
	m := do("GET", "/metrics", "")
	if m.Code != 200 || !strings.Contains(m.Body.String(), `vigil_http_requests_total{code="200",method="GET",surface="api"}`) {
		t.Errorf("metrics missing request counter:\n%s", m.Body.String())
	}
}

// Package httpserver assembles Vigil's HTTP surfaces into one handler: the
// REST API under /api/ (bearer tokens, no cookies), the browser UI for
// everything else (sessions, CSRF, CSP), and the operations endpoints
// /healthz, /readyz and /metrics. It is the only package besides app that
// knows both surfaces.
package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-sec/vigil/internal/httpmw"
)

// Options configures the handler.
type Options struct {
	API    http.Handler // serves /api/...
	UI     http.Handler // serves everything else; nil on nodes without a UI
	Logger *slog.Logger
	// Ready reports whether the node can serve (database and bus reachable).
	Ready func(ctx context.Context) error
	// Registry provides /metrics; HTTP metrics are registered on it.
	Registry     *prometheus.Registry
	MaxBodyBytes int64
	// MaxUploadBytes bounds multipart uploads to the UI (0: the default).
	MaxUploadBytes int64
	TrustedProxies []netip.Prefix
	// Ingest receives log events at POST /ingest/events; it checks its own
	// bearer tokens and body limit.
	Ingest http.Handler
	// Agent receives host agents' documents at POST /api/v1/agent/...; it
	// checks its own bearer tokens and body limit.
	Agent http.Handler
	// TAXII serves TAXII 2.1 under /taxii2/; it checks its own bearer
	// tokens.
	TAXII http.Handler
}

// New returns the composed handler.
func New(opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	limit := opts.MaxBodyBytes
	if limit <= 0 {
		limit = httpmw.DefaultMaxBody
	}
	var metrics *httpmw.Metrics
	if opts.Registry != nil {
		metrics = httpmw.NewMetrics(opts.Registry)
	}
	observe := func(name string, h http.Handler) http.Handler {
		return httpmw.Observe(logger, metrics, name)(h)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if opts.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			if err := opts.Ready(ctx); err != nil {
				logger.Warn("not ready", "err", err)
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	if opts.API != nil {
		// The API enforces its own body limit and answers in problem JSON.
		mux.Handle("/api/", observe("api", opts.API))
	}
	if opts.Ingest != nil {
		mux.Handle("POST /ingest/events", observe("ingest", opts.Ingest))
	}
	if opts.Agent != nil {
		mux.Handle("POST /api/v1/agent/", observe("agent", opts.Agent))
	}
	if opts.TAXII != nil {
		mux.Handle("GET /taxii2/", observe("taxii", opts.TAXII))
	}
	if opts.UI != nil {
		upload := opts.MaxUploadBytes
		if upload <= 0 {
			upload = max(httpmw.DefaultMaxUpload, limit)
		}
		mux.Handle("/", observe("ui", httpmw.LimitBodyUpload(limit, upload)(opts.UI)))
	}
	var h http.Handler = mux
	h = httpmw.SecurityHeaders(h)
	h = httpmw.ClientIP(opts.TrustedProxies)(h)
	h = httpmw.Recover(logger)(h)
	return h
}

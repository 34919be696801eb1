// Package httpmw holds the HTTP middleware shared by the browser UI and the
// REST API: panic recovery, body size limits, client address, request
// logging and metrics, security headers, and the single mapping from domain
// errors to HTTP status codes.
package httpmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// DefaultMaxBody is the request body limit unless a route sets its own.
const DefaultMaxBody = 1 << 20

// Status maps an error to an HTTP status and a message safe to show a
// client. Unknown errors become 500 with a generic message; the caller logs
// the real error.
func Status(err error) (int, string) {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, "authentication required"
	case errors.Is(err, auth.ErrInvalidCredentials):
		return http.StatusUnauthorized, auth.ErrInvalidCredentials.Error()
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests, auth.ErrRateLimited.Error()
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, "permission denied"
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrInvalid):
		return http.StatusUnprocessableEntity, userMessage(err, store.ErrInvalid)
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, userMessage(err, store.ErrConflict)
	case errors.Is(err, context.Canceled):
		return 499, "request cancelled"
	}
	return http.StatusInternalServerError, "internal error"
}

// userMessage returns the part of err's message from the sentinel on, which
// domain code writes for users ("invalid input: name is required").
func userMessage(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()); i >= 0 {
		return msg[i:]
	}
	return sentinel.Error()
}

// Recover turns a panic into a logged 500 so no panic reaches a client.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
						"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// DefaultMaxUpload is the body limit of multipart uploads (configuration
// files, logs, scanner reports) unless the server sets its own.
const DefaultMaxUpload = 32 << 20

// LimitBodyUpload caps multipart/form-data request bodies at upload bytes
// and every other body at form bytes.
func LimitBodyUpload(form, upload int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		small, large := LimitBody(form)(next), LimitBody(upload)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
				large.ServeHTTP(w, r)
				return
			}
			small.ServeHTTP(w, r)
		})
	}
}

// LimitBody caps every request body at n bytes.
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				http.Error(w, fmt.Sprintf("request body larger than %d bytes", n), http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// ClientIP puts the client address in the request context (for audit and
// rate limiting). Forwarded headers are honoured only from trusted proxies.
func ClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := RemoteIP(r, trusted)
			ctx := audit.WithClientIP(r.Context(), ip)
			ctx = context.WithValue(ctx, ipKey{}, ip)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

type ipKey struct{}

// IP returns the client address set by ClientIP.
func IP(ctx context.Context) string {
	s, _ := ctx.Value(ipKey{}).(string)
	return s
}

// RemoteIP is the client address of r.
func RemoteIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	for _, p := range trusted {
		if p.Contains(addr) {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				parts := strings.Split(xff, ",")
				if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
					return a.String()
				}
			}
			break
		}
	}
	return addr.String()
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Metrics are the HTTP metrics registered by NewMetrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total", Help: "HTTP requests by surface, method and status code.",
		}, []string{"surface", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by surface.",
			Buckets: prometheus.DefBuckets,
		}, []string{"surface"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Observe logs and counts every request of a surface ("ui", "api", "ops").
func Observe(logger *slog.Logger, m *Metrics, surface string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			if m != nil {
				m.requests.WithLabelValues(surface, methodLabel(r.Method), strconv.Itoa(sw.status)).Inc()
				m.duration.WithLabelValues(surface).Observe(d.Seconds())
			}
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
			logger.Log(r.Context(), level, "http", "surface", surface, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "bytes", sw.bytes, "dur", d.Round(time.Microsecond))
		})
	}
}

// methodLabel bounds the label set to known methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// SecurityHeaders sets headers every response carries.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

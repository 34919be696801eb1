package logs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// DefaultMaxBodySize bounds an HTTP ingest request body when
// HTTPOptions.MaxBodySize is zero: 8 MiB.
const DefaultMaxBodySize = 8 << 20

// HTTPOptions configures the HTTP ingest handler.
type HTTPOptions struct {
	Options
	// Authenticate checks the request's credentials and names the tenant
	// the events belong to; an error answers 401. Required: the handler
	// refuses every request when it is nil.
	Authenticate func(r *http.Request) (tenant string, err error)
	// MaxBodySize bounds the request body; larger bodies get 413. Zero
	// means DefaultMaxBodySize.
	MaxBodySize int64
}

// HTTPHandler ingests JSON over HTTP: POST a JSON object, a JSON array of
// objects, or NDJSON (one object per line). Each object is one record for
// the parser (default "json"; a Windows event or EVE object is better
// served by a handler whose Parser is "auto"). The answer is 202 with
// {"accepted":N,"dead_lettered":M} only after the Sink accepted the
// events; 503 when it did not (the client should retry), 413 for an
// oversized body, 400 for a body that is not JSON at all, 401 when
// Authenticate refuses.
type HTTPHandler struct {
	opts HTTPOptions
}

var _ http.Handler = (*HTTPHandler)(nil)

// NewHTTPHandler returns the handler; opts.Sink is required.
func NewHTTPHandler(opts HTTPOptions) *HTTPHandler {
	if opts.Parser == nil {
		opts.Parser = jsonParser{}
	}
	opts.defaults()
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = DefaultMaxBodySize
	}
	return &HTTPHandler{opts: opts}
}

// Counters returns the handler's counters.
func (h *HTTPHandler) Counters() *Counters { return h.opts.Counters }

// httpError is an error with the status and client-safe text to answer.
type httpError struct {
	status int
	msg    string
	err    error
}

func (e *httpError) Error() string { return e.msg }
func (e *httpError) Unwrap() error { return e.err }

// ServeHTTP implements http.Handler: it maps serve's error to a status.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.serve(r.Context(), w, r)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{status: http.StatusInternalServerError, msg: "internal error", err: err}
		}
		if he.status >= 500 {
			h.opts.Logger.Warn("http ingest failed", "status", he.status, "err", he.err)
		}
		w.WriteHeader(he.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": he.msg})
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(res)
}

type ingestResult struct {
	Accepted     int `json:"accepted"`
	DeadLettered int `json:"dead_lettered"`
}

func (h *HTTPHandler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (ingestResult, error) {
	var res ingestResult
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return res, &httpError{status: http.StatusMethodNotAllowed, msg: "use POST"}
	}
	if h.opts.Authenticate == nil {
		return res, &httpError{status: http.StatusUnauthorized, msg: "unauthorised"}
	}
	tenant, err := h.opts.Authenticate(r)
	if err != nil {
		return res, &httpError{status: http.StatusUnauthorized, msg: "unauthorised", err: err}
	}
	body, err := readBody(w, r, h.opts.MaxBodySize)
	if err != nil {
		return res, err
	}
	records, err := splitJSONBody(body)
	if err != nil {
		return res, &httpError{status: http.StatusBadRequest, msg: err.Error(), err: err}
	}
	o := h.opts.Options
	b := newBatcher(&o, r.RemoteAddr, tenant)
	b.o.BatchSize = len(records) + 1
	for _, rec := range records {
		b.add(ctx, rec, false)
	}
	res.Accepted = len(b.events)
	res.DeadLettered = len(records) - res.Accepted
	if err := b.flush(ctx); err != nil {
		return ingestResult{}, &httpError{status: http.StatusServiceUnavailable, msg: "events not stored; retry", err: err}
	}
	return res, nil
}

// splitJSONBody returns the records of a body: the elements of a JSON
// array, or its lines (NDJSON, which includes a single object).
func splitJSONBody(body []byte) ([][]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("empty body")
	}
	if trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, errors.New("body is not a JSON array")
		}
		out := make([][]byte, len(items))
		for i, it := range items {
			out[i] = it
		}
		return out, nil
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(trimmed))
	sc.Buffer(make([]byte, 0, 64<<10), len(trimmed)+1)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errors.New("could not split NDJSON body")
	}
	return out, nil
}

// readBody reads the request body, gunzipping it when Content-Encoding is
// gzip. maxSize bounds the body as sent and, separately, as decoded, so a
// small compressed body cannot expand past the limit.
func readBody(w http.ResponseWriter, r *http.Request, maxSize int64) ([]byte, error) {
	src := io.Reader(http.MaxBytesReader(w, r.Body, maxSize))
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, &httpError{status: http.StatusBadRequest, msg: "body is not gzip", err: err}
		}
		defer zr.Close()
		src, gz = io.LimitReader(zr, maxSize+1), true
	default:
		return nil, &httpError{status: http.StatusUnsupportedMediaType, msg: "Content-Encoding must be gzip or none"}
	}
	body, err := io.ReadAll(src)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: "body too large", err: err}
		}
		return nil, &httpError{status: http.StatusBadRequest, msg: "could not read body", err: err}
	}
	if gz && int64(len(body)) > maxSize {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, msg: "body too large once decompressed"}
	}
	return body, nil
}

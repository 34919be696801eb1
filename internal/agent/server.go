package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/baseline"
)

// BaselineSchema names version 1 of the baseline result document.
const BaselineSchema = "vigil.agent.baseline/v1"

// BaselineResult is a policy evaluated on the agent's host, as posted to
// /api/v1/agent/baseline.
type BaselineResult struct {
	Schema      string          `json:"schema"`
	AgentID     string          `json:"agent_id"`
	Hostname    string          `json:"hostname"`
	CollectedAt time.Time       `json:"collected_at"`
	Policy      PolicyRef       `json:"policy"`
	Report      baseline.Report `json:"report"`
}

// PolicyRef names the policy a BaselineResult evaluated.
type PolicyRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// File is the policy's file name, or "embedded:<name>".
	File string `json:"file,omitempty"`
}

// MaxDocumentBytes bounds a posted inventory or baseline document when
// HandlerOptions.MaxBodyBytes is zero: 8 MiB.
const MaxDocumentBytes = 8 << 20

// maxSectionErrors bounds Inventory.Errors: a few per section and one per
// log file of a bundle.
const maxSectionErrors = 64 + MaxBundleFiles

// maxChecks bounds the checks of one baseline report.
const maxChecks = 10_000

// InventorySink stores an inventory received from an agent.
type InventorySink interface {
	Inventory(ctx context.Context, tenantID string, inv Inventory) error
}

// BaselineSink stores a baseline result received from an agent.
type BaselineSink interface {
	Baseline(ctx context.Context, tenantID string, res BaselineResult) error
}

// HandlerOptions configures the server-side handlers.
type HandlerOptions struct {
	// Authenticate checks the request's credentials and names the tenant
	// the document belongs to; an error answers 401. Required: without it
	// every request is refused.
	Authenticate func(r *http.Request) (tenantID string, err error)
	// MaxBodyBytes bounds the body; zero means MaxDocumentBytes.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

func (o *HandlerOptions) defaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = MaxDocumentBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// NewInventoryHandler returns the handler of POST /api/v1/agent/inventory:
// it authenticates, bounds and validates the Inventory document and hands
// it to sink. Answers: 202 {"status":"accepted"}; 400 for a document that
// is not a valid v1 inventory (the reason is in {"error":…}); 401; 405;
// 413 for a body over the limit; 503 when sink failed (retry later).
func NewInventoryHandler(sink InventorySink, opts HandlerOptions) http.Handler {
	opts.defaults()
	return &docHandler{opts: opts, kind: "inventory", accept: func(ctx context.Context, tenant string, body []byte) (any, error) {
		var inv Inventory
		if err := decodeStrict(body, &inv); err != nil {
			return nil, badRequest(err)
		}
		if err := inv.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := sameAgent(ctx, inv.AgentID); err != nil {
			return nil, err
		}
		return nil, sink.Inventory(ctx, tenant, inv)
	}}
}

// NewBaselineHandler returns the handler of POST /api/v1/agent/baseline,
// with the same contract as NewInventoryHandler for a BaselineResult.
func NewBaselineHandler(sink BaselineSink, opts HandlerOptions) http.Handler {
	opts.defaults()
	return &docHandler{opts: opts, kind: "baseline", accept: func(ctx context.Context, tenant string, body []byte) (any, error) {
		var res BaselineResult
		if err := decodeStrict(body, &res); err != nil {
			return nil, badRequest(err)
		}
		if err := res.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := sameAgent(ctx, res.AgentID); err != nil {
			return nil, err
		}
		return nil, sink.Baseline(ctx, tenant, res)
	}}
}

// HeartbeatSink records an enrolled agent's heartbeat and answers its
// configuration.
type HeartbeatSink interface {
	Heartbeat(ctx context.Context, tenantID string, hb Heartbeat) (HeartbeatAnswer, error)
}

// NewHeartbeatHandler returns the handler of POST /api/v1/agent/heartbeat:
// it authenticates (opts.Authenticate must accept only the agent's own
// credential), bounds and validates the Heartbeat and answers 200 with
// the HeartbeatAnswer; errors as NewInventoryHandler.
func NewHeartbeatHandler(sink HeartbeatSink, opts HandlerOptions) http.Handler {
	opts.defaults()
	if opts.MaxBodyBytes > 64<<10 {
		opts.MaxBodyBytes = 64 << 10
	}
	return &docHandler{opts: opts, kind: "heartbeat", accept: func(ctx context.Context, tenant string, body []byte) (any, error) {
		var hb Heartbeat
		if err := decodeStrict(body, &hb); err != nil {
			return nil, badRequest(err)
		}
		if err := hb.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := sameAgent(ctx, hb.AgentID); err != nil {
			return nil, err
		}
		ans, err := sink.Heartbeat(ctx, tenant, hb)
		if err != nil {
			return nil, err
		}
		return ans, nil
	}}
}

// ErrEnrolRefused is returned by an Enroller for an enrolment token that
// is unknown, used up, revoked or expired; the handler answers 401.
var ErrEnrolRefused = errors.New("enrolment token refused")

// ErrEnrolInvalid is returned by an Enroller for a request it cannot
// serve as sent (a certificate request it refuses); the token is not
// used.
var ErrEnrolInvalid = errors.New("enrolment request refused")

// Enroller exchanges an enrolment token for an agent credential.
type Enroller interface {
	Enrol(ctx context.Context, token string, req EnrolRequest) (EnrolResponse, error)
}

// NewEnrolHandler returns the handler of POST /api/v1/agent/enrol: the
// bearer token is the enrolment token, the body an EnrolRequest; the
// answer is 200 with the EnrolResponse, 401 when the enrolment token is
// refused, 400/413 for a bad body, 503 when the enroller failed.
func NewEnrolHandler(en Enroller, opts HandlerOptions) http.Handler {
	opts.defaults()
	if opts.MaxBodyBytes > 16<<10 {
		opts.MaxBodyBytes = 16 << 10
	}
	opts.Authenticate = func(r *http.Request) (string, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !strings.HasPrefix(strings.TrimSpace(tok), EnrolTokenPrefix) {
			return "", errors.New("no enrolment token")
		}
		return strings.TrimSpace(tok), nil
	}
	return &docHandler{opts: opts, kind: "enrolment", accept: func(ctx context.Context, token string, body []byte) (any, error) {
		var req EnrolRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, badRequest(err)
		}
		if err := req.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := sameAgent(ctx, req.AgentID); err != nil {
			return nil, err
		}
		res, err := en.Enrol(ctx, token, req)
		if errors.Is(err, ErrEnrolInvalid) {
			return nil, badRequest(err)
		}
		if errors.Is(err, ErrEnrolRefused) {
			return nil, &statusError{status: http.StatusUnauthorized, msg: "unauthorised", err: err}
		}
		if err != nil {
			return nil, err
		}
		return res, nil
	}}
}

type docHandler struct {
	opts HandlerOptions
	kind string
	// accept handles the body; a nil answer is 202 {"status":"accepted"},
	// another is 200 with the answer as JSON.
	accept func(ctx context.Context, tenant string, body []byte) (any, error)
}

// statusError carries the status and client-safe text to answer.
type statusError struct {
	status int
	msg    string
	err    error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.err }

func badRequest(err error) error {
	return &statusError{status: http.StatusBadRequest, msg: err.Error(), err: err}
}

// ServeHTTP maps serve's error to a status, the one place that does.
func (h *docHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ans, err := h.serve(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err == nil && ans != nil {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(ans)
		return
	}
	if err == nil {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"accepted"}` + "\n"))
		return
	}
	var se *statusError
	if !errors.As(err, &se) {
		se = &statusError{status: http.StatusServiceUnavailable, msg: h.kind + " not stored; retry later", err: err}
	}
	h.opts.Logger.Warn("agent document refused", "kind", h.kind, "status", se.status, "remote", r.RemoteAddr, "reason", se.err)
	w.WriteHeader(se.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": se.msg})
}

func (h *docHandler) serve(w http.ResponseWriter, r *http.Request) (ans any, err error) {
	defer func() {
		if v := recover(); v != nil {
			ans, err = nil, &statusError{status: http.StatusInternalServerError, msg: "internal error", err: fmt.Errorf("panic: %v", v)}
		}
	}()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &statusError{status: http.StatusMethodNotAllowed, msg: "use POST"}
	}
	if h.opts.Authenticate == nil {
		return nil, &statusError{status: http.StatusUnauthorized, msg: "unauthorised", err: errors.New("no authenticator configured")}
	}
	tenant, err := h.opts.Authenticate(r)
	if err != nil {
		return nil, &statusError{status: http.StatusUnauthorized, msg: "unauthorised", err: err}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &statusError{status: http.StatusRequestEntityTooLarge, msg: "body too large", err: err}
		}
		return nil, &statusError{status: http.StatusBadRequest, msg: "could not read body", err: err}
	}
	ctx := context.WithValue(r.Context(), agentHeaderKey{}, r.Header.Get("X-Vigil-Agent"))
	return h.accept(ctx, tenant, body)
}

// agentHeaderKey carries the request's X-Vigil-Agent header to accept.
type agentHeaderKey struct{}

// sameAgent refuses a document whose agent_id differs from the
// X-Vigil-Agent header the request carried (when it carried one).
func sameAgent(ctx context.Context, id string) error {
	if h, _ := ctx.Value(agentHeaderKey{}).(string); h != "" && h != id {
		return badRequest(errors.New("agent_id differs from the X-Vigil-Agent header"))
	}
	return nil
}

// decodeStrict decodes exactly one JSON object with no unknown fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON document: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON document: trailing data")
	}
	return nil
}

// Bounds applied by Validate to strings.
const (
	maxHostname = 255
	maxField    = 4096
)

// Validate checks an inventory document: its schema, agent id, time,
// list sizes and string lengths.
func (inv *Inventory) Validate() error {
	if inv.Schema != InventorySchema {
		return fmt.Errorf("schema: want %q, got %q", InventorySchema, inv.Schema)
	}
	if err := validAgentID(inv.AgentID); err != nil {
		return err
	}
	if inv.CollectedAt.IsZero() {
		return errors.New("collected_at: required")
	}
	if err := validName("host.hostname", inv.Host.Hostname, maxHostname); err != nil {
		return err
	}
	for _, n := range []struct {
		name  string
		n, mx int
	}{
		{"interfaces", len(inv.Interfaces), MaxInterfaces},
		{"listeners", len(inv.Listeners), MaxSockets},
		{"packages", len(inv.Packages), MaxPackages},
		{"users", len(inv.Users), MaxAccounts},
		{"groups", len(inv.Groups), MaxAccounts},
		{"services", len(inv.Services), MaxServices},
		{"errors", len(inv.Errors), maxSectionErrors},
	} {
		if n.n > n.mx {
			return fmt.Errorf("%s: %d entries, limit %d", n.name, n.n, n.mx)
		}
	}
	for i, p := range inv.Packages {
		if p.Name == "" || len(p.Name) > maxField || len(p.Version) > maxField || len(p.Arch) > maxField || len(p.Source) > maxField {
			return fmt.Errorf("packages[%d]: name required, fields at most %d bytes", i, maxField)
		}
		switch p.Manager {
		case "dpkg", "apk", "rpm":
		default:
			return fmt.Errorf("packages[%d]: manager %q is not dpkg, apk or rpm", i, p.Manager)
		}
	}
	for i, u := range inv.Users {
		if u.Name == "" || len(u.Name) > maxField || len(u.Home) > maxField || len(u.Shell) > maxField {
			return fmt.Errorf("users[%d]: name required, fields at most %d bytes", i, maxField)
		}
	}
	for i, l := range inv.Listeners {
		switch l.Proto {
		case "tcp", "tcp6", "udp", "udp6":
		default:
			return fmt.Errorf("listeners[%d]: proto %q", i, l.Proto)
		}
		if len(l.Address) > 64 || len(l.Process) > maxField || len(l.Exe) > maxField {
			return fmt.Errorf("listeners[%d]: field too long", i)
		}
	}
	return nil
}

// Validate checks a baseline result document.
func (res *BaselineResult) Validate() error {
	if res.Schema != BaselineSchema {
		return fmt.Errorf("schema: want %q, got %q", BaselineSchema, res.Schema)
	}
	if err := validAgentID(res.AgentID); err != nil {
		return err
	}
	if res.CollectedAt.IsZero() {
		return errors.New("collected_at: required")
	}
	if err := validName("hostname", res.Hostname, maxHostname); err != nil {
		return err
	}
	if err := validName("policy.id", res.Policy.ID, maxField); err != nil {
		return err
	}
	r := &res.Report
	if len(r.Checks) > maxChecks {
		return fmt.Errorf("report.checks: %d entries, limit %d", len(r.Checks), maxChecks)
	}
	var p, f, na, m int
	for i, c := range r.Checks {
		switch c.Result {
		case baseline.Passed:
			p++
		case baseline.Failed:
			f++
		case baseline.NotApplicable:
			na++
		case baseline.Manual:
			m++
		default:
			return fmt.Errorf("report.checks[%d]: result %q", i, clipForError(string(c.Result)))
		}
	}
	if p != r.Passed || f != r.Failed || na != r.NotApplicable || m != r.Manual {
		return fmt.Errorf("report: counts passed=%d failed=%d not_applicable=%d manual=%d do not match the checks (%d, %d, %d, %d)",
			r.Passed, r.Failed, r.NotApplicable, r.Manual, p, f, na, m)
	}
	if r.Score < 0 || r.Score > 100 {
		return fmt.Errorf("report.score %v: out of 0..100", r.Score)
	}
	return nil
}

func validAgentID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return fmt.Errorf("agent_id %q: want a UUID", clipForError(id))
	}
	return nil
}

func validName(field, v string, limit int) error {
	if v == "" {
		return fmt.Errorf("%s: required", field)
	}
	if len(v) > limit {
		return fmt.Errorf("%s: longer than %d bytes", field, limit)
	}
	return nil
}

func clipForError(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Package fleet is the server side of the host agents: enrolment tokens
// an admin creates for a tenant, the exchange of such a token for an
// agent's own credential (kept as a SHA-256 only), the authentication of
// an agent's requests by that credential, heartbeats, revocation, and the
// configuration pushed to a tenant's agents (the tenant's default or one
// agent's own). The agent package defines the documents; this package
// stores them.
package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of an enrolment token.
const (
	MaxEnrolUses = 10_000
	MinEnrolTTL  = time.Minute
	MaxEnrolTTL  = 90 * 24 * time.Hour
	// DefaultEnrolTTL is the lifetime of a token when none is given.
	DefaultEnrolTTL = 24 * time.Hour
	maxName         = 100
)

// Agent statuses shown to people.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
	StatusNever   = "never" // enrolled, not heard from since
	StatusRevoked = "revoked"
)

// Options configures the service.
type Options struct {
	// OfflineAfter is how long an agent may be silent before it is shown
	// offline; zero means 5 minutes.
	OfflineAfter time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// Box seals the agent CA in the store; nil issues no client
	// certificates.
	Box *secret.Box
	// CertValidity is the lifetime of an agent's client certificate;
	// zero means ClientCertValidity. Agents renew at two thirds of it.
	CertValidity time.Duration
}

// Service manages a tenant's agents.
type Service struct {
	st    store.Store
	audit *audit.Log
	opts  Options
	ca    caHolder
}

// New returns the service.
func New(st store.Store, a *audit.Log, opts Options) *Service {
	if opts.OfflineAfter <= 0 {
		opts.OfflineAfter = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CertValidity <= 0 {
		opts.CertValidity = ClientCertValidity
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, audit: a, opts: opts}
}

var _ agent.Enroller = (*Service)(nil)

// Hash is the SHA-256 (hex) under which a secret is stored.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fleet: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func invalid(field, code string, args map[string]any, format string, a ...any) error {
	return store.NewFieldError(field, code, args, format, a...)
}

// EnrolmentInput is what an admin gives for a new enrolment token.
type EnrolmentInput struct {
	Name string
	// MaxUses is how many agents may enrol with it (1 for a one-time
	// token; at most MaxEnrolUses); zero means 1.
	MaxUses int
	// TTL is how long it is good for (1 minute to 90 days); zero means
	// DefaultEnrolTTL.
	TTL time.Duration
}

// CreateEnrolment creates an enrolment token for the tenant and returns
// it with its secret, shown this once.
func (s *Service) CreateEnrolment(ctx context.Context, tenantID string, in EnrolmentInput) (store.AgentEnrolment, string, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.AgentEnrolment{}, "", err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.MaxUses == 0 {
		in.MaxUses = 1
	}
	if in.TTL == 0 {
		in.TTL = DefaultEnrolTTL
	}
	var errs []error
	if len(in.Name) > maxName || !utf8.ValidString(in.Name) || strings.ContainsFunc(in.Name, func(r rune) bool { return r < 0x20 }) {
		errs = append(errs, invalid("name", store.CodeTooLong, map[string]any{"max": maxName}, "the name must be at most %d characters of text", maxName))
	}
	if in.MaxUses < 1 || in.MaxUses > MaxEnrolUses {
		errs = append(errs, invalid("max_uses", store.CodeOutOfRange, map[string]any{"min": 1, "max": MaxEnrolUses},
			"uses must be between 1 and %d", MaxEnrolUses))
	}
	if in.TTL < MinEnrolTTL || in.TTL > MaxEnrolTTL {
		errs = append(errs, invalid("ttl", store.CodeOutOfRange, map[string]any{"min": MinEnrolTTL.String(), "max": MaxEnrolTTL.String()},
			"the lifetime must be between %v and %v", MinEnrolTTL, MaxEnrolTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return store.AgentEnrolment{}, "", err
	}
	secret, err := newSecret(agent.EnrolTokenPrefix)
	if err != nil {
		return store.AgentEnrolment{}, "", err
	}
	p := auth.FromContext(ctx)
	e := store.AgentEnrolment{TenantID: tenantID, Name: in.Name, TokenHash: Hash(secret), MaxUses: in.MaxUses,
		ExpiresAt: s.opts.Now().Add(in.TTL), CreatedBy: p.Name()}
	if err := s.st.Agents().CreateEnrolment(ctx, &e); err != nil {
		return store.AgentEnrolment{}, "", err
	}
	return e, secret, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.enrolment.create", Object: "agent_enrolment:" + e.ID,
		Detail: map[string]any{"name": e.Name, "max_uses": e.MaxUses, "expires_at": e.ExpiresAt}})
}

// ListEnrolments returns the tenant's enrolment tokens (never secrets).
func (s *Service) ListEnrolments(ctx context.Context, tenantID string) ([]store.AgentEnrolment, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.st.Agents().ListEnrolments(ctx, tenantID)
}

// RevokeEnrolment makes an enrolment token unusable.
func (s *Service) RevokeEnrolment(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	if err := s.st.Agents().RevokeEnrolment(ctx, tenantID, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.enrolment.revoke", Object: "agent_enrolment:" + id})
}

// AgentView is an agent as listed: the stored agent and its status.
type AgentView struct {
	store.Agent
	// State is online, offline, never or revoked.
	State string
}

func (s *Service) view(a store.Agent) AgentView {
	v := AgentView{Agent: a}
	switch {
	case a.Status == store.AgentRevoked:
		v.State = StatusRevoked
	case a.LastSeenAt.IsZero():
		v.State = StatusNever
	case s.opts.Now().Sub(a.LastSeenAt) > s.opts.OfflineAfter:
		v.State = StatusOffline
	default:
		v.State = StatusOnline
	}
	v.TokenHash = ""
	return v
}

// ListAgents returns a page of the tenant's agents.
func (s *Service) ListAgents(ctx context.Context, tenantID string, p store.Page) ([]AgentView, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	as, err := s.st.Agents().ListAgents(ctx, tenantID, p)
	if err != nil {
		return nil, err
	}
	out := make([]AgentView, len(as))
	for i, a := range as {
		out[i] = s.view(a)
	}
	return out, nil
}

// GetAgent returns one agent of the tenant.
func (s *Service) GetAgent(ctx context.Context, tenantID, id string) (AgentView, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return AgentView{}, err
	}
	a, err := s.st.Agents().GetAgent(ctx, tenantID, id)
	if err != nil {
		return AgentView{}, err
	}
	return s.view(a), nil
}

// RevokeAgent revokes an agent's credential: its requests are refused
// from now on, until it enrols again.
func (s *Service) RevokeAgent(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	if err := s.st.Agents().RevokeAgent(ctx, tenantID, id, s.opts.Now()); err != nil {
		return err
	}
	// Its certificates go on the revocation list every node checks at
	// the TLS handshake.
	n, err := s.revokeCerts(ctx, tenantID, id, "")
	if err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.revoke", Object: "agent:" + id,
		Detail: map[string]any{"certificates_revoked": n}})
}

// Config returns the configuration row of the tenant (agentID "") or of
// one agent; store.ErrNotFound when none is set.
func (s *Service) Config(ctx context.Context, tenantID, agentID string) (store.AgentConfig, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.AgentConfig{}, err
	}
	return s.st.Agents().GetConfig(ctx, tenantID, agentID)
}

// PutConfig validates and stores the configuration of the tenant
// (agentID "") or of one of its agents. body is the JSON document; it is
// stored in canonical form.
func (s *Service) PutConfig(ctx context.Context, tenantID, agentID string, body []byte) (store.AgentConfig, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.AgentConfig{}, err
	}
	rc, err := agent.ParseRemoteConfig(body)
	if err != nil {
		return store.AgentConfig{}, invalid("config", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	if rc.Baseline != "" {
		if _, err := agent.LoadPolicy(rc.Baseline); err != nil && !strings.HasPrefix(rc.Baseline, "/") {
			// A file on the agent's host is checked there; a built-in name
			// must exist.
			return store.AgentConfig{}, invalid("config", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "baseline: %s", err.Error())
		}
	}
	if agentID != "" {
		if _, err := s.st.Agents().GetAgent(ctx, tenantID, agentID); err != nil {
			return store.AgentConfig{}, err
		}
	}
	c := store.AgentConfig{TenantID: tenantID, AgentID: agentID, Body: string(rc.Canonical()), UpdatedBy: auth.FromContext(ctx).Name()}
	if err := s.st.Agents().PutConfig(ctx, &c); err != nil {
		return store.AgentConfig{}, err
	}
	obj := "agent_config:tenant"
	if agentID != "" {
		obj = "agent_config:" + agentID
	}
	return c, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.config.put", Object: obj,
		Detail: map[string]any{"version": c.Version, "etag": rc.ETag()}})
}

// DeleteConfig removes the configuration of the tenant or of one agent.
func (s *Service) DeleteConfig(ctx context.Context, tenantID, agentID string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	if err := s.st.Agents().DeleteConfig(ctx, tenantID, agentID); err != nil {
		return err
	}
	obj := "agent_config:tenant"
	if agentID != "" {
		obj = "agent_config:" + agentID
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.config.delete", Object: obj})
}

// Effective returns the configuration an agent gets: its own when set,
// else the tenant's; nil when neither is.
func (s *Service) Effective(ctx context.Context, tenantID, agentID string) (*agent.RemoteConfig, error) {
	c, err := s.st.Agents().GetConfig(ctx, tenantID, agentID)
	if errors.Is(err, store.ErrNotFound) {
		c, err = s.st.Agents().GetConfig(ctx, tenantID, "")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rc, err := agent.ParseRemoteConfig([]byte(c.Body))
	if err != nil {
		return nil, fmt.Errorf("fleet: stored configuration: %w", err)
	}
	return &rc, nil
}

// ---- the agents' side ----

// Enrol implements agent.Enroller: it consumes one use of the enrolment
// token and creates the agent's credential. The token's secret is never
// stored, only compared by hash.
func (s *Service) Enrol(ctx context.Context, token string, req agent.EnrolRequest) (agent.EnrolResponse, error) {
	if !strings.HasPrefix(token, agent.EnrolTokenPrefix) || len(token) > 256 {
		return agent.EnrolResponse{}, agent.ErrEnrolRefused
	}
	// A certificate request is checked, and the CA ready, before the
	// token is used.
	var csr *x509.CertificateRequest
	var ca *CA
	if req.CSR != "" {
		var err error
		if csr, err = ParseCSR(req.CSR); err != nil {
			return agent.EnrolResponse{}, fmt.Errorf("%w: %w", agent.ErrEnrolInvalid, err)
		}
		if ca, err = s.CA(ctx); err != nil {
			return agent.EnrolResponse{}, err
		}
	}
	cred, err := newSecret(agent.CredentialPrefix)
	if err != nil {
		return agent.EnrolResponse{}, err
	}
	a := store.Agent{ID: req.AgentID, Hostname: req.Hostname, Version: req.Version, TokenHash: Hash(cred), EnrolledAt: s.opts.Now()}
	if err := s.st.Agents().Enrol(ctx, Hash(token), &a); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return agent.EnrolResponse{}, fmt.Errorf("%w: unknown, used up, revoked or expired", agent.ErrEnrolRefused)
		}
		return agent.EnrolResponse{}, err
	}
	if err := s.audit.RecordAs(ctx, &auth.Principal{Username: "agent:" + a.ID, UserID: "agent:" + a.ID}, audit.Event{
		TenantID: a.TenantID, Action: "agent.enrol", Object: "agent:" + a.ID,
		Detail: map[string]any{"hostname": a.Hostname, "enrolment": a.EnrolmentID}}); err != nil {
		s.opts.Logger.Warn("fleet: enrolment not audited", "err", err)
	}
	res := agent.EnrolResponse{AgentID: a.ID, TenantID: a.TenantID, Token: cred}
	// The certificates of an earlier enrolment of this agent went with
	// the credential it replaces.
	if _, err := s.revokeCerts(ctx, a.TenantID, a.ID, ""); err != nil {
		return agent.EnrolResponse{}, err
	}
	if ca != nil {
		cert, _, err := s.issue(ctx, ca, csr, a.TenantID, a.ID)
		if err != nil {
			return agent.EnrolResponse{}, err
		}
		res.Certificate, res.CACertificate = string(cert), string(ca.CertPEM())
	}
	return res, nil
}

// ErrNotAgent means a request does not carry a valid agent credential for
// the agent it names.
var ErrNotAgent = errors.New("not an enrolled agent's credential")

// IsCredential reports whether a bearer token looks like an agent
// credential (rather than an API token).
func IsCredential(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && strings.HasPrefix(strings.TrimSpace(tok), agent.CredentialPrefix)
}

// Authenticate checks an agent's request: the bearer token must be an
// active agent's credential and X-Vigil-Agent must name that agent, so an
// agent can only speak for itself. It returns the agent.
func (s *Service) Authenticate(r *http.Request) (store.Agent, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.HasPrefix(tok, agent.CredentialPrefix) || len(tok) > 256 {
		return store.Agent{}, ErrNotAgent
	}
	a, err := s.st.Agents().AgentByToken(r.Context(), Hash(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.Agent{}, ErrNotAgent
	}
	if err != nil {
		return store.Agent{}, err
	}
	if a.Status != store.AgentActive {
		return store.Agent{}, fmt.Errorf("%w: agent %s is revoked", ErrNotAgent, a.ID)
	}
	if h := r.Header.Get("X-Vigil-Agent"); h != a.ID {
		return store.Agent{}, fmt.Errorf("%w: X-Vigil-Agent %q is not the credential's agent", ErrNotAgent, agentClip(h))
	}
	// Over mutual TLS the verified client certificate must name the
	// credential's tenant and agent.
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		t, id, ok := agent.CertIdentity(r.TLS.VerifiedChains[0][0])
		if !ok || t != a.TenantID || id != a.ID {
			return store.Agent{}, fmt.Errorf("%w: the client certificate names agent %q, not the credential's", ErrNotAgent, agentClip(id))
		}
	}
	return a, nil
}

func agentClip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// Heartbeat records an agent's heartbeat and answers its configuration
// when the agent's ETag differs. The caller authenticated the agent and
// checked hb.AgentID is it.
func (s *Service) Heartbeat(ctx context.Context, tenantID string, hb agent.Heartbeat) (agent.HeartbeatAnswer, error) {
	dropped := int64(min(hb.SpoolDropped, 1<<62)) // #nosec G115 -- bounded above
	if err := s.st.Agents().Heartbeat(ctx, tenantID, hb.AgentID, store.AgentHeartbeat{At: s.opts.Now(), Hostname: hb.Hostname,
		Version: hb.Version, ConfigETag: hb.ConfigETag, SpoolPending: hb.SpoolPending, SpoolDropped: dropped}); err != nil {
		return agent.HeartbeatAnswer{}, err
	}
	rc, err := s.Effective(ctx, tenantID, hb.AgentID)
	if err != nil || rc == nil {
		return agent.HeartbeatAnswer{}, err
	}
	ans := agent.HeartbeatAnswer{ConfigETag: rc.ETag()}
	if ans.ConfigETag != hb.ConfigETag {
		ans.Config = rc
	}
	return ans, nil
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// HostAgent is an enrolled host agent. Its credential is never returned.
type HostAgent struct {
	ID          string     `json:"id" doc:"The agent's own UUID"`
	TenantID    string     `json:"tenant_id"`
	Hostname    string     `json:"hostname"`
	Version     string     `json:"version,omitempty"`
	Status      string     `json:"status" enum:"online,offline,never,revoked" doc:"never: enrolled but no heartbeat yet"`
	EnrolmentID string     `json:"enrolment_id,omitempty"`
	EnrolledAt  time.Time  `json:"enrolled_at"`
	LastSeenAt  *time.Time `json:"last_seen_at,omitempty" doc:"Last heartbeat"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	ConfigETag  string     `json:"config_etag,omitempty" doc:"The pushed configuration the agent runs with"`
	// SpoolPending and SpoolDropped are from the last heartbeat.
	SpoolPending int64 `json:"spool_pending" doc:"Bytes waiting in the agent's spool"`
	SpoolDropped int64 `json:"spool_dropped" doc:"Events the agent dropped, oldest first, because its spool was full"`
	// Certificate is the newest client certificate issued to the agent.
	Certificate *AgentCertificate `json:"certificate,omitempty" doc:"The newest client certificate; absent when none was issued (token only)"`
}

// AgentCertificate is a client certificate issued to an agent.
type AgentCertificate struct {
	Serial    string     `json:"serial" doc:"Serial number in lower-case hex"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func hostAgentDTO(a fleet.AgentView) HostAgent {
	return HostAgent{ID: a.ID, TenantID: a.TenantID, Hostname: a.Hostname, Version: a.Version, Status: a.State,
		EnrolmentID: a.EnrolmentID, EnrolledAt: a.EnrolledAt, LastSeenAt: optTime(a.LastSeenAt), RevokedAt: optTime(a.RevokedAt),
		ConfigETag: a.ConfigETag, SpoolPending: a.SpoolPending, SpoolDropped: a.SpoolDropped}
}

// AgentEnrolment is an enrolment token (never its secret).
type AgentEnrolment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	MaxUses   int       `json:"max_uses"`
	Uses      int       `json:"uses"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func enrolmentDTO(e store.AgentEnrolment) AgentEnrolment {
	return AgentEnrolment{ID: e.ID, Name: e.Name, MaxUses: e.MaxUses, Uses: e.Uses, ExpiresAt: e.ExpiresAt, Revoked: e.Revoked,
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt}
}

// AgentEnrolmentInput is a new enrolment token.
type AgentEnrolmentInput struct {
	Name       string `json:"name,omitempty" maxLength:"100"`
	MaxUses    int    `json:"max_uses,omitempty" minimum:"0" maximum:"10000" doc:"Agents that may enrol with it; default 1 (one-time)"`
	TTLSeconds int    `json:"ttl_seconds,omitempty" minimum:"0" maximum:"7776000" doc:"Lifetime; default one day, at least 60 s, at most 90 days"`
}

// AgentEnrolmentCreated is a new enrolment token with its secret, which
// is returned this once.
type AgentEnrolmentCreated struct {
	Enrolment AgentEnrolment `json:"enrolment"`
	Token     string         `json:"token" doc:"Give it to 'vigil agent enrol --token'; it is not shown again"`
}

// AgentConfig is the configuration pushed to a tenant's agents (agent_id
// empty) or to one agent.
type AgentConfig struct {
	AgentID   string         `json:"agent_id,omitempty"`
	Version   int64          `json:"version"`
	Config    map[string]any `json:"config" doc:"The configuration document, schema vigil.agent.config/v1"`
	UpdatedBy string         `json:"updated_by"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// AgentConfigInput sets a configuration.
type AgentConfigInput struct {
	AgentID string         `json:"agent_id,omitempty" maxLength:"36" doc:"One agent's own configuration; omitted sets the tenant's"`
	Config  map[string]any `json:"config" doc:"schema vigil.agent.config/v1: tail, journald, fim, baseline, heartbeat_interval, inventory_interval"`
}

// AgentRef names an agent or an enrolment of the tenant.
type AgentRef struct {
	ID string `json:"id" maxLength:"100" minLength:"1"`
}

type agentListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int `query:"offset" minimum:"0" doc:"Agents to skip"`
}

type agentRefIn struct {
	TenantParam
	Body AgentRef
}

type agentEnrolmentIn struct {
	TenantParam
	Body AgentEnrolmentInput
}

type agentConfigIn struct {
	TenantParam
	Agent string `query:"agent" maxLength:"36" doc:"An agent's own configuration; omitted is the tenant's"`
}

type agentConfigPutIn struct {
	TenantParam
	Body AgentConfigInput
}

// agents is the fleet service; without one (a server built only for its
// OpenAPI document) the endpoints answer 404.
func (s *server) registerAgents() {
	if s.opts.Agents == nil {
		return
	}
	tags := []string{"agents"}
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermAssetWrite)
	base := "/tenants/{tenant}/agents"
	register(s, read, huma.Operation{OperationID: "list-agents", Method: http.MethodGet, Path: base,
		Summary: "List a tenant's enrolled host agents", Tags: tags}, s.listAgents)
	register(s, write, huma.Operation{OperationID: "revoke-agent", Method: http.MethodPost, Path: base + "/revoke",
		Summary: "Revoke an agent's credential", Description: "The agent's requests are refused from now on, until it enrols again.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.revokeAgent)
	register(s, read, huma.Operation{OperationID: "list-agent-enrolments", Method: http.MethodGet, Path: base + "/enrolments",
		Summary: "List a tenant's agent enrolment tokens", Tags: tags}, s.listAgentEnrolments)
	register(s, write, huma.Operation{OperationID: "create-agent-enrolment", Method: http.MethodPost, Path: base + "/enrolments",
		Summary: "Create an agent enrolment token",
		Description: "Returns the token once. An agent exchanges it for its own credential with " +
			"'vigil agent enrol'; it is good for max_uses agents until it expires.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createAgentEnrolment)
	register(s, write, huma.Operation{OperationID: "revoke-agent-enrolment", Method: http.MethodPost, Path: base + "/enrolments/revoke",
		Summary: "Revoke an agent enrolment token", DefaultStatus: http.StatusNoContent, Tags: tags}, s.revokeAgentEnrolment)
	register(s, read, huma.Operation{OperationID: "get-agent-config", Method: http.MethodGet, Path: base + "/config",
		Summary: "Get the configuration pushed to the tenant's agents (or to one agent)", Tags: tags}, s.getAgentConfig)
	register(s, write, huma.Operation{OperationID: "put-agent-config", Method: http.MethodPut, Path: base + "/config",
		Summary: "Set the configuration pushed to the tenant's agents (or to one agent)",
		Description: "Validated before it is stored (absolute clean paths, unit names, sizes, intervals); agents fetch it " +
			"on their next heartbeat and apply it without a restart.", Tags: tags}, s.putAgentConfig)
	register(s, write, huma.Operation{OperationID: "delete-agent-config", Method: http.MethodDelete, Path: base + "/config",
		Summary: "Remove the configuration of the tenant's agents (or of one agent)", DefaultStatus: http.StatusNoContent,
		Tags: tags}, s.deleteAgentConfig)
}

func (s *server) listAgents(ctx context.Context, in *agentListIn) (*out[[]HostAgent], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	as, err := fl.ListAgents(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	out := items(as, hostAgentDTO)
	for i := range out {
		cs, err := fl.Certificates(ctx, t.ID, out[i].ID)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			c := cs[0]
			out[i].Certificate = &AgentCertificate{Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
				RevokedAt: optTime(c.RevokedAt)}
		}
	}
	return reply(out)
}

func (s *server) revokeAgent(ctx context.Context, in *agentRefIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	return nil, fl.RevokeAgent(ctx, t.ID, in.Body.ID)
}

func (s *server) listAgentEnrolments(ctx context.Context, _ *TenantParam) (*out[[]AgentEnrolment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	es, err := fl.ListEnrolments(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(items(es, enrolmentDTO))
}

func (s *server) createAgentEnrolment(ctx context.Context, in *agentEnrolmentIn) (*out[AgentEnrolmentCreated], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	e, secret, err := fl.CreateEnrolment(ctx, t.ID, fleet.EnrolmentInput{Name: in.Body.Name, MaxUses: in.Body.MaxUses,
		TTL: time.Duration(in.Body.TTLSeconds) * time.Second})
	if err != nil && secret == "" {
		return nil, err
	}
	return reply(AgentEnrolmentCreated{Enrolment: enrolmentDTO(e), Token: secret})
}

func (s *server) revokeAgentEnrolment(ctx context.Context, in *agentRefIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	return nil, fl.RevokeEnrolment(ctx, t.ID, in.Body.ID)
}

func agentConfigDTO(c store.AgentConfig) (AgentConfig, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(c.Body), &doc); err != nil {
		return AgentConfig{}, fmt.Errorf("stored agent configuration: %w", err)
	}
	return AgentConfig{AgentID: c.AgentID, Version: c.Version, Config: doc, UpdatedBy: c.UpdatedBy, UpdatedAt: c.UpdatedAt}, nil
}

func (s *server) getAgentConfig(ctx context.Context, in *agentConfigIn) (*out[AgentConfig], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	c, err := fl.Config(ctx, t.ID, in.Agent)
	if err != nil {
		return nil, err
	}
	dto, err := agentConfigDTO(c)
	if err != nil {
		return nil, err
	}
	return reply(dto)
}

func (s *server) putAgentConfig(ctx context.Context, in *agentConfigPutIn) (*out[AgentConfig], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	if in.Body.Config == nil {
		return nil, store.NewFieldError("config", store.CodeRequired, nil, "config is required")
	}
	body, err := json.Marshal(in.Body.Config)
	if err != nil {
		return nil, errors.Join(store.ErrInvalid, err)
	}
	c, err := fl.PutConfig(ctx, t.ID, in.Body.AgentID, body)
	if err != nil && c.Version == 0 {
		return nil, err
	}
	dto, err := agentConfigDTO(c)
	if err != nil {
		return nil, err
	}
	return reply(dto)
}

func (s *server) deleteAgentConfig(ctx context.Context, in *agentConfigIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fl := s.opts.Agents
	return nil, fl.DeleteConfig(ctx, t.ID, in.Agent)
}

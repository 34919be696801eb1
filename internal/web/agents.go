package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// registerAgents adds the host agents page of a tenant: enrolled agents
// with their status, enrolment tokens and the configuration pushed to the
// tenant's agents.
func (s *server) registerAgents(t string) {
	if s.opts.Agents == nil {
		return
	}
	p := &agentPages{s: s, fleet: s.opts.Agents}
	get, post := http.MethodGet, http.MethodPost
	base := t + "/agents"
	s.handle(get, base, inTenant(auth.PermAssetRead), p.list)
	s.handle(post, base+"/enrolments", inTenant(auth.PermAssetWrite), p.createEnrolment)
	s.handle(post, base+"/enrolments/revoke", inTenant(auth.PermAssetWrite), p.revokeEnrolment)
	s.handle(post, base+"/revoke", inTenant(auth.PermAssetWrite), p.revokeAgent)
	s.handle(post, base+"/config", inTenant(auth.PermAssetWrite), p.saveConfig)
}

type agentPages struct {
	s     *server
	fleet *fleet.Service
}

// enrolmentFields is the new-enrolment form as typed.
type enrolmentFields struct{ Name, MaxUses, TTLHours string }

type agentsPage struct {
	Base
	formState
	URL    string
	Agents []fleet.AgentView
	// Certs is each agent's newest client certificate, by agent ID
	// (absent: none issued, or the agent ships with a token only).
	Certs      map[string]*store.AgentCert
	Enrolments []store.AgentEnrolment
	Now        time.Time
	CanWrite   bool
	Form       enrolmentFields
	// Secret is a new enrolment token, shown once; Created is its row.
	Secret  string
	Created store.AgentEnrolment
	// Server is this platform's address as the browser sees it, for the
	// enrol command shown with a new token.
	Server string
	// Config is the tenant's configuration as JSON (or as typed when it
	// was refused); ConfigVersion is 0 when none is set.
	Config        string
	ConfigVersion int64
	ConfigError   string
}

func (p *agentPages) view(r *http.Request, f enrolmentFields) (*agentsPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &agentsPage{URL: "/t/" + t.Slug + "/agents", Form: f, Now: time.Now().UTC(),
		CanWrite: auth.FromContext(ctx).Can(auth.PermAssetWrite, t.ID)}
	var err error
	if v.Agents, err = p.fleet.ListAgents(ctx, t.ID, store.Page{Limit: store.MaxPageSize}); err != nil {
		return nil, err
	}
	v.Certs = map[string]*store.AgentCert{}
	for _, a := range v.Agents {
		cs, err := p.fleet.Certificates(ctx, t.ID, a.ID)
		if err != nil {
			return nil, err
		}
		if len(cs) > 0 {
			v.Certs[a.ID] = &cs[0]
		}
	}
	if v.Enrolments, err = p.fleet.ListEnrolments(ctx, t.ID); err != nil {
		return nil, err
	}
	c, err := p.fleet.Config(ctx, t.ID, "")
	switch {
	case err == nil:
		v.Config, v.ConfigVersion = c.Body, c.Version
	case errors.Is(err, store.ErrNotFound):
		v.Config = string((&agent.RemoteConfig{Schema: agent.ConfigSchema}).Canonical())
	default:
		return nil, err
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	v.Server = scheme + "://" + r.Host
	return v, nil
}

func (p *agentPages) list(w http.ResponseWriter, r *http.Request) error {
	v, err := p.view(r, enrolmentFields{MaxUses: "1", TTLHours: "24"})
	if err != nil {
		return err
	}
	p.s.render(w, r, http.StatusOK, "agents", v)
	return nil
}

// createEnrolment creates an enrolment token and shows it on the answer
// page, once (never in a URL).
func (p *agentPages) createEnrolment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	f := enrolmentFields{Name: r.PostForm.Get("name"), MaxUses: r.PostForm.Get("max_uses"), TTLHours: r.PostForm.Get("ttl_hours")}
	// What is not a number goes to the service as out of range, so the
	// service's message explains the bounds.
	uses, ok := atoi(f.MaxUses)
	if !ok {
		uses = -1
	}
	hours, ok := atoi(f.TTLHours)
	if !ok || hours < 0 || hours > int(fleet.MaxEnrolTTL/time.Hour) {
		hours = -1
	}
	var fs formState
	status := http.StatusUnprocessableEntity
	created, secret, err := p.fleet.CreateEnrolment(ctx, t.ID, fleet.EnrolmentInput{Name: f.Name, MaxUses: uses,
		TTL: time.Duration(hours) * time.Hour})
	if err != nil && secret == "" {
		if status, ok = p.s.formError(r, err, &fs, []formField{{"name", "name"}, {"max_uses", "max_uses"}, {"ttl", "ttl_hours"}}); !ok {
			return err
		}
	}
	v, err := p.view(r, f)
	if err != nil {
		return err
	}
	v.formState = fs
	if secret != "" {
		v.Secret, v.Created, v.Form, status = secret, created, enrolmentFields{MaxUses: "1", TTLHours: "24"}, http.StatusOK
	}
	p.s.render(w, r, status, "agents", v)
	return nil
}

func (p *agentPages) revokeEnrolment(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := p.fleet.RevokeEnrolment(r.Context(), t.ID, r.PostForm.Get("id")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/agents?ok=revoked")
	return nil
}

func (p *agentPages) revokeAgent(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := p.fleet.RevokeAgent(r.Context(), t.ID, r.PostForm.Get("agent")); err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/agents?ok=revoked")
	return nil
}

// saveConfig stores the tenant's agent configuration; a configuration the
// agent package refuses is shown again with the reason.
func (p *agentPages) saveConfig(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	body := strings.TrimSpace(r.PostForm.Get("config"))
	_, err := p.fleet.PutConfig(r.Context(), t.ID, "", []byte(body))
	if err == nil {
		redirect(w, r, "/t/"+t.Slug+"/agents?ok=saved")
		return nil
	}
	var fe *store.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	v, verr := p.view(r, enrolmentFields{MaxUses: "1", TTLHours: "24"})
	if verr != nil {
		return verr
	}
	v.Config = body
	v.ConfigError = fe.Message
	p.s.render(w, r, http.StatusUnprocessableEntity, "agents", v)
	return nil
}

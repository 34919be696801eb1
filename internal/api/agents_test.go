package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/agent"
)

// TestAgents creates an enrolment token, enrols an agent with it, lists
// and revokes the agent, sets and reads the pushed configuration (a bad
// one refused with its reason and nothing stored), and checks who may see
// and change what.
func TestAgents(t *testing.T) {
	h := newHarness(t)
	fl := h.env.Fleet
	o := h.srv.opts
	o.Agents = fl
	srv, err := newServer(o)
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.h = srv, srv.handler()
	base := "/api/v1/tenants/acme/agents"

	var made AgentEnrolmentCreated
	h.want(http.StatusCreated, pst, base+"/enrolments", h.adminA, AgentEnrolmentInput{Name: "rollout", MaxUses: 1, TTLSeconds: 3600}, &made)
	if !strings.HasPrefix(made.Token, agent.EnrolTokenPrefix) || made.Enrolment.MaxUses != 1 || made.Enrolment.Uses != 0 {
		t.Fatalf("created %+v", made)
	}
	h.wantProblem(http.StatusUnprocessableEntity, pst, base+"/enrolments", h.adminA, AgentEnrolmentInput{TTLSeconds: 10})
	h.wantProblem(http.StatusForbidden, pst, base+"/enrolments", h.analystA, AgentEnrolmentInput{})
	h.wantProblem(http.StatusNotFound, get, base+"/enrolments", h.customer, nil)

	var es []AgentEnrolment
	r := h.want(http.StatusOK, get, base+"/enrolments", h.analystA, nil, &es)
	if len(es) != 1 || strings.Contains(string(r.Body), made.Token) {
		t.Fatalf("enrolments %+v (the secret must not be listed)", es)
	}

	const agentID = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
	if _, err := fl.Enrol(t.Context(), made.Token, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: agentID, Hostname: "db-01"}); err != nil {
		t.Fatal(err)
	}
	// One-time: a second agent is refused.
	if _, err := fl.Enrol(t.Context(), made.Token, agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2e",
		Hostname: "db-02"}); err == nil {
		t.Fatal("a one-time token enrolled two agents")
	}
	var as []HostAgent
	h.want(http.StatusOK, get, base, h.analystA, nil, &as)
	if len(as) != 1 || as[0].ID != agentID || as[0].Hostname != "db-01" || as[0].Status != "never" {
		t.Fatalf("agents %+v", as)
	}

	// Configuration.
	h.wantProblem(http.StatusNotFound, get, base+"/config", h.analystA, nil)
	p := h.wantProblem(http.StatusUnprocessableEntity, put, base+"/config", h.adminA,
		AgentConfigInput{Config: map[string]any{"schema": agent.ConfigSchema, "fim": map[string]any{"paths": []string{"etc"}}}})
	if !strings.Contains(p.Detail+p.Title+errorsText(p), "absolute") {
		t.Errorf("refusal does not say why: %+v", p)
	}
	h.wantProblem(http.StatusNotFound, get, base+"/config", h.analystA, nil)
	var c AgentConfig
	h.want(http.StatusOK, put, base+"/config", h.adminA,
		AgentConfigInput{Config: map[string]any{"schema": agent.ConfigSchema, "journald": map[string]any{"enabled": true}}}, &c)
	if c.Version != 1 || c.Config["journald"] == nil {
		t.Fatalf("config %+v", c)
	}
	h.want(http.StatusOK, put, base+"/config", h.adminA,
		AgentConfigInput{AgentID: agentID, Config: map[string]any{"schema": agent.ConfigSchema, "tail": []string{"/var/log/auth.log"}}}, &c)
	h.want(http.StatusOK, get, base+"/config?agent="+agentID, h.analystA, nil, &c)
	if c.AgentID != agentID || c.Version != 1 {
		t.Fatalf("agent config %+v", c)
	}
	h.wantProblem(http.StatusNotFound, put, base+"/config", h.adminA,
		AgentConfigInput{AgentID: "no-such-agent", Config: map[string]any{"schema": agent.ConfigSchema}})
	h.wantProblem(http.StatusForbidden, put, base+"/config", h.analystA, AgentConfigInput{Config: map[string]any{"schema": agent.ConfigSchema}})
	h.want(http.StatusNoContent, del, base+"/config?agent="+agentID, h.adminA, nil, nil)

	// Revocation.
	h.wantProblem(http.StatusForbidden, pst, base+"/revoke", h.analystA, AgentRef{ID: agentID})
	h.wantProblem(http.StatusNotFound, pst, base+"/revoke", h.customer, AgentRef{ID: agentID})
	h.wantProblem(http.StatusForbidden, pst, "/api/v1/tenants/globex/agents/revoke", h.customer, AgentRef{ID: agentID})
	h.want(http.StatusNoContent, pst, base+"/revoke", h.adminA, AgentRef{ID: agentID}, nil)
	h.want(http.StatusOK, get, base, h.analystA, nil, &as)
	if as[0].Status != "revoked" || as[0].RevokedAt == nil {
		t.Fatalf("after revoke %+v", as[0])
	}
	h.want(http.StatusNoContent, pst, base+"/enrolments/revoke", h.adminA, AgentRef{ID: made.Enrolment.ID}, nil)
}

func errorsText(p problem) string {
	var b strings.Builder
	for _, e := range p.Errors {
		b.WriteString(e.Message)
	}
	return b.String()
}

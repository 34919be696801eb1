package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/store"
)

var enrolSecretRE = regexp.MustCompile(`<code id="enrol-secret">(vge_[A-Za-z0-9_-]+)</code>`)

// TestAgentsPage creates an enrolment token through the form (its secret
// shown once), enrols an agent with it, lists the agent, saves a pushed
// configuration (a bad one is refused with its reason), revokes the agent,
// and checks who may see and change what, in both languages.
func TestAgentsPage(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/agents"

	page := admin.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "No agent is enrolled yet") {
		t.Fatalf("empty page:\n%s", page.body)
	}
	admin.loadCSRF(page)

	// Bad input: too many uses.
	bad := admin.post(base+"/enrolments", url.Values{"name": {"rollout"}, "max_uses": {"100000"}, "ttl_hours": {"24"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)

	made := admin.post(base+"/enrolments", url.Values{"name": {"<b>rollout</b>"}, "max_uses": {"2"}, "ttl_hours": {"48"}})
	wantStatus(t, made, http.StatusOK)
	m := enrolSecretRE.FindStringSubmatch(made.body)
	if m == nil {
		t.Fatalf("no enrolment token shown:\n%s", made.body)
	}
	if strings.Contains(made.body, "<b>rollout</b>") || !strings.Contains(made.body, "&lt;b&gt;rollout&lt;/b&gt;") {
		t.Error("the token's name is not escaped")
	}
	if again := admin.get(base); strings.Contains(again.body, m[1]) {
		t.Fatal("the enrolment secret is shown a second time")
	}

	// An agent enrols with it (as the API would do it).
	fl := fleet.New(ui.Store, ui.Audit, fleet.Options{})
	const agentID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
	res, err := fl.Enrol(t.Context(), m[1], agent.EnrolRequest{Schema: agent.EnrolSchema, AgentID: agentID, Hostname: "web-<01>"})
	if err != nil {
		t.Fatal(err)
	}
	if res.TenantID != ui.TenantA.ID {
		t.Fatalf("enrolled in %s, want tenant A", res.TenantID)
	}
	list := admin.get(base)
	if !strings.Contains(list.body, agentID) || !strings.Contains(list.body, "web-&lt;01&gt;") || !strings.Contains(list.body, "Never seen") {
		t.Fatalf("agent not listed:\n%s", list.body)
	}
	zh := ui.as(t, ui.Admin)
	zh.header.Set("Accept-Language", "zh-CN")
	if p := zh.get(base); !strings.Contains(p.body, "主机代理") || !strings.Contains(p.body, "从未上线") {
		t.Errorf("Chinese page:\n%s", p.body)
	}

	// Configuration: refused with the reason, then saved.
	refused := admin.post(base+"/config", url.Values{"config": {`{"schema":"vigil.agent.config/v1","tail":["relative/path"]}`}})
	wantStatus(t, refused, http.StatusUnprocessableEntity)
	if !strings.Contains(refused.body, "not an absolute path") {
		t.Errorf("refusal does not say why:\n%s", refused.body)
	}
	if _, err := ui.Store.Agents().GetConfig(t.Context(), ui.TenantA.ID, ""); err == nil {
		t.Fatal("a refused configuration was stored")
	}
	wantRedirect(t, admin.post(base+"/config", url.Values{"config": {`{"schema":"vigil.agent.config/v1","fim":{"paths":["/etc"]}}`}}), base+"?ok=saved")
	c, err := ui.Store.Agents().GetConfig(t.Context(), ui.TenantA.ID, "")
	if err != nil || c.Version != 1 || !strings.Contains(c.Body, `"/etc"`) {
		t.Fatalf("stored config %+v %v", c, err)
	}

	// Who may do what: an analyst of A sees but does not change; a
	// customer of B does not see A's agents.
	analyst := ui.as(t, ui.AnalystA)
	ap := analyst.get(base)
	wantStatus(t, ap, http.StatusOK)
	if strings.Contains(ap.body, `action="`+base+`/revoke"`) || strings.Contains(ap.body, `id="enrol-form"`) {
		t.Error("an analyst is offered changes")
	}
	analyst.loadCSRF(ap)
	wantStatus(t, analyst.post(base+"/revoke", url.Values{"agent": {agentID}}), http.StatusForbidden)
	custB := ui.as(t, ui.CustomerB)
	wantStatus(t, custB.get(base), http.StatusNotFound)

	// Revocation.
	wantRedirect(t, admin.post(base+"/revoke", url.Values{"agent": {agentID}}), base+"?ok=revoked")
	ag, err := ui.Store.Agents().GetAgent(t.Context(), ui.TenantA.ID, agentID)
	if err != nil || ag.Status != store.AgentRevoked {
		t.Fatalf("after revoke %+v %v", ag, err)
	}
	wantStatus(t, admin.post(base+"/revoke", url.Values{"agent": {"no-such-agent"}}), http.StatusNotFound)
}

package app

import (
	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/logs"
)

// agentEventNamespace makes the IDs under which the node stores the
// events of host agents.
var agentEventNamespace = uuid.MustParse("3f6d2a8e-7c41-4b0e-9a55-2e8d1c7b4f90")

// maxAgentEventID bounds the event.id an agent sends (its own IDs are
// UUIDs: 36 bytes).
const maxAgentEventID = 128

// agentEventID is the ID the node stores an agent's event under: a UUID
// derived from the tenant, the agent and the ID the agent gave the event
// (event.id) when it put the event in its spool. The agent reads that ID
// back from the spool on every resend of the event, so a batch sent again
// after a lost answer (or to another node sharing the store) lands on the
// same IDs and the store keeps the event once. The tenant and agent in
// the derivation keep one agent's IDs from ever touching another's
// events. It reports false when the event carries no usable event.id.
func agentEventID(tenantID, agentID string, fields map[string]any) (string, bool) {
	id, ok := fields["event.id"].(string)
	if !ok || id == "" || len(id) > maxAgentEventID || agentID == "" || tenantID == "" {
		return "", false
	}
	return uuid.NewSHA1(agentEventNamespace, []byte(tenantID+"\x00"+agentID+"\x00"+id)).String(), true
}

// stableAgentIDs gives every event of a batch from an agent the ID
// agentEventID derives; agentID "" takes each event's own agent.id, for
// agents that ship with an API token (and then only events that say they
// come from a Vigil agent are touched). Events without an event.id keep
// the ID the parser minted.
func stableAgentIDs(agentID string, evs []logs.Event) {
	for i := range evs {
		e := &evs[i]
		ag := agentID
		if ag == "" {
			if t, _ := e.Fields["agent.type"].(string); t != "vigil" {
				continue
			}
			ag, _ = e.Fields["agent.id"].(string)
		}
		if id, ok := agentEventID(e.Tenant, ag, e.Fields); ok {
			e.ID = id
		}
	}
}

package app

import (
	"context"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
)

// AgentImport counts what ImportAgentBundle stored.
type AgentImport struct {
	AgentID   string `json:"agent_id"`
	Hostname  string `json:"hostname"`
	Inventory bool   `json:"inventory"`
	Baselines int    `json:"baselines"`
	Events    int    `json:"events"`
}

// importBatch bounds one pipeline write of an import.
const importBatch = 1000

// ImportAgentBundle stores an offline collection bundle (`vigil agent
// collect`) in the tenant as if the agent had sent it: the host's
// inventory, each baseline result and the lines of its log files as
// events. The bundle is verified in full before anything is stored, so a
// damaged or forged bundle stores nothing. The principal in ctx must be
// allowed to write the tenant's assets and ingest its events.
func (a *App) ImportAgentBundle(ctx context.Context, tenantID string, r io.Reader) (AgentImport, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return AgentImport{}, err
	}
	if err := auth.Require(ctx, auth.PermEventIngest, tenantID); err != nil {
		return AgentImport{}, err
	}
	b, err := agent.ReadBundle(r)
	if err != nil {
		return AgentImport{}, err
	}
	evs, err := agent.BundleEvents(b, tenantID)
	if err != nil {
		return AgentImport{}, err
	}
	res := AgentImport{AgentID: b.Manifest.AgentID, Hostname: b.Manifest.Hostname}
	sink := agentSink{a}
	if b.Inventory != nil {
		if err := sink.Inventory(ctx, tenantID, *b.Inventory); err != nil {
			return res, fmt.Errorf("import inventory: %w", err)
		}
		res.Inventory = true
	}
	for _, bl := range b.Baselines {
		if err := sink.Baseline(ctx, tenantID, bl); err != nil {
			return res, fmt.Errorf("import baseline %s: %w", bl.Policy.ID, err)
		}
		res.Baselines++
	}
	for len(evs) > 0 {
		n := min(len(evs), importBatch)
		if err := a.ingestSink(false).Write(ctx, evs[:n]); err != nil {
			return res, fmt.Errorf("import events: %w", err)
		}
		res.Events += n
		evs = evs[n:]
	}
	return res, a.Audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "agent.bundle.import", Object: "agent:" + clip(res.AgentID),
		Detail: res})
}

package app

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
)

// runDueBaseline runs the scheduled SSH baseline checks whose time has come.
func (a *App) runDueBaseline(ctx context.Context) error {
	n, err := a.Baseline.RunDue(asSystem(ctx))
	if n > 0 {
		a.Logger.Info("scheduled baseline checks run", "count", n)
	}
	return err
}

// storeAgentRun keeps an agent's baseline report as a run of the agent's
// host asset: the asset holding its agent ID, else the host of its name,
// else a new host asset. ctx acts as the system.
func (a *App) storeAgentRun(ctx context.Context, tenantID string, res agent.BaselineResult) error {
	assets := a.Store.Assets()
	name := clip(res.Hostname)
	list, err := assets.List(ctx, tenantID, store.AssetFilter{Kind: "host", Query: name, Page: store.Page{Limit: 100}})
	if err != nil {
		return err
	}
	var found *store.Asset
	for i := range list {
		if list[i].Attributes["agent_id"] == res.AgentID {
			found = &list[i]
			break
		}
		if found == nil && strings.EqualFold(list[i].Name, name) {
			found = &list[i]
		}
	}
	if found == nil {
		h := store.Asset{TenantID: tenantID, Kind: "host", Name: name, Importance: 3, Tags: []string{"agent"},
			Attributes: map[string]string{"agent_id": clip(res.AgentID)}}
		if err := assets.Create(ctx, &h); err != nil {
			return err
		}
		found = &h
	}
	rep := res.Report
	_, err = a.Baseline.Record(ctx, tenantID, hardening.RunInput{AssetID: found.ID, Source: store.BaselineSourceAgent,
		PolicyID: clip(res.Policy.ID), PolicyTitle: clip(res.Policy.Name), PolicyVersion: clip(res.Policy.File),
		StartedAt: res.CollectedAt, FinishedAt: res.CollectedAt, Report: &rep, CreatedBy: "agent:" + clip(res.AgentID)})
	return err
}

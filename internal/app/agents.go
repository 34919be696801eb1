package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// AgentHandler receives the host agents' requests:
//
//   - POST /api/v1/agent/enrol exchanges an enrolment token (the bearer
//     token) for the agent's own credential;
//   - POST /api/v1/agent/heartbeat records an enrolled agent's status and
//     answers the configuration pushed to it;
//   - POST /api/v1/agent/renew gives an enrolled agent a new client
//     certificate, over mutual TLS with its current one;
//   - POST /api/v1/agent/events takes an enrolled agent's events (NDJSON,
//     as /ingest/events), stamped with the agent's ID;
//   - POST /api/v1/agent/inventory keeps the host in the tenant's
//     inventory, POST /api/v1/agent/baseline stores the run and archives
//     its report.
//
// Inventory and baseline take an enrolled agent's credential or, for an
// agent run with an API token, the same bearer tokens as /ingest/events.
// An agent's credential speaks only for that agent (X-Vigil-Agent and the
// documents' agent_id must be its ID) and only in its tenant.
func (a *App) AgentHandler() http.Handler {
	opts := agent.HandlerOptions{Authenticate: a.agentTenant, Logger: a.Logger}
	enrolled := agent.HandlerOptions{Authenticate: a.enrolledAgent, Logger: a.Logger}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/agent/inventory", agent.NewInventoryHandler(agentSink{a}, opts))
	mux.Handle("POST /api/v1/agent/baseline", agent.NewBaselineHandler(agentSink{a}, opts))
	mux.Handle("POST /api/v1/agent/enrol", agent.NewEnrolHandler(a.Fleet, agent.HandlerOptions{Logger: a.Logger}))
	mux.Handle("POST /api/v1/agent/heartbeat", agent.NewHeartbeatHandler(a.Fleet, enrolled))
	mux.Handle("POST "+agent.RenewPath, agent.NewRenewHandler(a.Fleet, enrolled))
	mux.Handle("POST /api/v1/agent/events", a.agentEventsHandler())
	return mux
}

// agentTenant authenticates an agent's document: an enrolled agent's
// credential, else an API token that may ingest events.
func (a *App) agentTenant(r *http.Request) (string, error) {
	if fleet.IsCredential(r) {
		return a.enrolledAgent(r)
	}
	return a.tokenTenant(r)
}

// enrolledAgent authenticates an enrolled agent and returns its tenant.
func (a *App) enrolledAgent(r *http.Request) (string, error) {
	ag, err := a.Fleet.Authenticate(r)
	if err != nil {
		return "", err
	}
	return ag.TenantID, nil
}

// agentKey carries the authenticated agent of an events request.
type agentKey struct{}

// agentEventsHandler is POST /api/v1/agent/events: the log ingest's HTTP
// handler behind the agent's authentication, with every event's agent.id
// set to the authenticated agent (whatever the body said).
func (a *App) agentEventsHandler() http.Handler {
	p, _ := logs.NewRegistry().Lookup("auto")
	sink := logs.SinkFunc(func(ctx context.Context, evs []logs.Event) error {
		ag, ok := ctx.Value(agentKey{}).(store.Agent)
		if !ok {
			return errors.New("agent events: no agent in the request")
		}
		for i := range evs {
			if evs[i].Fields == nil {
				evs[i].Fields = map[string]any{}
			}
			evs[i].Fields["agent.id"] = ag.ID
			evs[i].Fields["agent.type"] = "vigil"
			if _, ok := evs[i].Fields["host.name"]; !ok && ag.Hostname != "" {
				evs[i].Fields["host.name"] = ag.Hostname
			}
		}
		stableAgentIDs(ag.ID, evs)
		return a.ingestSink(false).Write(ctx, evs)
	})
	h := logs.NewHTTPHandler(logs.HTTPOptions{
		Options: logs.Options{Parser: p, Sink: sink, Logger: a.Logger,
			DeadLetters: logs.DeadLetterFunc(func(ctx context.Context, dl logs.DeadLetter) {
				a.Logger.Debug("agent events: record refused", "source", dl.Source, "reason", dl.Reason)
			})},
		Authenticate: func(r *http.Request) (string, error) {
			ag, ok := r.Context().Value(agentKey{}).(store.Agent)
			if !ok {
				return "", errors.New("not authenticated")
			}
			return ag.TenantID, nil
		},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ag, err := a.Fleet.Authenticate(r)
		if err != nil {
			a.Logger.Warn("agent events refused", "remote", r.RemoteAddr, "reason", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"unauthorised"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, ag)))
	})
}

// agentSink stores what agents send.
type agentSink struct{ a *App }

// maxAgentAttr bounds one attribute copied from an agent's document.
const maxAgentAttr = 200

func clip(s string) string {
	if len(s) > maxAgentAttr {
		return s[:maxAgentAttr]
	}
	return s
}

// Inventory creates or refreshes the host asset of the agent, found by its
// agent ID (or, the first time, by its host name).
func (s agentSink) Inventory(ctx context.Context, tenantID string, inv agent.Inventory) error {
	ctx = asSystem(ctx)
	assets := s.a.Store.Assets()
	name := clip(inv.Host.Hostname)
	if name == "" {
		name = "agent " + clip(inv.AgentID)
	}
	var found *store.Asset
	list, err := assets.List(ctx, tenantID, store.AssetFilter{Kind: "host", Query: name, Page: store.Page{Limit: 100}})
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].Attributes["agent_id"] == inv.AgentID || (found == nil && strings.EqualFold(list[i].Name, name)) {
			found = &list[i]
		}
	}
	asset := store.Asset{TenantID: tenantID, Kind: "host", Name: name, Importance: 3, Tags: []string{"agent"}}
	if found != nil {
		asset = *found
	}
	if asset.Attributes == nil {
		asset.Attributes = map[string]string{}
	}
	attrs := map[string]string{"agent_id": clip(inv.AgentID), "os": clip(inv.Host.OSPrettyName), "kernel": clip(inv.Host.Kernel),
		"packages": strconv.Itoa(len(inv.Packages)), "listening": strconv.Itoa(len(inv.Listeners)),
		"inventory_at": inv.CollectedAt.UTC().Format(time.RFC3339)}
	for k, v := range attrs {
		asset.Attributes[k] = v
	}
	if asset.Address == "" {
		asset.Address = primaryAddress(inv)
	}
	asset.LastSeenAt = time.Now().UTC()
	if found == nil {
		err = assets.Create(ctx, &asset)
	} else {
		err = assets.Update(ctx, &asset)
	}
	if err != nil {
		return err
	}
	// The packages are matched against the OSV database of the data
	// directory, when the operator put one there. A failed match does not
	// refuse the inventory: it is logged and the next inventory tries again.
	if sc, ok, err := s.a.VulnInventory(ctx, tenantID, asset.Address, inv); err != nil {
		s.a.Logger.Warn("agent inventory: package vulnerability match", "tenant", tenantID, "agent", inv.AgentID, "err", err)
	} else if ok {
		s.a.Logger.Debug("agent inventory: packages matched", "tenant", tenantID, "agent", inv.AgentID, "added", sc.Added)
	}
	return nil
}

// RecordAgentInventory keeps an agent's inventory as its POST
// /api/v1/agent/inventory does: the host asset, then the package match.
func (a *App) RecordAgentInventory(ctx context.Context, tenantID string, inv agent.Inventory) error {
	return agentSink{a}.Inventory(ctx, tenantID, inv)
}

// primaryAddress is the host's first global unicast address, IPv4 first.
func primaryAddress(inv agent.Inventory) string {
	var v6 string
	for _, ifc := range inv.Interfaces {
		for _, a := range ifc.Addresses {
			p, err := netip.ParsePrefix(a)
			ip := p.Addr()
			if err != nil {
				if ip, err = netip.ParseAddr(a); err != nil {
					continue
				}
			}
			switch {
			case !ip.IsGlobalUnicast() && !ip.IsPrivate():
			case ip.Is4():
				return ip.String()
			case v6 == "":
				v6 = ip.String()
			}
		}
	}
	return v6
}

// Baseline stores an agent's run as a baseline run of its host (for the
// compliance pages, diffs and hardening) and archives its report.
func (s agentSink) Baseline(ctx context.Context, tenantID string, res agent.BaselineResult) error {
	ctx = asSystem(ctx)
	if err := s.a.storeAgentRun(ctx, tenantID, res); err != nil {
		return fmt.Errorf("baseline run: %w", err)
	}
	t, err := s.a.Store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return err
	}
	rep := res.Report
	run := baseline.PolicyRun{Asset: clip(res.Hostname), PolicyID: clip(res.Policy.ID), PolicyTitle: clip(res.Policy.Name),
		At: res.CollectedAt, Report: &rep}
	doc, err := baseline.ReportDocument(baseline.Assessment{Tenant: t.Name, Lang: "zh-CN", Runs: []baseline.PolicyRun{run},
		Author: "agent " + clip(res.AgentID)})
	if err != nil {
		return fmt.Errorf("baseline report: %w", err)
	}
	_, err = s.a.Archive.Generate(ctx, archive.Request{TenantID: tenantID, Service: "baseline", Kind: "baseline",
		SourceID: clip(res.AgentID), Format: report.FormatHTML, Doc: doc})
	return err
}

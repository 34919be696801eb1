package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
)

// DiscoveryRun is one asset discovery scan and, once done, what it found.
type DiscoveryRun struct {
	ID         string              `json:"id"`
	Targets    string              `json:"targets"`
	Ports      string              `json:"ports"`
	Status     string              `json:"status" enum:"pending,running,done,failed"`
	Error      string              `json:"error,omitempty"`
	CreatedAt  time.Time           `json:"created_at"`
	FinishedAt *time.Time          `json:"finished_at,omitempty"`
	Result     *exposure.RunResult `json:"result,omitempty" doc:"Open ports, known, new (unknown) and zombie assets; absent in lists and before the run ends"`
	Subdomains *SubdomainInput     `json:"subdomains,omitempty" doc:"The run's subdomain enumeration, when it has one"`
	// HostDiscovery: the run asked which hosts are up first.
	HostDiscovery bool `json:"host_discovery,omitempty" doc:"The run asks which hosts are up first and port-scans only those"`
}

// SubdomainInput asks a run to enumerate subdomains of the tenant's
// declared domains (its domain assets).
type SubdomainInput struct {
	Domains      []string `json:"domains,omitempty" maxItems:"50" doc:"Declared domains (or names under one); empty: all of them"`
	Words        []string `json:"words,omitempty" maxItems:"5000" doc:"Labels tried under every domain (www, mail, vpn)"`
	Certificates bool     `json:"certificates,omitempty" doc:"Also resolve the names under the domains that the run's TLS certificates carry"`
}

func runDTO(r store.DiscoveryRun, res *exposure.RunResult) DiscoveryRun {
	d := DiscoveryRun{ID: r.ID, Targets: r.Targets, Ports: r.Ports, Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt,
		FinishedAt: optTime(r.FinishedAt), Result: res, HostDiscovery: exposure.RunHostDiscovery(r)}
	if sd, err := exposure.RunSubdomains(r); err == nil && sd.Enabled() {
		d.Subdomains = &SubdomainInput{Domains: sd.Domains, Words: sd.Words, Certificates: sd.Certificates}
	}
	return d
}

// DiscoveryInput starts a run inside the tenant's declared address space.
type DiscoveryInput struct {
	Targets string `json:"targets,omitempty" maxLength:"4096" doc:"Addresses, CIDRs or ranges; empty scans the whole declared space"`
	Ports   string `json:"ports,omitempty" maxLength:"4096" doc:"nmap-style port spec; default top:100"`
	// Subdomains enumerates names under the tenant's declared domains:
	// those resolving into its declared address space are scanned, others
	// recorded in the result and never scanned.
	Subdomains *SubdomainInput `json:"subdomains,omitempty"`
	// HostDiscovery asks which targets are up first and port-scans only
	// those.
	HostDiscovery bool `json:"host_discovery,omitempty" doc:"Host discovery first (ARP on local Ethernet segments, ICMP echo, TCP ping of 80 and 443) and port scans only of the hosts that answered; the result's host_discovery.methods says what could not be used"`
}

type runParamIn struct {
	TenantParam
	Run string `path:"run" maxLength:"100" doc:"Discovery run ID"`
}

type runStartIn struct {
	TenantParam
	Body DiscoveryInput
}

type runListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

func (s *server) registerDiscovery() {
	tags := []string{"discovery"}
	base := "/tenants/{tenant}/discovery-runs"
	register(s, inTenant(auth.PermAssetWrite), huma.Operation{OperationID: "start-discovery", Method: http.MethodPost, Path: base,
		Summary: "Start an asset discovery run", Description: "Targets must lie in the tenant's declared address space " +
			"(its ip assets); anything outside is refused before a packet is sent. The run is done by a worker.",
		DefaultStatus: http.StatusAccepted, Tags: tags}, s.startRun)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "list-discovery-runs", Method: http.MethodGet, Path: base,
		Summary: "List discovery runs", Tags: tags}, s.listRuns)
	register(s, inTenant(auth.PermAssetRead), huma.Operation{OperationID: "get-discovery-run", Method: http.MethodGet,
		Path: base + "/{run}", Summary: "Get a discovery run with its findings", Tags: tags}, s.getRun)
}

func (s *server) startRun(ctx context.Context, in *runStartIn) (*out[DiscoveryRun], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ein := exposure.Input{Targets: in.Body.Targets, Ports: in.Body.Ports, HostDiscovery: in.Body.HostDiscovery}
	if sd := in.Body.Subdomains; sd != nil {
		ein.Subdomains = exposure.Subdomains{Domains: sd.Domains, Words: sd.Words, Certificates: sd.Certificates}
	}
	r, err := s.opts.Exposure.Start(ctx, t.ID, ein)
	if err != nil {
		return nil, err
	}
	return reply(runDTO(r, nil))
}

func (s *server) listRuns(ctx context.Context, in *runListIn) (*out[[]DiscoveryRun], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.Exposure.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(rs, func(r store.DiscoveryRun) DiscoveryRun { return runDTO(r, nil) }))
}

func (s *server) getRun(ctx context.Context, in *runParamIn) (*out[DiscoveryRun], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, res, err := s.opts.Exposure.Get(ctx, t.ID, in.Run)
	if err != nil {
		return nil, err
	}
	var rp *exposure.RunResult
	if r.Status == exposure.StatusDone {
		rp = &res
	}
	return reply(runDTO(r, rp))
}

// ArchivedReport is one generated deliverable.
type ArchivedReport struct {
	ID        string    `json:"id"`
	Service   string    `json:"service"`
	Kind      string    `json:"kind"`
	SourceID  string    `json:"source_id,omitempty"`
	Title     string    `json:"title"`
	Format    string    `json:"format" enum:"html,pdf,xlsx"`
	Lang      string    `json:"lang,omitempty"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

type reportListIn struct {
	TenantParam
	Service string `query:"service" maxLength:"50"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset  int    `query:"offset" minimum:"0"`
}

func (s *server) registerReports() {
	register(s, inTenant(auth.PermReportRead), huma.Operation{OperationID: "list-reports", Method: http.MethodGet,
		Path: "/tenants/{tenant}/reports", Summary: "List the tenant's archived reports",
		Description: "Reports are generated in the UI; each is kept as delivered, with its SHA-256. A regulator sees the compliance reports only.", Tags: []string{"reports"}},
		s.listReports)
}

func (s *server) listReports(ctx context.Context, in *reportListIn) (*out[[]ArchivedReport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.listReportsFor(ctx, t.ID, store.ReportFilter{Service: in.Service, Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(items(rs, func(r store.Report) ArchivedReport {
		return ArchivedReport{ID: r.ID, Service: r.Service, Kind: r.Kind, SourceID: r.SourceID, Title: r.Title, Format: r.Format,
			Lang: r.Lang, SHA256: r.SHA256, Size: r.Size, CreatedAt: r.CreatedAt}
	}))
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
	"github.com/vigil-sec/vigil/internal/traffic/risk"
)

// TrafficSettings are a tenant's traffic analysis policy and safelist.
type TrafficSettings struct {
	Policy          string     `json:"policy" doc:"Violation rules, YAML (see example_policy); empty: no violations"`
	Safelist        string     `json:"safelist" doc:"One domain (with its subdomains) or CIDR a line, # comments"`
	DefaultSafelist bool       `json:"default_safelist" doc:"Also apply the shipped safelist (CDNs, update services, NTP...)"`
	Version         int        `json:"version" doc:"0 until first saved; send it back to save"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
	ExamplePolicy   string     `json:"example_policy" doc:"The shipped example policy, to copy"`
	ShippedSafelist string     `json:"shipped_safelist" doc:"The shipped safelist"`
}

// TrafficSettingsUpdate saves a tenant's policy and safelist.
type TrafficSettingsUpdate struct {
	Policy          string `json:"policy" maxLength:"262144"`
	Safelist        string `json:"safelist" maxLength:"262144"`
	DefaultSafelist bool   `json:"default_safelist"`
	Version         int    `json:"version" minimum:"0" doc:"The version read; another save in between gives 409"`
}

type trafficSettingsIn struct {
	TenantParam
	Body TrafficSettingsUpdate
}

func trafficSettingsDTO(v store.TrafficSettings) TrafficSettings {
	return TrafficSettings{Policy: v.Policy, Safelist: v.Safelist, DefaultSafelist: v.DefaultSafelist, Version: v.Version,
		UpdatedAt: optTime(v.UpdatedAt), ExamplePolicy: analyze.ExamplePolicy(), ShippedSafelist: analyze.DefaultSafelistText()}
}

// TrafficExporter maps flow exporters to the tenant that owns their records.
type TrafficExporter struct {
	Prefix    string    `json:"prefix" doc:"Exporter address or CIDR"`
	Tenant    string    `json:"tenant" doc:"Tenant slug"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// TrafficExporterPut adds or replaces an exporter's tenant.
type TrafficExporterPut struct {
	Prefix string `json:"prefix" minLength:"1" maxLength:"64" doc:"Exporter address or CIDR"`
	Tenant string `json:"tenant" minLength:"1" maxLength:"100" doc:"Tenant slug or ID"`
	Note   string `json:"note,omitempty" maxLength:"200"`
}

type trafficExporterPutIn struct {
	Body TrafficExporterPut
}

type trafficExporterDeleteIn struct {
	Prefix string `query:"prefix" maxLength:"64" doc:"Exporter address or CIDR"`
}

func (s *server) registerTrafficSettings() {
	if s.opts.Traffic == nil {
		return
	}
	tags := []string{"traffic"}
	path := "/tenants/{tenant}/traffic-settings"
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-traffic-settings", Method: http.MethodGet, Path: path,
		Summary: "Get the tenant's traffic policy and safelist", Tags: tags}, s.getTrafficSettings)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "put-traffic-settings", Method: http.MethodPut, Path: path,
		Summary: "Save the tenant's traffic policy and safelist", Description: "Validated (errors name the line); the policy applies " +
			"to the next analyses, the safelist at once to findings and reports. 409 when the version is stale.", Tags: tags},
		s.putTrafficSettings)
	ex := "/traffic-exporters"
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "list-traffic-exporters", Method: http.MethodGet, Path: ex,
		Summary: "List the flow exporters mapped to tenants", Tags: tags}, s.listTrafficExporters)
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "put-traffic-exporter", Method: http.MethodPut, Path: ex,
		Summary: "Map a flow exporter address or prefix to a tenant", Description: "The flow collector hands the records of an " +
			"exporter to the tenant of the longest matching prefix; unknown exporters are dropped and counted.", Tags: tags},
		s.putTrafficExporter)
	register(s, platformWide(auth.PermTenantAdmin), huma.Operation{OperationID: "delete-traffic-exporter", Method: http.MethodDelete, Path: ex,
		Summary: "Remove a flow exporter mapping", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteTrafficExporter)
}

func (s *server) getTrafficSettings(ctx context.Context, _ *TenantParam) (*out[TrafficSettings], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Traffic.Settings(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(trafficSettingsDTO(v))
}

func (s *server) putTrafficSettings(ctx context.Context, in *trafficSettingsIn) (*out[TrafficSettings], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.opts.Traffic.SaveSettings(ctx, store.TrafficSettings{TenantID: t.ID, Policy: in.Body.Policy, Safelist: in.Body.Safelist,
		DefaultSafelist: in.Body.DefaultSafelist}, in.Body.Version)
	if err != nil {
		return nil, err
	}
	return reply(trafficSettingsDTO(v))
}

func exporterDTOs(es []risk.Exporter) []TrafficExporter {
	out := make([]TrafficExporter, 0, len(es))
	for _, e := range es {
		out = append(out, TrafficExporter{Prefix: e.Prefix, Tenant: e.TenantSlug, Note: e.Note, CreatedAt: e.CreatedAt})
	}
	return out
}

func (s *server) listTrafficExporters(ctx context.Context, _ *noInput) (*out[[]TrafficExporter], error) {
	es, err := s.opts.Traffic.Exporters(ctx)
	if err != nil {
		return nil, err
	}
	return reply(exporterDTOs(es))
}

func (s *server) putTrafficExporter(ctx context.Context, in *trafficExporterPutIn) (*out[TrafficExporter], error) {
	e, err := s.opts.Traffic.PutExporter(ctx, in.Body.Prefix, in.Body.Tenant, in.Body.Note)
	if err != nil {
		return nil, err
	}
	return reply(exporterDTOs([]risk.Exporter{e})[0])
}

func (s *server) deleteTrafficExporter(ctx context.Context, in *trafficExporterDeleteIn) (*noContent, error) {
	return nil, s.opts.Traffic.DeleteExporter(ctx, in.Prefix)
}

package risk

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic"
)

// Bounds of the exporter map.
const (
	maxExporters    = 10_000
	maxExporterNote = 200
)

// Exporter is one entry of the platform's flow exporter map.
type Exporter struct {
	Prefix     string
	TenantID   string
	TenantSlug string
	Note       string
	CreatedAt  time.Time
}

// Exporters lists the flow exporter map (platform administrators).
func (s *Service) Exporters(ctx context.Context) ([]Exporter, error) {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return nil, err
	}
	es, err := s.store.Traffic().Exporters(ctx)
	if err != nil {
		return nil, err
	}
	slugs := map[string]string{}
	out := make([]Exporter, 0, len(es))
	for _, e := range es {
		slug, ok := slugs[e.TenantID]
		if !ok {
			t, err := s.store.Tenants().Get(ctx, e.TenantID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			slug, slugs[e.TenantID] = t.Slug, t.Slug
		}
		out = append(out, Exporter{Prefix: e.Prefix, TenantID: e.TenantID, TenantSlug: slug, Note: e.Note, CreatedAt: e.CreatedAt})
	}
	return out, nil
}

// resolveTenant finds a tenant by slug or ID.
func (s *Service) resolveTenant(ctx context.Context, ref string) (store.Tenant, error) {
	t, err := s.store.Tenants().GetBySlug(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		t, err = s.store.Tenants().Get(ctx, ref)
	}
	return t, err
}

// PutExporter maps an exporter address or prefix to a tenant (slug or
// ID), replacing its previous tenant (platform administrators).
func (s *Service) PutExporter(ctx context.Context, prefix, tenantRef, note string) (Exporter, error) {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return Exporter{}, err
	}
	p, err := traffic.ParseExporterPrefix(prefix)
	if err != nil {
		return Exporter{}, invalid("prefix", store.CodeInvalidIP, nil, "%s", err.Error())
	}
	note = clean(strings.TrimSpace(note), maxExporterNote+1)
	if utf8.RuneCountInString(note) > maxExporterNote {
		return Exporter{}, invalid("note", store.CodeTooLong, map[string]any{"max": maxExporterNote}, "at most %d characters", maxExporterNote)
	}
	t, err := s.resolveTenant(ctx, strings.TrimSpace(tenantRef))
	if errors.Is(err, store.ErrNotFound) {
		return Exporter{}, invalid("tenant", store.CodeNotInTenant, nil, "no tenant %q", clip(tenantRef, 100))
	} else if err != nil {
		return Exporter{}, err
	}
	es, err := s.store.Traffic().Exporters(ctx)
	if err != nil {
		return Exporter{}, err
	}
	if len(es) >= maxExporters {
		return Exporter{}, invalid("prefix", store.CodeTooMany, map[string]any{"max": maxExporters}, "at most %d exporter prefixes", maxExporters)
	}
	e := store.TrafficExporter{Prefix: p.String(), TenantID: t.ID, Note: note, CreatedBy: auth.FromContext(ctx).UserID}
	if err := s.store.Traffic().PutExporter(ctx, &e); err != nil {
		return Exporter{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{TenantID: t.ID, Action: "traffic.exporter.put", Object: "traffic_exporter:" + e.Prefix,
		Detail: map[string]any{"prefix": e.Prefix, "tenant": t.Slug, "note": note}}); err != nil {
		return Exporter{}, err
	}
	return Exporter{Prefix: e.Prefix, TenantID: t.ID, TenantSlug: t.Slug, Note: e.Note, CreatedAt: e.CreatedAt}, nil
}

// DeleteExporter removes an exporter prefix (platform administrators).
func (s *Service) DeleteExporter(ctx context.Context, prefix string) error {
	if err := auth.Require(ctx, auth.PermTenantAdmin, ""); err != nil {
		return err
	}
	p, err := traffic.ParseExporterPrefix(prefix)
	if err != nil {
		return invalid("prefix", store.CodeInvalidIP, nil, "%s", err.Error())
	}
	if err := s.store.Traffic().DeleteExporter(ctx, p.String()); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Action: "traffic.exporter.delete", Object: "traffic_exporter:" + p.String(),
		Detail: map[string]any{"prefix": p.String()}})
}

// ExporterMap builds the collector's exporter map from the store; the
// fallback tenant ID (may be empty) owns the exporters not mapped. It is
// for the node's collector and checks no permission.
func (s *Service) ExporterMap(ctx context.Context, fallback string) (*traffic.ExporterMap, error) {
	es, err := s.store.Traffic().Exporters(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[netip.Prefix]string, len(es))
	for _, e := range es {
		if p, err := netip.ParsePrefix(e.Prefix); err == nil {
			m[p] = e.TenantID
		}
	}
	return traffic.NewExporterMap(m, fallback), nil
}

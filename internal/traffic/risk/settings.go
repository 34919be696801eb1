package risk

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// Bounds of a tenant's settings.
const (
	// MaxSettingsText bounds the policy and the safelist, each.
	MaxSettingsText = 256 << 10
	// maxScanFindings bounds the findings a safelisted list or count reads.
	maxScanFindings = 20 * store.MaxPageSize
	defaultPageSize = 100
)

// Settings returns the tenant's traffic settings; a tenant that never
// saved any gets the defaults: no policy, the shipped safelist, version 0.
func (s *Service) Settings(ctx context.Context, tenantID string) (store.TrafficSettings, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return store.TrafficSettings{}, err
	}
	return s.settings(ctx, tenantID)
}

func (s *Service) settings(ctx context.Context, tenantID string) (store.TrafficSettings, error) {
	v, err := s.store.Traffic().Settings(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return store.TrafficSettings{TenantID: tenantID, DefaultSafelist: true}, nil
	}
	return v, err
}

// ParseSettings validates a policy and a safelist; errors are field errors
// naming the line.
func ParseSettings(policy, safelist string, withDefault bool) (*analyze.Policy, *analyze.Safelist, error) {
	var errs []error
	if len(policy) > MaxSettingsText {
		errs = append(errs, invalid("policy", store.CodeTooLarge, map[string]any{"max": MaxSettingsText}, "at most %d bytes", MaxSettingsText))
	}
	if len(safelist) > MaxSettingsText {
		errs = append(errs, invalid("safelist", store.CodeTooLarge, map[string]any{"max": MaxSettingsText}, "at most %d bytes", MaxSettingsText))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	var pol *analyze.Policy
	if strings.TrimSpace(policy) != "" {
		p, err := analyze.ParsePolicy(strings.NewReader(policy))
		if err != nil {
			errs = append(errs, invalid("policy", store.CodeInvalidConfig, map[string]any{"reason": clip(err.Error(), maxText)}, "%s", clip(err.Error(), maxText)))
		} else if len(p.Rules) > 0 {
			pol = p
		}
	}
	safe, err := analyze.TenantSafelist(safelist, withDefault)
	if err != nil {
		errs = append(errs, invalid("safelist", store.CodeInvalidConfig, map[string]any{"reason": clip(err.Error(), maxText)}, "%s", clip(err.Error(), maxText)))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return pol, safe, nil
}

// SaveSettings validates and saves the tenant's policy and safelist, if
// version is still the stored version (else store.ErrConflict: someone
// saved in between). The policy applies to the next analyses; the
// safelist at once, to every finding listed and every report.
func (s *Service) SaveSettings(ctx context.Context, v store.TrafficSettings, version int) (store.TrafficSettings, error) {
	if err := auth.Require(ctx, auth.PermEventTriage, v.TenantID); err != nil {
		return store.TrafficSettings{}, err
	}
	v.Policy = strings.ReplaceAll(v.Policy, "\r\n", "\n")
	v.Safelist = strings.ReplaceAll(v.Safelist, "\r\n", "\n")
	pol, _, err := ParseSettings(v.Policy, v.Safelist, v.DefaultSafelist)
	if err != nil {
		return store.TrafficSettings{}, err
	}
	v.UpdatedBy = auth.FromContext(ctx).UserID
	if err := s.store.Traffic().PutSettings(ctx, &v, version); err != nil {
		return store.TrafficSettings{}, err
	}
	rules := 0
	if pol != nil {
		rules = len(pol.Rules)
	}
	return v, s.audit.Record(ctx, audit.Event{TenantID: v.TenantID, Action: "traffic.settings", Object: "traffic_settings:" + v.TenantID,
		Detail: map[string]any{"version": v.Version, "rules": rules, "safelist_lines": strings.Count(v.Safelist, "\n") + 1,
			"default_safelist": v.DefaultSafelist}})
}

// tenantRules returns the tenant's compiled policy (nil for none) and
// safelist. Settings saved before a format change that no longer parse
// are an error, not silently ignored.
func (s *Service) tenantRules(ctx context.Context, tenantID string) (*analyze.Policy, *analyze.Safelist, error) {
	v, err := s.settings(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	return ParseSettings(v.Policy, v.Safelist, v.DefaultSafelist)
}

// Safelist returns the tenant's current safelist.
func (s *Service) Safelist(ctx context.Context, tenantID string) (*analyze.Safelist, error) {
	_, safe, err := s.tenantRules(ctx, tenantID)
	return safe, err
}

// safelisted reports whether the safelist removes a stored finding.
func safelisted(safe *analyze.Safelist, f store.TrafficFinding) bool {
	af := analyze.Finding{Class: analyze.Class(f.Class), Domain: f.Domain}
	af.Dst, _ = netip.ParseAddr(f.Dst)
	return safe.Safelisted(af)
}

// scanFindings calls keep for each finding of the filter (its page
// ignored) that the tenant's current safelist keeps, highest score first,
// until keep returns false or maxScanFindings were read.
func (s *Service) scanFindings(ctx context.Context, tenantID string, f store.TrafficFindingFilter, keep func(store.TrafficFinding) bool) error {
	safe, err := s.Safelist(ctx, tenantID)
	if err != nil {
		return err
	}
	for off := 0; off < maxScanFindings; off += store.MaxPageSize {
		f.Page = store.Page{Limit: store.MaxPageSize, Offset: off}
		page, err := s.store.Traffic().ListFindings(ctx, tenantID, f)
		if err != nil {
			return err
		}
		for _, x := range page {
			if safelisted(safe, x) {
				continue
			}
			if !keep(x) {
				return nil
			}
		}
		if len(page) < store.MaxPageSize {
			return nil
		}
	}
	return nil
}

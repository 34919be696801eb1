package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetentionService keeps each tenant's own event retention (the app
// implements it): it admits platform admins and admins of the tenant,
// refuses a retention longer than the global one and audits changes.
type RetentionService interface {
	TenantEventRetention(ctx context.Context, tenantID string) (time.Duration, error)
	SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error
	GlobalEventRetention() time.Duration
}

// retentionView is the event retention field of the tenant form.
type retentionView struct {
	// Value is the tenant's retention as typed or stored ("" for none).
	Value string
	// Global is the global event_retention as shown ("" for forever).
	Global string
}

// formatRetention shows a retention in whole days when it is some ("30d"),
// else as a Go duration; "" for none.
func formatRetention(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// maxRetentionDays bounds a retention typed in days (100 years).
const maxRetentionDays = 36500

// parseRetention reads the retention field: "" for none, a number of days
// ("30d") or a Go duration ("720h"), at least an hour.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > maxRetentionDays {
			return 0, fmt.Errorf("not a number of days from 1 to %d", maxRetentionDays)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d > maxRetentionDays*24*time.Hour {
			return 0, fmt.Errorf("not a duration")
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("under an hour")
	}
	return d, nil
}

// tenantRetentionView reads the tenant's retention for its form; nil when
// the node keeps no tenant retentions.
func (s *server) tenantRetentionView(r *http.Request, tenantID string) (*retentionView, error) {
	if s.opts.Retention == nil || tenantID == "" {
		return nil, nil
	}
	d, err := s.opts.Retention.TenantEventRetention(r.Context(), tenantID)
	if err != nil {
		return nil, err
	}
	global := formatRetention(s.opts.Retention.GlobalEventRetention())
	if global == "" {
		global = s.msgs.T(state(r).locale, "tenants.retention_forever")
	}
	return &retentionView{Value: formatRetention(d), Global: global}, nil
}

// checkRetention validates the retention field of the tenant form before
// anything is saved; ok is false when it was flagged on v.
func (s *server) checkRetention(r *http.Request, v *tenantFormPage) (time.Duration, bool) {
	if v.Retention == nil {
		return 0, true
	}
	tag := state(r).locale
	d, err := parseRetention(v.Retention.Value)
	if err != nil {
		v.fieldError("retention", s.msgs.T(tag, "tenants.retention_invalid"))
		return 0, false
	}
	if g := s.opts.Retention.GlobalEventRetention(); g > 0 && d > g {
		v.fieldError("retention", s.msgs.T(tag, "tenants.retention_too_long", "Global", formatRetention(g)))
		return 0, false
	}
	return d, true
}

// saveRetention stores the tenant's retention when it changed.
func (s *server) saveRetention(r *http.Request, tenantID string, d time.Duration) error {
	if s.opts.Retention == nil {
		return nil
	}
	cur, err := s.opts.Retention.TenantEventRetention(r.Context(), tenantID)
	if err != nil || cur == d {
		return err
	}
	return s.opts.Retention.SetTenantEventRetention(r.Context(), tenantID, d)
}

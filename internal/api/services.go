package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// Subscription is one contracted service of a tenant with its service
// levels.
type Subscription struct {
	TenantID        string    `json:"tenant_id"`
	Service         string    `json:"service" doc:"Code from the service catalogue"`
	Enabled         bool      `json:"enabled"`
	Level           string    `json:"level" doc:"Service level, e.g. standard or premium"`
	ResponseMinutes int       `json:"response_minutes" doc:"Time to respond to an event"`
	NotifyMinutes   int       `json:"notify_minutes" doc:"Time to notify the customer"`
	ReportFrequency string    `json:"report_frequency"`
	StartsOn        string    `json:"starts_on,omitempty" format:"date" doc:"First day of the contract"`
	EndsOn          string    `json:"ends_on,omitempty" format:"date" doc:"Last day of the contract; absent if open-ended"`
	Notes           string    `json:"notes"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func subscriptionDTO(s store.Subscription) Subscription {
	return Subscription{TenantID: s.TenantID, Service: s.Service, Enabled: s.Enabled, Level: s.Level,
		ResponseMinutes: s.ResponseMinutes, NotifyMinutes: s.NotifyMinutes, ReportFrequency: s.ReportFrequency,
		StartsOn: date(s.StartsOn), EndsOn: date(s.EndsOn), Notes: s.Notes, UpdatedAt: s.UpdatedAt}
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func parseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, store.NewFieldError(field, store.CodeInvalidDate, nil, "%s must be a date (YYYY-MM-DD)", field)
	}
	return t, nil
}

// SubscriptionInput contracts or changes a service.
type SubscriptionInput struct {
	Enabled         bool   `json:"enabled,omitempty"`
	Level           string `json:"level,omitempty" maxLength:"50" doc:"Service level; default standard"`
	ResponseMinutes int    `json:"response_minutes,omitempty" minimum:"0" maximum:"10080"`
	NotifyMinutes   int    `json:"notify_minutes,omitempty" minimum:"0" maximum:"10080"`
	ReportFrequency string `json:"report_frequency,omitempty" doc:"Default: the catalogue's usual frequency"`
	StartsOn        string `json:"starts_on,omitempty" format:"date"`
	EndsOn          string `json:"ends_on,omitempty" format:"date"`
	Notes           string `json:"notes,omitempty" maxLength:"4000"`
}

// TransformSchema takes the report frequency enum from the tenant package.
func (SubscriptionInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "report_frequency", tenant.ReportFrequencies(), true)
	return s
}

// SubscriptionList is a list of subscriptions.
type SubscriptionList struct {
	Items []Subscription `json:"items"`
}

type serviceParamIn struct {
	TenantParam
	Service string `path:"service" maxLength:"64" doc:"Service code from the catalogue"`
}

type servicePutIn struct {
	TenantParam
	Service string `path:"service" maxLength:"64" doc:"Service code from the catalogue"`
	Body    SubscriptionInput
}

func (s *server) registerServices() {
	tags := []string{"services"}
	register(s, inTenant(auth.PermServiceRead), huma.Operation{OperationID: "list-subscriptions",
		Method: http.MethodGet, Path: "/tenants/{tenant}/services", Summary: "List a tenant's contracted services",
		Tags: tags}, s.listSubscriptions)
	register(s, inTenant(auth.PermServiceWrite), huma.Operation{OperationID: "put-subscription",
		Method: http.MethodPut, Path: "/tenants/{tenant}/services/{service}",
		Summary: "Contract or change a service", Tags: tags}, s.putSubscription)
	register(s, inTenant(auth.PermServiceWrite), huma.Operation{OperationID: "delete-subscription",
		Method: http.MethodDelete, Path: "/tenants/{tenant}/services/{service}", Summary: "End a contracted service",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteSubscription)
}

func (s *server) listSubscriptions(ctx context.Context, _ *TenantParam) (*out[SubscriptionList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := s.opts.Tenants.ListSubscriptions(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	l := SubscriptionList{Items: items(subs, subscriptionDTO)}
	return reply(l)
}

func (s *server) putSubscription(ctx context.Context, in *servicePutIn) (*out[Subscription], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	starts, err := parseDate("starts_on", b.StartsOn)
	if err != nil {
		return nil, err
	}
	ends, err := parseDate("ends_on", b.EndsOn)
	if err != nil {
		return nil, err
	}
	sub, err := s.opts.Tenants.PutSubscription(ctx, t.ID, in.Service, tenant.SubscriptionInput{Enabled: b.Enabled,
		Level: b.Level, ResponseMinutes: b.ResponseMinutes, NotifyMinutes: b.NotifyMinutes,
		ReportFrequency: b.ReportFrequency, StartsOn: starts, EndsOn: ends, Notes: b.Notes})
	if err != nil {
		return nil, err
	}
	return reply(subscriptionDTO(sub))
}

func (s *server) deleteSubscription(ctx context.Context, in *serviceParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Tenants.DeleteSubscription(ctx, t.ID, in.Service)
}

package tenant

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// ---- teams (the provider's own staff; platform-wide) ----

// TeamInput is what an admin may set on a team.
type TeamInput struct {
	Name        string
	Kind        string // monitoring-desk, response, red-team, assessment, operations, other
	Description string
}

// TeamKinds are the accepted team kinds.
func TeamKinds() []string {
	return []string{"monitoring-desk", "response", "red-team", "assessment", "operations", "other"}
}

func (in TeamInput) apply(t *store.Team) error {
	var err error
	if t.Name, err = text("name", "name", in.Name, 1, 200); err != nil {
		return err
	}
	if err := oneOf("kind", "kind", in.Kind, TeamKinds()); err != nil {
		return err
	}
	t.Kind = in.Kind
	t.Description, err = text("description", "description", in.Description, 0, 2000)
	return err
}

// CreateTeam creates a team.
func (s *Service) CreateTeam(ctx context.Context, in TeamInput) (store.Team, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return store.Team{}, err
	}
	var t store.Team
	if err := in.apply(&t); err != nil {
		return store.Team{}, err
	}
	if err := s.store.Teams().Create(ctx, &t); err != nil {
		return store.Team{}, fmt.Errorf("create team: %w", err)
	}
	return t, s.record(ctx, "", "team.create", "team:"+t.ID, map[string]string{"name": t.Name})
}

// UpdateTeam changes a team.
func (s *Service) UpdateTeam(ctx context.Context, id string, in TeamInput) (store.Team, error) {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return store.Team{}, err
	}
	t, err := s.store.Teams().Get(ctx, id)
	if err != nil {
		return store.Team{}, fmt.Errorf("update team: %w", err)
	}
	if err := in.apply(&t); err != nil {
		return store.Team{}, err
	}
	if err := s.store.Teams().Update(ctx, &t); err != nil {
		return store.Team{}, fmt.Errorf("update team: %w", err)
	}
	return t, s.record(ctx, "", "team.update", "team:"+t.ID, map[string]string{"name": t.Name})
}

// DeleteTeam deletes a team.
func (s *Service) DeleteTeam(ctx context.Context, id string) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if err := s.store.Teams().Delete(ctx, id); err != nil {
		return fmt.Errorf("delete team: %w", err)
	}
	return s.record(ctx, "", "team.delete", "team:"+id, nil)
}

// ListTeams lists teams (any staff role may read them).
func (s *Service) ListTeams(ctx context.Context) ([]store.Team, error) {
	if err := auth.Require(ctx, auth.PermTeamRead, ""); err != nil {
		return nil, err
	}
	return s.store.Teams().List(ctx)
}

// GetTeam returns a team and its members.
func (s *Service) GetTeam(ctx context.Context, id string) (store.Team, []store.TeamMember, error) {
	if err := auth.Require(ctx, auth.PermTeamRead, ""); err != nil {
		return store.Team{}, nil, err
	}
	t, err := s.store.Teams().Get(ctx, id)
	if err != nil {
		return store.Team{}, nil, err
	}
	ms, err := s.store.Teams().Members(ctx, id)
	return t, ms, err
}

// SetTeamMember adds a user to a team or changes their lead flag.
func (s *Service) SetTeamMember(ctx context.Context, teamID, userID string, lead bool) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if _, err := s.store.Teams().Get(ctx, teamID); err != nil {
		return fmt.Errorf("team member: %w", err)
	}
	if _, err := s.store.Users().Get(ctx, userID); err != nil {
		return fmt.Errorf("team member: %w", err)
	}
	if err := s.store.Teams().SetMember(ctx, store.TeamMember{TeamID: teamID, UserID: userID, Lead: lead}); err != nil {
		return fmt.Errorf("team member: %w", err)
	}
	return s.record(ctx, "", "team.member.set", "team:"+teamID, map[string]any{"user": userID, "lead": lead})
}

// RemoveTeamMember removes a user from a team.
func (s *Service) RemoveTeamMember(ctx context.Context, teamID, userID string) error {
	if err := auth.Require(ctx, auth.PermUserAdmin, ""); err != nil {
		return err
	}
	if err := s.store.Teams().RemoveMember(ctx, teamID, userID); err != nil {
		return fmt.Errorf("team member: %w", err)
	}
	return s.record(ctx, "", "team.member.remove", "team:"+teamID, map[string]any{"user": userID})
}

// ---- contacts ----

// ContactInput is what a user may set on a contact.
type ContactInput struct {
	Kind, Name, Org, Title, Phone, Email, IM, AssetID, Product, Notes string
}

func (in ContactInput) apply(c *store.Contact) error {
	var err error
	if err := oneOf("kind", "kind", in.Kind, ContactKinds()); err != nil {
		return err
	}
	c.Kind = in.Kind
	fields := []struct {
		field, label string
		in           string
		out          *string
		min, max     int
	}{
		{"name", "name", in.Name, &c.Name, 1, 200}, {"org", "organisation", in.Org, &c.Org, 0, 200},
		{"title", "title", in.Title, &c.Title, 0, 200}, {"phone", "phone", in.Phone, &c.Phone, 0, 50},
		{"im", "IM handle", in.IM, &c.IM, 0, 200}, {"product", "product", in.Product, &c.Product, 0, 200},
		{"notes", "notes", in.Notes, &c.Notes, 0, 4000}, {"asset_id", "asset", in.AssetID, &c.AssetID, 0, 64},
	}
	for _, f := range fields {
		if *f.out, err = text(f.field, f.label, f.in, f.min, f.max); err != nil {
			return err
		}
	}
	c.Email, err = optionalEmail(in.Email)
	return err
}

// checkAsset verifies an asset reference belongs to the tenant.
func (s *Service) checkAsset(ctx context.Context, tenantID, assetID string) error {
	if assetID == "" {
		return nil
	}
	if _, err := s.store.Assets().Get(ctx, tenantID, assetID); err != nil {
		return invalid("asset_id", store.CodeNotInTenant, args{"value": assetID}, "asset %q does not exist in this tenant", assetID)
	}
	return nil
}

// CreateContact adds a contact to a tenant.
func (s *Service) CreateContact(ctx context.Context, tenantID string, in ContactInput) (store.Contact, error) {
	if err := auth.Require(ctx, auth.PermContactWrite, tenantID); err != nil {
		return store.Contact{}, err
	}
	c := store.Contact{TenantID: tenantID}
	if err := in.apply(&c); err != nil {
		return store.Contact{}, err
	}
	if err := s.checkAsset(ctx, tenantID, c.AssetID); err != nil {
		return store.Contact{}, err
	}
	if err := s.store.Contacts().Create(ctx, &c); err != nil {
		return store.Contact{}, fmt.Errorf("create contact: %w", err)
	}
	return c, s.record(ctx, tenantID, "contact.create", "contact:"+c.ID, map[string]string{"name": c.Name, "kind": c.Kind})
}

// UpdateContact changes a contact.
func (s *Service) UpdateContact(ctx context.Context, tenantID, id string, in ContactInput) (store.Contact, error) {
	if err := auth.Require(ctx, auth.PermContactWrite, tenantID); err != nil {
		return store.Contact{}, err
	}
	c, err := s.store.Contacts().Get(ctx, tenantID, id)
	if err != nil {
		return store.Contact{}, fmt.Errorf("update contact: %w", err)
	}
	if err := in.apply(&c); err != nil {
		return store.Contact{}, err
	}
	if err := s.checkAsset(ctx, tenantID, c.AssetID); err != nil {
		return store.Contact{}, err
	}
	if err := s.store.Contacts().Update(ctx, &c); err != nil {
		return store.Contact{}, fmt.Errorf("update contact: %w", err)
	}
	return c, s.record(ctx, tenantID, "contact.update", "contact:"+c.ID, map[string]string{"name": c.Name})
}

// DeleteContact removes a contact.
func (s *Service) DeleteContact(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermContactWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Contacts().Delete(ctx, tenantID, id); err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	return s.record(ctx, tenantID, "contact.delete", "contact:"+id, nil)
}

// ListContacts lists a tenant's contacts.
func (s *Service) ListContacts(ctx context.Context, tenantID string, f store.ContactFilter) ([]store.Contact, error) {
	if err := auth.Require(ctx, auth.PermContactRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Contacts().List(ctx, tenantID, f)
}

// GetContact returns one contact.
func (s *Service) GetContact(ctx context.Context, tenantID, id string) (store.Contact, error) {
	if err := auth.Require(ctx, auth.PermContactRead, tenantID); err != nil {
		return store.Contact{}, err
	}
	return s.store.Contacts().Get(ctx, tenantID, id)
}

// ---- service catalogue subscriptions ----

// SubscriptionInput is what a user may set on a contracted service.
type SubscriptionInput struct {
	Enabled         bool
	Level           string
	ResponseMinutes int
	NotifyMinutes   int
	ReportFrequency string
	StartsOn        time.Time
	EndsOn          time.Time
	Notes           string
}

// PutSubscription contracts (or changes) a service for a tenant.
func (s *Service) PutSubscription(ctx context.Context, tenantID, code string, in SubscriptionInput) (store.Subscription, error) {
	if err := auth.Require(ctx, auth.PermServiceWrite, tenantID); err != nil {
		return store.Subscription{}, err
	}
	off, ok := Offer(code)
	if !ok {
		return store.Subscription{}, invalid("service", store.CodeUnknownService, args{"value": code}, "unknown service %q", code)
	}
	sub := store.Subscription{TenantID: tenantID, Service: off.Code, Enabled: in.Enabled,
		ResponseMinutes: in.ResponseMinutes, NotifyMinutes: in.NotifyMinutes,
		ReportFrequency: in.ReportFrequency, StartsOn: in.StartsOn.UTC(), EndsOn: in.EndsOn.UTC()}
	var err error
	if sub.Level, err = text("level", "level", in.Level, 0, 50); err != nil {
		return store.Subscription{}, err
	}
	if sub.Level == "" {
		sub.Level = "standard"
	}
	if sub.Notes, err = text("notes", "notes", in.Notes, 0, 4000); err != nil {
		return store.Subscription{}, err
	}
	if sub.ReportFrequency == "" {
		sub.ReportFrequency = off.DefaultReport
	}
	if err := oneOf("report_frequency", "report frequency", sub.ReportFrequency, ReportFrequencies()); err != nil {
		return store.Subscription{}, err
	}
	const week = 7 * 24 * 60
	for _, f := range []struct {
		field string
		n     int
	}{{"response_minutes", sub.ResponseMinutes}, {"notify_minutes", sub.NotifyMinutes}} {
		if f.n < 0 || f.n > week {
			return store.Subscription{}, invalid(f.field, store.CodeOutOfRange, args{"min": 0, "max": week},
				"response and notification times must be 0 to %d minutes", week)
		}
	}
	if in.StartsOn.IsZero() {
		sub.StartsOn = time.Time{}
	}
	if in.EndsOn.IsZero() {
		sub.EndsOn = time.Time{}
	}
	if !sub.EndsOn.IsZero() && sub.EndsOn.Before(sub.StartsOn) {
		return store.Subscription{}, invalid("ends_on", store.CodeEndBeforeStart, nil, "the end date is before the start date")
	}
	if err := s.store.Services().Put(ctx, &sub); err != nil {
		return store.Subscription{}, fmt.Errorf("put subscription: %w", err)
	}
	return sub, s.record(ctx, tenantID, "service.put", "service:"+code, map[string]any{
		"enabled": sub.Enabled, "level": sub.Level, "report": sub.ReportFrequency,
		"response_minutes": sub.ResponseMinutes, "notify_minutes": sub.NotifyMinutes})
}

// DeleteSubscription ends a contracted service.
func (s *Service) DeleteSubscription(ctx context.Context, tenantID, code string) error {
	if err := auth.Require(ctx, auth.PermServiceWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Services().Delete(ctx, tenantID, code); err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	return s.record(ctx, tenantID, "service.delete", "service:"+code, nil)
}

// ListSubscriptions lists a tenant's contracted services.
func (s *Service) ListSubscriptions(ctx context.Context, tenantID string) ([]store.Subscription, error) {
	if err := auth.Require(ctx, auth.PermServiceRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Services().List(ctx, tenantID)
}

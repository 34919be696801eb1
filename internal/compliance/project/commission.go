package project

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Commissions (委托第三方): a regulator commissions a third-party
// assessment organisation to assess or inspect tenants granted to it. The
// organisation's users named in the commission act as assessors in
// exactly the commissioned tenants from the start of the period until its
// end (auth builds their role from the commission on every request, so
// access ends on time without a job) or until the commission is revoked.
// The regulator follows the commission's status and what its assessors
// produced — inspections and assessment projects in the scope — on the
// supervision summary.

// Limits of a commission.
const (
	MaxCommissionTenants = 50
	MaxCommissionMembers = 50
	MaxCommissionSystems = 200 // per tenant
	MaxCommissionDays    = 366
	MaxCommissionOrg     = 200
	MaxCommissionContact = 500
	MaxCommissionPurpose = 2000
	commissionResults    = 50 // inspections and projects read per tenant for a commission's results
	commissionsListed    = 100
)

// Statuses of a commission, from its period and revocation.
const (
	CommissionScheduled = "scheduled" // the period has not begun
	CommissionActive    = "active"
	CommissionExpired   = "expired" // the period has ended
	CommissionRevoked   = "revoked"
)

// CommissionInput is what CreateCommission takes.
type CommissionInput struct {
	Org     string
	Contact string
	Purpose string
	// Tenants are the commissioned tenants (IDs); Systems optionally
	// names, per tenant ID, the systems to be assessed there: asset IDs,
	// or the name or address of exactly one asset.
	Tenants []string
	Systems map[string][]string
	// Members are the usernames of the organisation's assessors.
	Members  []string
	StartsAt time.Time
	EndsAt   time.Time
}

// CommissionSystem is a commissioned system: an asset of the tenant.
type CommissionSystem struct {
	Asset string
	Name  string
}

// CommissionTenant is one commissioned tenant as the caller sees it.
type CommissionTenant struct {
	Tenant  store.Tenant
	Systems []CommissionSystem // none: the whole tenant
}

// CommissionMember is a user of the commissioned organisation.
type CommissionMember struct {
	ID       string
	Username string
	Name     string
}

// CommissionResult is an inspection or assessment project an assessor of
// the commission opened in its scope during its period.
type CommissionResult struct {
	TenantID   string
	TenantSlug string
	Kind       string // "inspection" or "assessment"
	ID         string
	Name       string
	State      string // the inspection's state or the project's phase
	CreatedBy  string
	CreatedAt  time.Time
}

// CommissionView is a commission with its status, the tenants of its
// scope the caller may read, its members and results.
type CommissionView struct {
	Commission store.Commission
	Status     string
	Tenants    []CommissionTenant
	Members    []CommissionMember
	Results    []CommissionResult
	// CanRevoke: the caller holds commission.write in every tenant of the
	// scope and the commission is not over.
	CanRevoke bool
}

// commissionStatus is the status of c at now.
func commissionStatus(c store.Commission, now time.Time) string {
	switch {
	case !c.RevokedAt.IsZero():
		return CommissionRevoked
	case now.Before(c.StartsAt):
		return CommissionScheduled
	case !now.Before(c.EndsAt):
		return CommissionExpired
	}
	return CommissionActive
}

func (s *Service) recordCommission(ctx context.Context, c store.Commission, action string, detail map[string]any) error {
	if s.audit == nil {
		return nil
	}
	for _, sc := range c.Scope {
		if err := s.audit.Record(ctx, audit.Event{TenantID: sc.TenantID, Action: action, Object: "commission:" + c.ID, Detail: detail}); err != nil {
			return err
		}
	}
	return nil
}

// requireCommissionWrite checks the caller may commission in tenantID: a
// tenant it cannot read is not found, like every cross-tenant refusal.
func requireCommissionWrite(ctx context.Context, tenantID string) error {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return auth.ErrUnauthenticated
	}
	if !p.Can(auth.PermTenantRead, tenantID) {
		return fmt.Errorf("tenant %q: %w", quoteValue(tenantID), store.ErrNotFound)
	}
	return auth.Require(ctx, auth.PermCommissionWrite, tenantID)
}

// CreateCommission commissions a third-party organisation: its users
// named in the input become assessors of the commissioned tenants for the
// period. The caller needs commission.write in every tenant (a regulator
// holds it in the tenants granted to it); members are existing users
// without a platform role, never the caller. Audited in every tenant.
func (s *Service) CreateCommission(ctx context.Context, in CommissionInput) (store.Commission, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return store.Commission{}, auth.ErrUnauthenticated
	}
	in.Org, in.Contact, in.Purpose = strings.TrimSpace(in.Org), strings.TrimSpace(in.Contact), strings.TrimSpace(in.Purpose)
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
		oneLine  bool
	}{{"org", in.Org, MaxCommissionOrg, true, true}, {"contact", in.Contact, MaxCommissionContact, false, true},
		{"purpose", in.Purpose, MaxCommissionPurpose, true, false}} {
		if err := checkText(f.name, f.v, f.max, f.required, f.oneLine); err != nil {
			return store.Commission{}, err
		}
	}
	var tenants []string
	for _, t := range in.Tenants {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tenants, t) {
			tenants = append(tenants, t)
		}
	}
	switch {
	case len(tenants) == 0:
		return store.Commission{}, invalid("tenant", store.CodeRequired, nil, "choose at least one organisation")
	case len(tenants) > MaxCommissionTenants:
		return store.Commission{}, invalid("tenant", store.CodeTooMany, map[string]any{"max": MaxCommissionTenants},
			"a commission covers at most %d organisations", MaxCommissionTenants)
	}
	for _, t := range tenants {
		if err := requireCommissionWrite(ctx, t); err != nil {
			return store.Commission{}, err
		}
	}
	for t := range in.Systems {
		if !slices.Contains(tenants, t) && len(in.Systems[t]) > 0 {
			return store.Commission{}, invalid("systems", store.CodeNotInTenant, nil, "systems are given for an organisation that is not commissioned")
		}
	}
	start, end := in.StartsAt.UTC(), in.EndsAt.UTC()
	switch {
	case start.IsZero() || end.IsZero():
		return store.Commission{}, invalid("period", store.CodeRequired, nil, "the commission needs a start and an end")
	case !end.After(start):
		return store.Commission{}, invalid("period", store.CodeOutOfRange, nil, "the commission must end after it starts")
	case end.Sub(start) > MaxCommissionDays*24*time.Hour:
		return store.Commission{}, invalid("period", store.CodeOutOfRange, map[string]any{"max": MaxCommissionDays},
			"a commission lasts at most %d days", MaxCommissionDays)
	case !end.After(s.now()):
		return store.Commission{}, invalid("period", store.CodeOutOfRange, nil, "the period has already ended")
	}
	c := store.Commission{Org: in.Org, Contact: in.Contact, Purpose: in.Purpose, StartsAt: start, EndsAt: end, CreatedBy: p.ActorID()}
	for _, t := range tenants {
		sc := store.CommissionScope{TenantID: t}
		if len(in.Systems[t]) > MaxCommissionSystems {
			return c, invalid("systems", store.CodeTooMany, map[string]any{"max": MaxCommissionSystems},
				"at most %d systems per organisation", MaxCommissionSystems)
		}
		var ix *objectIndex
		for _, ref := range in.Systems[t] {
			if ref = strings.TrimSpace(ref); ref == "" {
				continue
			}
			if ix == nil {
				var err error
				if ix, err = s.objectIndex(ctx, t); err != nil {
					return c, err
				}
			}
			// A system is named by its asset ID, or the name or address
			// of exactly one asset of the tenant.
			id := ix.bind(ref)
			if _, ok := ix.names[id]; !ok {
				return c, invalid("systems", store.CodeNotInTenant, map[string]any{"value": quoteValue(ref)},
					"%q is not exactly one asset of the organisation", quoteValue(ref))
			}
			if !slices.Contains(sc.Systems, id) {
				sc.Systems = append(sc.Systems, id)
			}
		}
		c.Scope = append(c.Scope, sc)
	}
	for _, name := range in.Members {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if len(c.Members) == MaxCommissionMembers {
			return c, invalid("members", store.CodeTooMany, map[string]any{"max": MaxCommissionMembers},
				"a commission names at most %d assessors", MaxCommissionMembers)
		}
		u, err := s.store.Users().GetByUsername(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return c, invalid("members", store.CodeOneOf, map[string]any{"value": quoteValue(name)}, "no user %q", quoteValue(name))
		case err != nil:
			return c, err
		case u.Disabled:
			return c, invalid("members", store.CodeOneOf, map[string]any{"value": quoteValue(name)}, "user %q is disabled", quoteValue(name))
		case u.GlobalRole != "":
			return c, invalid("members", store.CodeOneOf, map[string]any{"value": quoteValue(name)},
				"user %q has a platform role and needs no commission", quoteValue(name))
		case u.ID == p.UserID:
			return c, invalid("members", store.CodeOneOf, nil, "a commission cannot name the one who commissions")
		}
		if !slices.Contains(c.Members, u.ID) {
			c.Members = append(c.Members, u.ID)
		}
	}
	if len(c.Members) == 0 {
		return c, invalid("members", store.CodeRequired, nil, "name at least one assessor of the organisation")
	}
	if err := s.store.Compliance().CreateCommission(ctx, &c); err != nil {
		return c, err
	}
	return c, s.recordCommission(ctx, c, "commission.create", map[string]any{"org": c.Org, "purpose": c.Purpose, "tenants": len(c.Scope),
		"members": c.Members, "starts_at": c.StartsAt, "ends_at": c.EndsAt})
}

// readableScope reports whether the caller reads the compliance work of
// at least one tenant of the commission.
func readableScope(p *auth.Principal, c store.Commission) bool {
	return slices.ContainsFunc(c.Scope, func(sc store.CommissionScope) bool { return p.Can(auth.PermAssessRead, sc.TenantID) })
}

// Commission returns a commission whose scope holds a tenant where the
// caller reads assessments (store.ErrNotFound otherwise), with the
// tenants, systems and results the caller may see.
func (s *Service) Commission(ctx context.Context, id string) (*CommissionView, error) {
	c, err := s.readableCommission(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.commissionView(ctx, c, true)
}

// readableCommission loads a commission whose scope holds a tenant where
// the caller reads assessments; any other is store.ErrNotFound.
func (s *Service) readableCommission(ctx context.Context, id string) (store.Commission, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return store.Commission{}, auth.ErrUnauthenticated
	}
	c, err := s.store.Compliance().GetCommission(ctx, id)
	if err != nil {
		return store.Commission{}, err
	}
	if !readableScope(p, c) {
		return store.Commission{}, fmt.Errorf("commission %q: %w", quoteValue(id), store.ErrNotFound)
	}
	return c, nil
}

// Commissions lists the commissions touching tenants where the caller
// reads assessments, most recent first, with their status and results.
func (s *Service) Commissions(ctx context.Context) ([]CommissionView, error) {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return nil, auth.ErrUnauthenticated
	}
	var ids []string
	for _, t := range p.TenantIDs() {
		if p.Can(auth.PermAssessRead, t) {
			ids = append(ids, t)
		}
	}
	all := p.AllTenants() && p.Can(auth.PermAssessRead, "")
	cs, err := s.store.Compliance().ListCommissions(ctx, ids, all, store.Page{Limit: commissionsListed})
	if err != nil {
		return nil, err
	}
	out := make([]CommissionView, 0, len(cs))
	for _, c := range cs {
		v, err := s.commissionView(ctx, c, true)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// commissionView resolves what the caller may see of c.
func (s *Service) commissionView(ctx context.Context, c store.Commission, results bool) (*CommissionView, error) {
	p := auth.FromContext(ctx)
	v := &CommissionView{Commission: c, Status: commissionStatus(c, s.now())}
	v.CanRevoke = v.Status == CommissionActive || v.Status == CommissionScheduled
	for _, sc := range c.Scope {
		if !p.Can(auth.PermCommissionWrite, sc.TenantID) {
			v.CanRevoke = false
		}
		if !p.Can(auth.PermAssessRead, sc.TenantID) {
			continue
		}
		t, err := s.store.Tenants().Get(ctx, sc.TenantID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ct := CommissionTenant{Tenant: t}
		for _, id := range sc.Systems {
			sys := CommissionSystem{Asset: id, Name: id}
			if a, err := s.store.Assets().Get(ctx, t.ID, id); err == nil {
				sys.Name = a.Name
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			ct.Systems = append(ct.Systems, sys)
		}
		v.Tenants = append(v.Tenants, ct)
		if results {
			rs, err := s.commissionResults(ctx, c, t)
			if err != nil {
				return nil, err
			}
			v.Results = append(v.Results, rs...)
		}
	}
	for _, id := range c.Members {
		m := CommissionMember{ID: id}
		u, err := s.store.Users().Get(ctx, id)
		switch {
		case err == nil:
			m.Username, m.Name = u.Username, u.DisplayName
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		v.Members = append(v.Members, m)
	}
	return v, nil
}

// commissionResults lists the inspections and projects the commission's
// members opened in tenant t during the period (the latest ones).
func (s *Service) commissionResults(ctx context.Context, c store.Commission, t store.Tenant) ([]CommissionResult, error) {
	by := func(actor string, at time.Time) bool {
		return slices.Contains(c.Members, actor) && !at.Before(c.StartsAt) && at.Before(c.EndsAt)
	}
	var out []CommissionResult
	xs, err := s.store.Compliance().ListInspections(ctx, t.ID, store.Page{Limit: commissionResults})
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if by(x.CreatedBy, x.CreatedAt) {
			out = append(out, CommissionResult{TenantID: t.ID, TenantSlug: t.Slug, Kind: "inspection", ID: x.ID, Name: x.Name, State: x.State,
				CreatedBy: x.CreatedBy, CreatedAt: x.CreatedAt})
		}
	}
	ps, err := s.store.Compliance().ListProjects(ctx, t.ID, store.Page{Limit: commissionResults})
	if err != nil {
		return nil, err
	}
	for _, pr := range ps {
		if by(pr.CreatedBy, pr.CreatedAt) {
			out = append(out, CommissionResult{TenantID: t.ID, TenantSlug: t.Slug, Kind: "assessment", ID: pr.ID, Name: pr.Name, State: pr.Phase,
				CreatedBy: pr.CreatedBy, CreatedAt: pr.CreatedAt})
		}
	}
	return out, nil
}

// RevokeCommission ends a commission now: its assessors lose access at
// once. The caller needs commission.write in every tenant of the scope; a
// stale version is store.ErrConflict. Audited in every tenant.
func (s *Service) RevokeCommission(ctx context.Context, id string, version int) (*CommissionView, error) {
	c, err := s.readableCommission(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, sc := range c.Scope {
		if err := auth.Require(ctx, auth.PermCommissionWrite, sc.TenantID); err != nil {
			return nil, err
		}
	}
	if version != 0 && version != c.Version {
		return nil, fmt.Errorf("%w: the commission was changed by someone else", store.ErrConflict)
	}
	switch commissionStatus(c, s.now()) {
	case CommissionRevoked:
		return nil, invalid("state", store.CodeOneOf, nil, "the commission is already revoked")
	case CommissionExpired:
		return nil, invalid("state", store.CodeOneOf, nil, "the commission has already ended")
	}
	c.RevokedAt, c.RevokedBy = s.now().UTC(), auth.FromContext(ctx).ActorID()
	if err := s.store.Compliance().RevokeCommission(ctx, &c); err != nil {
		return nil, err
	}
	if err := s.recordCommission(ctx, c, "commission.revoke", map[string]any{"org": c.Org}); err != nil {
		return nil, err
	}
	return s.commissionView(ctx, c, true)
}

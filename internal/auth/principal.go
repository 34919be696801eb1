package auth

import (
	"context"
	"slices"
)

// Principal is who a request acts as: a signed-in user or an API token.
type Principal struct {
	UserID   string
	Username string
	// GlobalRole applies to every tenant ("" for none).
	GlobalRole string
	// Roles maps tenant ID to the role held there.
	Roles map[string]string
	// TokenID is set when the request came with an API token; a token's
	// scope is one tenant (Roles has one entry) or global (GlobalRole).
	TokenID string
	Locale  string
	// Commissioned maps tenant ID to the compliance commission that grants
	// the role held there (an assessor of a commissioned third party, for
	// the commission's period); nil when none.
	Commissioned map[string]string
}

// Anonymous reports whether nobody is signed in.
func (p *Principal) Anonymous() bool { return p == nil || (p.UserID == "" && p.TokenID == "") }

// Name is what the audit log records as the actor.
func (p *Principal) Name() string {
	switch {
	case p.Anonymous():
		return "anonymous"
	case p.TokenID != "" && p.Username != "":
		return p.Username + " (token " + p.TokenID + ")"
	case p.TokenID != "":
		return "token " + p.TokenID
	}
	return p.Username
}

// ActorID is the audit actor ID.
func (p *Principal) ActorID() string {
	if p.Anonymous() {
		return ""
	}
	if p.TokenID != "" {
		return "token:" + p.TokenID
	}
	return p.UserID
}

// Can reports whether the principal holds perm in tenantID. tenantID "" asks
// about a platform-wide permission, which only a global role grants.
func (p *Principal) Can(perm Perm, tenantID string) bool {
	if p.Anonymous() {
		return false
	}
	if p.GlobalRole != "" && RoleHas(p.GlobalRole, perm) {
		return true
	}
	if tenantID == "" || GlobalOnly(perm) {
		return false
	}
	role, ok := p.Roles[tenantID]
	return ok && RoleHas(role, perm)
}

// CanAny reports whether the principal holds perm in at least one tenant or
// globally (used to decide whether to show a navigation entry).
func (p *Principal) CanAny(perm Perm) bool {
	if p.Can(perm, "") {
		return true
	}
	if GlobalOnly(perm) || p.Anonymous() {
		return false
	}
	for _, r := range p.Roles {
		if RoleHas(r, perm) {
			return true
		}
	}
	return false
}

// AllTenants reports whether the principal sees every tenant.
func (p *Principal) AllTenants() bool {
	return !p.Anonymous() && p.GlobalRole != ""
}

// TenantIDs lists the tenants the principal has a role in, sorted.
func (p *Principal) TenantIDs() []string {
	ids := make([]string, 0, len(p.Roles))
	for id := range p.Roles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, or an anonymous one.
func FromContext(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &Principal{}
}

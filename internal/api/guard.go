package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/store"
)

const (
	bearerScheme = "bearer"
	// ruleKey is where an operation's metadata carries its rule.
	ruleKey = "vigil.rule"
	// permExtension documents an operation's rule in the OpenAPI document.
	permExtension = "x-vigil-permission"
	// tenantParam is the path parameter naming a tenant by ID or slug.
	tenantParam = "tenant"
	// maxRefLen bounds an ID or slug in a path; longer refs match nothing.
	maxRefLen = 100
)

// scope says against what a rule's permission is checked.
type scope string

const (
	// scopeAuthenticated needs only a valid token (the caller's own view).
	scopeAuthenticated scope = "authenticated"
	// scopeAnyTenant needs the permission in at least one tenant or
	// globally; the service filters what the caller sees.
	scopeAnyTenant scope = "any-tenant"
	// scopeTenant needs the permission in the tenant of the path.
	scopeTenant scope = "tenant"
	// scopePlatform needs the permission from a global role.
	scopePlatform scope = "platform"
)

// rule is the permission one operation requires.
type rule struct {
	Perm  auth.Perm
	Scope scope
	// inPath reports whether the path names a tenant, which the guard
	// resolves (by ID or slug) before checking the permission.
	inPath bool
}

func authenticated() rule           { return rule{Scope: scopeAuthenticated} }
func anyTenant(p auth.Perm) rule    { return rule{Perm: p, Scope: scopeAnyTenant} }
func inTenant(p auth.Perm) rule     { return rule{Perm: p, Scope: scopeTenant} }
func platformWide(p auth.Perm) rule { return rule{Perm: p, Scope: scopePlatform} }
func (r rule) String() string       { return string(r.Scope) + " " + string(r.Perm) }

// extension is the rule as documented in the OpenAPI document.
func (r rule) extension() map[string]string {
	if r.Scope == scopeAuthenticated {
		return map[string]string{"scope": string(r.Scope)}
	}
	return map[string]string{"scope": string(r.Scope), "permission": string(r.Perm)}
}

// allows reports whether p satisfies the rule; tenantID is the resolved
// tenant of the path ("" when the path names none).
func (r rule) allows(p *auth.Principal, tenantID string) bool {
	if p.Anonymous() {
		return false
	}
	switch r.Scope {
	case scopeAuthenticated:
		return true
	case scopeAnyTenant:
		return p.CanAny(r.Perm)
	case scopeTenant:
		return tenantID != "" && p.Can(r.Perm, tenantID)
	case scopePlatform:
		return p.Can(r.Perm, "")
	}
	return false
}

// register adds one operation with the rule it requires. It is the only
// way operations are added: it records the rule in the operation metadata
// (read by guard), in the route table and in the OpenAPI document, sets the
// body limit and documents the error responses, and routes every error the
// handler returns through problem.
func register[I, O any](s *server, r rule, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op.Path = basePath + op.Path
	r.inPath = strings.Contains(op.Path, "{"+tenantParam+"}")
	if r.Scope == scopeTenant && !r.inPath {
		panic("operation " + op.OperationID + ": a tenant-scoped rule needs {tenant} in the path")
	}
	if r.Scope != scopeAuthenticated && r.Perm == "" {
		panic("operation " + op.OperationID + ": rule without a permission")
	}
	key := op.Method + " " + op.Path
	if _, dup := s.rules[key]; dup {
		panic("operation " + key + " registered twice")
	}
	s.rules[key] = r
	op.Metadata = map[string]any{ruleKey: r}
	op.Extensions = map[string]any{permExtension: r.extension()}
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = s.maxBody // an operation that takes uploads sets its own
	}
	op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	if strings.Contains(op.Path, "{") {
		op.Errors = append(op.Errors, http.StatusNotFound)
	}
	if op.Method == http.MethodPost || op.Method == http.MethodPut {
		op.Errors = append(op.Errors, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	}
	slices.Sort(op.Errors)
	op.Errors = slices.Compact(op.Errors)
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})
}

// guard runs before every operation, before its input is read: it
// authenticates the bearer token, resolves the tenant of the path, and
// checks the operation's rule. Requests without a valid token get 401. A
// tenant the caller may not read is 404 (its existence is not revealed); a
// missing permission is 403. An operation without a rule is refused.
func (s *server) guard(hctx huma.Context, next func(huma.Context)) {
	ctx := hctx.Context()
	p, err := s.authenticate(ctx, hctx.Header("Authorization"))
	if err != nil {
		s.writeErr(hctx, err)
		return
	}
	ctx = auth.WithPrincipal(ctx, p)
	op := hctx.Operation()
	r, ok := op.Metadata[ruleKey].(rule)
	if !ok {
		s.log.ErrorContext(ctx, "api operation has no permission rule; refused", "method", op.Method, "path", op.Path)
		s.writeErr(hctx, auth.ErrForbidden)
		return
	}
	tenantID := ""
	if r.inPath {
		t, err := s.resolveTenant(ctx, hctx.Param(tenantParam))
		if err != nil {
			s.writeErr(hctx, err)
			return
		}
		ctx = withTenant(ctx, t)
		tenantID = t.ID
	}
	if !r.allows(p, tenantID) || !regulatorAllows(p, r, tenantID, op.Path) {
		s.writeErr(hctx, auth.ErrForbidden)
		return
	}
	next(huma.WithContext(hctx, ctx))
}

// authenticate resolves "Authorization: Bearer vgl_..." to a principal.
func (s *server) authenticate(ctx context.Context, header string) (*auth.Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, auth.ErrUnauthenticated
	}
	p, err := s.opts.Auth.Token(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Anonymous() {
		return nil, auth.ErrUnauthenticated
	}
	return p, nil
}

// resolveTenant finds the tenant a path names, among those the principal
// in ctx may read.
func (s *server) resolveTenant(ctx context.Context, ref string) (store.Tenant, error) {
	if ref == "" || len(ref) > maxRefLen {
		return store.Tenant{}, store.ErrNotFound
	}
	return s.opts.Tenants.ResolveTenant(ctx, ref)
}

type tenantKey struct{}

func withTenant(ctx context.Context, t store.Tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// pathTenant returns the tenant the guard resolved from the path. A
// handler that finds none fails closed.
func pathTenant(ctx context.Context) (store.Tenant, error) {
	t, ok := ctx.Value(tenantKey{}).(store.Tenant)
	if !ok || t.ID == "" {
		return store.Tenant{}, store.ErrNotFound
	}
	return t, nil
}

// problem is the one mapping from an error to what a client sees: status
// and message come from httpmw.Status; the error itself is logged when it
// becomes a 5xx and never sent.
func (s *server) problem(ctx context.Context, err error) error {
	status, msg := httpmw.Status(err)
	if status >= http.StatusInternalServerError {
		s.log.ErrorContext(ctx, "api request failed", "err", err)
	}
	em := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}
	var fe *store.FieldError
	if status == http.StatusUnprocessableEntity && errors.As(err, &fe) && fe.Field != "" {
		em.Errors = append(em.Errors, &huma.ErrorDetail{Location: fieldLocation(fe.Field), Message: fe.Message})
	}
	if status == http.StatusUnauthorized {
		return huma.ErrorWithHeaders(em, http.Header{"WWW-Authenticate": {`Bearer realm="vigil"`}})
	}
	return em
}

// pathFields are the domain input fields that operations take from the
// path rather than the body.
var pathFields = []string{"service"}

// fieldLocation is where a domain input field is in a request, in huma's
// notation: "body.address", "path.service".
func fieldLocation(field string) string {
	if slices.Contains(pathFields, field) {
		return "path." + field
	}
	return "body." + field
}

// writeErr writes err, mapped by problem, from a middleware.
func (s *server) writeErr(hctx huma.Context, err error) {
	mapped := s.problem(hctx.Context(), err)
	var he huma.HeadersError
	if errors.As(mapped, &he) {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				hctx.AppendHeader(k, v)
			}
		}
	}
	var em *huma.ErrorModel
	if !errors.As(mapped, &em) {
		em = &huma.ErrorModel{Status: http.StatusInternalServerError, Detail: internalError}
	}
	_ = huma.WriteErr(s.api, hctx, em.Status, em.Detail)
}

// sanitize is a response transformer and the safety net for errors huma
// produces itself: a server error never carries details to the client, an
// unparsable body gets a plain message, and input is echoed back only as
// short scalar values.
func (s *server) sanitize(hctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	if em.Status >= http.StatusInternalServerError {
		if len(em.Errors) > 0 || em.Detail != internalError {
			msgs := make([]string, 0, len(em.Errors))
			for _, d := range em.Errors {
				if d != nil {
					msgs = append(msgs, d.Error())
				}
			}
			s.log.ErrorContext(hctx.Context(), "api error", "path", hctx.URL().Path, "detail", em.Detail, "errors", msgs)
		}
		return &huma.ErrorModel{Status: em.Status, Title: http.StatusText(em.Status), Detail: internalError}, nil
	}
	out := *em
	out.Errors = nil
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		c := *d
		if c.Location == "body" && em.Status == http.StatusBadRequest {
			out.Detail = "malformed JSON body"
		}
		if c.Location == "body" || !echoable(c.Value) {
			c.Value = nil
		}
		out.Errors = append(out.Errors, &c)
	}
	return &out, nil
}

// internalError is all a client learns about a server error.
const internalError = "internal error"

// maxEcho bounds a string value echoed back in a validation error.
const maxEcho = 200

func echoable(v any) bool {
	switch x := v.(type) {
	case nil, bool, float64, int, int64:
		return true
	case string:
		return len(x) <= maxEcho
	}
	return false
}

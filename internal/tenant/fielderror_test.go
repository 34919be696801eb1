package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestValidationNamesFieldAndCode checks every validation failure is a
// *store.FieldError naming the input field and a stable code, and still
// is ErrInvalid with the English message it always had.
func TestValidationNamesFieldAndCode(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	admin := env.AdminCtx(ctx)
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name        string
		call        func() error
		field, code string
		args        map[string]any // checked entries of Args
		msg         string         // expected Error()
	}{
		{"bad slug", func() error {
			_, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: "Bad Slug!", Name: "x"})
			return err
		}, "slug", store.CodeInvalidSlug, nil, "invalid input: slug must be 2-63 lowercase letters, digits or '-', starting with a letter or digit"},
		{"slug like an ID", func() error {
			_, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: uuid.NewString(), Name: "x"})
			return err
		}, "slug", store.CodeLooksLikeID, nil, "invalid input: slug must not look like an ID"},
		{"tenant without a name", func() error {
			_, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: "initech", Name: "  "})
			return err
		}, "name", store.CodeRequired, nil, "invalid input: name is required"},
		{"long industry", func() error {
			_, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: "initech", Name: "x", Industry: strings.Repeat("行", 101)})
			return err
		}, "industry", store.CodeTooLong, map[string]any{"max": 100}, "invalid input: industry must be at most 100 characters"},
		{"text not UTF-8", func() error {
			_, err := env.Tenants.CreateTenant(admin, tenant.TenantInput{Slug: "initech", Name: "x\xff"})
			return err
		}, "name", store.CodeInvalidUTF8, nil, "invalid input: name is not valid UTF-8"},
		{"bad username", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "no spaces", Password: fixture.Password})
			return err
		}, "username", store.CodeInvalidUsername, nil, "invalid input: username must be 2-64 letters, digits, '.', '_', '-' or '@'"},
		{"bad email", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "zed", Email: "zed at example", Password: fixture.Password})
			return err
		}, "email", store.CodeInvalidEmail, map[string]any{"value": "zed at example"}, `invalid input: email "zed at example" is not a valid address`},
		{"display name too long", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "zed", DisplayName: strings.Repeat("x", 201), Password: fixture.Password})
			return err
		}, "display_name", store.CodeTooLong, map[string]any{"max": 200}, "invalid input: display name must be at most 200 characters"},
		{"unknown locale", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "zed", Locale: "fr", Password: fixture.Password})
			return err
		}, "locale", store.CodeOneOf, map[string]any{"value": "fr"}, "invalid input: locale must be en or zh-CN"},
		{"unknown global role", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "zed", GlobalRole: auth.RoleCustomer, Password: fixture.Password})
			return err
		}, "global_role", store.CodeOneOf, nil, "invalid input: global role must be one of " + strings.Join(auth.GlobalRoles(), ", ")},
		{"short password", func() error {
			_, err := env.Tenants.CreateUser(admin, tenant.UserInput{Username: "zed", Password: "short"})
			return err
		}, "password", store.CodeWeakPassword, map[string]any{"min": auth.MinPasswordLen, "max": auth.MaxPasswordLen},
			"invalid input: password must be 12 to 256 characters"},
		{"disabling oneself", func() error {
			_, err := env.Tenants.UpdateUser(admin, env.Admin.ID, tenant.UserInput{Disabled: true, GlobalRole: auth.RoleAdmin})
			return err
		}, "disabled", store.CodeSelfChange, nil, "invalid input: you cannot disable yourself or change your own global role"},
		{"demoting oneself", func() error {
			_, err := env.Tenants.UpdateUser(admin, env.Admin.ID, tenant.UserInput{GlobalRole: auth.RoleAnalyst})
			return err
		}, "global_role", store.CodeSelfChange, nil, "invalid input: you cannot disable yourself or change your own global role"},
		{"deleting oneself", func() error {
			return env.Tenants.DeleteUser(admin, env.Admin.ID)
		}, "", store.CodeSelfDelete, nil, "invalid input: you cannot delete yourself"},
		{"wrong current password", func() error {
			return env.Tenants.ChangeOwnPassword(env.As(ctx, env.AnalystA), "not-the-password", "a-new-long-passphrase")
		}, "current_password", store.CodeWrongPassword, nil, "invalid input: current password is wrong"},
		{"unknown membership role", func() error {
			return env.Tenants.SetMembership(admin, env.AnalystA.ID, env.TenantB.ID, "boss")
		}, "role", store.CodeOneOf, map[string]any{"value": "boss"}, "invalid input: role must be one of " + strings.Join(auth.Roles(), ", ")},
		{"unknown team kind", func() error {
			_, err := env.Tenants.CreateTeam(admin, tenant.TeamInput{Name: "Blue", Kind: "pirates"})
			return err
		}, "kind", store.CodeOneOf, map[string]any{"value": "pirates"}, "invalid input: kind must be one of " + strings.Join(tenant.TeamKinds(), ", ")},
		{"contact organisation too long", func() error {
			_, err := env.Tenants.CreateContact(admin, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "x", Org: strings.Repeat("o", 201)})
			return err
		}, "org", store.CodeTooLong, map[string]any{"max": 200}, "invalid input: organisation must be at most 200 characters"},
		{"contact IM handle too long", func() error {
			_, err := env.Tenants.CreateContact(admin, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "x", IM: strings.Repeat("i", 201)})
			return err
		}, "im", store.CodeTooLong, map[string]any{"max": 200}, "invalid input: IM handle must be at most 200 characters"},
		{"contact asset of another tenant", func() error {
			_, err := env.Tenants.CreateContact(admin, env.TenantA.ID, tenant.ContactInput{Kind: "ops", Name: "x", AssetID: env.AssetB.ID})
			return err
		}, "asset_id", store.CodeNotInTenant, map[string]any{"value": env.AssetB.ID},
			`invalid input: asset "` + env.AssetB.ID + `" does not exist in this tenant`},
		{"unknown service", func() error {
			_, err := env.Tenants.PutSubscription(admin, env.TenantA.ID, "teleportation", tenant.SubscriptionInput{})
			return err
		}, "service", store.CodeUnknownService, map[string]any{"value": "teleportation"}, `invalid input: unknown service "teleportation"`},
		{"unknown report frequency", func() error {
			_, err := env.Tenants.PutSubscription(admin, env.TenantA.ID, "mlps", tenant.SubscriptionInput{ReportFrequency: "hourly"})
			return err
		}, "report_frequency", store.CodeOneOf, map[string]any{"value": "hourly"},
			"invalid input: report frequency must be one of " + strings.Join(tenant.ReportFrequencies(), ", ")},
		{"response time out of range", func() error {
			_, err := env.Tenants.PutSubscription(admin, env.TenantA.ID, "mlps", tenant.SubscriptionInput{ResponseMinutes: -1})
			return err
		}, "response_minutes", store.CodeOutOfRange, map[string]any{"min": 0, "max": 10080},
			"invalid input: response and notification times must be 0 to 10080 minutes"},
		{"notification time out of range", func() error {
			_, err := env.Tenants.PutSubscription(admin, env.TenantA.ID, "mlps", tenant.SubscriptionInput{NotifyMinutes: 10081})
			return err
		}, "notify_minutes", store.CodeOutOfRange, map[string]any{"min": 0, "max": 10080},
			"invalid input: response and notification times must be 0 to 10080 minutes"},
		{"end before start", func() error {
			_, err := env.Tenants.PutSubscription(admin, env.TenantA.ID, "mlps", tenant.SubscriptionInput{
				StartsOn: day("2025-12-31"), EndsOn: day("2025-01-01")})
			return err
		}, "ends_on", store.CodeEndBeforeStart, nil, "invalid input: the end date is before the start date"},
		{"token without a name", func() error {
			_, _, err := env.Tenants.CreateToken(admin, tenant.TokenInput{Name: " ", TenantID: env.TenantA.ID, Role: auth.RoleCustomer})
			return err
		}, "name", store.CodeRequired, nil, "invalid input: token name must be 1 to 100 characters"},
		{"token name too long", func() error {
			_, _, err := env.Tenants.CreateToken(admin, tenant.TokenInput{Name: strings.Repeat("t", 101), TenantID: env.TenantA.ID, Role: auth.RoleCustomer})
			return err
		}, "name", store.CodeTooLong, map[string]any{"max": 100}, "invalid input: token name must be 1 to 100 characters"},
		{"global token of a tenant role", func() error {
			_, _, err := env.Tenants.CreateToken(admin, tenant.TokenInput{Name: "ci", Role: auth.RoleCustomer})
			return err
		}, "role", store.CodeOneOf, map[string]any{"value": auth.RoleCustomer}, `invalid input: role "customer" cannot be held globally`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			var fe *store.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a *store.FieldError: %T %v", err, err)
			}
			if fe.Field != c.field || fe.Code != c.code {
				t.Errorf("field, code = %q, %q; want %q, %q", fe.Field, fe.Code, c.field, c.code)
			}
			for k, want := range c.args {
				if got := fe.Args[k]; got != want {
					t.Errorf("Args[%q] = %v, want %v", k, got, want)
				}
			}
			if err.Error() != c.msg {
				t.Errorf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}

// TestWeakPasswordStillMatchesSentinel keeps auth.ErrWeakPassword usable
// on the errors the tenant service returns.
func TestWeakPasswordStillMatchesSentinel(t *testing.T) {
	env := fixture.New(t)
	ctx := context.Background()
	_, err := env.Tenants.UpdateUser(env.AdminCtx(ctx), env.AnalystA.ID, tenant.UserInput{Password: "too-short"})
	if !errors.Is(err, auth.ErrWeakPassword) || !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("weak password: %v", err)
	}
	err = env.Tenants.ChangeOwnPassword(env.As(ctx, env.AnalystA), fixture.Password, "short")
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "password" || fe.Code != store.CodeWeakPassword || !errors.Is(err, auth.ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
}

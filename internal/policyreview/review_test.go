package policyreview_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/policyreview"
	"github.com/vigil-sec/vigil/internal/store"
)

func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../policy/testdata/host.rules")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateGetAccept(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	in := policyreview.Input{Name: "web-01 host firewall", AssetID: e.AssetA.ID, Format: "iptables-save", Config: sample(t)}
	r, err := e.Reviews.Create(ctx, e.TenantA.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rules == 0 || r.Findings == 0 || len(r.ConfigSHA256) != 64 {
		t.Fatalf("review = %+v", r)
	}
	got, res, err := e.Reviews.Get(ctx, e.TenantA.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Config) != string(in.Config) {
		t.Fatal("stored configuration differs from the upload")
	}
	if len(res.Findings) != r.Findings || res.Rules != r.Rules || len(res.Chains) == 0 {
		t.Fatalf("result = %+v", res)
	}
	n := 0
	for _, c := range res.ByKind {
		n += c
	}
	if n != len(res.Findings) {
		t.Fatalf("by_kind sums to %d, want %d", n, len(res.Findings))
	}
	if err := e.Reviews.Accept(ctx, e.TenantA.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	got, _, err = e.Reviews.Get(ctx, e.TenantA.ID, r.ID)
	if err != nil || !got.Accepted || got.AcceptedBy != e.Admin.ID {
		t.Fatalf("after accept: %+v, %v", got, err)
	}
	list, total, err := e.Reviews.List(ctx, e.TenantA.ID, store.PolicyReviewFilter{})
	if err != nil || total != 1 || len(list) != 1 {
		t.Fatalf("list = %d/%d, %v", len(list), total, err)
	}
	entries, err := e.Audit.List(ctx, store.AuditFilter{TenantID: e.TenantA.ID, Action: "policy_review.accept"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit = %d entries, %v", len(entries), err)
	}
}

func TestBadInput(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	cases := map[string]struct {
		in    policyreview.Input
		field string
		code  string
	}{
		"no name":       {policyreview.Input{Format: "iptables-save", Config: []byte("x")}, "name", store.CodeRequired},
		"bad format":    {policyreview.Input{Name: "n", Format: "ipfw", Config: []byte("x")}, "format", store.CodeOneOf},
		"bad family":    {policyreview.Input{Name: "n", Format: "iptables-save", Family: 5, Config: []byte("x")}, "family", store.CodeOneOf},
		"empty":         {policyreview.Input{Name: "n", Format: "iptables-save"}, "config", store.CodeRequired},
		"too large":     {policyreview.Input{Name: "n", Format: "iptables-save", Config: make([]byte, policyreview.MaxConfigBytes+1)}, "config", store.CodeTooLarge},
		"unparsable":    {policyreview.Input{Name: "n", Format: "iptables-save", Config: []byte("*filter\n:INPUT DROP [0:0]\n-A INPUT --frobnicate -j ACCEPT\nCOMMIT\n")}, "config", store.CodeInvalidConfig},
		"foreign asset": {policyreview.Input{Name: "n", AssetID: e.AssetB.ID, Format: "iptables-save", Config: sample(t)}, "asset", store.CodeNotInTenant},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.Reviews.Create(ctx, e.TenantA.ID, tc.in)
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Code != tc.code {
				t.Fatalf("err = %v, want field %s code %s", err, tc.field, tc.code)
			}
		})
	}
	// The parse error names the line.
	_, err := e.Reviews.Create(ctx, e.TenantA.ID, cases["unparsable"].in)
	var fe *store.FieldError
	if errors.As(err, &fe) && fe.Args["reason"] == nil {
		t.Fatalf("no reason in %+v", fe)
	}
	list, n, err := e.Reviews.List(ctx, e.TenantA.ID, store.PolicyReviewFilter{})
	if err != nil || n != 0 || len(list) != 0 {
		t.Fatalf("bad input stored something: %d, %v", n, err)
	}
}

func TestTenantAndRole(t *testing.T) {
	e := fixture.New(t)
	admin := e.AdminCtx(t.Context())
	r, err := e.Reviews.Create(admin, e.TenantA.ID, policyreview.Input{Name: "fw", Format: "iptables-save", Config: sample(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The customer of tenant B cannot see tenant A's review, nor its own
	// tenant's through an A id.
	cust := e.As(t.Context(), e.CustomerB)
	if _, _, err := e.Reviews.Get(cust, e.TenantA.ID, r.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B on A: %v", err)
	}
	if _, _, err := e.Reviews.Get(admin, e.TenantB.ID, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A's review through B: %v", err)
	}
	// An analyst reads but does not run reviews.
	an := e.As(t.Context(), e.AnalystA)
	if _, _, err := e.Reviews.Get(an, e.TenantA.ID, r.ID); err != nil {
		t.Fatalf("analyst read: %v", err)
	}
	if _, err := e.Reviews.Create(an, e.TenantA.ID, policyreview.Input{Name: "x", Format: "iptables-save", Config: sample(t)}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst create: %v", err)
	}
	if err := e.Reviews.Accept(an, e.TenantA.ID, r.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst accept: %v", err)
	}
}

func TestProposalAndReport(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	r, err := e.Reviews.Create(ctx, e.TenantA.ID, policyreview.Input{Name: "router", Format: "iptables-save", Config: routerRules(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := e.Reviews.Get(ctx, e.TenantA.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Proposal
	if p == nil || !p.Equivalent || len(p.Changes) == 0 || p.Optimised == "" {
		t.Fatalf("proposal %+v", p)
	}
	before, after := 0, 0
	for _, n := range p.RulesBefore {
		before += n
	}
	for _, n := range p.RulesAfter {
		after += n
	}
	if before != res.Rules || after != before-len(p.Changes) {
		t.Fatalf("rules %d → %d with %d changes (parsed %d)", before, after, len(p.Changes), res.Rules)
	}
	// The optimised text parses and is analysed again without any
	// shadowed or redundant rule left.
	again, err := policyreview.Analyse(t.Context(), "iptables-save", 4, []byte(p.Optimised), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.ByKind["shadowed"] != 0 || again.ByKind["redundant"] != 0 || again.Rules != after {
		t.Fatalf("optimised set still has %v, %d rules", again.ByKind, again.Rules)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, _, err := e.Reviews.ReportDocument(ctx, e.TenantA, r.ID, lang)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if doc.Summary[0].Value == doc.Summary[1].Value {
			t.Fatalf("%s: before and after are the same: %+v", lang, doc.Summary)
		}
	}
}

func routerRules(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../policy/testdata/router.rules")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHitsAndRequirements(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	req, err := os.ReadFile("../policy/testdata/analysis/host.require")
	if err != nil {
		t.Fatal(err)
	}
	// Line 11 (lo accept) hit today; line 16 (multiport 80,443) never.
	hits := []byte("11,120," + time.Now().UTC().Format(time.RFC3339) + "\n16,0,\n")
	r, err := e.Reviews.Create(ctx, e.TenantA.ID, policyreview.Input{Name: "host", Format: "iptables-save", Config: sample(t),
		Hits: hits, Require: req})
	if err != nil {
		t.Fatal(err)
	}
	_, res, err := e.Reviews.Get(ctx, e.TenantA.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Required == nil || res.Required.Statements == 0 {
		t.Fatalf("required %+v", res.Required)
	}
	failed := res.Required.Statements - res.Required.Satisfied
	if got := res.ByKind["missing"] + res.ByKind["violation"]; got < failed || (failed > 0 && got == 0) {
		t.Fatalf("required: %d statements failed, %d findings", failed, got)
	}
	if res.ByKind["unused"] == 0 {
		t.Fatalf("no unused rule from the counters: %v", res.ByKind)
	}
	// Broken inputs are errors on their own field.
	var fe *store.FieldError
	_, err = e.Reviews.Create(ctx, e.TenantA.ID, policyreview.Input{Name: "x", Format: "iptables-save", Config: sample(t),
		Require: []byte("allow tcp from nowhere\n")})
	if !errors.As(err, &fe) || fe.Field != "require" {
		t.Fatalf("bad require: %v", err)
	}
	_, err = e.Reviews.Create(ctx, e.TenantA.ID, policyreview.Input{Name: "x", Format: "iptables-save", Config: sample(t),
		Hits: []byte("11,5,\n12,many,\n")})
	if !errors.As(err, &fe) || fe.Field != "hits" {
		t.Fatalf("bad hits: %v", err)
	}
}

package compromise_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compromise"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// accessLog is a small combined log: normal traffic, one SQL injection
// answered with a large 200, a scanner, and a health check that looks odd.
func accessLog() []byte {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "198.51.100.%d - - [29/Nov/2026:08:%02d:00 +0000] \"GET /item.php?id=%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"\n", i%20+1, i, i, 5000+i%7)
	}
	b.WriteString("203.0.113.66 - - [29/Nov/2026:09:00:00 +0000] \"GET /item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20 HTTP/1.1\" 200 71000 \"-\" \"Mozilla/5.0\"\n")
	b.WriteString("203.0.113.77 - - [29/Nov/2026:09:01:00 +0000] \"GET /.git/config HTTP/1.1\" 404 150 \"-\" \"sqlmap/1.7\"\n")
	return []byte(b.String())
}

func TestAnalyzeMarkVerdictReport(t *testing.T) {
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	shop, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "application", Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	s := compromise.NewService(e.Store, e.Audit, nil)
	run, err := s.Analyze(ctx, e.TenantA.ID, shop.ID, []compromise.File{{Name: "access.log", Data: accessLog()}})
	if err != nil {
		t.Fatal(err)
	}
	_, res, _, err := s.Get(ctx, e.TenantA.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Records != 42 || len(res.Hits) == 0 || res.Coverage[0].Parsed != 42 {
		t.Fatalf("result %+v", res.Stats)
	}
	sqli := -1
	for i, h := range res.Hits {
		if h.Category == "sqli" && h.ClientIP == "203.0.113.66" {
			sqli = i
		}
	}
	if sqli < 0 || res.Hits[sqli].Score < 50 {
		t.Fatalf("the answered SQL injection is not a high-scored hit: %+v", res.Hits)
	}
	// Mark it; mark the scanner a false positive and exclude it.
	if err := s.Mark(ctx, e.TenantA.ID, run.ID, []int{sqli}, compromise.TruePositive, "data leaked", false); err != nil {
		t.Fatal(err)
	}
	var others []int
	for i := range res.Hits {
		if i != sqli {
			others = append(others, i)
		}
	}
	if len(others) > 0 {
		if err := s.Mark(ctx, e.TenantA.ID, run.ID, others, compromise.FalsePositive, "our own scanner", true); err != nil {
			t.Fatal(err)
		}
		exs, _ := e.Store.Weblog().Exclusions(ctx, e.TenantA.ID, shop.ID)
		if len(exs) == 0 {
			t.Fatal("no exclusion recorded")
		}
		// The next analysis of the same logs is quieter.
		run2, err := s.Analyze(ctx, e.TenantA.ID, shop.ID, []compromise.File{{Name: "access.log", Data: accessLog()}})
		if err != nil {
			t.Fatal(err)
		}
		if run2.Hits >= run.Hits {
			t.Fatalf("exclusions did not quiet the next run: %d then %d hits", run.Hits, run2.Hits)
		}
	}
	analyst := e.As(t.Context(), e.AnalystA)
	if err := s.SetVerdict(analyst, e.TenantA.ID, run.ID, "compromised", "UNION select returned the user table"); err != nil {
		t.Fatal(err)
	}
	var fe *store.FieldError
	if err := s.SetVerdict(ctx, e.TenantA.ID, run.ID, "owned", ""); !errors.As(err, &fe) {
		t.Fatalf("bad verdict: %v", err)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		doc, err := s.ReportDocument(ctx, e.TenantA, run.ID, lang)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if doc.Summary[3].Value != "1" {
			t.Fatalf("%s: confirmed %s", lang, doc.Summary[3].Value)
		}
	}
	// Other tenants and bad input.
	cust := e.As(t.Context(), e.CustomerB)
	if _, _, _, err := s.Get(cust, e.TenantA.ID, run.ID); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer B reading A: %v", err)
	}
	if _, err := s.Analyze(ctx, e.TenantA.ID, e.AssetB.ID, []compromise.File{{Name: "x", Data: accessLog()}}); !errors.As(err, &fe) {
		t.Fatalf("B's asset: %v", err)
	}
	if _, err := s.Analyze(ctx, e.TenantA.ID, shop.ID, nil); !errors.As(err, &fe) {
		t.Fatalf("no files: %v", err)
	}
}

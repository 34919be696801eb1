package lifecycle_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// benchScan is a nuclei JSON-lines scan of n findings, 20 per host.
func benchScan(n int) []byte {
	sev := []string{"critical", "high", "high", "medium", "medium", "low", "info"}
	var b bytes.Buffer
	for i := range n {
		host, j := i/20, i%20
		fmt.Fprintf(&b, `{"template-id":"bench-%03d","info":{"name":"Bench template %d","severity":%q,`+
			`"classification":{"cve-id":["CVE-2024-%05d"],"cvss-metrics":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},`+
			`"type":"http","host":"https://h%05d.bench.example","matched-at":"https://h%05d.bench.example/p%d","ip":"10.1.%d.%d"}`+"\n",
			j, j, sev[j%len(sev)], 10000+j, host, host, j, host/256%256, host%256)
	}
	return b.Bytes()
}

// BenchmarkImport imports a 10,000-finding scan through the lifecycle
// into SQLite: "new" into an empty tenant each time, "reimport" into a
// tenant that already has every finding (the dedupe path). It reports
// findings/s; the two figures' ratio is the cost of the dedupe path
// against plain inserts.
func BenchmarkImport(b *testing.B) {
	const n = 10_000
	data := benchScan(n)
	e := fixture.New(b)
	ctx := e.AdminCtx(b.Context())
	in := lifecycle.ImportInput{Filename: "bench.jsonl", Data: data, Full: true}
	b.Run("new", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			ten, err := e.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: fmt.Sprintf("bench-%d", i), Name: "Bench"})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if sc, err := e.Vulns.Import(ctx, ten.ID, in); err != nil || sc.Added != n {
				b.Fatalf("import: %+v %v", sc, err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "findings/s")
	})
	b.Run("reimport", func(b *testing.B) {
		if _, err := e.Vulns.Import(ctx, e.TenantB.ID, in); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if sc, err := e.Vulns.Import(ctx, e.TenantB.ID, in); err != nil || sc.Updated != n {
				b.Fatalf("reimport: %+v %v", sc, err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "findings/s")
	})
}

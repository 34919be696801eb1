package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testVulnCommonText searches text that most findings have (more than the
// 5,000 index matches after which SQLite reads a page in the list's order)
// and text few have, and checks pages and counts against a plain Go
// substring test over the findings in the list's order.
func testVulnCommonText(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.Vulns()
	ten := mkTenant(t, s, "vcommon")
	const n = 6000
	fs := make([]store.VulnFinding, n)
	for i := range fs {
		title := fmt.Sprintf("Cross-Site Scripting in page %d", i)
		if i%1000 == 7 {
			title = fmt.Sprintf("Rare Deserialization in page %d", i)
		}
		fs[i] = vf(fmt.Sprintf("cm-%05d", i), fmt.Sprintf("10.2.%d.%d", i/250, i%250), []string{"low", "medium", "high"}[i%3], title)
		fs[i].Priority = float64(i % 97)
	}
	importScan(t, s, ten.ID, false, at(0), fs...)
	// The list's order: priority, severity rank, then ID (the IDs are
	// the store's; read them back in import order).
	var all []store.VulnFinding
	for off := 0; off < n; off += 1000 {
		page, err := vs.List(ctx, ten.ID, store.VulnFilter{Page: store.Page{Limit: 1000, Offset: off}})
		ok(t, err)
		all = append(all, page...)
	}
	same(t, "all findings", n, len(all))
	c, err := vs.Count(ctx, ten.ID, store.VulnFilter{CountLimit: 1000})
	ok(t, err)
	same(t, "all findings up to 1000", 1000, c)
	for _, q := range []string{"scripting", "SCRIPT", "page 1", "deserial", "in page"} {
		var want []string
		for _, f := range all {
			if strings.Contains(strings.ToLower(f.Title), strings.ToLower(q)) {
				want = append(want, f.ID)
			}
		}
		for _, p := range []store.Page{{Limit: 50}, {Limit: 50, Offset: 100}, {Limit: 50, Offset: len(want) - 10}} {
			p.Offset = max(p.Offset, 0)
			list, err := vs.List(ctx, ten.ID, store.VulnFilter{Query: q, Page: p})
			ok(t, err)
			end := min(p.Offset+p.Limit, len(want))
			same(t, fmt.Sprintf("page %+v of %q", p, q), want[min(p.Offset, end):end],
				ids(list, func(v store.VulnFinding) string { return v.ID }))
		}
		c, err := vs.Count(ctx, ten.ID, store.VulnFilter{Query: q})
		ok(t, err)
		same(t, fmt.Sprintf("count of %q", q), len(want), c)
		// A capped count stops at its limit.
		for _, limit := range []int{1, 100, n + 1} {
			c, err := vs.Count(ctx, ten.ID, store.VulnFilter{Query: q, CountLimit: limit})
			ok(t, err)
			same(t, fmt.Sprintf("count of %q up to %d", q, limit), min(len(want), limit), c)
		}
	}
}

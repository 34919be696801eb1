package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testVulnCountsAndPages checks counts and pages of the findings list for
// the filters the running totals (counts) and the walk in the list's
// order (overdue and text pages) answer, against a Go test of every
// finding of the tenant read in the list's order. There are more findings
// than the walk tests, and the overdue ones are found both at the head of
// the order (the walk settles the page) and only at its tail (the walk
// gives up and the index answers).
func testVulnCountsAndPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	vs := s.Vulns()
	ten, other := mkTenant(t, s, "vcounts"), mkTenant(t, s, "vcounts-other")
	const n = 2600
	base := time.Date(2031, 3, 4, 0, 0, 0, 0, time.UTC)
	sevs := []string{"critical", "high", "medium", "low", "info"}
	fs := make([]store.VulnFinding, n)
	for i := range fs {
		f := vf(fmt.Sprintf("vc-%05d", i), fmt.Sprintf("10.3.%d.%d", i/200, i%200), sevs[i%5], fmt.Sprintf("Finding %d", i))
		f.Priority = float64(n - i) // the import order is the list's
		f.KEV = i%7 == 0
		switch {
		case i%11 == 0:
			f.DueAt = time.Time{} // no due date
		case i < 300:
			// Due at some hour of the two days before base or the day
			// of base: overdue early in the order.
			f.DueAt = base.Add(-time.Duration(i%60) * time.Hour)
		case i > 2300:
			f.DueAt = base.Add(-72*time.Hour + time.Duration(i%24)*time.Hour) // overdue late in the order
		default:
			f.DueAt = base.Add(time.Duration(1+i%40) * 24 * time.Hour) // due later
		}
		fs[i] = f
	}
	others := slices.Clone(fs[:500])
	importScan(t, s, ten.ID, false, base.Add(-30*24*time.Hour), fs...)
	importScan(t, s, other.ID, false, base.Add(-30*24*time.Hour), others...)
	all := func() []store.VulnFinding {
		var out []store.VulnFinding
		for off := 0; ; off += 1000 {
			page, err := vs.List(ctx, ten.ID, store.VulnFilter{Page: store.Page{Limit: 1000, Offset: off}})
			ok(t, err)
			out = append(out, page...)
			if len(page) < 1000 {
				return out
			}
		}
	}
	// Some findings leave the open states, some early in the order.
	for i, f := range all() {
		to := ""
		switch {
		case i%13 == 0:
			to = "risk-accepted"
		case i%17 == 0:
			to = "confirmed"
		case i > 2400 && i%3 == 0:
			to = "false-positive"
		}
		if to != "" {
			ok(t, vs.Change(ctx, ten.ID, f.ID, store.VulnChange{From: f.State, To: to, ActorID: "u1", At: base.Add(-time.Hour)}))
		}
	}
	fs = all()
	same(t, "findings", n, len(fs))

	type check struct {
		name string
		f    store.VulnFilter
		keep func(store.VulnFinding) bool
	}
	overdue := func(now time.Time) func(store.VulnFinding) bool {
		return func(v store.VulnFinding) bool {
			return slices.Contains(openStates, v.State) && !v.DueAt.IsZero() && v.DueAt.Before(now)
		}
	}
	var checks []check
	// Midnight, mid-day (some of today's due findings are overdue) and
	// before anything is overdue.
	for _, now := range []time.Time{base, base.Add(-30 * time.Hour), base.Add(-30*time.Hour + 90*time.Minute),
		base.Add(-100 * 24 * time.Hour)} {
		od := overdue(now)
		checks = append(checks,
			check{"overdue at " + now.String(), store.VulnFilter{Overdue: true, OpenStates: openStates, Now: now}, od},
			check{"overdue confirmed at " + now.String(), store.VulnFilter{Overdue: true, OpenStates: openStates, Now: now,
				States: []string{"confirmed", "risk-accepted"}}, func(v store.VulnFinding) bool { return od(v) && v.State == "confirmed" }},
			check{"overdue closed at " + now.String(), store.VulnFilter{Overdue: true, OpenStates: openStates, Now: now,
				States: []string{"risk-accepted"}}, func(store.VulnFinding) bool { return false }},
			check{"overdue high at " + now.String(), store.VulnFilter{Overdue: true, OpenStates: openStates, Now: now,
				Severity: "high"}, func(v store.VulnFinding) bool { return od(v) && v.Severity == "high" }},
			check{"overdue with text at " + now.String(), store.VulnFilter{Overdue: true, OpenStates: openStates, Now: now,
				Query: "ding 2"}, func(v store.VulnFinding) bool { return od(v) && strings.Contains(v.Title, "ding 2") }},
		)
	}
	for _, sev := range []string{"", "critical", "info", "unknown"} {
		for _, states := range [][]string{nil, openStates, {"risk-accepted"}, {"confirmed", "false-positive"}} {
			for _, kev := range []bool{false, true} {
				checks = append(checks, check{fmt.Sprintf("severity %q states %v kev %v", sev, states, kev),
					store.VulnFilter{Severity: sev, States: states, KEV: kev}, func(v store.VulnFinding) bool {
						return (sev == "" || v.Severity == sev) && (states == nil || slices.Contains(states, v.State)) && (!kev || v.KEV)
					}})
			}
		}
	}
	checks = append(checks,
		check{"asset", store.VulnFilter{AssetID: "none"}, func(store.VulnFinding) bool { return false }},
		check{"scanner", store.VulnFilter{Scanner: "nuclei", States: []string{"confirmed"}},
			func(v store.VulnFinding) bool { return v.State == "confirmed" }},
		check{"common text", store.VulnFilter{Query: "finding"}, func(store.VulnFinding) bool { return true }},
		check{"text late in the order", store.VulnFilter{Query: "ing 25"},
			func(v store.VulnFinding) bool { return strings.Contains(v.Title, "ing 25") }},
	)
	for _, c := range checks {
		var want []string
		for _, v := range fs {
			if c.keep(v) {
				want = append(want, v.ID)
			}
		}
		got, err := vs.Count(ctx, ten.ID, c.f)
		ok(t, err)
		same(t, "count, "+c.name, len(want), got)
		for _, limit := range []int{1, 100, n + 1} {
			f := c.f
			f.CountLimit = limit
			got, err := vs.Count(ctx, ten.ID, f)
			ok(t, err)
			same(t, fmt.Sprintf("count up to %d, %s", limit, c.name), min(len(want), limit), got)
		}
		for _, p := range []store.Page{{Limit: 50}, {Limit: 50, Offset: 150}, {Limit: 100, Offset: max(len(want)-60, 0)}} {
			f := c.f
			f.Page = p
			list, err := vs.List(ctx, ten.ID, f)
			ok(t, err)
			end := min(p.Offset+p.Limit, len(want))
			same(t, fmt.Sprintf("page %+v, %s", p, c.name), want[min(p.Offset, end):end],
				ids(list, func(v store.VulnFinding) string { return v.ID }))
		}
	}

	wantBy := map[[2]string]int{}
	for _, v := range fs {
		wantBy[[2]string{v.State, v.Severity}]++
	}
	by, err := vs.CountBy(ctx, ten.ID)
	ok(t, err)
	same(t, "count by state and severity", wantBy, by)
}

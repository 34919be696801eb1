package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testIncidentSearchOracle checks the case search, every page and the count,
// against a plain substring search done here over every case: a case
// matches when its title holds the text (ASCII case folded, as
// lower(title) LIKE compares) or one of its observables has the text as
// its value. There are more cases than the walk a search may take first
// (the newest thousand of the other filters), and the texts are placed so
// that some fill a page among the newest cases, some gather among the
// oldest, some are rare, in Chinese, shorter than a trigram, or only an
// observable, with and without other filters.
func testIncidentSearchOracle(t *testing.T, s store.Store) {
	ctx := t.Context()
	is := s.Incidents()
	a, b := mkTenant(t, s, "search"), mkTenant(t, s, "other")
	const n = 1300
	words := []string{"webshell", "phishing", "lateral", "beacon"}
	var all []store.Incident
	for i := range n {
		title := fmt.Sprintf("%s on host-%d", words[i%len(words)], i%97)
		if i < 150 && i%3 == 0 {
			title += " Old-Campaign" // only among the oldest cases
		}
		if i >= n-300 && i%2 == 0 {
			title += " NewWave" // common among the newest
		}
		if i%10 == 3 {
			title += " 勒索软件告警"
		}
		if i == 77 || i == 1111 {
			title += " needle!%_x" // rare, with LIKE's special characters
		}
		c := mkIncident(t, s, a.ID, title, func(c *store.Incident) {
			c.Phase = []string{"detect", "contain", "closed"}[i%3]
			if c.Phase == "closed" {
				c.Resolution, c.ClosedAt = "benign", at(i)
			}
			c.Severity = []string{"critical", "high", "medium", "low"}[i%4]
			c.Tags = []string{fmt.Sprintf("tag-%d", i%7)}
		})
		all = append(all, c)
	}
	// Observables: a value that is also title text elsewhere, and one
	// that is in no title.
	ok(t, is.AddObservables(ctx, a.ID, all[5].ID, []store.IncidentObservable{{Type: "domain", Value: "newwave"}}))
	ok(t, is.AddObservables(ctx, a.ID, all[600].ID, []store.IncidentObservable{{Type: "ip", Value: "198.51.100.7"}}))
	ok(t, is.AddObservables(ctx, a.ID, all[1200].ID, []store.IncidentObservable{{Type: "ip", Value: "198.51.100.7"}}))
	// The other tenant has matches of every text, which must not show.
	for _, title := range []string{"lateral NewWave Old-Campaign needle!%_x 勒索软件", "webshell"} {
		c := mkIncident(t, s, b.ID, title, nil)
		ok(t, is.AddObservables(ctx, b.ID, c.ID, []store.IncidentObservable{{Type: "ip", Value: "198.51.100.7"}}))
	}

	// Read back every case in the list's order: the oracle's input.
	var stored []store.Incident
	for off := 0; ; off += store.MaxPageSize {
		page, err := is.List(ctx, a.ID, store.IncidentFilter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		ok(t, err)
		stored = append(stored, page...)
		if len(page) < store.MaxPageSize {
			break
		}
	}
	same(t, "cases stored", n, len(stored))
	sorted := slices.IsSortedFunc(stored, func(x, y store.Incident) int {
		if c := y.UpdatedAt.Compare(x.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(y.ID, x.ID)
	})
	if !sorted {
		t.Fatal("the case list is not newest first")
	}
	obsOf := map[string][]string{}
	for _, c := range stored {
		os, err := is.Observables(ctx, a.ID, c.ID)
		ok(t, err)
		for _, o := range os {
			obsOf[c.ID] = append(obsOf[c.ID], o.Value)
		}
	}
	oracle := func(f store.IncidentFilter) []string {
		q := strings.TrimSpace(f.Query)
		var out []string
		for _, c := range stored {
			if len(f.Phases) > 0 && !slices.Contains(f.Phases, c.Phase) || f.Severity != "" && c.Severity != f.Severity ||
				f.Tag != "" && !slices.Contains(c.Tags, f.Tag) {
				continue
			}
			if strings.Contains(asciiLower(c.Title), asciiLower(q)) || slices.Contains(obsOf[c.ID], q) {
				out = append(out, c.ID)
			}
		}
		return out
	}

	queries := []string{"NewWave", "newwave", "lateral", "Old-Campaign", "needle!%_x", "勒索软件", "host-1", "-9",
		"198.51.100.7", "no such text", "webshell on host-4"}
	filters := []store.IncidentFilter{{}, {Phases: []string{"detect", "contain"}}, {Severity: "high"}, {Tag: "tag-3"}}
	// A tag alone: its count is read from the tag's cases on SQLite.
	for _, f := range []store.IncidentFilter{{Tag: "tag-3"}, {Tag: "tag-3", CountCap: 50}, {Tag: "no-such-tag"}} {
		cnt, err := is.Count(ctx, a.ID, f)
		ok(t, err)
		want := len(oracle(f))
		if f.CountCap > 0 {
			want = min(want, f.CountCap)
		}
		same(t, fmt.Sprintf("count of tag %q capped at %d", f.Tag, f.CountCap), want, cnt)
	}
	for _, q := range queries {
		for _, base := range filters {
			for _, limit := range []int{7, 50} {
				f := base
				f.Query = q
				want := oracle(f)
				var got []string
				for off := 0; off < len(want)+limit; off += limit {
					f.Page = store.Page{Limit: limit, Offset: off}
					page, err := is.List(ctx, a.ID, f)
					ok(t, err)
					got = append(got, ids(page, func(c store.Incident) string { return c.ID })...)
				}
				same(t, fmt.Sprintf("pages of %q %+v by %d", q, base, limit), want, got)
			}
			f := base
			f.Query = q
			cnt, err := is.Count(ctx, a.ID, f)
			ok(t, err)
			same(t, fmt.Sprintf("count of %q %+v", q, base), len(oracle(f)), cnt)
			f.CountCap = 100
			cnt, err = is.Count(ctx, a.ID, f)
			ok(t, err)
			same(t, fmt.Sprintf("count of %q %+v capped at 100", q, base), min(100, len(oracle(f))), cnt)
		}
	}
}

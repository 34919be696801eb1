package incident_test

import (
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestListCount checks the total List reports with each page against the
// store's count of the same filter (which the store conformance suite
// checks against a plain search): a full page, the last page (whose total
// List works out without counting), a page past the end, no limit, and a
// search.
func TestListCount(t *testing.T) {
	e := newEnv(t)
	for i := range 12 {
		title := fmt.Sprintf("case %d", i)
		if i%4 == 1 {
			title += " lateral movement"
		}
		_, err := e.svc.Create(e.ctx, e.a.ID, incident.Input{Title: title, Severity: "low"})
		must(t, err)
	}
	for _, q := range []string{"", "lateral", "nowhere"} {
		want, err := e.st.Incidents().Count(e.ctx, e.a.ID, store.IncidentFilter{Query: q, CountCap: incident.MaxCount})
		must(t, err)
		if q == "lateral" && want != 3 || q == "" && want != 12 {
			t.Fatalf("store count of %q: %d", q, want)
		}
		for _, pg := range []store.Page{{Limit: 5}, {Limit: 5, Offset: 10}, {Limit: 5, Offset: 15}, {Limit: 2, Offset: 1},
			{Limit: 50}, {}, {Limit: 5000}} {
			list, n, err := e.svc.List(e.ctx, e.a.ID, incident.Filter{Query: q, Page: pg})
			must(t, err)
			if n != want {
				t.Errorf("List(%q, %+v): %d cases on the page, total %d, want %d", q, pg, len(list), n, want)
			}
		}
	}
}

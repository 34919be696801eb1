package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/store/sqldb"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// phaseSeverityIndex is the index of migration 00062.
const phaseSeverityIndex = "incidents_phase_severity"

// TestCaseListPhaseSeverityPlan checks that a case list filtered on one
// phase and a severity, its page and its count, is read through the
// (tenant, phase, severity, updated_at, id) index on both drivers: the
// page in the list's order without a sort, the count from the index
// alone on SQLite. Without the index the page walks the tenant's cases
// in the list's order (or every case of the phase) testing each.
func TestCaseListPhaseSeverityPlan(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		checkPhaseSeverityPlan(t, st, func(db *sql.DB, s sqldb.Statement) []string {
			rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+s.SQL, s.Args...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rows.Close() }()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return plan
		}, "USE TEMP B-TREE")
	})
	t.Run("postgres", func(t *testing.T) {
		server := testenv.RequirePostgres(t)
		ctx := context.Background()
		name := fmt.Sprintf("vigil_t_plan_%d", time.Now().UnixNano())
		dbURL, err := postgres.CreateDatabase(ctx, server, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), server, name) })
		st, err := postgres.Open(ctx, dbURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		checkPhaseSeverityPlan(t, st, func(db *sql.DB, s sqldb.Statement) []string {
			// Statistics as autovacuum would gather them; a few hundred
			// rows fit a page or two, which a sequential scan reads
			// cheapest, so with it off the planner shows which index it
			// takes for the filter and order.
			if _, err := db.ExecContext(t.Context(), `ANALYZE incidents`); err != nil {
				t.Fatal(err)
			}
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			if _, err := tx.ExecContext(t.Context(), `SET LOCAL enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.QueryContext(t.Context(), "EXPLAIN "+s.SQL, s.Args...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rows.Close() }()
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return plan
		}, "") // a few matches are as cheap sorted as read in order
	})
}

// checkPhaseSeverityPlan writes cases of every phase and severity in two
// tenants, checks the list and count of one phase and severity against
// the cases written, and checks the plans of its page and count by
// explain: both name the index, and the page's has no sort (sortNode is
// how the driver's plan says it sorts; "" skips that check).
func checkPhaseSeverityPlan(t *testing.T, st store.Store, explain func(*sql.DB, sqldb.Statement) []string, sortNode string) {
	t.Helper()
	ctx := t.Context()
	db := st.(interface{ DB() *sql.DB }).DB()
	phases := []string{"detect", "contain", "eradicate", "recover", "summarise", "closed"}
	sevs := []string{"low", "medium", "high", "critical"}
	want := map[string]bool{}
	var tenantID string
	for ti, slug := range []string{"plan-a", "plan-b"} {
		tn := store.Tenant{Slug: slug, Name: slug}
		if err := st.Tenants().Create(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		if ti == 0 {
			tenantID = tn.ID
		}
		for i := range 120 {
			c := store.Incident{TenantID: tn.ID, Title: fmt.Sprintf("case %d", i), Severity: sevs[i%len(sevs)],
				TLP: "amber", PAP: "amber", Category: "malware", Phase: phases[(i/len(sevs))%len(phases)]}
			if err := st.Incidents().Create(ctx, &c); err != nil {
				t.Fatal(err)
			}
			if ti == 0 && c.Phase == "contain" && c.Severity == "high" {
				want[c.ID] = true
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no case written matches the filter")
	}
	f := store.IncidentFilter{Phases: []string{"contain"}, Severity: "high", CountCap: 10_000, Page: store.Page{Limit: 50}}
	cs, err := st.Incidents().List(ctx, tenantID, f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.ID)
		if !want[c.ID] {
			t.Errorf("listed %s (%s, %s), which does not match", c.ID, c.Phase, c.Severity)
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %d cases, want %d", len(got), len(want))
	}
	if !slices.IsSortedFunc(cs, func(a, b store.Incident) int { return -a.UpdatedAt.Compare(b.UpdatedAt) }) {
		t.Error("page not in the list's order")
	}
	n, err := st.Incidents().Count(ctx, tenantID, f)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("count %d, want %d", n, len(want))
	}

	page, count, err := sqldb.IncidentQueries(ctx, st, tenantID, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		st   sqldb.Statement
	}{{"page", page}, {"count", count}} {
		plan := explain(db, s.st)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, phaseSeverityIndex) {
			t.Errorf("%s is not read by %s:\n%s", s.name, phaseSeverityIndex, text)
		}
		if s.name == "page" && sortNode != "" && strings.Contains(text, sortNode) {
			t.Errorf("page is sorted, not read in the index's order:\n%s", text)
		}
	}
}

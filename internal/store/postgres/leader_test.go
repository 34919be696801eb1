package postgres

import (
	"database/sql"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// leaderPIDs returns the server process IDs whose session holds the
// leadership name, for tests that cut a leader's connection.
func leaderPIDs(t *testing.T, db *sql.DB, name string) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1::text, 0)`, "vigil.leader|"+name)
	ok(t, err)
	defer func() { _ = rows.Close() }()
	var pids []int
	for rows.Next() {
		var pid int
		ok(t, rows.Scan(&pid))
		pids = append(pids, pid)
	}
	ok(t, rows.Err())
	return pids
}

// TestLeaderFailover has two stores compete for one leadership: one wins,
// the other is refused; when the winner's session is killed its lease
// reports the loss and the other store takes over.
func TestLeaderFailover(t *testing.T) {
	ctx := t.Context()
	dbURL := migratedDB(t)
	a, b := open(t, dbURL).(store.LeaderElector), open(t, dbURL).(store.LeaderElector)
	admin, err := openDB(ctx, dbURL)
	ok(t, err)
	t.Cleanup(func() { _ = admin.Close() })

	la, err := a.TryLead(ctx, "test")
	ok(t, err)
	if la == nil {
		t.Fatal("the first TryLead did not lead")
	}
	lb, err := b.TryLead(ctx, "test")
	ok(t, err)
	if lb != nil {
		t.Fatal("a second node leads while the first holds the lease")
	}
	if other, err := b.TryLead(ctx, "other"); err != nil || other == nil {
		t.Fatalf("another leadership name: %v, %v; want a lease", other, err)
	} else {
		ok(t, other.Release())
	}
	pids := leaderPIDs(t, admin, "test")
	if len(pids) != 1 {
		t.Fatalf("sessions holding the leadership: %v, want one", pids)
	}
	killed := time.Now()
	if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pids[0]); err != nil {
		t.Fatal(err)
	}
	for lb == nil {
		if time.Since(killed) > time.Minute {
			t.Fatal("no takeover within a minute of the leader's session ending")
		}
		time.Sleep(20 * time.Millisecond)
		lb, err = b.TryLead(ctx, "test")
		ok(t, err)
	}
	takeover := time.Since(killed)
	select {
	case <-la.Lost():
	case <-time.After(time.Minute):
		t.Fatal("the old lease did not report its loss within a minute")
	}
	t.Logf("takeover %s after the leader's session was killed; the old leader saw the loss after %s", takeover, time.Since(killed))
	ok(t, la.Release()) // a lost lease releases quietly
	if again, err := a.TryLead(ctx, "test"); err != nil || again != nil {
		t.Fatalf("the old leader leads again while the new one holds the lease: %v, %v", again, err)
	}
	ok(t, lb.Release())
	select {
	case <-lb.Lost():
	default:
		t.Error("Lost is still open after Release")
	}
	back, err := a.TryLead(ctx, "test")
	ok(t, err)
	if back == nil {
		t.Fatal("no one leads after the leader released")
	}
	ok(t, back.Release())
}

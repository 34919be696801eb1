package incident_test

import (
	"database/sql"
	"testing"

	_ "modernc.org/sqlite" // the database/sql driver under the sqlite store
)

// rawDB opens the test database directly, to change what the service
// cannot.
func rawDB(t *testing.T, e *env) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

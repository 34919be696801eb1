package audit_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

// chain writes n entries to a fresh SQLite store and returns the log and a
// raw handle on the same file for tampering.
func chain(t *testing.T, n int) (*audit.Log, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	l := audit.New(st.Audit(), audit.Options{Now: func() time.Time { return time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC) }})
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: "u1", Username: "alice"})
	for i := 0; i < n; i++ {
		if err := l.Record(ctx, audit.Event{TenantID: "t1", Action: "asset.create", Object: "asset:" + string(rune('a'+i)),
			Detail: map[string]int{"i": i}, IP: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return l, raw
}

func verify(t *testing.T, l *audit.Log) audit.Result {
	t.Helper()
	res, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestVerifyIntactChain(t *testing.T) {
	l, _ := chain(t, 5)
	res := verify(t, l)
	if !res.OK() || res.Entries != 5 || !strings.Contains(res.String(), "OK: 5 entries") {
		t.Fatalf("intact chain: %v", res)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name string
		sql  []string
		want string
	}{
		{"edited field", []string{`UPDATE audit_log SET ip = '203.0.113.9' WHERE seq = 3`}, "seq 3: entry hash mismatch"},
		{"edited hash", []string{`UPDATE audit_log SET hash = 'x' || hash WHERE seq = 3`}, "seq 4: previous-hash link broken"},
		{"deleted middle", []string{`DELETE FROM audit_log WHERE seq = 2`}, "seq 3: sequence gap"},
		{"deleted tail", []string{`DELETE FROM audit_log WHERE seq = 5`}, "entries at the end are missing"},
		{"deleted tail and head rewound", []string{`DELETE FROM audit_log WHERE seq = 5`,
			`UPDATE audit_head SET seq = 4`}, "entries at the end are missing or the head was altered"},
		{"swapped order", []string{`UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3)`,
			`UPDATE audit_log SET seq = 5 + seq WHERE seq < 0`}, "seq 2:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, raw := chain(t, 5)
			for _, q := range c.sql {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			res := verify(t, l)
			if res.OK() || !strings.Contains(res.String(), c.want) {
				t.Fatalf("want a problem containing %q, got:\n%v", c.want, res)
			}
		})
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := store.AuditEntry{Seq: 7, Time: time.Unix(0, 0).UTC(), ActorID: "a", ActorName: "b", TenantID: "c",
		Action: "d", Object: "e", Detail: "{}", IP: "f", PrevHash: "g"}
	h := audit.Hash(&base)
	mutations := []func(*store.AuditEntry){
		func(e *store.AuditEntry) { e.Seq++ },
		func(e *store.AuditEntry) { e.Time = e.Time.Add(time.Microsecond) },
		func(e *store.AuditEntry) { e.ActorID += "x" },
		func(e *store.AuditEntry) { e.ActorName += "x" },
		func(e *store.AuditEntry) { e.TenantID += "x" },
		func(e *store.AuditEntry) { e.Action += "x" },
		func(e *store.AuditEntry) { e.Object += "x" },
		func(e *store.AuditEntry) { e.Detail += "x" },
		func(e *store.AuditEntry) { e.IP += "x" },
		func(e *store.AuditEntry) { e.PrevHash += "x" },
		// Moving a character between fields must change the hash too.
		func(e *store.AuditEntry) { e.ActorID, e.ActorName = "ab", "" },
	}
	for i, m := range mutations {
		e := base
		m(&e)
		if audit.Hash(&e) == h {
			t.Errorf("mutation %d leaves the hash unchanged", i)
		}
	}
}

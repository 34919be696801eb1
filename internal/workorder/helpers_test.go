package workorder

import (
	"bufio"
	"os"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
)

// received is when the test logs are read; it gives RFC 3164 lines their
// year.
var received = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)

// storeEvent gives a parsed event the stored form the pipeline writes:
// the fields, plus the host, user, source and message columns.
func storeEvent(e logs.Event) store.Event {
	str := func(k string) string { s, _ := e.Fields[k].(string); return s }
	return store.Event{ID: e.ID, TenantID: e.Tenant, Time: e.Time, Received: e.Received, Source: e.Source, Format: e.Format,
		Host: str("host.name"), SourceIP: str("source.ip"), User: str("user.name"), Message: str("message"),
		Fields: e.Fields, Original: e.Original}
}

// readEvents parses a log file line by line with the automatic parser.
func readEvents(t testing.TB, path string) []store.Event {
	t.Helper()
	p, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []store.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		ev, err := p.Parse(sc.Bytes(), logs.Meta{Source: path, Received: received})
		if err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		out = append(out, storeEvent(ev))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", "2026-03-02 "+hhmm)
	if err != nil {
		panic(err)
	}
	return t
}

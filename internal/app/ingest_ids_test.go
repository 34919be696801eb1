package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/tenant"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// postIngest sends body to the node's POST /ingest/events with the token
// and returns the status and the decoded answer.
func postIngest(t *testing.T, a *app.App, token string, body []byte) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/ingest/events", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	a.IngestHandler().ServeHTTP(w, r)
	var ans map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &ans)
	return w.Code, ans
}

// httpRecord is one record a shipper sends without an event.id.
type httpRecord struct {
	at, msg, user string // at "" leaves the record without a timestamp
}

// ndjson writes the records as NDJSON; reordered puts the keys in another
// order with spaces, as a second serialiser would.
func ndjson(recs []httpRecord, reordered bool) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		switch {
		case r.at == "" && !reordered:
			fmt.Fprintf(&b, `{"message":%q,"user.name":%q}`+"\n", r.msg, r.user)
		case r.at == "":
			fmt.Fprintf(&b, `{ "user.name" : %q, "message" : %q }`+"\n", r.user, r.msg)
		case !reordered:
			fmt.Fprintf(&b, `{"@timestamp":%q,"message":%q,"user.name":%q}`+"\n", r.at, r.msg, r.user)
		default:
			fmt.Fprintf(&b, `{ "user.name": %q,  "message": %q, "@timestamp": %q }`+"\n", r.user, r.msg, r.at)
		}
	}
	return b.Bytes()
}

// testHTTPResendStoredOnce: a shipper without event IDs whose answer got
// lost sends the request again, to the same node and to another node on
// the same store, serialised differently; each timed record is stored
// once, identical records within one request stay apart, untimed records
// are stored again (documented), and another token's identical records
// are its own. An EVTX upload sent twice is stored once.
func testHTTPResendStoredOnce(t *testing.T, nodeA, nodeB *app.App) {
	actx, acme := adminAndTenant(t, nodeA)
	tokA, _, err := nodeA.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper-a", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	tokB, _, err := nodeA.Tenants.CreateToken(actx, tenant.TokenInput{Name: "shipper-b", TenantID: acme.ID, Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	var recs []httpRecord
	for i := range 10 {
		recs = append(recs, httpRecord{at: fmt.Sprintf("2026-11-29T10:00:%02d.125Z", i), msg: "login failed", user: fmt.Sprintf("u%d", i)})
	}
	// Two identical timed records in one request: two events.
	recs = append(recs, httpRecord{at: "2026-11-29T10:01:00Z", msg: "dup", user: "x"}, httpRecord{at: "2026-11-29T10:01:00Z", msg: "dup", user: "x"})
	untimed := httpRecord{msg: "untimed", user: "y"}
	recs = append(recs, untimed)
	timed := len(recs) - 1

	send := func(a *app.App, tok string, body []byte) {
		t.Helper()
		code, ans := postIngest(t, a, tok, body)
		if code != http.StatusAccepted || ans["accepted"] != float64(len(recs)) {
			t.Fatalf("ingest: %d %v", code, ans)
		}
	}
	send(nodeA, tokA, ndjson(recs, false))
	if got := countEvents(t, nodeA, acme.ID); got != len(recs) {
		t.Fatalf("first request: %d events for %d records", got, len(recs))
	}
	// The answer was lost: the same records again, to the same node.
	send(nodeA, tokA, ndjson(recs, true))
	if got, want := countEvents(t, nodeA, acme.ID), len(recs)+1; got != want {
		t.Fatalf("after a resend to the same node: %d events, want %d (the untimed record twice)", got, want)
	}
	// And to another node sharing the store.
	send(nodeB, tokA, ndjson(recs, false))
	if got, want := countEvents(t, nodeB, acme.ID), len(recs)+2; got != want {
		t.Fatalf("after a resend to another node: %d events, want %d", got, want)
	}
	// Another sender's identical records are events of their own.
	send(nodeB, tokB, ndjson(recs, false))
	if got, want := countEvents(t, nodeA, acme.ID), len(recs)+2+timed+1; got != want {
		t.Fatalf("after another token sent the same: %d events, want %d", got, want)
	}

	// An EVTX upload whose answer was lost, sent again to the other node.
	data, err := os.ReadFile(testenv.RequireCorpus(t, filepath.Join(sigmaCorpus, "regression_data", "rules", "windows", "sysmon",
		"sysmon_config_modification", "8ac03a65-6c84-4116-acad-dc1558ff7a77.evtx")))
	if err != nil {
		t.Fatal(err)
	}
	before := countEvents(t, nodeA, acme.ID)
	code, ans := postIngest(t, nodeA, tokA, data)
	accepted, _ := ans["accepted"].(float64)
	if code != http.StatusAccepted || accepted < 1 {
		t.Fatalf("evtx upload: %d %v", code, ans)
	}
	if code, ans := postIngest(t, nodeB, tokA, data); code != http.StatusAccepted || ans["accepted"] != accepted {
		t.Fatalf("evtx resend: %d %v", code, ans)
	}
	if got, want := countEvents(t, nodeA, acme.ID), before+int(accepted); got != want {
		t.Fatalf("after an EVTX upload sent twice: %d events, want %d", got, want)
	}
}

func TestHTTPResendStoredOnceSQLite(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	testHTTPResendStoredOnce(t, openApp(t, cfg), openApp(t, cfg))
}

func TestHTTPResendStoredOncePostgres(t *testing.T) {
	cfg, _ := postgresConfig(t, "vigil_httpids_")
	cfgA, cfgB := cfg, cfg
	cfgA.DataDir, cfgB.DataDir = t.TempDir(), t.TempDir()
	testHTTPResendStoredOnce(t, openApp(t, cfgA), openApp(t, cfgB))
}
